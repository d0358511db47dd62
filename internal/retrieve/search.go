package retrieve

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

const maxSuggestions = 3

// check validates a query and fills defaults.
func (q *Query) check() error {
	switch {
	case q.Limit < 0:
		return fmt.Errorf("limit %d is negative", q.Limit)
	case q.Limit > MaxLimit:
		return fmt.Errorf("limit %d is over the maximum of %d", q.Limit, MaxLimit)
	case q.Offset < 0:
		return fmt.Errorf("offset %d is negative", q.Offset)
	case math.IsNaN(q.PriceMin) || math.IsNaN(q.PriceMax) || q.PriceMin < 0 || q.PriceMax < 0:
		return fmt.Errorf("price range [%v, %v] must be non-negative numbers", q.PriceMin, q.PriceMax)
	case q.PriceMax > 0 && q.PriceMax < q.PriceMin:
		return fmt.Errorf("price_max %v is below price_min %v", q.PriceMax, q.PriceMin)
	case len(q.Text) > MaxTextBytes:
		return fmt.Errorf("query text is %d bytes, over the limit of %d", len(q.Text), MaxTextBytes)
	case q.Mode > ModeOr:
		return fmt.Errorf("unknown match mode %d", q.Mode)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Offset+q.Limit > MaxWindow {
		return fmt.Errorf("offset+limit %d is over the maximum of %d", q.Offset+q.Limit, MaxWindow)
	}
	return nil
}

// filters are the normalised filter values of a query.
type filters struct {
	brand, category, gender, size string
	priceMin, priceMax            float64
}

func (q *Query) filters() filters {
	return filters{normKey(q.Brand), normKey(q.Category), normGender(q.Gender), normSize(q.Size), q.PriceMin, q.PriceMax}
}

func (f *filters) priced() bool { return f.priceMin > 0 || f.priceMax > 0 }

// bleveFilter is the filter as a non-scoring Bleve query, or nil.
func (f *filters) bleveFilter() query.Query {
	var qs []query.Query
	term := func(field, v string) query.Query {
		t := query.NewTermQuery(v)
		t.SetField(field)
		return t
	}
	if f.brand != "" {
		qs = append(qs, term(fBrand, f.brand))
	}
	if f.category != "" {
		qs = append(qs, term(fCategory, f.category))
	}
	if f.gender != "" {
		if f.gender == "men" || f.gender == "women" {
			qs = append(qs, query.NewDisjunctionQuery([]query.Query{term(fGender, f.gender), term(fGender, "unisex")}))
		} else {
			qs = append(qs, term(fGender, f.gender))
		}
	}
	if f.size != "" {
		qs = append(qs, term(fSize, f.size))
	}
	if f.priced() {
		lo, t := f.priceMin, true
		var hi *float64
		if f.priceMax > 0 {
			hi = &f.priceMax
		}
		r := query.NewNumericRangeInclusiveQuery(&lo, hi, &t, &t)
		r.SetField(fPrice)
		qs = append(qs, r)
	}
	switch len(qs) {
	case 0:
		return nil
	case 1:
		return qs[0]
	}
	return query.NewConjunctionQuery(qs)
}

func (q *Query) cacheKey(terms []string, f *filters) string {
	var sb strings.Builder
	sb.Grow(64)
	for _, t := range terms {
		sb.WriteString(t)
		sb.WriteByte(' ')
	}
	sb.WriteByte(0)
	for _, s := range []string{f.brand, f.category, f.gender, f.size} {
		sb.WriteString(s)
		sb.WriteByte(0)
	}
	sb.WriteString(strconv.FormatFloat(f.priceMin, 'g', -1, 64))
	sb.WriteByte(0)
	sb.WriteString(strconv.FormatFloat(f.priceMax, 'g', -1, 64))
	sb.WriteByte(0)
	sb.WriteString(strconv.Itoa(q.Limit))
	sb.WriteByte(0)
	sb.WriteString(strconv.Itoa(q.Offset))
	sb.WriteByte(0)
	if q.Facets {
		sb.WriteByte('f')
	}
	sb.WriteByte('0' + byte(q.Mode))
	return sb.String()
}

// Search retrieves products for q: AND over the query's terms first, falling back
// to OR with typo corrections when that finds fewer than Options.MinResults; an
// empty query browses by popularity. Invalid queries get an error, never a panic.
func (x *Index) Search(ctx context.Context, q Query) (Result, error) {
	if err := q.check(); err != nil {
		return Result{}, fmt.Errorf("invalid search: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	f := q.filters()
	var tbuf [maxQueryTokens]string
	terms := uniq(analyze(tbuf[:0], q.Text, maxQueryTokens))
	gen := x.gen.Load()
	var key string
	if x.cache != nil && !q.NoCache {
		key = q.cacheKey(terms, &f)
		if r, ok := x.cache.get(key, gen); ok {
			return r, nil
		}
	}
	var res Result
	var err error
	if len(terms) == 0 {
		res = x.browse(&q, &f)
	} else {
		res, err = x.searchText(ctx, &q, &f, terms)
		if err != nil {
			return Result{}, err
		}
	}
	if key != "" {
		x.cache.put(key, gen, res)
	}
	return res, nil
}

// Warm runs queries to fill the result cache, e.g. the head queries after a catalog
// update or a model publish (the cache is invalidated by every change). It stops at
// the first error, or when ctx is done.
func (x *Index) Warm(ctx context.Context, qs []Query) error {
	for _, q := range qs {
		q.NoCache = false
		if _, err := x.Search(ctx, q); err != nil {
			return fmt.Errorf("cannot warm the cache with %q: %w", q.Text, err)
		}
	}
	return nil
}

// group is one query position: a term, or its spelling corrections.
type group struct {
	terms     []string
	corrected bool // the query word matched nothing: terms are its corrections
	expanded  bool // terms[0] is the query word, the rest its spelling neighbours
}

func (x *Index) searchText(ctx context.Context, q *Query, f *filters, terms []string) (Result, error) {
	res := Result{}
	groups := make([]group, 0, len(terms))
	x.mu.RLock()
	for _, t := range terms {
		if x.df[t] > 0 {
			groups = append(groups, group{terms: []string{t}})
		} else if s := x.spell.suggest(t, maxSuggestions); len(s) > 0 {
			groups = append(groups, group{terms: s, corrected: true})
		}
		// a word no product has and nothing corrects can match nothing: dropped
	}
	x.mu.RUnlock()
	for _, g := range groups {
		res.Terms = append(res.Terms, g.terms...)
		res.Corrected = res.Corrected || g.corrected
	}
	if len(groups) == 0 {
		return res, nil
	}
	if len(groups) < len(terms) {
		if q.Mode == ModeAnd {
			return res, nil // some word matches nothing
		}
		res.Relaxed = true // the words that match nothing were dropped
	}
	want := q.Offset + q.Limit
	page := func(hits []Hit) []Hit {
		if q.Offset >= len(hits) {
			return hits[:0]
		}
		return hits[q.Offset:min(len(hits), q.Offset+q.Limit)]
	}
	if q.Mode == ModeOr {
		hits, total, fs, err := x.exec(ctx, groups, false, f, want, q.Facets)
		if err != nil {
			return Result{}, err
		}
		res.Hits, res.Total, res.Facets = page(hits), total, fs
		return res, nil
	}
	hits, total, fs, err := x.exec(ctx, groups, true, f, want, q.Facets)
	if err != nil {
		return Result{}, err
	}
	if total >= x.opts.MinResults || q.Mode == ModeAnd || (len(groups) == 1 && !x.expandFuzzy(groups)) {
		// enough, or nothing to relax (the OR of one word is its AND)
		res.Hits, res.Total, res.Facets = page(hits), total, fs
		return res, nil
	}
	// Relax: the AND matches first, then the OR matches with spelling neighbours.
	x.expandFuzzy(groups)
	orHits, orTotal, orFacets, err := x.exec(ctx, groups, false, f, want, q.Facets)
	if err != nil {
		return Result{}, err
	}
	res.Relaxed = true
	res.Terms = res.Terms[:0]
	for _, g := range groups {
		res.Terms = append(res.Terms, g.terms...)
	}
	seen := make(map[int32]struct{}, len(hits))
	for _, h := range hits {
		seen[h.Dense] = struct{}{}
	}
	for _, h := range orHits {
		if len(hits) >= want {
			break
		}
		if _, ok := seen[h.Dense]; !ok {
			h.Tier = 1
			hits = append(hits, h)
		}
	}
	res.Hits, res.Total, res.Facets = page(hits), max(orTotal, total), orFacets
	return res, nil
}

// exec runs one query on the configured engine.
func (x *Index) exec(ctx context.Context, groups []group, and bool, f *filters, want int, facets bool) ([]Hit, int, *Facets, error) {
	if x.opts.Engine == EngineMemory {
		x.mu.RLock()
		hits, total, fs := x.memSearch(groups, and, f, want, facets)
		x.mu.RUnlock()
		return hits, total, fs, nil
	}
	var text query.Query
	if and {
		text = andQuery(groups)
	} else {
		text = orQuery(groups)
	}
	sr, err := x.run(ctx, text, f.bleveFilter(), want, facets)
	if err != nil {
		return nil, 0, nil, err
	}
	hits := make([]Hit, 0, len(sr.Hits))
	x.mu.RLock()
	for _, h := range sr.Hits {
		d, ok := x.ids[h.ID]
		if !ok || x.rows[d].p == nil {
			continue // deleted while the search ran
		}
		hits = append(hits, Hit{ProductID: h.ID, Score: h.Score, Dense: d})
	}
	x.mu.RUnlock()
	return hits, int(sr.Total), x.facets(sr), nil
}

// expandFuzzy adds spelling neighbours (edit distance 1, words of 5+ bytes) to every
// uncorrected group; it reports whether any group grew.
func (x *Index) expandFuzzy(groups []group) bool {
	grew := false
	x.mu.RLock()
	defer x.mu.RUnlock()
	for i := range groups {
		if groups[i].corrected || groups[i].expanded {
			continue
		}
		if s := x.spell.suggest(groups[i].terms[0], maxSuggestions); len(s) > 0 {
			groups[i].terms = append(groups[i].terms, s...)
			groups[i].expanded = true
			grew = true
		}
	}
	return grew
}

func termQ(t string, boost float64) query.Query {
	q := query.NewTermQuery(t)
	q.SetField(fText)
	if boost != 1 {
		q.SetBoost(boost)
	}
	return q
}

// groupQuery is a group as one query: its term, or its alternatives (the original
// term of an expanded group keeps full weight, corrections count half).
func groupQuery(g group) query.Query {
	if len(g.terms) == 1 {
		return termQ(g.terms[0], 1)
	}
	alts := make([]query.Query, len(g.terms))
	for i, t := range g.terms {
		w := 1.0
		if g.expanded && i > 0 {
			w = 0.5
		}
		alts[i] = termQ(t, w)
	}
	return query.NewDisjunctionQuery(alts)
}

func andQuery(groups []group) query.Query {
	if len(groups) == 1 {
		return groupQuery(groups[0])
	}
	qs := make([]query.Query, len(groups))
	for i, g := range groups {
		qs[i] = groupQuery(g)
	}
	return query.NewConjunctionQuery(qs)
}

func orQuery(groups []group) query.Query {
	if len(groups) == 1 {
		return groupQuery(groups[0])
	}
	qs := make([]query.Query, len(groups))
	for i, g := range groups {
		qs[i] = groupQuery(g)
	}
	return query.NewDisjunctionQuery(qs)
}

func (x *Index) run(ctx context.Context, text, filter query.Query, size int, facets bool) (*bleve.SearchResult, error) {
	q := text
	if filter != nil {
		b := query.NewBooleanQuery(nil, nil, nil)
		b.Must = text
		b.AddFilter(filter)
		q = b
	}
	req := bleve.NewSearchRequestOptions(q, size, 0, false)
	if facets {
		req.Facets = facetRequests()
	}
	sr, err := x.bi.Load().idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search index query failed: %w", err)
	}
	return sr, nil
}

func facetRequests() bleve.FacetsRequest {
	fr := bleve.FacetsRequest{
		fBrand:    bleve.NewFacetRequest(fBrand, facetSize),
		fCategory: bleve.NewFacetRequest(fCategory, facetSize),
		fGender:   bleve.NewFacetRequest(fGender, facetSize),
	}
	pf := bleve.NewFacetRequest(fPrice, len(PriceRanges))
	for _, r := range PriceRanges {
		lo, hi := r.Min, r.Max
		if math.IsInf(hi, 1) {
			pf.AddNumericRange(r.Name, &lo, nil)
		} else {
			pf.AddNumericRange(r.Name, &lo, &hi)
		}
	}
	fr[fPrice] = pf
	return fr
}

func (x *Index) facets(sr *bleve.SearchResult) *Facets {
	if len(sr.Facets) == 0 {
		return nil
	}
	f := &Facets{}
	x.mu.RLock()
	terms := func(fr *search.FacetResult) []FacetCount {
		if fr == nil || fr.Terms == nil {
			return nil
		}
		var out []FacetCount
		for _, t := range fr.Terms.Terms() {
			v := x.display[t.Term]
			if v == "" {
				v = t.Term
			}
			out = append(out, FacetCount{v, t.Count})
		}
		return out
	}
	f.Brand = terms(sr.Facets[fBrand])
	f.Category = terms(sr.Facets[fCategory])
	f.Gender = terms(sr.Facets[fGender])
	x.mu.RUnlock()
	counts := map[string]int{}
	if pr := sr.Facets[fPrice]; pr != nil {
		for _, r := range pr.NumericRanges {
			counts[r.Name] = r.Count
		}
	}
	for _, r := range PriceRanges {
		f.Price = append(f.Price, FacetCount{r.Name, counts[r.Name]})
	}
	return f
}

// browse answers an empty query from the table: the filters in Go, in popularity order.
func (x *Index) browse(q *Query, f *filters) Result {
	res := Result{Hits: make([]Hit, 0, q.Limit)}
	x.mu.RLock()
	defer x.mu.RUnlock()
	cols := &x.cols
	cf := cols.compile(f)
	var fc *facetCounter
	if q.Facets {
		fc = newFacetCounter(cols)
	}
	if !cf.none {
		// The page, in popularity order, stopping as soon as it is full...
		want := q.Offset + q.Limit
		seen := 0
		for _, d := range x.order {
			if seen >= want {
				break
			}
			if !cols.alive[d] || !cf.match(cols, x.rows, d) {
				continue
			}
			if seen >= q.Offset {
				res.Hits = append(res.Hits, Hit{ProductID: x.rows[d].p.ProductID, Score: x.rows[d].pop, Dense: d})
			}
			seen++
		}
		// ...then the total and facets in dense order: sequential, cache-friendly reads.
		switch {
		case cf.any && fc == nil:
			res.Total = x.live
		default:
			for d := range cols.alive {
				if !cols.alive[d] || !cf.match(cols, x.rows, int32(d)) {
					continue
				}
				res.Total++
				if fc != nil {
					fc.add(cols, int32(d))
				}
			}
		}
	}
	if fc != nil {
		res.Facets = x.facetsOf(fc)
	}
	return res
}

// topCounts turns counts into the facetSize largest, by count then value. mu held.
func (x *Index) topCounts(m map[string]int) []FacetCount {
	out := make([]FacetCount, 0, len(m))
	for k, n := range m {
		v := x.display[k]
		if v == "" {
			v = k
		}
		out = append(out, FacetCount{v, n})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Count != out[b].Count {
			return out[a].Count > out[b].Count
		}
		return out[a].Value < out[b].Value
	})
	if len(out) > facetSize {
		out = out[:facetSize]
	}
	return out
}
