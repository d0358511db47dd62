package retrieve

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// Bleve field names.
const (
	fText     = "text"
	fBrand    = "brand"
	fCategory = "category"
	fGender   = "gender"
	fSize     = "size"
	fPrice    = "price"
)

// Field weights of the single text field (integer-weighted BM25F by repetition).
const (
	wName  = 3
	wBrand = 3
	wAttr  = 2
	wDesc  = 1
)

// tableWindow is the number of products an Upsert changes per hold of the lock.
const tableWindow = 1000

// Limits of one request.
const (
	DefaultLimit = 20
	MaxLimit     = 1000
	MaxWindow    = 10000 // offset + limit
	MaxTextBytes = 4096
)

// Engines: where text queries are evaluated.
const (
	// EngineMemory evaluates queries on the package's own in-memory posting lists
	// (BM25F, galloping AND, accumulator OR, Go-side filters and facets): several
	// times faster than Bleve at the tail, because it does no per-hit allocation and
	// needs no document-id translation. No Bleve index is built.
	EngineMemory = "memory"
	// EngineBleve evaluates queries with Bleve (scorch, BM25), in memory or under Dir.
	EngineBleve = "bleve"
)

// Options configure an Index. The zero value is a usable in-memory index.
type Options struct {
	// Engine is EngineMemory (default) or EngineBleve.
	Engine string
	// Dir, when set with EngineBleve, keeps the Bleve index on disk (scorch) under Dir/retrieve.bleve,
	// which New replaces: the index is rebuilt from the catalog at startup. Empty: in memory.
	Dir string
	// MinResults: when the AND query finds fewer products than this, the search
	// falls back to OR and typo correction. Default 10.
	MinResults int
	// CacheSize is the number of results kept in the result cache (default 4096;
	// negative disables the cache).
	CacheSize int
	// BatchSize bounds the documents per Bleve batch (default 10,000).
	BatchSize int
	// CompactAfter: an in-memory scorch index never merges its segments, and every
	// update batch adds one; after this many update batches the index is rebuilt in
	// one segment in the background and swapped in (default 64; negative: never).
	CompactAfter int
}

// Mode chooses how text queries match.
type Mode uint8

const (
	// ModeAuto is AND first, then OR and typo correction when AND finds too few.
	ModeAuto Mode = iota
	// ModeAnd requires every term and never falls back.
	ModeAnd
	// ModeOr matches any term (BM25 ranks products matching more terms first).
	ModeOr
)

// Query is one retrieval request. Zero filter fields do not filter.
type Query struct {
	Text     string
	Brand    string
	Category string
	// Gender "men" or "women" also matches unisex products.
	Gender string
	// Size keeps products in stock in this size.
	Size     string
	PriceMin float64
	PriceMax float64 // 0: no upper bound
	Limit    int     // default DefaultLimit, at most MaxLimit
	Offset   int
	Facets   bool // compute facet counts (costs time: only when shown)
	Mode     Mode
	NoCache  bool
}

// Hit is one retrieved product.
type Hit struct {
	ProductID string
	Score     float64 // BM25 for text queries; the popularity prior when browsing
	Dense     int32   // the product's dense index (see Lookup)
	Tier      uint8   // 0: matched every term; 1: found by the fallback (OR or corrected)
}

// FacetCount is one facet value and the number of matching products that have it.
type FacetCount struct {
	Value string
	Count int
}

// Facets are the counts over all matching products (not only the returned page).
type Facets struct {
	Brand    []FacetCount
	Category []FacetCount
	Gender   []FacetCount
	Price    []FacetCount // the PriceRanges buckets, in order, empty ones included
}

// Result is the answer to a Query.
type Result struct {
	Hits  []Hit
	Total int
	// Terms are the canonical terms searched (after normalisation and correction).
	Terms []string
	// Relaxed: not every query word had to match: the AND query found fewer than
	// MinResults and the OR fallback was used, or a word that no product has (and
	// nothing corrects) was dropped. Hits found only by the fallback have Tier 1.
	Relaxed bool
	// Corrected: at least one term was replaced by a spelling correction.
	Corrected bool
	Facets    *Facets
}

