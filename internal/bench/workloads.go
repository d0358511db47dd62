package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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

var syntheticNames = []string{"Product Viewed", "Product Clicked", "Products Searched", "Product Viewed", "Product List Viewed"}

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
		b = append(b, `{"messageId":"`...)
		b = append(b, w.runID...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, `",`...)
		if len(w.src.events) > 0 {
			ev := w.src.events[k%len(w.src.events)]
			b = append(b, ev[1:]...) // the template's fields after its '{'
			continue
		}
		b = synthetic(b, k, now)
	}
	b = append(b, "]}"...)
	u := w.cfg.Target + "/v1/batch"
	return func(ctx context.Context, c *http.Client) (int, bool, float32, error) {
		return do(ctx, c, http.MethodPost, u, w.authz, b)
	}, 0
}

// synthetic appends the fields (after the messageId) of one storefront event, ~250 bytes.
func synthetic(b []byte, k int, now time.Time) []byte {
	name := syntheticNames[k%len(syntheticNames)]
	b = append(b, `"type":"track","event":"`...)
	b = append(b, name...)
	b = append(b, `","userId":"c`...)
	b = strconv.AppendInt(b, int64((k*7919)%100000), 10)
	b = append(b, `","timestamp":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","properties":{`...)
	product := strconv.Itoa((k * 104729) % 50000)
	switch name {
	case "Products Searched":
		b = append(b, `"query":"black boots","search_id":"s`...)
		b = strconv.AppendInt(b, int64(k/5), 10)
		b = append(b, '"')
	case "Product List Viewed":
		b = append(b, `"search_id":"s`...)
		b = strconv.AppendInt(b, int64(k/5), 10)
		b = append(b, `","products":[{"product_id":"p`...)
		b = append(b, product...)
		b = append(b, `","position":1},{"product_id":"p17","position":2}]`...)
	case "Product Clicked":
		b = append(b, `"product_id":"p`...)
		b = append(b, product...)
		b = append(b, `","position":3`...)
	default:
		b = append(b, `"product_id":"p`...)
		b = append(b, product...)
		b = append(b, '"')
	}
	b = append(b, `},"context":{"userAgent":"Mozilla/5.0 (bench)","page":{"path":"/search"}}}`...)
	return b
}
