package gbdt

import (
	"math"
	"math/rand/v2"
)

// synthLTR generates a learning-to-rank dataset with a nonlinear ground truth plus
// noise: `queries` groups of `docs` documents with `features` (≥ 6) features, the
// last one missing for 15% of rows, labels 0..4 from thresholds on the latent
// relevance.
func synthLTR(queries, docs, features int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 42))
	n := queries * docs
	d := &Dataset{
		Features:    make([]float32, n*features),
		NumFeatures: features,
		Labels:      make([]float32, n),
		Groups:      make([]int, queries),
	}
	for q := 0; q < queries; q++ {
		d.Groups[q] = docs
		qShift := rng.NormFloat64() * 0.5 // query difficulty: shifts every document
		for j := 0; j < docs; j++ {
			i := q*docs + j
			x := d.Features[i*features : (i+1)*features]
			for f := range x {
				x[f] = float32(rng.Float64()*2 - 1)
			}
			x0, x1, x2, x3, x4 := float64(x[0]), float64(x[1]), float64(x[2]), float64(x[3]), float64(x[4])
			hidden := float64(x[features-1])
			latent := math.Sin(3*x0) + 1.5*x1*x2 + x3*x3 - 0.7*math.Abs(x4) + 0.6*hidden + qShift +
				rng.NormFloat64()*0.35
			if rng.Float64() < 0.15 {
				x[features-1] = float32(math.NaN())
			}
			var label float32
			switch {
			case latent > 2.0:
				label = 4
			case latent > 1.4:
				label = 3
			case latent > 0.9:
				label = 2
			case latent > 0.3:
				label = 1
			}
			d.Labels[i] = label
		}
	}
	return d
}

// splitGroups returns the rows of groups [from, to) of d as a new dataset.
func splitGroups(d *Dataset, from, to int) *Dataset {
	offs := groupOffsets(d.Groups, d.NumRows())
	a, b := offs[from], offs[to]
	F := d.NumFeatures
	return &Dataset{
		Features:    d.Features[a*F : b*F],
		NumFeatures: F,
		Labels:      d.Labels[a:b],
		Groups:      d.Groups[from:to],
	}
}
