package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/jsonenc"
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
	Team            string              `json:"team,omitempty"` // interleaved arm: the ranker that placed it
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
	// search answers and rerank ids, reused between requests
	results []searchResult
	out     []rerankItem
	rerank  rerankInput
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SearchDeadline)
	defer cancel()
	q := r.URL.Query() // parsed once: every parameter below reads this
	limit, fe := intValue(q, "limit", 20, 1, 100)
	if fe != nil {
		writeError(w, 400, "invalid request: limit "+fe.Reason, *fe)
		return
	}
	offset, fe := intValue(q, "offset", 0, 0, 900)
	if fe != nil {
		writeError(w, 400, "invalid request: offset "+fe.Reason, *fe)
		return
	}
	pmin, fe := floatValue(q, "price_min")
	if fe != nil {
		writeError(w, 400, "invalid request: price_min "+fe.Reason, *fe)
		return
	}
	pmax, fe := floatValue(q, "price_max")
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
	sc.items, sc.text, sc.prods, sc.results = sc.items[:0], sc.text[:0], sc.prods[:0], sc.results[:0]
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
	customerID, anonymousID := q.Get("customer_id"), q.Get("anonymous_id")
	// a device once signed in is its customer's: their profile, and their arm
	person, personReason := s.personOf(ctx, customerID, anonymousID)
	arm := s.armOf(person, anonymousID)
	var prof *profile.Profile
	sizeCustomer := ""
	if arm == experiment.Personalized {
		reason := personReason
		if reason == "" {
			prof, reason = s.profileOfPerson(ctx, person, anonymousID)
		}
		if reason != "" {
			s.metrics.fallbacks.WithLabelValues(reason).Inc()
		}
		sizeCustomer = person
	}
	sizes := s.sizesFor(ctx, sizeCustomer)
	defer sizes.release()
	snap := s.active.Load()
	order, teams, personalized := s.rankForArm(ctx, snap, arm, q, text, prof, sc.items, sc.text, &sc.bufs)
	resp := searchResponse{
		SearchID: event.NewMessageID(), Personalized: personalized, Arm: arm, ModelVersion: snap.Version, Total: res.Total,
	}
	for k := offset; k < len(order) && k < offset+limit; k++ {
		i := order[k]
		p := sc.prods[i]
		out := searchResult{ProductID: p.ProductID, Score: round4(sc.bufs.Scores[i]), Name: p.Name, Brand: p.Brand, Category: p.Category, Color: p.Color, Gender: p.Gender, Price: p.Price}
		out.RecommendedSize, out.InStockInSize = s.sizeFor(sizes, prof, p)
		out.Team = teamAt(teams, k)
		if explain {
			out.Explain = snap.Explain(&sc.bufs, i)
		}
		sc.results = append(sc.results, out)
	}
	resp.Results = sc.results
	if resp.Results == nil {
		resp.Results = []searchResult{} // "results":[] when nothing matched, never null
	}
	took := time.Since(start)
	resp.TookMS = float64(took.Microseconds()) / 1000
	s.lat.add(arm, took, resp.Personalized)
	s.metrics.searchLatency.WithLabelValues("search").Observe(took.Seconds())
	s.metrics.searches.WithLabelValues("search", strconv.FormatBool(resp.Personalized)).Inc()
	if explain { // rare and for people: the reflective encoder is fine
		writeJSON(w, http.StatusOK, resp)
		return
	}
	bp := jsonBufPool.Get().(*[]byte)
	*bp = appendSearchResponse((*bp)[:0], &resp)
	writeJSONBytes(w, http.StatusOK, *bp)
	if cap(*bp) <= 64<<10 {
		jsonBufPool.Put(bp)
	}
}

// appendSearchResponse encodes r as encoding/json would (without explanations).
func appendSearchResponse(b []byte, r *searchResponse) []byte {
	b = appendKey(append(b, '{'), "search_id", true)
	b = jsonenc.AppendString(b, r.SearchID)
	b = appendJSONBool(appendKey(b, "personalized", false), r.Personalized)
	b = jsonenc.AppendString(appendKey(b, "arm", false), r.Arm)
	b = jsonenc.AppendString(appendKey(b, "model_version", false), r.ModelVersion)
	b = appendJSONFloat(appendKey(b, "took_ms", false), r.TookMS, 64)
	b = strconv.AppendInt(appendKey(b, "total", false), int64(r.Total), 10)
	b = appendKey(b, "results", false)
	if r.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSearchResult(b, &r.Results[i])
		}
		b = append(b, ']')
	}
	return append(b, '}', '\n')
}