// PriceRanges are the price facet buckets: [Min, Max).
var PriceRanges = []struct {
	Name     string
	Min, Max float64
}{
	{"under 25", 0, 25}, {"25-50", 25, 50}, {"50-100", 50, 100}, {"100-200", 100, 200}, {"200 and up", 200, math.Inf(1)},
}

const facetSize = 20

// row is one product of the table.
type row struct {
	p                       *catalog.Product // nil: deleted
	brand, category, gender string           // normalised keys
	sizes                   []string         // normalised in-stock sizes
	pop                     float64
}

// Index is a searchable catalog. All methods are safe for concurrent use; writes are
// serialised and never block searches for longer than a table swap.
type Index struct {
	opts Options
	path string // on-disk index path, "" in memory

	bi      atomic.Pointer[bleveHolder]
	wmu     sync.Mutex   // serialises writers
	mu      sync.RWMutex // guards everything below
	ids     map[string]int32
	rows    []row
	live    int
	df      map[string]int32 // documents per text term
	spell   *speller
	order   []int32 // dense indexes by popularity, best first (may hold deleted rows)
	pop     map[string]float64
	display map[string]string // normalised keyword -> first display form seen
	cols    columns           // filter and facet columns by dense index
	post    map[string]*plist // EngineMemory: term -> postings (immutable lists)
	dlen    []float32         // EngineMemory: weighted text length per dense index
	sumLen  float64

	gen        atomic.Uint64
	cache      *resultCache
	batches    int  // update batches since the last (re)build, guarded by wmu
	closed     bool // guarded by wmu
	compacting atomic.Bool
}

type bleveHolder struct{ idx bleve.Index }

// New creates an empty index.
func New(opts Options) (*Index, error) {
	if opts.MinResults <= 0 {
		opts.MinResults = 10
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 4096
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 10000
	}
	if opts.CompactAfter == 0 {
		opts.CompactAfter = 64
	}
	switch opts.Engine {
	case "":
		opts.Engine = EngineMemory
		if opts.Dir != "" {
			opts.Engine = EngineBleve
		}
	case EngineMemory:
		if opts.Dir != "" {
			return nil, fmt.Errorf("search engine %q keeps nothing on disk: leave Dir empty or use %q", EngineMemory, EngineBleve)
		}
	case EngineBleve:
	default:
		return nil, fmt.Errorf("unknown search engine %q: use %q or %q", opts.Engine, EngineMemory, EngineBleve)
	}
	x := &Index{
		opts:    opts,
		ids:     make(map[string]int32),
		df:      make(map[string]int32),
		spell:   newSpeller(),
		pop:     make(map[string]float64),
		display: make(map[string]string),
		post:    make(map[string]*plist),
		cols:    newColumns(),
	}
	if opts.CacheSize > 0 {
		x.cache = newResultCache(opts.CacheSize)
	}
	if opts.Engine == EngineMemory {
		return x, nil
	}
	if opts.Dir != "" {
		x.path = filepath.Join(opts.Dir, "retrieve.bleve")
		if err := os.RemoveAll(x.path); err != nil {
			return nil, fmt.Errorf("cannot clear the old search index %q: %w", x.path, err)
		}
	}
	bi, err := x.newBleve(x.path)
	if err != nil {
		return nil, err
	}
	x.bi.Store(&bleveHolder{bi})
	return x, nil
}

func buildMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	im.ScoringModel = index.BM25Scoring
	if err := im.AddCustomAnalyzer("ws", map[string]interface{}{
		"type":      custom.Name,
		"tokenizer": whitespace.Name,
	}); err != nil {
		return nil, fmt.Errorf("cannot define the search analyzer: %w", err)
	}
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	im.DefaultAnalyzer = "ws"

	dm := bleve.NewDocumentStaticMapping()
	text := bleve.NewTextFieldMapping()
	text.Analyzer = "ws"
	text.Store = false
	text.IncludeInAll = false
	text.IncludeTermVectors = false
	text.DocValues = false
	dm.AddFieldMappingsAt(fText, text)
	for _, f := range []string{fBrand, fCategory, fGender, fSize} {
		k := bleve.NewKeywordFieldMapping()
		k.Store = false
		k.IncludeInAll = false
		k.IncludeTermVectors = false
		k.DocValues = f != fSize
		dm.AddFieldMappingsAt(f, k)
	}
	num := bleve.NewNumericFieldMapping()
	num.Store = false
	num.IncludeInAll = false
	num.DocValues = true
	dm.AddFieldMappingsAt(fPrice, num)
	im.DefaultMapping = dm
	return im, nil
}

