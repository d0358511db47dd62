package train

import (
	"math"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/rank"
)

// maxNeighbors bounds the co-visitation neighbours kept per item.
const maxNeighbors = 20

// state is what the simple models know at a point in time while the lake is replayed.
// Its tables live in a rank.Snapshot that is updated in place, so features computed
// during the replay use exactly the serving code.
type state struct {
	snap     *rank.Snapshot
	profiles map[string]*profile.Profile
	// (query, item) and item clicks and clicks expected from the positions shown:
	// index maps into counter slices, so that an update is one map lookup. The
	// published features derived from them (snap.QueryItem, snap.ItemPopularity) are
	// brought up to date only when read (refreshList before features are extracted,
	// refreshAll at the end): most impressions are of lists whose features are not kept.
	qiIdx  map[uint64]int32
	qi     []ctr
	itIdx  map[uint32]int32
	it     []ctr
	posImp []float64 // impressions per position (1-based; index 0 unused)
	posClk []float64 // clicks per position
	covis  map[uint32]map[uint32]float32
	dirty  map[uint32]bool // items whose published neighbour list is stale
}

func newState(products []catalog.Product) *state {
	s := &state{
		snap:     rank.NewDefaultSnapshot(),
		profiles: map[string]*profile.Profile{},
		qiIdx:    map[uint64]int32{}, itIdx: map[uint32]int32{},
		posImp: make([]float64, 101), posClk: make([]float64, 101),
		covis: map[uint32]map[uint32]float32{}, dirty: map[uint32]bool{},
	}
	s.snap.QueryItem = map[uint64]float32{}
	s.snap.ItemPopularity = map[uint32]float32{}
	s.snap.CoVisit = map[uint32][]rank.Neighbor{}
	s.snap.Shares, s.snap.DefaultShare = catalogShares(products)
	return s
}

// catalogShares is each facet value's share of the catalog: the population prior the
// customer affinities are smoothed toward. It comes from the catalog, not from events,
// so it leaks nothing from the future.
func catalogShares(products []catalog.Product) (shares [profile.NumFacets]map[uint32]float32, def [profile.NumFacets]float32) {
	counts := [profile.NumFacets]map[uint32]float32{}
	totals := [profile.NumFacets]float32{}
	for fi := range counts {
		counts[fi] = map[uint32]float32{}
	}
	for i := range products {
		p := &products[i]
		it := profile.ItemOf(p)
		for fi, v := range it.FacetValues() {
			if v != "" {
				counts[fi][profile.Hash(v)]++
				totals[fi]++
			}
		}
	}
	for fi := range counts {
		shares[fi] = map[uint32]float32{}
		for k, c := range counts[fi] {
			shares[fi][k] = c / totals[fi]
		}
		def[fi] = 0.5 / max(totals[fi], 1)
		if totals[fi] == 0 {
			def[fi] = 0.02
		}
	}
	return shares, def
}

// examination is the probability that a result at position pos (1-based) is looked at,
// estimated from the click-through by position so far (relative to position 1).
func (s *state) examination(pos int) float32 {
	if pos < 1 {
		pos = 1
	}
	if pos >= len(s.posImp) {
		pos = len(s.posImp) - 1
	}
	const prior = 20 // impressions' worth of a 1/pos prior
	ctr := func(p int) float64 {
		return (s.posClk[p] + prior*0.1/float64(p)) / (s.posImp[p] + prior)
	}
	return float32(min(1, ctr(pos)/ctr(1)))
}

// ctr counts the clicks and the clicks expected of a (query, item) pair or an item.
type ctr struct{ clicks, exp float32 }

func (s *state) pair(k uint64) *ctr {
	i, ok := s.qiIdx[k]
	if !ok {
		i = int32(len(s.qi))
		s.qiIdx[k] = i
		s.qi = append(s.qi, ctr{})
	}
	return &s.qi[i]
}

func (s *state) item(h uint32) *ctr {
	i, ok := s.itIdx[h]
	if !ok {
		i = int32(len(s.it))
		s.itIdx[h] = i
		s.it = append(s.it, ctr{})
	}
	return &s.it[i]
}

