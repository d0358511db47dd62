package train

import "math"

// maxPropensityPos is the deepest position whose examination is estimated; deeper
// positions share its value.
const maxPropensityPos = 30

type cellRef struct {
	pair uint64
	pos  uint8
}

// propensityEstimator gathers, for the position-based click model, impressions and
// clicks of each (query, item) pair at each position. It is bounded: once it holds
// max cells, cells not yet seen are not added (the estimate then rests on the pairs
// seen first: a sample, not a bias toward any position).
type propensityEstimator struct {
	counts map[cellRef]*[2]float32
	max    int
}

func newPropensityEstimator(maxCells int) *propensityEstimator {
	return &propensityEstimator{counts: map[cellRef]*[2]float32{}, max: maxCells}
}

func (e *propensityEstimator) impression(pair uint64, pos int) {
	if pos < 1 {
		return
	}
	pos = min(pos, maxPropensityPos)
	k := cellRef{pair, uint8(pos)}
	c := e.counts[k]
	if c == nil {
		if len(e.counts) >= e.max {
			return
		}
		c = new([2]float32)
		e.counts[k] = c
	}
	c[0]++
}

func (e *propensityEstimator) click(pair uint64, pos int) {
	if pos < 1 {
		return
	}
	pos = min(pos, maxPropensityPos)
	if c := e.counts[cellRef{pair, uint8(pos)}]; c != nil {
		c[1] = min(c[1]+1, c[0])
	}
}

// estimate fits the position-based model P(click) = θ_pos · γ_pair by expectation
// maximization (Wang et al., "Position Bias Estimation for Unbiased Learning to Rank
// in Personal Search", WSDM 2018): the examination θ is identified by the same pair
// being shown at different positions, so relevance declining down the logged lists
// does not masquerade as position bias (as it does in raw click-through by
// position). It returns θ normalized to θ_1 = 1, index = position (0 unused), or nil
// when there is too little data.
func (e *propensityEstimator) estimate(iters int) []float64 {
	type cell struct {
		pair     int32
		pos      uint8
		imp, clk float64
	}
	pairIdx := map[uint64]int32{}
	var cells []cell
	var total float64
	for k, c := range e.counts {
		i, ok := pairIdx[k.pair]
		if !ok {
			i = int32(len(pairIdx))
			pairIdx[k.pair] = i
		}
		cells = append(cells, cell{i, k.pos, float64(c[0]), float64(c[1])})
		total += float64(c[1])
	}
	if total < 50 {
		return nil
	}
	theta := make([]float64, maxPropensityPos+1)
	for p := 1; p <= maxPropensityPos; p++ {
		theta[p] = 1 / float64(p)
	}
	gamma := make([]float64, len(pairIdx))
	for i := range gamma {
		gamma[i] = 0.1
	}
	tNum := make([]float64, maxPropensityPos+1)
	tDen := make([]float64, maxPropensityPos+1)
	gNum := make([]float64, len(gamma))
	gDen := make([]float64, len(gamma))
	for range iters {
		clear(tNum)
		clear(tDen)
		clear(gNum)
		clear(gDen)
		for _, c := range cells {
			t, g := theta[c.pos], gamma[c.pair]
			nc := c.imp - c.clk
			den := 1 - t*g
			if den < 1e-9 {
				den = 1e-9
			}
			pE := t * (1 - g) / den // P(examined | no click)
			pR := (1 - t) * g / den // P(relevant | no click)
			tNum[c.pos] += c.clk + nc*pE
			tDen[c.pos] += c.imp
			gNum[c.pair] += c.clk + nc*pR
			gDen[c.pair] += c.imp
		}
		for p := 1; p <= maxPropensityPos; p++ {
			if tDen[p] > 0 {
				// A weak prior toward 1/p keeps rarely shown positions sane.
				theta[p] = (tNum[p] + 5/float64(p)) / (tDen[p] + 5)
			}
		}
		for i := range gamma {
			gamma[i] = (gNum[i] + 0.1) / (gDen[i] + 1)
		}
	}
	out := make([]float64, maxPropensityPos+1)
	for p := 1; p <= maxPropensityPos; p++ {
		out[p] = math.Min(1, theta[p]/theta[1])
	}
	// Examination does not rise with depth: enforce monotonicity.
	for p := 2; p <= maxPropensityPos; p++ {
		out[p] = math.Min(out[p], out[p-1])
	}
	return out
}

// examCurve turns an estimated curve into the propensity function used for
// weighting, clipped below at minPropensity (bounded weights: clipped IPS).
func examCurve(theta []float64, fallback func(int) float32) func(pos int) float32 {
	const minPropensity = 0.1
	return func(pos int) float32 {
		var v float64
		if theta == nil {
			v = float64(fallback(pos))
		} else {
			v = theta[min(max(pos, 1), maxPropensityPos)]
		}
		return float32(math.Max(v, minPropensity))
	}
}