func (x *Index) newBleve(path string) (bleve.Index, error) {
	im, err := buildMapping()
	if err != nil {
		return nil, err
	}
	bi, err := bleve.NewUsing(path, im, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot create the search index %q: %w", path, err)
	}
	return bi, nil
}

// Close releases the index. Searches after Close fail.
func (x *Index) Close() error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	x.closed = true
	h := x.bi.Load()
	if h == nil {
		return nil
	}
	if err := h.idx.Close(); err != nil {
		return fmt.Errorf("cannot close the search index: %w", err)
	}
	return nil
}

// Len is the number of products in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// Generation changes on every catalog or popularity change.
func (x *Index) Generation() uint64 { return x.gen.Load() }

// Lookup returns the product with this id and its dense index. The product must not
// be modified. Dense indexes are stable for the life of the Index and never reused.
func (x *Index) Lookup(id string) (*catalog.Product, int32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	d, ok := x.ids[id]
	if !ok || x.rows[d].p == nil {
		return nil, -1, false
	}
	return x.rows[d].p, d, true
}

// ByDense returns the product at a dense index, or nil if there is none (deleted).
func (x *Index) ByDense(d int32) *catalog.Product {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if d < 0 || int(d) >= len(x.rows) {
		return nil
	}
	return x.rows[d].p
}

// DenseLen is one past the largest dense index handed out.
func (x *Index) DenseLen() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.rows)
}

// SetPopularity sets the prior that orders browsing (empty queries): product id ->
// score, higher first; products not in pop get 0. It replaces the previous prior.
func (x *Index) SetPopularity(pop map[string]float64) {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	cp := make(map[string]float64, len(pop))
	for k, v := range pop {
		if !math.IsNaN(v) {
			cp[k] = v
		}
	}
	// Only writers change rows and wmu is held: reading rows without mu is safe here.
	pops := make([]float64, len(x.rows))
	for i := range x.rows {
		if p := x.rows[i].p; p != nil {
			pops[i] = cp[p.ProductID]
		}
	}
	order := buildOrder(x.rows, pops)
	x.mu.Lock()
	for i := range x.rows {
		x.rows[i].pop = pops[i]
	}
	x.pop = cp
	x.order = order
	x.mu.Unlock()
	x.gen.Add(1)
}

func buildOrder(rows []row, pops []float64) []int32 {
	order := make([]int32, 0, len(rows))
	for i := range rows {
		if rows[i].p != nil {
			order = append(order, int32(i))
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return pops[order[a]] > pops[order[b]] })
	return order
}

// indexText builds the weighted text of a product; appending the head terms (those
// the speller may suggest) to head.
func indexText(p *catalog.Product, sb *strings.Builder, tokens []string, head map[string]bool) []string {
	sb.Reset()
	add := func(s string, w int, max int, isHead bool) {
		if s == "" {
			return
		}
		start := len(tokens)
		tokens = analyze(tokens, s, max)
		for _, t := range tokens[start:] {
			if isHead {
				head[t] = true
			}
			for i := 0; i < w; i++ {
				sb.WriteString(t)
				sb.WriteByte(' ')
			}
		}
	}
	add(p.Name, wName, -1, true)
	add(p.Brand, wBrand, -1, true)
	add(p.Category, wAttr, -1, true)
	add(p.Color, wAttr, -1, true)
	add(p.Material, wAttr, -1, true)
	add(p.Style, wAttr, -1, true)
	switch normGender(p.Gender) {
	case "unisex":
		add("unisex men women", wAttr, -1, true)
	case "men", "women", "kids":
		add(normGender(p.Gender), wAttr, -1, true)
	}
	add(p.Description, wDesc, maxDescTokens, false)
	return tokens
}

func bleveDoc(p *catalog.Product, text string) map[string]interface{} {
	doc := map[string]interface{}{fText: text}
	if k := normKey(p.Brand); k != "" {
		doc[fBrand] = k
	}
	if k := normKey(p.Category); k != "" {
		doc[fCategory] = k
	}
	if k := normGender(p.Gender); k != "" {
		doc[fGender] = k
	}
	if sz := inStockSizes(p); len(sz) > 0 {
		doc[fSize] = sz
	}
	if p.Price > 0 {
		doc[fPrice] = p.Price
	}
	return doc
}

