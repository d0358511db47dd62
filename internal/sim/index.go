package sim

import (
	"math"
	"strings"
)

// index is the built-in ranker's inverted index: normalized token → products.
type index struct {
	vocab    map[string]int32
	postings [][]int32
	bits     [][]uint64 // per token, a bitset of its products (AND matching)
	idf      []float32
	deletes  map[string]int32 // single-deletion variants of tokens (typo tolerance)
}

var stopwords = map[string]bool{"for": true, "and": true, "the": true, "with": true, "of": true, "in": true, "on": true, "to": true, "up": true}

// stem strips English plurals the way both products and queries are normalized.
func stem(t string) string {
	switch {
	case len(t) > 4 && (strings.HasSuffix(t, "sses") || strings.HasSuffix(t, "shes") || strings.HasSuffix(t, "ches") || strings.HasSuffix(t, "xes")):
		return t[:len(t)-2]
	case len(t) > 3 && t[len(t)-1] == 's' && t[len(t)-2] != 's':
		return t[:len(t)-1]
	}
	return t
}

// tokenize lowercases, splits and stems text, mapping synonyms to index tokens.
func tokenize(s string, out []string) []string {
	s = strings.ToLower(s)
	if strings.Contains(s, "t-shirt") || strings.Contains(s, "t shirt") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "t-shirt", "tshirt"), "t shirt", "tshirt")
	}
	s = strings.ReplaceAll(s, "'", "")
	start := -1
	flush := func(end int) {
		if start >= 0 {
			t := s[start:end]
			start = -1
			if len(t) < 2 || stopwords[t] {
				return
			}
			t = stem(t)
			if syn, ok := synonyms[t]; ok {
				t = syn
			}
			out = append(out, t)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(s))
	return out
}

