package gbdt

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// binSampleRows is how many rows are sampled to place the quantile cuts.
const binSampleRows = 200_000

// binMapper maps feature values to bins. For feature f, value v falls in bin
// b = number of cuts ≤ v (so bin ≤ b ⇔ v < cuts[f][b]); NaN falls in the missing
// bin numBins(f) = len(cuts[f])+1.
type binMapper struct {
	cuts [][]float32
}

func (bm *binMapper) numBins(f int) int { return len(bm.cuts[f]) + 1 }

// newBinMapper places at most maxValueBins-1 cuts per feature at quantiles of a
// sample of the rows. A feature with few distinct values gets a cut between every
// pair of neighbours.
func newBinMapper(d *Dataset, maxValueBins int, seed int64, threads int) *binMapper {
	n, F := d.NumRows(), d.NumFeatures
	rows := make([]int, 0, min(n, binSampleRows))
	if n <= binSampleRows {
		for i := 0; i < n; i++ {
			rows = append(rows, i)
		}
	} else {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
		rows = rng.Perm(n)[:binSampleRows]
		slices.Sort(rows)
	}
	bm := &binMapper{cuts: make([][]float32, F)}
	parallelFor(F, threads, func(f int, vals []float32) []float32 {
		vals = vals[:0]
		for _, r := range rows {
			v := d.Features[r*F+f]
			if v == v {
				vals = append(vals, v)
			}
		}
		bm.cuts[f] = quantileCuts(vals, maxValueBins)
		return vals
	})
	return bm
}

// quantileCuts sorts vals and returns ascending cuts splitting them into at most
// maxBins bins of roughly equal counts; cuts fall midway between neighbouring
// distinct values.
func quantileCuts(vals []float32, maxBins int) []float32 {
	if len(vals) == 0 || maxBins < 2 {
		return nil
	}
	slices.Sort(vals)
	mid := func(a, b float32) float32 {
		if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) {
			return b
		}
		m := float32((float64(a) + float64(b)) / 2)
		if !(m > a) || m > b {
			return b
		}
		return m
	}
	distinct := 1
	for i := 1; i < len(vals); i++ {
		if vals[i] != vals[i-1] {
			distinct++
		}
	}
	var cuts []float32
	if distinct <= maxBins {
		for i := 1; i < len(vals); i++ {
			if vals[i] != vals[i-1] {
				cuts = append(cuts, mid(vals[i-1], vals[i]))
			}
		}
		return cuts
	}
	// Greedy equal-frequency binning: walk the boundaries between distinct values;
	// close a bin when it reached its share of rows, or when the next value alone
	// would overfill it.
	perBin := float64(len(vals)) / float64(maxBins)
	for i := 0; i+1 < len(vals) && len(cuts) < maxBins-1; i++ {
		if vals[i] == vals[i+1] {
			continue
		}
		acc := i + 1 // values ≤ vals[i]
		next := i + 1
		for next+1 < len(vals) && vals[next+1] == vals[i+1] {
			next++
		}
		nextCount := next - i
		target := perBin * float64(len(cuts)+1)
		if float64(acc) >= target || float64(acc+nextCount) > target+perBin {
			cuts = append(cuts, mid(vals[i], vals[i+1]))
		}
	}
	return cuts
}

// binColumns returns the bin of every row for every feature, column-major.
func (bm *binMapper) binColumns(d *Dataset, threads int) [][]uint8 {
	n, F := d.NumRows(), d.NumFeatures
	cols := make([][]uint8, F)
	parallelFor(F, threads, func(f int, _ []float32) []float32 {
		cuts := bm.cuts[f]
		missing := uint8(len(cuts) + 1)
		col := make([]uint8, n)
		for i := 0; i < n; i++ {
			v := d.Features[i*F+f]
			if v != v {
				col[i] = missing
				continue
			}
			// Number of cuts ≤ v.
			lo, hi := 0, len(cuts)
			for lo < hi {
				h := int(uint(lo+hi) >> 1)
				if cuts[h] <= v {
					lo = h + 1
				} else {
					hi = h
				}
			}
			col[i] = uint8(lo)
		}
		cols[f] = col
		return nil
	})
	return cols
}

// parallelFor runs fn(i) for i in [0, n) on up to threads goroutines; every
// goroutine threads its own scratch slice through its calls.
func parallelFor(n, threads int, fn func(i int, scratch []float32) []float32) {
	threads = max(1, min(threads, n))
	if threads == 1 {
		var scratch []float32
		for i := 0; i < n; i++ {
			scratch = fn(i, scratch)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var scratch []float32
			for i := w; i < n; i += threads {
				scratch = fn(i, scratch)
			}
		}(w)
	}
	wg.Wait()
}