func inStockSizes(p *catalog.Product) []string {
	var out []string
	for _, s := range p.Sizes {
		if s.InStock {
			if k := normSize(s.Size); k != "" {
				out = append(out, k)
			}
		}
	}
	return out
}

func uniq(ts []string) []string {
	seen := make(map[string]struct{}, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if _, ok := seen[t]; !ok {
			seen[t] = struct{}{}
			out = append(out, t)
		}
	}
	return out
}

// Upsert adds or replaces products. Every product is checked (catalog.Normalize)
// before anything changes: one bad product fails the whole call. The change is
// visible to searches when Upsert returns.
func (x *Index) Upsert(products []catalog.Product) error {
	if len(products) == 0 {
		return nil
	}
	prods := make([]*catalog.Product, 0, len(products))
	pos := make(map[string]int, len(products))
	for i := range products {
		p := products[i] // copy: the caller keeps its slice
		p.Sizes = append([]catalog.Size(nil), p.Sizes...)
		if err := p.Normalize(); err != nil {
			return fmt.Errorf("cannot index product %d (%q): %w", i, products[i].ProductID, err)
		}
		if j, ok := pos[p.ProductID]; ok { // the last one of an id wins
			prods[j] = &p
			continue
		}
		pos[p.ProductID] = len(prods)
		prods = append(prods, &p)
	}

	x.wmu.Lock()
	defer x.wmu.Unlock()
	var sb strings.Builder
	type prepared struct {
		text   string
		tokens []string
		head   map[string]bool
	}
	prep := make([]prepared, len(prods))
	for i, p := range prods {
		head := make(map[string]bool)
		toks := uniq(indexText(p, &sb, nil, head))
		prep[i] = prepared{sb.String(), toks, head}
	}

	// Dense indexes: existing ids keep theirs, new ones are appended. Only writers
	// change ids and rows, and wmu is held: reading them without mu is safe here.
	dense := make([]int32, len(prods))
	next := int32(len(x.rows))
	for i, p := range prods {
		if d, ok := x.ids[p.ProductID]; ok {
			dense[i] = d
		} else {
			dense[i] = next
			next++
		}
	}
	var newLists map[string]*plist
	lens := make([]float32, len(prods))
	if x.opts.Engine == EngineMemory {
		deltas := make(map[string]*postingDelta)
		delta := func(t string) *postingDelta {
			dl := deltas[t]
			if dl == nil {
				dl = &postingDelta{}
				deltas[t] = dl
			}
			return dl
		}
		for i := range prods {
			d := dense[i]
			if int(d) < len(x.rows) && x.rows[d].p != nil {
				indexText(x.rows[d].p, &sb, nil, map[string]bool{})
				old, _ := termFreqs(sb.String())
				for t := range old {
					dl := delta(t)
					if dl.remove == nil {
						dl.remove = map[int32]bool{}
					}
					dl.remove[d] = true
				}
			}
			tf, n := termFreqs(prep[i].text)
			lens[i] = n
			for t, c := range tf {
				dl := delta(t)
				dl.add = append(dl.add, posting{d, c})
			}
		}
		// lengths as they will be once this batch is in, to rank champions
		ls := &lengths{pending: make(map[int32]float32, len(prods)), dlen: x.dlen}
		sum, live := x.sumLen, x.live
		for i := range prods {
			d := dense[i]
			ls.pending[d] = lens[i]
			if int(d) < len(x.rows) && x.rows[d].p != nil {
				sum -= float64(x.dlen[d])
			} else {
				live++
			}
			sum += float64(lens[i])
		}
		if live > 0 {
			ls.avg = float32(sum / float64(live))
		}
		newLists = make(map[string]*plist, len(deltas))
		for t, dl := range deltas {
			newLists[t] = applyDelta(x.post[t], dl, ls)
		}
	}

	// The old versions' terms, worked out before taking the lock.
	oldTerms := make([][]string, len(prods))
	oldHead := make([]map[string]bool, len(prods))
	for i := range prods {
		if d := dense[i]; int(d) < len(x.rows) && x.rows[d].p != nil {
			oldHead[i] = map[string]bool{}
			oldTerms[i] = uniq(indexText(x.rows[d].p, &sb, nil, oldHead[i]))
		}
	}

	// The table first: a product is looked up before it can be found, and a hit for
	// a product the table no longer has is dropped. Large loads take the lock in
	// windows of tableWindow products so that searches are never held up for long.
	needOrder := false
	for start := 0; start < len(prods); start += tableWindow {
		end := min(start+tableWindow, len(prods))
		x.mu.Lock()
		for i := start; i < end; i++ {
			p := prods[i]
			r := row{p: p, brand: normKey(p.Brand), category: normKey(p.Category), gender: normGender(p.Gender),
				sizes: inStockSizes(p), pop: x.pop[p.ProductID]}
			for _, kv := range [][2]string{{r.brand, p.Brand}, {r.category, p.Category}, {r.gender, r.gender}} {
				if _, ok := x.display[kv[0]]; !ok && kv[0] != "" {
					x.display[kv[0]] = strings.TrimSpace(kv[1])
				}
			}
			d := dense[i]
			if int(d) < len(x.rows) {
				if old := x.rows[d].p; old != nil {
					x.forget(oldTerms[i], oldHead[i])
					x.sumLen -= float64(x.dlen[d])
				} else {
					x.live++
					x.order = append(x.order, d)
					needOrder = needOrder || r.pop != 0
				}
				x.rows[d] = r
				x.dlen[d] = lens[i]
				x.cols.set(d, &r)
			} else {
				x.ids[p.ProductID] = d
				x.rows = append(x.rows, r)
				x.dlen = append(x.dlen, lens[i])
				x.cols.set(d, &r)
				x.live++
				x.order = append(x.order, d)
				needOrder = needOrder || r.pop != 0
			}
			x.sumLen += float64(lens[i])
			for _, t := range prep[i].tokens {
				x.df[t]++
			}
			for t := range prep[i].head {
				x.spell.add(t)
			}
		}
		if end == len(prods) {
			for t, l := range newLists {
				if l == nil {
					delete(x.post, t)
				} else {
					x.post[t] = l
				}
			}
			if needOrder {
				pops := make([]float64, len(x.rows))
				for i := range x.rows {
					pops[i] = x.rows[i].pop
				}
				x.order = buildOrder(x.rows, pops)
			}
		}
		x.mu.Unlock()
	}
	x.gen.Add(1)
	if x.opts.Engine == EngineMemory {
		return nil
	}

	bi := x.bi.Load().idx
	for start := 0; start < len(prods); start += x.opts.BatchSize {
		end := min(start+x.opts.BatchSize, len(prods))
		b := bi.NewBatch()
		for i := start; i < end; i++ {
			if err := b.Index(prods[i].ProductID, bleveDoc(prods[i], prep[i].text)); err != nil {
				x.gen.Add(1)
				return fmt.Errorf("cannot index product %q: %w", prods[i].ProductID, err)
			}
		}
		if err := bi.Batch(b); err != nil {
			x.gen.Add(1)
			return fmt.Errorf("cannot write %d products to the search index: %w", end-start, err)
		}
		x.batches++
	}
	x.gen.Add(1)
	x.maybeCompact()
	return nil
}