// impression records that item was shown at pos for query: it raises the clicks
// expected of the pair by the position's examination probability.
func (s *state) impression(query, item uint32, pos int) {
	if pos >= 1 && pos < len(s.posImp) {
		s.posImp[pos]++
	}
	e := s.examination(pos) * s.baseCTR()
	s.pair(rank.PairKey(query, item)).exp += e
	s.item(item).exp += e
}

func (s *state) baseCTR() float32 {
	if s.posImp[1] < 1 {
		return 0.1
	}
	return float32((s.posClk[1] + 2) / (s.posImp[1] + 20))
}

// click records a click on item at pos for query.
func (s *state) click(query, item uint32, pos int) {
	if pos >= 1 && pos < len(s.posClk) {
		s.posClk[pos]++
	}
	s.pair(rank.PairKey(query, item)).clicks++
	s.item(item).clicks++
}

// debiasedCTR is a published click feature: the log of clicks over expected
// clicks, smoothed by a prior of a = 1 expected click.
func debiasedCTR(c ctr) float32 {
	const a = 1
	return float32(math.Log(float64((c.clicks + a) / (c.exp + a))))
}

// refreshList brings the published click features of query's pairs with items, and
// of the items, up to date before features are extracted for them.
func (s *state) refreshList(query uint32, items []uint32) {
	for _, h := range items {
		k := rank.PairKey(query, h)
		if i, ok := s.qiIdx[k]; ok {
			s.snap.QueryItem[k] = debiasedCTR(s.qi[i])
		}
		if i, ok := s.itIdx[h]; ok {
			s.snap.ItemPopularity[h] = debiasedCTR(s.it[i])
		}
	}
}

// refreshAll brings every published click feature up to date.
func (s *state) refreshAll() {
	for k, i := range s.qiIdx {
		s.snap.QueryItem[k] = debiasedCTR(s.qi[i])
	}
	for h, i := range s.itIdx {
		s.snap.ItemPopularity[h] = debiasedCTR(s.it[i])
	}
}

// coVisit records that a customer touched item right after the items in recent.
func (s *state) coVisit(recent []uint32, item uint32, w float32) {
	for _, r := range recent {
		if r == item {
			continue
		}
		s.addNeighbor(r, item, w)
		s.addNeighbor(item, r, w)
	}
}

func (s *state) addNeighbor(a, b uint32, w float32) {
	m := s.covis[a]
	if m == nil {
		m = map[uint32]float32{}
		s.covis[a] = m
	}
	if _, ok := m[b]; !ok && len(m) >= 4*maxNeighbors {
		// Space-saving: evict the weakest, the newcomer inherits its weight.
		var minK uint32
		minW := float32(math.MaxFloat32)
		for k, v := range m {
			if v < minW {
				minK, minW = k, v
			}
		}
		delete(m, minK)
		m[b] = minW
	}
	m[b] += w
	s.dirty[a] = true
}

// publishNeighbors brings the published neighbour lists of items up to date (all
// stale ones when items is nil). Lists are rebuilt lazily, only when read.
func (s *state) publishNeighbors(items []uint32) {
	refresh := func(a uint32) {
		m := s.covis[a]
		ns := make([]rank.Neighbor, 0, len(m))
		for k, v := range m {
			ns = append(ns, rank.Neighbor{Item: k, Weight: float32(math.Log1p(float64(v)))})
		}
		s.snap.CoVisit[a] = topNeighbors(ns)
		delete(s.dirty, a)
	}
	if items == nil {
		for a := range s.dirty {
			refresh(a)
		}
		return
	}
	for _, a := range items {
		if s.dirty[a] {
			refresh(a)
		}
	}
}

func topNeighbors(ns []rank.Neighbor) []rank.Neighbor {
	// Partial selection sort: the lists are short.
	k := min(maxNeighbors, len(ns))
	for i := 0; i < k; i++ {
		best := i
		for j := i + 1; j < len(ns); j++ {
			if ns[j].Weight > ns[best].Weight {
				best = j
			}
		}
		ns[i], ns[best] = ns[best], ns[i]
	}
	return ns[:k:k]
}

func (s *state) profile(key string) *profile.Profile {
	p := s.profiles[key]
	if p == nil {
		p = new(profile.Profile)
		s.profiles[key] = p
	}
	return p
}
