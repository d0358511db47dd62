package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantileCuts(t *testing.T) {
	// Few distinct values: a cut between every pair of neighbours.
	cuts := quantileCuts([]float32{3, 1, 2, 2, 1, 3}, 255)
	if len(cuts) != 2 || cuts[0] != 1.5 || cuts[1] != 2.5 {
		t.Fatalf("cuts %v, want [1.5 2.5]", cuts)
	}
	// Many distinct values: at most maxBins bins of roughly equal counts.
	rng := rand.New(rand.NewPCG(1, 1))
	vals := make([]float32, 100_000)
	for i := range vals {
		vals[i] = float32(rng.NormFloat64())
	}
	bm := &binMapper{cuts: [][]float32{quantileCuts(vals, 255)}}
	if n := bm.numBins(0); n > 255 || n < 200 {
		t.Fatalf("%d bins, want ≤ 255 and close to it", n)
	}
	d := &Dataset{Features: vals, NumFeatures: 1, Labels: make([]float32, len(vals))}
	counts := make([]int, 256)
	for _, b := range bm.binColumns(d, 2)[0] {
		counts[b]++
	}
	for b := 0; b < bm.numBins(0); b++ {
		if c := counts[b]; c < 100 || c > 1000 {
			t.Errorf("bin %d has %d of 100000 values, want about 392", b, c)
		}
	}
	// Bin b holds exactly the values with cuts[b-1] ≤ v < cuts[b]; NaN is the last bin.
	c := bm.cuts[0]
	for _, v := range []float32{c[0], math.Nextafter32(c[0], -10), c[10], float32(math.Inf(1)), float32(math.Inf(-1))} {
		d := &Dataset{Features: []float32{v, float32(math.NaN())}, NumFeatures: 1, Labels: make([]float32, 2)}
		got := bm.binColumns(d, 1)[0]
		want := 0
		for want < len(c) && c[want] <= v {
			want++
		}
		if int(got[0]) != want || int(got[1]) != bm.numBins(0) {
			t.Errorf("value %v → bin %d (want %d), NaN → %d (want %d)", v, got[0], want, got[1], bm.numBins(0))
		}
	}
	// Heavy duplicates do not produce empty bins or more cuts than distinct values.
	dup := make([]float32, 10_000)
	for i := range dup {
		dup[i] = float32(i % 300 / 100) // 3 distinct values
		if i%2 == 0 {
			dup[i] = float32(i)
		}
	}
	cuts = quantileCuts(dup, 16)
	for i := 1; i < len(cuts); i++ {
		if !(cuts[i] > cuts[i-1]) {
			t.Fatalf("cuts not increasing: %v", cuts)
		}
	}
	if len(cuts) > 15 {
		t.Fatalf("%d cuts for 16 bins", len(cuts))
	}
}
