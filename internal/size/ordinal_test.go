package size

import (
	"context"
	"math"
	"testing"
)

// A kept purchase far from the current estimate must pull it, from either side: the
// loss is symmetric, and its gradient tends to ±κ (it used to vanish on the side where
// P(fit) is a difference of two numbers that both round to 1).
func TestKeptLossSymmetricFarAway(t *testing.T) {
	lk := link{Kappa: 24, Tau: 12}
	for _, d := range []float64{0.1, 0.7, 2, 5, 20} {
		nr, gr, hr := lk.grad(d, OutcomeKept)
		nl, gl, hl := lk.grad(-d, OutcomeKept)
		if math.Abs(nr-nl) > 1e-9*max(1, nr) || math.Abs(gr+gl) > 1e-9*max(1, gr) || math.Abs(hr-hl) > 1e-9*max(1, hr) {
			t.Errorf("d=±%v: loss (%v, %v), gradient (%v, %v), curvature (%v, %v): not symmetric", d, nr, nl, gr, gl, hr, hl)
		}
		if d >= 2 && (gr < 0.9*lk.Kappa || gl > -0.9*lk.Kappa) {
			t.Errorf("d=±%v: gradient (%v, %v), want about ±κ=%v", d, gr, gl, lk.Kappa)
		}
		if n := lk.nll(-d, OutcomeKept); math.Abs(n-nl) > 1e-9*max(1, n) {
			t.Errorf("nll(%v) = %v, grad's loss %v", -d, n, nl)
		}
		_, pf, _ := lk.probs(-d, 0)
		if want := math.Exp(-nl); math.Abs(pf-want) > 1e-9*want+1e-300 {
			t.Errorf("P(fit) at d=%v is %v, want %v", -d, pf, want)
		}
	}
}

// One kept purchase far above the population's size moves a new customer there.
func TestUpdateFarFromPrior(t *testing.T) {
	m, err := NewTrainer(Options{}).Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.links[SystemUSShoe] = link{Kappa: 24, Tau: 12} // as sharp as a trained link gets
	for _, label := range []string{"14", "5"} {
		p, err := m.Update(nil, Observation{CustomerID: "c", ProductID: "p", Gender: "men", System: "us_shoe", Size: label, Outcome: OutcomeKept})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ParseSize(SystemUSShoe, label)
		if len(p.Sizes) != 1 || math.Abs(float64(p.Sizes[0].Mean)-want.Pos) > 0.5 {
			t.Errorf("after keeping %s: %+v, want a mean within half a size of it", label, p.Sizes)
		}
	}
}