func appendSearchResult(b []byte, x *searchResult) []byte {
	b = jsonenc.AppendString(appendKey(append(b, '{'), "product_id", true), x.ProductID)
	b = appendJSONFloat(appendKey(b, "score", false), float64(x.Score), 32)
	for _, f := range [...]struct{ k, v string }{
		{"name", x.Name}, {"brand", x.Brand}, {"category", x.Category}, {"color", x.Color}, {"gender", x.Gender},
	} {
		if f.v != "" {
			b = jsonenc.AppendString(appendKey(b, f.k, false), f.v)
		}
	}
	if x.Price != 0 {
		b = appendJSONFloat(appendKey(b, "price", false), x.Price, 64)
	}
	if x.RecommendedSize != "" {
		b = jsonenc.AppendString(appendKey(b, "recommended_size", false), x.RecommendedSize)
	}
	b = appendJSONBool(appendKey(b, "in_stock_in_size", false), x.InStockInSize)
	if x.Team != "" {
		b = jsonenc.AppendString(appendKey(b, "team", false), x.Team)
	}
	return append(b, '}')
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

// rerankInput is a decoded rerank request. A score that was absent, null or not finite
// is NaN.
type rerankInput struct {
	customerID, anonymousID, query string
	ids                            []string
	scores                         []float64
}

// parseStd decodes body with encoding/json (the reference the fast path is tested
// against), and checks what the fast path leaves to it.
func (in *rerankInput) parseStd(body []byte) *fieldReason {
	var req rerankRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return &fieldReason{Field: "body", Reason: "is not a valid rerank request: " + err.Error()}
	}
	if len(req.Items) == 0 {
		return &fieldReason{Field: "items", Reason: "is required: [{product_id, score}]"}
	}
	if len(req.Items) > maxRerank {
		return &fieldReason{Field: "items", Reason: "has " + strconv.Itoa(len(req.Items)) + " entries, over the limit of 1000"}
	}
	in.customerID, in.anonymousID, in.query = req.CustomerID, req.AnonymousID, req.Query
	in.ids, in.scores = in.ids[:0], in.scores[:0]
	for i, it := range req.Items {
		if it.ProductID == "" {
			return &fieldReason{Index: &i, Field: "items[" + strconv.Itoa(i) + "].product_id", Reason: "is required"}
		}
		score := math.NaN()
		if it.Score != nil {
			score = *it.Score
		}
		in.ids, in.scores = append(in.ids, string(it.ProductID)), append(in.scores, score)
	}
	return nil
}

// parseFast decodes the usual shape of a rerank body without reflection and without
// copying strings (they view body): exactly the keys customer_id, anonymous_id, query
// and items, each at most once, items of {"product_id": string or number, "score":
// number or null}, strings without escapes in valid UTF-8. On anything else it returns
// false and the caller uses parseStd, which accepts all that encoding/json accepts (and
// words the errors). Whenever it returns true, encoding/json decodes body to the same
// request (FuzzRerankParse checks it).
func (in *rerankInput) parseFast(b []byte) bool {
	in.customerID, in.anonymousID, in.query = "", "", ""
	in.ids, in.scores = in.ids[:0], in.scores[:0]
	p := jsonScan{b: b}
	if !p.eat('{') {
		return false
	}
	var seen uint8
	for {
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return false
		}
		var bit uint8
		switch key {
		case "customer_id":
			bit = 1
			in.customerID, ok = p.str()
		case "anonymous_id":
			bit = 2
			in.anonymousID, ok = p.str()
		case "query":
			bit = 4
			in.query, ok = p.str()
		case "items":
			bit = 8
			ok = p.items(in)
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if p.eat(',') {
			continue
		}
		if !p.eat('}') {
			return false
		}
		p.ws()
		return p.i == len(p.b) && len(in.ids) > 0
	}
}

// jsonScan reads the restricted JSON of parseFast.
type jsonScan struct {
	b []byte
	i int
}

func (p *jsonScan) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// eat skips white space and then c, reporting whether c was there.
func (p *jsonScan) eat(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control bytes, in valid UTF-8, as a view of b.
func (p *jsonScan) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start, ascii := p.i, true
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return unsafe.String(unsafe.SliceData(s), len(s)), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// number reads a JSON number literal as a view of b.
func (p *jsonScan) number() (string, bool) {
	p.ws()
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return "", false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return "", false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return "", false
		}
	}
	s := p.b[start:p.i]
	return unsafe.String(unsafe.SliceData(s), len(s)), true
}

