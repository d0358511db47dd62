package bench

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/bespokesearch/bespoke/internal/collector/loadgen"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

type searchWorkload struct {
	cfg *Config
	src *source
}

func (w *searchWorkload) request(i int) (request, uint8) {
	q := url.Values{"q": {pick(w.src.queries, i, 1)}, "limit": {"20"}}
	class := uint8(0)
	if !anonymous(w.cfg, i) {
		q.Set("customer_id", pick(w.src.customers, i, 2))
		class = 1
	}
	return request{method: http.MethodGet, path: "/v1/search?" + q.Encode()}, class
}

// rerankWorkload sends rerank requests whose item lists come from a ring built before
// the run, so that building 100-item bodies does not compete with the server for CPU
// while latency is measured; the customer and the query still vary per request.
type rerankWorkload struct {
	cfg       *Config
	items     [][]byte // JSON arrays of items
	queries   []string
	customers []string
}

const rerankRing = 256

func newRerankWorkload(cfg *Config, src *source) *rerankWorkload {
	type item struct {
		ProductID string  `json:"product_id"`
		Score     float64 `json:"score"`
	}
	w := &rerankWorkload{cfg: cfg, items: make([][]byte, rerankRing)}
	list := make([]item, cfg.Items)
	for j := range w.items {
		r := rand.New(rand.NewPCG(uint64(j), 3))
		for k := range list {
			list[k] = item{ProductID: src.products[r.IntN(len(src.products))], Score: float64(cfg.Items-k) / float64(cfg.Items) * 10}
		}
		w.items[j], _ = json.Marshal(list) // plain strings and numbers: cannot fail
	}
	w.queries, w.customers = src.queries, src.customers
	return w
}

func (w *rerankWorkload) request(i int) (request, uint8) {
	items := w.items[i%len(w.items)]
	b := make([]byte, 0, len(items)+128)
	b = append(b, '{')
	class := uint8(0)
	if !anonymous(w.cfg, i) {
		cb, _ := json.Marshal(pick(w.customers, i, 2)) // a string: cannot fail
		b = append(b, `"customer_id":`...)
		b = append(b, cb...)
		b = append(b, ',')
		class = 1
	}
	qb, _ := json.Marshal(pick(w.queries, i, 1)) // a string: cannot fail
	b = append(b, `"query":`...)
	b = append(b, qb...)
	b = append(b, `,"items":`...)
	b = append(b, items...)
	b = append(b, '}')
	return request{method: http.MethodPost, path: "/v1/rerank", body: b}, class
}

type sizeWorkload struct {
	cfg *Config
	src *source
}

func (w *sizeWorkload) request(i int) (request, uint8) {
	q := url.Values{"product_id": {pick(w.src.products, i, 4)}}
	class := uint8(0)
	if !anonymous(w.cfg, i) {
		q.Set("customer_id", pick(w.src.customers, i, 2))
		class = 1
	}
	return request{method: http.MethodGet, path: "/v1/size?" + q.Encode()}, class
}

// ingestWorkload sends batches of the world's events (or synthetic ones), each with a
// fresh messageId so that nothing is deduplicated away.
type ingestWorkload struct {
	cfg   *Config
	src   *source
	runID string
	authz string
}

func newIngestWorkload(cfg Config, src *source) (*ingestWorkload, error) {
	var b [6]byte
	if _, err := crand.Read(b[:]); err != nil {
		return nil, errors.New("cannot make a run id: " + err.Error())
	}
	return &ingestWorkload{cfg: &cfg, src: src, runID: "bench-" + hex.EncodeToString(b[:]), authz: basicAuth(cfg.WriteKey)}, nil
}

func (w *ingestWorkload) request(i int) (request, uint8) {
	now := time.Now().UTC()
	bs := w.cfg.BatchSize
	b := make([]byte, 0, bs*300+64)
	b = append(b, `{"sentAt":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","batch":[`...)
	for j := range bs {
		if j > 0 {
			b = append(b, ',')
		}
		k := i*bs + j
		if len(w.src.events) == 0 {
			b = loadgen.AppendSyntheticEvent(b, w.runID, k, now)
			continue
		}
		b = append(b, `{"messageId":"`...)
		b = append(b, w.runID...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, `",`...)
		ev := w.src.events[k%len(w.src.events)]
		b = append(b, ev[1:]...) // the template's fields after its '{'
	}
	b = append(b, "]}"...)
	return request{method: http.MethodPost, path: "/v1/batch", authz: w.authz, body: b}, 0
}