// forgetTerms decrements the document frequencies of an old product version. mu held.
func (x *Index) forgetTerms(p *catalog.Product, sb *strings.Builder) {
	head := make(map[string]bool)
	x.forget(uniq(indexText(p, sb, nil, head)), head)
}

// forget decrements the document frequencies of terms. mu held.
func (x *Index) forget(terms []string, head map[string]bool) {
	for _, t := range terms {
		if x.df[t]--; x.df[t] <= 0 {
			delete(x.df, t)
		}
	}
	for t := range head {
		x.spell.remove(t)
	}
}

// Delete removes products by id; unknown ids are ignored.
func (x *Index) Delete(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	x.wmu.Lock()
	defer x.wmu.Unlock()
	var sb strings.Builder
	var gone []string
	var newLists map[string]*plist
	if x.opts.Engine == EngineMemory { // wmu held: reading rows and post without mu is safe
		deltas := make(map[string]*postingDelta)
		for _, id := range ids {
			d, ok := x.ids[id]
			if !ok || x.rows[d].p == nil {
				continue
			}
			indexText(x.rows[d].p, &sb, nil, map[string]bool{})
			tf, _ := termFreqs(sb.String())
			for t := range tf {
				if deltas[t] == nil {
					deltas[t] = &postingDelta{remove: map[int32]bool{}}
				}
				deltas[t].remove[d] = true
			}
		}
		ls := &lengths{dlen: x.dlen}
		if x.live > 0 {
			ls.avg = float32(x.sumLen / float64(x.live))
		}
		newLists = make(map[string]*plist, len(deltas))
		for t, dl := range deltas {
			newLists[t] = applyDelta(x.post[t], dl, ls)
		}
	}
	x.mu.Lock()
	for _, id := range ids {
		d, ok := x.ids[id]
		if !ok || x.rows[d].p == nil {
			continue
		}
		x.forgetTerms(x.rows[d].p, &sb)
		x.rows[d] = row{}
		x.cols.alive[d] = false
		x.sumLen -= float64(x.dlen[d])
		x.dlen[d] = 0
		x.live--
		gone = append(gone, id)
	}
	for t, l := range newLists {
		if l == nil {
			delete(x.post, t)
		} else {
			x.post[t] = l
		}
	}
	if len(gone) > 0 {
		order := make([]int32, 0, len(x.order))
		for _, d := range x.order {
			if x.rows[d].p != nil {
				order = append(order, d)
			}
		}
		x.order = order
	}
	x.mu.Unlock()
	x.gen.Add(1)
	if len(gone) == 0 || x.opts.Engine == EngineMemory {
		return nil
	}
	bi := x.bi.Load().idx
	b := bi.NewBatch()
	for _, id := range gone {
		b.Delete(id)
	}
	if err := bi.Batch(b); err != nil {
		return fmt.Errorf("cannot delete %d products from the search index: %w", len(gone), err)
	}
	x.batches++
	x.gen.Add(1)
	x.maybeCompact()
	return nil
}

