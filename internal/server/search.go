package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/rank"
	"github.com/bespokesearch/bespoke/internal/retrieve"
)

const (
	candidatePool = 100  // candidates reranked per search
	maxRerank     = 1000 // items accepted by /v1/rerank
)

type searchResult struct {
	ProductID       string              `json:"product_id"`
	Score           float32             `json:"score"`
	Name            string              `json:"name,omitempty"`
	Brand           string              `json:"brand,omitempty"`
	Category        string              `json:"category,omitempty"`
	Color           string              `json:"color,omitempty"`
	Gender          string              `json:"gender,omitempty"`
	Price           float64             `json:"price,omitempty"`
	RecommendedSize string              `json:"recommended_size,omitempty"`
	InStockInSize   bool                `json:"in_stock_in_size"`
	Explain         []rank.Contribution `json:"explain,omitempty"`
}

type searchResponse struct {
	SearchID     string         `json:"search_id"`
	Personalized bool           `json:"personalized"`
	Arm          string         `json:"arm"`
	ModelVersion string         `json:"model_version"`
	TookMS       float64        `json:"took_ms"`
	Total        int            `json:"total"`
	Results      []searchResult `json:"results"`
}

// scratch is the per-request working memory of ranking, pooled.
type scratch struct {
	items []rank.Item
	text  []float32
	prods []*catalog.Product
	bufs  rank.Buffers
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SearchDeadline)
	defer cancel()
	q := r.URL.Query()
	limit, fe := intParam(r, "limit", 20, 1, 100)
	if fe != nil {
		writeError(w, 400, "invalid request: limit "+fe.Reason, *fe)
		return
	}
	offset, fe := intParam(r, "offset", 0, 0, 900)
	if fe != nil {
		writeError(w, 400, "invalid request: offset "+fe.Reason, *fe)
		return
	}
	pmin, fe := floatParam(r, "price_min")
	if fe != nil {
		writeError(w, 400, "invalid request: price_min "+fe.Reason, *fe)
		return
	}
	pmax, fe := floatParam(r, "price_max")
	if fe != nil {
		writeError(w, 400, "invalid request: price_max "+fe.Reason, *fe)
		return
	}
	text := q.Get("q")
	if len(text) > 512 {
		badField(w, "q", "is longer than 512 bytes")
		return
	}
	explain := q.Get("explain") == "true"
	pool := max(candidatePool, offset+limit)
	res, err := s.index.Search(ctx, retrieve.Query{
		Text: text, Brand: q.Get("brand"), Category: q.Get("category"), Gender: q.Get("gender"), Size: q.Get("size"),
		PriceMin: pmin, PriceMax: pmax, Limit: pool,
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			s.metrics.fallbacks.WithLabelValues("retrieval_deadline").Inc()
			writeError(w, http.StatusServiceUnavailable, "search took longer than its deadline")
			return
		}
		badField(w, "q", err.Error())
		return
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.items, sc.text, sc.prods = sc.items[:0], sc.text[:0], sc.prods[:0]
	items := s.items.Load()
	for _, h := range res.Hits {
		p := s.index.ByDense(h.Dense)
		if p == nil {
			continue
		}
		sc.prods = append(sc.prods, p)
		sc.items = append(sc.items, items.get(h.Dense, p))
		sc.text = append(sc.text, float32(h.Score))
	}
	arm := s.armOf(q.Get("customer_id"), q.Get("anonymous_id"))
	var prof *profile.Profile
	if arm == experiment.Personalized {
		var reason string
		prof, reason = s.profileFor(ctx, q.Get("customer_id"), q.Get("anonymous_id"))
		if reason != "" {
			s.metrics.fallbacks.WithLabelValues(reason).Inc()
		}
	}
	sizeCustomer := ""
	if arm == experiment.Personalized {
		sizeCustomer = q.Get("customer_id")
	}
	sizes := s.sizesFor(ctx, sizeCustomer)
	defer sizes.release()
	snap := s.active.Load()
	order := snap.Rank(rank.QueryKey(text), prof, sc.items, sc.text, &sc.bufs)
	resp := searchResponse{
		SearchID: event.NewMessageID(), Personalized: prof != nil, Arm: arm, ModelVersion: snap.Version, Total: res.Total,
		Results: make([]searchResult, 0, limit),
	}
	for k := offset; k < len(order) && k < offset+limit; k++ {
		i := order[k]
		p := sc.prods[i]
		out := searchResult{ProductID: p.ProductID, Score: round4(sc.bufs.Scores[i]), Name: p.Name, Brand: p.Brand, Category: p.Category, Color: p.Color, Gender: p.Gender, Price: p.Price}
		out.RecommendedSize, out.InStockInSize = s.sizeFor(sizes, prof, p)
		if explain {
			out.Explain = snap.Explain(&sc.bufs, i)
		}
		resp.Results = append(resp.Results, out)
	}
	took := time.Since(start)
	resp.TookMS = float64(took.Microseconds()) / 1000
	s.lat.add(arm, took)
	s.metrics.searchLatency.WithLabelValues("search").Observe(took.Seconds())
	s.metrics.searches.WithLabelValues("search", strconv.FormatBool(resp.Personalized)).Inc()
	writeJSON(w, http.StatusOK, resp)
}

type rerankRequest struct {
	CustomerID  string `json:"customer_id"`
	AnonymousID string `json:"anonymous_id"`
	Query       string `json:"query"`
	Items       []struct {
		ProductID event.Flex `json:"product_id"`
		Score     *float64   `json:"score"`
	} `json:"items"`
}

