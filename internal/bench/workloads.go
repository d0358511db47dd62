package bench

import (
	"context"
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
	u := w.cfg.Target + "/v1/search?" + q.Encode()
	return func(ctx context.Context, c *http.Client) (int, bool, float32, error) {
		return do(ctx, c, http.MethodGet, u, "", nil)
	}, class
}

type rerankWorkload struct {
	cfg *Config
	src *source
}

func (w *rerankWorkload) request(i int) (request, uint8) {
	type item struct {
		ProductID string  `json:"product_id"`
		Score     float64 `json:"score"`
	}
	body := struct {
		CustomerID string `json:"customer_id,omitempty"`
		Query      string `json:"query"`
		Items      []item `json:"items"`
	}{Query: pick(w.src.queries, i, 1)}
	class := uint8(0)
	if !anonymous(w.cfg, i) {
		body.CustomerID, class = pick(w.src.customers, i, 2), 1
	}
	r := rand.New(rand.NewPCG(uint64(i), 3))
	body.Items = make([]item, w.cfg.Items)
	for k := range body.Items {
		body.Items[k] = item{ProductID: w.src.products[r.IntN(len(w.src.products))], Score: float64(w.cfg.Items-k) / float64(w.cfg.Items) * 10}
	}
	b, _ := json.Marshal(body) // plain strings and numbers: cannot fail
	u := w.cfg.Target + "/v1/rerank"
	return func(ctx context.Context, c *http.Client) (int, bool, float32, error) {
		return do(ctx, c, http.MethodPost, u, "", b)
	}, class
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
	u := w.cfg.Target + "/v1/size?" + q.Encode()
	return func(ctx context.Context, c *http.Client) (int, bool, float32, error) {
		return do(ctx, c, http.MethodGet, u, "", nil)
	}, class
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
	u := w.cfg.Target + "/v1/batch"
	return func(ctx context.Context, c *http.Client) (int, bool, float32, error) {
		return do(ctx, c, http.MethodPost, u, w.authz, b)
	}, 0
}
