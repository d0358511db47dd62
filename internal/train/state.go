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
	qiClicks map[uint64]float32 // (query, item) clicks
	qiExp    map[uint64]float32 // (query, item) clicks expected from the positions shown
	itClicks map[uint32]float32
	itExp    map[uint32]float32
	posImp   []float64 // impressions per position (1-based; index 0 unused)
	posClk   []float64 // clicks per position
	covis    map[uint32]map[uint32]float32
	dirty    map[uint32]bool // items whose published neighbour list is stale
}

func newState(products []catalog.Product) *state {
	s := &state{
		snap:     rank.NewDefaultSnapshot(),
		profiles: map[string]*profile.Profile{},
		qiClicks: map[uint64]float32{}, qiExp: map[uint64]float32{},
		itClicks: map[uint32]float32{}, itExp: map[uint32]float32{},
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
		for fi, v := range [profile.NumFacets]string{p.Brand, p.Category, p.Color, p.Style} {
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

// impression records that item was shown at pos for query: it raises the clicks
// expected of the pair by the position's examination probability.
func (s *state) impression(query, item uint32, pos int) {
	if pos >= 1 && pos < len(s.posImp) {
		s.posImp[pos]++
	}
	e := s.examination(pos) * s.baseCTR()
	k := rank.PairKey(query, item)
	s.qiExp[k] += e
	s.itExp[item] += e
	s.refresh(k, item)
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
	k := rank.PairKey(query, item)
	s.qiClicks[k]++
	s.itClicks[item]++
	s.refresh(k, item)
}

// refresh recomputes the published features of a pair and an item: the log of clicks
// over expected clicks, smoothed by a prior of a = 1 expected click.
func (s *state) refresh(k uint64, item uint32) {
	const a = 1
	s.snap.QueryItem[k] = float32(math.Log(float64((s.qiClicks[k] + a) / (s.qiExp[k] + a))))
	s.snap.ItemPopularity[item] = float32(math.Log(float64((s.itClicks[item] + a) / (s.itExp[item] + a))))
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