type rerankItem struct {
	ProductID string              `json:"product_id"`
	Score     float32             `json:"score"`
	Explain   []rank.Contribution `json:"explain,omitempty"`
}

func (s *Server) handleRerank(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SearchDeadline)
	defer cancel()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		badField(w, "body", "cannot be read: "+err.Error())
		return
	}
	if len(body) > 1<<20 {
		writeError(w, http.StatusRequestEntityTooLarge, "the body is over 1 MiB")
		return
	}
	var req rerankRequest
	if err := json.Unmarshal(body, &req); err != nil {
		badField(w, "body", "is not a valid rerank request: "+err.Error())
		return
	}
	if len(req.Items) == 0 {
		badField(w, "items", "is required: [{product_id, score}]")
		return
	}
	if len(req.Items) > maxRerank {
		badField(w, "items", "has "+strconv.Itoa(len(req.Items))+" entries, over the limit of 1000")
		return
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.items, sc.text = sc.items[:0], sc.text[:0]
	ids := make([]string, len(req.Items))
	hasScores := false
	for i, it := range req.Items {
		id := string(it.ProductID)
		if id == "" {
			writeError(w, 400, "invalid request: items["+strconv.Itoa(i)+"].product_id is required",
				fieldReason{Index: &i, Field: "items[" + strconv.Itoa(i) + "].product_id", Reason: "is required"})
			return
		}
		ids[i] = id
		if p, d, ok := s.index.Lookup(id); ok {
			sc.items = append(sc.items, s.items.Load().get(d, p))
		} else {
			sc.items = append(sc.items, rank.Item{ID: profile.Hash(id)}) // unknown ids are ranked, never rejected
		}
		var score float32
		if it.Score != nil && !math.IsNaN(*it.Score) && !math.IsInf(*it.Score, 0) {
			score, hasScores = float32(*it.Score), true
		}
		sc.text = append(sc.text, score)
	}
	text := sc.text
	if !hasScores {
		text = nil
	} else {
		normalizeScores(text)
	}
	var prof *profile.Profile
	if s.armOf(req.CustomerID, req.AnonymousID) == experiment.Personalized {
		var reason string
		prof, reason = s.profileFor(ctx, req.CustomerID, req.AnonymousID)
		if reason != "" {
			s.metrics.fallbacks.WithLabelValues(reason).Inc()
		}
	}
	snap := s.active.Load()
	order := snap.Rank(rank.QueryKey(req.Query), prof, sc.items, text, &sc.bufs)
	explain := r.URL.Query().Get("explain") == "true"
	out := make([]rerankItem, len(order))
	for k, i := range order {
		out[k] = rerankItem{ProductID: ids[i], Score: round4(sc.bufs.Scores[i])}
		if explain {
			out[k].Explain = snap.Explain(&sc.bufs, i)
		}
	}
	s.metrics.searchLatency.WithLabelValues("rerank").Observe(time.Since(start).Seconds())
	s.metrics.searches.WithLabelValues("rerank", strconv.FormatBool(prof != nil)).Inc()
	writeJSON(w, http.StatusOK, map[string]any{
		"personalized": prof != nil, "model_version": snap.Version,
		"took_ms": float64(time.Since(start).Microseconds()) / 1000, "items": out,
	})
}

// normalizeScores shifts caller-provided scores to be non-negative so that the text
// feature (score / best) keeps their order whatever their sign.
func normalizeScores(xs []float32) {
	lo := xs[0]
	for _, x := range xs {
		lo = min(lo, x)
	}
	if lo < 0 {
		for i := range xs {
			xs[i] -= lo
		}
	}
}

func round4(f float32) float32 { return float32(math.Round(float64(f)*1e4) / 1e4) }

// itemTable holds the ranking view of every product by dense index, rebuilt after each
// catalog change so that requests do not hash and parse product fields.
type itemTable struct {
	items []rank.Item
	ids   []string // product id of each entry, to detect a stale entry
}

func (t *itemTable) get(dense int32, p *catalog.Product) rank.Item {
	if t != nil && dense >= 0 && int(dense) < len(t.items) && t.ids[dense] == p.ProductID {
		return t.items[dense]
	}
	return itemOf(p)
}

// rebuildItems recomputes the item table from the index.
func (s *Server) rebuildItems() {
	n := s.index.DenseLen()
	t := &itemTable{items: make([]rank.Item, n), ids: make([]string, n)}
	for d := 0; d < n; d++ {
		if p := s.index.ByDense(int32(d)); p != nil {
			t.items[d], t.ids[d] = itemOf(p), p.ProductID
		}
	}
	s.items.Store(t)
}

// itemOf is the ranking view of a catalog product.
func itemOf(p *catalog.Product) rank.Item {
	system := catalog.SystemCode(p.SizeSystem)
	var inStock []float32
	if system != 0 {
		for _, z := range p.Sizes {
			if v, ok := catalog.SizeValue(system, z.Size); ok && z.InStock {
				inStock = append(inStock, v)
			}
		}
	}
	return rank.NewItem(p.ProductID, p.Brand, p.Category, p.Color, p.Style, p.Price, system, inStock)
}

// retrieveAll is the retrieval query training uses to score what a query matches.
func retrieveAll(q string) retrieve.Query {
	return retrieve.Query{Text: q, Limit: 500, NoCache: true}
}
