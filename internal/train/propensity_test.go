package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// On clicks drawn from a position-based model where items are shown at varying
// positions, EM recovers the examination curve; raw click-through by position,
// confounded by a logger that puts better items first, would not.
func TestPropensityEM(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := newPropensityEstimator(1 << 20)
	const pairs = 300
	gamma := make([]float64, pairs)
	for i := range gamma {
		gamma[i] = 0.05 + 0.6*rng.Float64()
	}
	for range 200_000 {
		p := rng.IntN(pairs)
		// The logger favours relevant items: their positions skew to the top.
		pos := 1 + int(float64(rng.IntN(10))*(1-gamma[p])*rng.Float64()*1.6)
		pos = min(pos, 10)
		e.impression(uint64(p), pos)
		if rng.Float64() < gamma[p]/float64(pos) {
			e.click(uint64(p), pos)
		}
	}
	theta := e.estimate(60)
	if theta == nil {
		t.Fatal("no estimate")
	}
	for pos := 1; pos <= 6; pos++ {
		if want := 1 / float64(pos); math.Abs(theta[pos]-want) > 0.08 {
			t.Errorf("examination at %d: %.3f, want %.3f (curve %.3f)", pos, theta[pos], want, theta[1:7])
		}
	}
}
