package retrieve

import (
	"math"
	"slices"
	"sort"
	"sync"
)

// The in-memory engine: one posting list per canonical term, sorted by dense index,
// holding the term's weighted frequency in the product (name and brand count three
// times, attributes twice, description once). Lists are immutable once published; an
// update builds new lists for the terms it touches and swaps them in under the lock.
// AND gallops through the lists from the shortest; OR accumulates into a dense score
// array. Scoring is BM25 (k1 = 1.2, b = 0.75) over the weighted frequencies, i.e.
// BM25F with integer field weights.

const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

type plist struct {
	docs []int32
	tfs  []float32
	// champ, for long lists only, holds the champMax docs of highest BM25 impact,
	// best first (ranked with the average length of when the list was built). A
	// one-word query without filters takes its top k from here instead of scoring the
	// whole list: the early termination that keeps common words ("shoes") cheap.
	champ   []int32
	champTF []float32
}

// Champion lists: kept for lists longer than champMin, champMax docs each.
const (
	champMin = 1500
	champMax = 1000
)

// lengths gives the weighted text length of a doc, and the average, for ranking
// champions while lists are rebuilt.
type lengths struct {
	pending map[int32]float32 // docs being written
	dlen    []float32
	avg     float32
}

func (l *lengths) of(d int32) float32 {
	if v, ok := l.pending[d]; ok {
		return v
	}
	if int(d) < len(l.dlen) {
		return l.dlen[d]
	}
	return l.avg
}

// buildChamps fills p.champ when p is long.
func (p *plist) buildChamps(l *lengths) {
	if len(p.docs) <= champMin {
		return
	}
	avg := l.avg
	if avg <= 0 {
		avg = 1
	}
	type imp struct {
		s float32
		d int32
	}
	all := make([]imp, len(p.docs))
	for i, d := range p.docs {
		tf := p.tfs[i]
		all[i] = imp{tf / (tf + bm25K1*(1-bm25B+bm25B*l.of(d)/avg)), d}
	}
	slices.SortFunc(all, func(a, b imp) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return int(a.d) - int(b.d)
	})
	p.champ = make([]int32, champMax)
	p.champTF = make([]float32, champMax)
	for i := range p.champ {
		p.champ[i] = all[i].d
		p.champTF[i] = p.tfs[gallop(p.docs, 0, all[i].d)]
	}
}

func (p *plist) len() int {
	if p == nil {
		return 0
	}
	return len(p.docs)
}

// postingDelta is what one Upsert/Delete changes in one term's list: the docs whose
// old entry goes (deleted or replaced products) and the new entries.
type postingDelta struct {
	add    []posting
	remove map[int32]bool
}

type posting struct {
	doc int32
	tf  float32
}

// applyDelta returns a new list: old minus removed docs, plus the added entries.
func applyDelta(old *plist, d *postingDelta, l *lengths) *plist {
	slices.SortFunc(d.add, func(a, b posting) int { return int(a.doc) - int(b.doc) })
	n := old.len() + len(d.add)
	out := &plist{docs: make([]int32, 0, n), tfs: make([]float32, 0, n)}
	var od []int32
	var ot []float32
	if old != nil {
		od, ot = old.docs, old.tfs
	}
	i, j := 0, 0
	for i < len(od) || j < len(d.add) {
		if i < len(od) && d.remove[od[i]] {
			i++
			continue
		}
		if j == len(d.add) || (i < len(od) && od[i] < d.add[j].doc) {
			out.docs = append(out.docs, od[i])
			out.tfs = append(out.tfs, ot[i])
			i++
		} else {
			out.docs = append(out.docs, d.add[j].doc)
			out.tfs = append(out.tfs, d.add[j].tf)
			j++
		}
	}
	if len(out.docs) == 0 {
		return nil
	}
	out.buildChamps(l)
	return out
}

