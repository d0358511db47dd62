package gbdt

import (
	"math"
	"slices"
	"sync"
)

// objective computes per-row gradients of the loss at the current scores.
type objective interface {
	// initScore is the margin every row starts from.
	initScore(d *Dataset) float64
	gradients(scores []float64, grad []gradPair)
}

// squaredError is ½(score-label)².
type squaredError struct{ labels []float32 }

func (o squaredError) initScore(d *Dataset) float64 {
	s := 0.0
	for _, y := range d.Labels {
		s += float64(y)
	}
	return s / float64(len(d.Labels))
}

func (o squaredError) gradients(scores []float64, grad []gradPair) {
	for i, s := range scores {
		grad[i] = gradPair{float32(s - float64(o.labels[i])), 1}
	}
}

// logistic is the binary log loss with the margin as log-odds.
type logistic struct{ labels []float32 }

func (o logistic) initScore(d *Dataset) float64 {
	pos := 0.0
	for _, y := range d.Labels {
		pos += float64(y)
	}
	p := (pos + 0.5) / (float64(len(d.Labels)) + 1)
	return math.Log(p / (1 - p))
}

func (o logistic) gradients(scores []float64, grad []gradPair) {
	for i, s := range scores {
		p := 1 / (1 + math.Exp(-s))
		grad[i] = gradPair{float32(p - float64(o.labels[i])), float32(max(p*(1-p), 1e-16))}
	}
}

// lambdaRank is LambdaMART's objective, following LightGBM's lambdarank: for every
// pair of documents of a query with different labels, at least one of them ranked
// within the truncation level by the current scores, the pairwise logistic loss
// gradient weighted by |ΔNDCG| of swapping them (normalized by the ideal DCG and by
// 0.01+|score difference|), then the group's gradients scaled by
// log2(1+Σ|λ|)/Σ|λ|.
type lambdaRank struct {
	labels     []float32
	offsets    []int // group offsets, len = groups+1
	invMaxDCG  []float64
	sigmoid    float64
	truncation int
	threads    int
	gainTable  [32]float64
	discounts  []float64
}

func newLambdaRank(d *Dataset, p *Params) *lambdaRank {
	o := &lambdaRank{
		labels:     d.Labels,
		offsets:    groupOffsets(d.Groups, d.NumRows()),
		sigmoid:    p.Sigmoid,
		truncation: p.TruncationLevel,
		threads:    p.NumThreads,
	}
	for i := range o.gainTable {
		o.gainTable[i] = math.Exp2(float64(i)) - 1
	}
	maxG := 0
	for g := 0; g+1 < len(o.offsets); g++ {
		maxG = max(maxG, o.offsets[g+1]-o.offsets[g])
	}
	o.discounts = make([]float64, maxG)
	for i := range o.discounts {
		o.discounts[i] = discount(i)
	}
	o.invMaxDCG = make([]float64, len(o.offsets)-1)
	for g := range o.invMaxDCG {
		ls := d.Labels[o.offsets[g]:o.offsets[g+1]]
		if m := idealDCGSelect(ls, min(o.truncation, len(ls))); m > 0 {
			o.invMaxDCG[g] = 1 / m
		}
	}
	return o
}

func (o *lambdaRank) initScore(*Dataset) float64 { return 0 }

func (o *lambdaRank) gain(label float32) float64 {
	if l := int(label); float32(l) == label && l >= 0 && l < len(o.gainTable) {
		return o.gainTable[l]
	}
	return gain(label)
}

func (o *lambdaRank) gradients(scores []float64, grad []gradPair) {
	groups := len(o.offsets) - 1
	threads := max(1, min(o.threads, groups))
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var sc rankScratch
			for g := w * groups / threads; g < (w+1)*groups/threads; g++ {
				start, end := o.offsets[g], o.offsets[g+1]
				sc.resize(end - start)
				o.group(g, scores[start:end], o.labels[start:end], &sc)
				for i, j := range sc.idx {
					grad[start+int(j)] = gradPair{float32(sc.lam[i]), float32(sc.hes[i])}
				}
			}
		}(w)
	}
	wg.Wait()
}

// rankScratch holds one group's documents in rank order (by current score).
type rankScratch struct {
	idx         []int32 // document of each rank
	score, gain []float64
	label       []float32
	lam, hes    []float64 // per rank
}