func buildIndex(w *World) *index {
	ix := &index{vocab: map[string]int32{}, deletes: map[string]int32{}}
	var toks []string
	for i := range w.products {
		p := &w.products[i]
		cp := &w.catalog[i]
		c := &categories[p.cat]
		toks = tokenize(cp.Name, toks[:0])
		toks = tokenize(c.name, toks)
		if c.shoe {
			toks = append(toks, "shoe")
		}
		toks = tokenize(colors[p.color]+" "+materials[p.material]+" "+styles[p.style], toks)
		switch p.gender {
		case gUnisex:
			toks = append(toks, "women", "men")
		default:
			toks = tokenize(genderNames[p.gender], toks)
		}
		if p.sys == sysShoe && p.width != 1 {
			toks = append(toks, widthNames[p.width])
		}
		for k, t := range toks {
			dup := false
			for _, u := range toks[:k] {
				if u == t {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			id, ok := ix.vocab[t]
			if !ok {
				id = int32(len(ix.postings))
				ix.vocab[t] = id
				ix.postings = append(ix.postings, nil)
			}
			ix.postings[id] = append(ix.postings[id], int32(i))
		}
	}
	n := float64(len(w.products))
	ix.idf = make([]float32, len(ix.postings))
	ix.bits = make([][]uint64, len(ix.postings))
	words64 := (len(w.products) + 63) / 64
	for t, ps := range ix.postings {
		ix.idf[t] = float32(math.Log(1 + n/float64(len(ps))))
		bs := make([]uint64, words64)
		for _, p := range ps {
			bs[p>>6] |= 1 << (p & 63)
		}
		ix.bits[t] = bs
	}
	// deletion variants, first token (by id) wins for determinism
	words := make([]string, len(ix.postings))
	for t, id := range ix.vocab {
		words[id] = t
	}
	for id, t := range words {
		if len(t) < 4 {
			continue
		}
		for k := 0; k < len(t); k++ {
			d := t[:k] + t[k+1:]
			if _, ok := ix.deletes[d]; !ok {
				ix.deletes[d] = int32(id)
			}
		}
	}
	return ix
}

// lookup resolves a query token to an index token, tolerating one typo.
func (ix *index) lookup(t string) int32 {
	if id, ok := ix.vocab[t]; ok {
		return id
	}
	if len(t) < 4 {
		return -1
	}
	if id, ok := ix.deletes[t]; ok { // a letter missing
		return id
	}
	best := int32(-1)
	for k := 0; k < len(t); k++ { // a letter too many, or one changed/swapped
		d := t[:k] + t[k+1:]
		if id, ok := ix.vocab[d]; ok && (best < 0 || id < best) {
			best = id
		}
		if id, ok := ix.deletes[d]; ok && (best < 0 || id < best) {
			best = id
		}
	}
	return best
}

// scratch is a worker's reusable state for ranking.
type scratch struct {
	score   []float32
	touched []int32
	toks    []string
	ids     []int32
	top     []scored
	cache   map[string][]int32
}

type scored struct {
	p int32
	s float32
}

func newScratch(n int) *scratch {
	return &scratch{score: make([]float32, n), cache: map[string][]int32{}}
}

// resolve tokenizes the query into sc.ids (distinct index tokens) and returns the
// query's total idf (unknown words count 2).
func (ix *index) resolve(q string, sc *scratch) float32 {
	sc.toks = tokenize(q, sc.toks[:0])
	sc.ids = sc.ids[:0]
	total := float32(0)
	for _, t := range sc.toks {
		id := ix.lookup(t)
		if id < 0 {
			total += 2 // an unknown word still counts against coverage
			continue
		}
		dup := false
		for _, u := range sc.ids {
			dup = dup || u == id
		}
		if dup {
			continue
		}
		sc.ids = append(sc.ids, id)
		total += ix.idf[id]
	}
	return total
}

// and calls fn for each product that has every resolved token of the query.
func (ix *index) and(sc *scratch, fn func(p int32)) {
	if len(sc.ids) == 0 {
		return
	}
	rare := sc.ids[0]
	for _, id := range sc.ids[1:] {
		if len(ix.postings[id]) < len(ix.postings[rare]) {
			rare = id
		}
	}
next:
	for _, p := range ix.postings[rare] {
		for _, id := range sc.ids {
			if ix.bits[id][p>>6]&(1<<(p&63)) == 0 {
				continue next
			}
		}
		fn(p)
	}
}

// match scores products against the query tokens: the share of the query's idf they
// contain. fn is called for each product with a positive score; scores are reset after.
func (ix *index) match(q string, sc *scratch, fn func(p int32, text float32)) {
	total := ix.resolve(q, sc)
	ix.scoreOR(sc, total, fn)
}

func (ix *index) scoreOR(sc *scratch, total float32, fn func(p int32, text float32)) {
	if len(sc.ids) == 0 {
		return
	}
	sc.touched = sc.touched[:0]
	for _, id := range sc.ids {
		f := ix.idf[id]
		for _, p := range ix.postings[id] {
			if sc.score[p] == 0 {
				sc.touched = append(sc.touched, p)
			}
			sc.score[p] += f
		}
	}
	for _, p := range sc.touched {
		fn(p, sc.score[p]/total)
		sc.score[p] = 0
	}
}

// pushTop keeps the k best in sc.top, best first.
func pushTop(top []scored, k int, e scored) []scored {
	if len(top) == k && e.s <= top[k-1].s {
		return top
	}
	if len(top) < k {
		top = append(top, e)
	} else {
		top[k-1] = e
	}
	for i := len(top) - 1; i > 0 && (top[i].s > top[i-1].s || (top[i].s == top[i-1].s && top[i].p < top[i-1].p)); i-- {
		top[i], top[i-1] = top[i-1], top[i]
	}
	return top
}

// rankBuiltin is the offline store's non-personalized ranking: text match and
// popularity. Results are cached per query for the day (popularity changes nightly).
func (w *World) rankBuiltin(q string, k int, sc *scratch) []int32 {
	if r, ok := sc.cache[q]; ok {
		return r
	}
	tw, pw := float32(w.cfg.Ranker.TextWeight), float32(w.cfg.Ranker.PopularityWeight)
	sc.top = sc.top[:0]
	total := w.index.resolve(q, sc)
	// AND first: when enough products have every word, they all have the same text
	// score and popularity orders them; otherwise OR with partial matches.
	n := 0
	full := 0.0
	for _, id := range sc.ids {
		full += float64(w.index.idf[id])
	}
	text := float32(full) / max(total, 1e-9)
	w.index.and(sc, func(p int32) {
		n++
		sc.top = pushTop(sc.top, k, scored{p, 3*tw*text + pw*w.pop[p]})
	})
	if n < k {
		sc.top = sc.top[:0]
		w.index.scoreOR(sc, total, func(p int32, text float32) {
			sc.top = pushTop(sc.top, k, scored{p, 3*tw*text + pw*w.pop[p]})
		})
	}
	out := make([]int32, len(sc.top))
	for i, e := range sc.top {
		out[i] = e.p
	}
	if len(sc.cache) > 50000 {
		clear(sc.cache)
	}
	sc.cache[q] = out
	return out
}