func (p *jsonScan) literal(word string) bool {
	p.ws()
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

// items reads [{"product_id":…, "score":…}, …] into in.
func (p *jsonScan) items(in *rerankInput) bool {
	if !p.eat('[') {
		return false
	}
	for {
		if !p.eat('{') {
			return false
		}
		id, score := "", math.NaN()
		var seen uint8
		for {
			key, ok := p.str()
			if !ok || !p.eat(':') {
				return false
			}
			switch key {
			case "product_id":
				if seen&1 != 0 {
					return false
				}
				seen |= 1
				p.ws()
				if p.i < len(p.b) && p.b[p.i] == '"' {
					id, ok = p.str()
				} else {
					id, ok = p.number()
				}
			case "score":
				if seen&2 != 0 {
					return false
				}
				seen |= 2
				if !p.literal("null") {
					var lit string
					if lit, ok = p.number(); ok {
						var err error
						score, err = strconv.ParseFloat(lit, 64)
						ok = err == nil
					}
				}
			default:
				return false
			}
			if !ok {
				return false
			}
			if p.eat(',') {
				continue
			}
			if !p.eat('}') {
				return false
			}
			break
		}
		if id == "" || len(in.ids) == maxRerank {
			return false
		}
		in.ids, in.scores = append(in.ids, id), append(in.scores, score)
		if p.eat(',') {
			continue
		}
		return p.eat(']')
	}
}

// bodyPool holds request body buffers of /v1/rerank.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// readBody appends at most limit bytes of r to b.
func readBody(b []byte, r io.Reader, limit int) ([]byte, error) {
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
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
	bp := bodyPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			bodyPool.Put(bp)
		}
	}()
	body, err := readBody((*bp)[:0], r.Body, 1<<20+1)
	*bp = body
	if err != nil {
		badField(w, "body", "cannot be read: "+err.Error())
		return
	}
	if len(body) > 1<<20 {
		writeError(w, http.StatusRequestEntityTooLarge, "the body is over 1 MiB")
		return
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	in := &sc.rerank
	if !in.parseFast(body) { // anything unusual: the standard decoder, and its error messages
		if fe := in.parseStd(body); fe != nil {
			writeError(w, 400, "invalid request: "+fe.Field+" "+fe.Reason, *fe)
			return
		}
	}
	// in.ids may view body: they are used only until the answer is written.
	sc.items, sc.text = sc.items[:0], sc.text[:0]
	ids := in.ids
	hasScores := false
	table := s.items.Load()
	for i, id := range ids {
		if p, d, ok := s.index.Lookup(id); ok {
			sc.items = append(sc.items, table.get(d, p))
		} else {
			sc.items = append(sc.items, rank.Item{ID: profile.Hash(id)}) // unknown ids are ranked, never rejected
		}
		var score float32
		if x := in.scores[i]; !math.IsNaN(x) && !math.IsInf(x, 0) {
			score, hasScores = float32(x), true
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
	person, reason := s.personOf(ctx, in.customerID, in.anonymousID)
	if s.armOf(person, in.anonymousID) == experiment.Personalized {
		if reason == "" {
			prof, reason = s.profileOfPerson(ctx, person, in.anonymousID)
		}
		if reason != "" {
			s.metrics.fallbacks.WithLabelValues(reason).Inc()
		}
	}
	snap := s.active.Load()
	order := snap.Rank(rank.QueryKey(in.query), prof, sc.items, text, &sc.bufs)
	explain := r.URL.Query().Get("explain") == "true"
	sc.out = slices.Grow(sc.out[:0], len(order))[:len(order)]
	out := sc.out
	for k, i := range order {
		out[k] = rerankItem{ProductID: ids[i], Score: round4(sc.bufs.Scores[i])}
		if explain {
			out[k].Explain = snap.Explain(&sc.bufs, i)
		}
	}
	s.metrics.searchLatency.WithLabelValues("rerank").Observe(time.Since(start).Seconds())
	s.metrics.searches.WithLabelValues("rerank", strconv.FormatBool(prof != nil)).Inc()
	tookMS := float64(time.Since(start).Microseconds()) / 1000
	if explain {
		writeJSON(w, http.StatusOK, map[string]any{
			"personalized": prof != nil, "model_version": snap.Version, "took_ms": tookMS, "items": out,
		})
		return
	}
	rb := jsonBufPool.Get().(*[]byte)
	*rb = appendRerankResponse((*rb)[:0], out, snap.Version, prof != nil, tookMS)
	writeJSONBytes(w, http.StatusOK, *rb)
	if cap(*rb) <= 64<<10 {
		jsonBufPool.Put(rb)
	}
}

// appendRerankResponse encodes the rerank answer as encoding/json encodes it as a map
// (keys in sorted order), without explanations.
func appendRerankResponse(b []byte, items []rerankItem, version string, personalized bool, tookMS float64) []byte {
	b = append(appendKey(append(b, '{'), "items", true), '[')
	for k := range items {
		if k > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(appendKey(append(b, '{'), "product_id", true), items[k].ProductID)
		b = append(appendJSONFloat(appendKey(b, "score", false), float64(items[k].Score), 32), '}')
	}
	b = append(b, ']')
	b = jsonenc.AppendString(appendKey(b, "model_version", false), version)
	b = appendJSONBool(appendKey(b, "personalized", false), personalized)
	b = appendJSONFloat(appendKey(b, "took_ms", false), tookMS, 64)
	return append(b, '}', '\n')
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
	return rank.NewItem(profile.ItemOf(p), inStock)
}

// retrieveAll is the retrieval query training uses to score what a query matches.
func retrieveAll(q string) retrieve.Query {
	return retrieve.Query{Text: q, Limit: 500, NoCache: true}
}