func (sc *rankScratch) resize(n int) {
	if cap(sc.idx) < n {
		sc.idx = make([]int32, n)
		sc.score = make([]float64, n)
		sc.gain = make([]float64, n)
		sc.label = make([]float32, n)
		sc.lam = make([]float64, n)
		sc.hes = make([]float64, n)
	}
	sc.idx, sc.score, sc.gain, sc.label = sc.idx[:n], sc.score[:n], sc.gain[:n], sc.label[:n]
	sc.lam, sc.hes = sc.lam[:n], sc.hes[:n]
}

// sigmoidTable holds 1/(1+e^x) for x in [-sigmoidRange, sigmoidRange).
const (
	sigmoidTableSize = 1 << 16
	sigmoidRange     = 32.0
)

var sigmoidTable = func() *[sigmoidTableSize]float32 {
	var t [sigmoidTableSize]float32
	for i := range t {
		x := (float64(i)+0.5)/sigmoidTableSize*2*sigmoidRange - sigmoidRange
		t[i] = float32(1 / (1 + math.Exp(x)))
	}
	return &t
}()

// logistic1 returns 1/(1+e^x) from the table (absolute error < 3e-4).
func logistic1(x float64) float64 {
	if x <= -sigmoidRange {
		return 1
	}
	if x >= sigmoidRange {
		return 0
	}
	return float64(sigmoidTable[int((x+sigmoidRange)*(sigmoidTableSize/(2*sigmoidRange)))&(sigmoidTableSize-1)])
}

// group computes the lambdas of one query group into sc.lam/sc.hes, indexed by
// rank; sc.idx maps ranks back to documents.
func (o *lambdaRank) group(g int, scores []float64, labels []float32, sc *rankScratch) {
	n := len(scores)
	idx := sc.idx
	for i := range idx {
		idx[i] = int32(i)
	}
	clear(sc.lam)
	clear(sc.hes)
	inv := o.invMaxDCG[g]
	if inv == 0 || n < 2 {
		return
	}
	sortByScoreDesc(idx, scores)
	for i, j := range idx {
		sc.score[i] = scores[j]
		sc.label[i] = labels[j]
		sc.gain[i] = o.gain(labels[j])
	}
	score, label, gn, lam, hes, disc := sc.score, sc.label, sc.gain, sc.lam, sc.hes, o.discounts[:n]
	normScore := score[0] != score[n-1]
	sig := o.sigmoid
	sumLambdas := 0.0
	for i := 0; i < n && i < o.truncation; i++ {
		li, si, gi, di := label[i], score[i], gn[i], disc[i]
		for j := i + 1; j < n; j++ {
			if label[j] == li {
				continue
			}
			// i is ranked above j; (hi, lo) orders them by label.
			ds := si - score[j]
			dg := gi - gn[j]
			hi, lo := i, j
			if label[j] > li {
				hi, lo, ds, dg = j, i, -ds, -dg
			}
			delta := dg * (di - disc[j]) * inv // disc decreases with rank: di ≥ disc[j]
			if normScore {
				delta /= 0.01 + math.Abs(ds)
			}
			p := logistic1(sig * ds)
			pl := -sig * p * delta
			ph := sig * sig * p * (1 - p) * delta
			lam[hi] += pl
			hes[hi] += ph
			lam[lo] -= pl
			hes[lo] += ph
			sumLambdas -= 2 * pl
		}
	}
	if sumLambdas > 0 {
		f := math.Log2(1+sumLambdas) / sumLambdas
		for i := range lam {
			lam[i] *= f
			hes[i] *= f
		}
	}
}

// sortByScoreDesc orders idx by descending score, stably. Query groups are
// usually small, where an insertion sort without a comparison closure is fastest.
func sortByScoreDesc(idx []int32, scores []float64) {
	if len(idx) > 48 {
		slices.SortStableFunc(idx, func(a, b int32) int {
			switch sa, sb := scores[a], scores[b]; {
			case sa > sb:
				return -1
			case sa < sb:
				return 1
			}
			return 0
		})
		return
	}
	for i := 1; i < len(idx); i++ {
		v := idx[i]
		s := scores[v]
		j := i
		for j > 0 && scores[idx[j-1]] < s {
			idx[j] = idx[j-1]
			j--
		}
		idx[j] = v
	}
}