// termFreqs counts the weighted text of a product (the string indexText built).
func termFreqs(weighted string) (map[string]float32, float32) {
	tf := make(map[string]float32)
	var n float32
	start := -1
	for i := 0; i <= len(weighted); i++ {
		if i == len(weighted) || weighted[i] == ' ' {
			if start >= 0 {
				tf[weighted[start:i]]++
				n++
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return tf, n
}

// scoredDoc is a candidate in the top-k heap.
type scoredDoc struct {
	score float32
	doc   int32
}

// worse orders candidates: lower score first, then higher dense index.
func worse(a, b scoredDoc) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.doc > b.doc
}

// topK keeps the k best candidates in a min-heap.
type topK struct {
	k int
	h []scoredDoc
}

func (t *topK) push(s scoredDoc) {
	if len(t.h) < t.k {
		t.h = append(t.h, s)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(t.h[i], t.h[p]) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	if !worse(t.h[0], s) {
		return
	}
	t.h[0] = s
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(t.h) && worse(t.h[l], t.h[m]) {
			m = l
		}
		if r < len(t.h) && worse(t.h[r], t.h[m]) {
			m = r
		}
		if m == i {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// sorted returns the candidates best first.
func (t *topK) sorted() []scoredDoc {
	slices.SortFunc(t.h, func(a, b scoredDoc) int {
		if worse(b, a) {
			return -1
		}
		if worse(a, b) {
			return 1
		}
		return 0
	})
	return t.h
}

type memAlt struct {
	list *plist
	w    float32 // query weight times idf
}

// orScratch is the dense accumulator of OR queries, pooled.
type orScratch struct {
	score       []float32
	mark, count []uint8
	touched     []int32
}

var orPool = sync.Pool{New: func() any { return &orScratch{} }}

// idf is BM25's inverse document frequency.
func idf(df, n int) float32 {
	return float32(math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5)))
}

// memSearch evaluates groups (AND: every group must match; OR: any) with filters,
// returning the best k, the total and optionally facets. mu.RLock held.
func (x *Index) memSearch(groups []group, and bool, f *filters, k int, facets bool) ([]Hit, int, *Facets) {
	n := x.live
	if n == 0 {
		return nil, 0, nil
	}
	avg := float32(x.sumLen / float64(n))
	if avg <= 0 {
		avg = 1
	}
	mq := make([][]memAlt, 0, len(groups))
	for _, g := range groups {
		alts := make([]memAlt, 0, len(g.terms))
		for i, t := range g.terms {
			l := x.post[t]
			if l.len() == 0 {
				continue
			}
			w := float32(1)
			if g.expanded && i > 0 {
				w = 0.5
			}
			alts = append(alts, memAlt{l, w * idf(l.len(), n)})
		}
		if len(alts) == 0 {
			if and {
				return nil, 0, nil
			}
			continue
		}
		mq = append(mq, alts)
	}
	if len(mq) == 0 {
		return nil, 0, nil
	}
	cols := &x.cols
	cf := cols.compile(f)
	if cf.none {
		return nil, 0, nil
	}
	var fc *facetCounter
	if facets {
		fc = newFacetCounter(cols)
	}
	noFilter := cf.any
	top := topK{k: k, h: make([]scoredDoc, 0, min(k, 256))}
	total := 0
	dlen := x.dlen
	contrib := func(tf float32, d int32) float32 {
		return tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*dlen[d]/avg))
	}
	// Lists and rows change together under mu, so a listed doc is never a deleted
	// row: without filters and facets the row need not be read at all (it is the
	// random memory access that dominated the profile).
	plain := noFilter && fc == nil
	accept := func(d int32) bool {
		if plain {
			total++
			return true
		}
		if !cols.alive[d] || !cf.match(cols, x.rows, d) {
			return false
		}
		total++
		if fc != nil {
			fc.add(cols, d)
		}
		return true
	}

	if l := mq[0][0].list; len(mq) == 1 && len(mq[0]) == 1 && plain && l.champ != nil && k <= len(l.champ) {
		// One word, no filters: score its champions only; every doc of the list matches.
		w := mq[0][0].w
		for i, d := range l.champ {
			top.push(scoredDoc{w * contrib(l.champTF[i], d), d})
		}
		total = len(l.docs)
	} else if and || len(mq) == 1 && len(mq[0]) == 1 {
		// Drive with the shortest group; gallop in the others.
		sort.Slice(mq, func(a, b int) bool { return groupLen(mq[a]) < groupLen(mq[b]) })
		pos := make([][]int, len(mq))
		for gi := range mq {
			pos[gi] = make([]int, len(mq[gi]))
		}
		var drive []int32
		if len(mq[0]) == 1 {
			drive = mq[0][0].list.docs
		} else {
			drive = unionDocs(mq[0])
		}
	docs:
		for _, d := range drive {
			var s float32
			for gi, alts := range mq {
				matched := false
				for ai := range alts {
					l := alts[ai].list
					p := gallop(l.docs, pos[gi][ai], d)
					pos[gi][ai] = p
					if p < len(l.docs) && l.docs[p] == d {
						s += alts[ai].w * contrib(l.tfs[p], d)
						matched = true
					}
				}
				if !matched {
					continue docs
				}
			}
			if accept(d) && (len(top.h) < top.k || worse(top.h[0], scoredDoc{s, d})) {
				top.push(scoredDoc{s, d})
			}
		}
	} else {
		sc := orPool.Get().(*orScratch)
		if len(sc.score) < len(x.rows) {
			sc.score = make([]float32, len(x.rows)+1024)
			sc.mark = make([]uint8, len(x.rows)+1024)
			sc.count = make([]uint8, len(x.rows)+1024)
		}
		for gi, alts := range mq {
			g := uint8(gi + 1)
			for _, a := range alts {
				for i, d := range a.list.docs {
					if sc.count[d] == 0 {
						sc.touched = append(sc.touched, d)
					}
					if sc.mark[d] != g { // a group counts once even if two alternatives match
						sc.mark[d] = g
						sc.count[d]++
					}
					sc.score[d] += a.w * contrib(a.list.tfs[i], d)
				}
			}
		}
		ng := float32(len(mq))
		for _, d := range sc.touched {
			s := sc.score[d] * float32(sc.count[d]) / ng // coordination: more query words, higher
			sc.score[d], sc.mark[d], sc.count[d] = 0, 0, 0
			if accept(d) {
				top.push(scoredDoc{s, d})
			}
		}
		sc.touched = sc.touched[:0]
		orPool.Put(sc)
	}
	best := top.sorted()
	hits := make([]Hit, len(best))
	for i, s := range best {
		hits[i] = Hit{ProductID: x.rows[s.doc].p.ProductID, Score: float64(s.score), Dense: s.doc}
	}
	var fs *Facets
	if fc != nil {
		fs = x.facetsOf(fc)
	}
	return hits, total, fs
}

func groupLen(alts []memAlt) int {
	n := 0
	for _, a := range alts {
		n += a.list.len()
	}
	return n
}

// unionDocs merges the doc lists of a group's alternatives.
func unionDocs(alts []memAlt) []int32 {
	var out []int32
	for _, a := range alts {
		out = append(out, a.list.docs...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// gallop returns the first position at or after from where docs[p] >= d.
func gallop(docs []int32, from int, d int32) int {
	if from >= len(docs) || docs[from] >= d {
		return from
	}
	step := 1
	lo, hi := from, from+1
	for hi < len(docs) && docs[hi] < d {
		lo = hi
		step <<= 1
		hi = from + step
	}
	if hi > len(docs) {
		hi = len(docs)
	}
	// docs[lo] < d; answer in (lo, hi]
	return lo + 1 + sort.Search(hi-lo-1, func(i int) bool { return docs[lo+1+i] >= d })
}
