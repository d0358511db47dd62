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

// A purchase not returned yet: at share 0 it is a kept purchase, at share 1 it says
// nothing, and between them the gradient, curvature and parameter gradient are those
// of its loss (checked by finite differences).
func TestUnsettledLoss(t *testing.T) {
	lk := link{Kappa: 6, Tau: 3}
	for _, d := range []float64{-2, -0.6, -0.1, 0, 0.3, 0.9, 3} {
		nk, gk, hk := lk.grad(d, OutcomeKept)
		n0, g0, h0 := lk.gradUnsettled(d, 1e-15)
		if math.Abs(nk-n0) > 1e-6 || math.Abs(gk-g0) > 1e-5*max(1, math.Abs(gk)) || math.Abs(hk-h0) > 1e-4*lk.Kappa*lk.Kappa { // the curvature cancels in the far tail
			t.Errorf("d=%v: share ~0 gives (%v, %v, %v), kept (%v, %v, %v)", d, n0, g0, h0, nk, gk, hk)
		}
		if n1, g1, _ := lk.gradUnsettled(d, 1); n1 != 0 || g1 != 0 {
			t.Errorf("d=%v: share 1 gives loss %v, gradient %v, want 0, 0", d, n1, g1)
		}
		for _, w := range []float64{0.2, 0.7} {
			const e = 1e-5
			n, g, h := lk.gradUnsettled(d, w)
			if want := lk.nllUnsettled(d, w); math.Abs(n-want) > 1e-12 {
				t.Errorf("d=%v w=%v: loss %v, nllUnsettled %v", d, w, n, want)
			}
			np, gp, _ := lk.gradUnsettled(d+e, w)
			nm, gm, _ := lk.gradUnsettled(d-e, w)
			if fd := (np - nm) / (2 * e); math.Abs(fd-g) > 1e-4*max(1, math.Abs(g)) {
				t.Errorf("d=%v w=%v: gradient %v, finite difference %v", d, w, g, fd)
			}
			if fd := (gp - gm) / (2 * e); fd > 1e-9 && math.Abs(fd-h) > 1e-3*max(1, h) {
				t.Errorf("d=%v w=%v: curvature %v, finite difference %v", d, w, h, fd)
			}
			if n > lk.nll(d, OutcomeKept)+1e-12 {
				t.Errorf("d=%v w=%v: not returned yet (%v) is less likely than kept (%v)", d, w, n, lk.nll(d, OutcomeKept))
			}
			// the parameter gradient, in log κ and log τ
			ga, gb := lk.paramGradUnsettled(d, w)
			at := func(la, lb float64) float64 {
				return link{Kappa: math.Exp(la), Tau: math.Exp(lb)}.nllUnsettled(d, w)
			}
			la, lb := math.Log(lk.Kappa), math.Log(lk.Tau)
			fa := (at(la+e, lb) - at(la-e, lb)) / (2 * e)
			fb := (at(la, lb+e) - at(la, lb-e)) / (2 * e)
			if math.Abs(fa-ga) > 1e-4*max(1, math.Abs(ga)) || math.Abs(fb-gb) > 1e-4*max(1, math.Abs(gb)) {
				t.Errorf("d=%v w=%v: parameter gradient (%v, %v), finite differences (%v, %v)", d, w, ga, gb, fa, fb)
			}
		}
	}
}