// maybeCompact rebuilds an in-memory index in the background once enough update
// batches have piled up segments. wmu held.
func (x *Index) maybeCompact() {
	if x.path != "" || x.opts.CompactAfter < 0 || x.batches < x.opts.CompactAfter || !x.compacting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer x.compacting.Store(false)
		_ = x.Compact()
	}()
}

// Compact rebuilds the Bleve index from the product table into one segment and
// swaps it in. Writers wait for it; searches go on against the old index.
func (x *Index) Compact() error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	if x.path != "" || x.opts.Engine != EngineBleve || x.closed {
		return nil // scorch on disk merges segments itself; the memory engine has no segments
	}
	nb, err := x.newBleve("")
	if err != nil {
		return err
	}
	var sb strings.Builder
	head := map[string]bool{}
	b := nb.NewBatch()
	for i := range x.rows { // wmu held: rows only change under wmu
		p := x.rows[i].p
		if p == nil {
			continue
		}
		indexText(p, &sb, nil, head)
		if err := b.Index(p.ProductID, bleveDoc(p, sb.String())); err != nil {
			nb.Close()
			return fmt.Errorf("cannot re-index product %q: %w", p.ProductID, err)
		}
	}
	if err := nb.Batch(b); err != nil {
		nb.Close()
		return fmt.Errorf("cannot rebuild the search index: %w", err)
	}
	old := x.bi.Swap(&bleveHolder{nb})
	x.batches = 0
	// Searches that loaded the old index just before the swap may still be running:
	// close it once they are surely done.
	time.AfterFunc(10*time.Second, func() { _ = old.idx.Close() })
	return nil
}

// Searcher is what the serving path needs from retrieval.
type Searcher interface {
	Search(ctx context.Context, q Query) (Result, error)
	Lookup(id string) (*catalog.Product, int32, bool)
}

// Catalog is what catalog updates (PUT/DELETE /v1/products) need.
type Catalog interface {
	Upsert(products []catalog.Product) error
	Delete(ids []string) error
	SetPopularity(pop map[string]float64)
}

var (
	_ Searcher = (*Index)(nil)
	_ Catalog  = (*Index)(nil)
)
