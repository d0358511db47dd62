package size

import "math"

// link is the ordinal (cumulative logit) link of one size system, after Sembium et
// al. 2017: with d = true size + offset − label (positive: the item is smaller than the
// wearer), P(too_large) = σ(−τ − κd), P(fit) = σ(τ − κd) − σ(−τ − κd),
// P(too_small) = 1 − σ(τ − κd). Symmetric thresholds pin "fits best" at d = 0.
type link struct {
	Kappa float64 // sharpness, per scale unit
	Tau   float64 // half-width of the "fits" band, in κ·d units
}

// bandWidth is the half-width of the "fits" band on the system's scale: half a US
// shoe size, half a letter, one waist inch.
func bandWidth(sys System) float64 {
	if sys == SystemNumeric {
		return 1
	}
	return 0.5
}

func defaultLink(sys System) link {
	k := 3 / bandWidth(sys)
	return link{Kappa: k, Tau: k * bandWidth(sys)}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// probs gives P(small), P(fit), P(large) at mean difference d whose uncertainty has
// variance v, integrating the logistic over a normal by the probit approximation.
func (l link) probs(d, v float64) (ps, pf, pl float64) {
	return l.probsScaled(d, l.scale(v))
}

// scale is the probit-approximation factor for a difference of variance v.
func (l link) scale(v float64) float64 {
	return 1 / math.Sqrt(1+math.Pi*l.Kappa*l.Kappa*v/8)
}

// probsScaled is probs with the factor of scale(v) computed once by the caller.
func (l link) probsScaled(d, s float64) (ps, pf, pl float64) {
	u := l.Kappa * d
	f1 := sigmoid((-l.Tau - u) * s)
	f2 := sigmoid((l.Tau - u) * s)
	pl = f1
	ps = 1 - f2
	// P(fit) from the side where it does not cancel (see grad)
	if u < 0 {
		pf = sigmoid((l.Tau+u)*s) - sigmoid((-l.Tau+u)*s)
	} else {
		pf = f2 - f1
	}
	if pf < 0 {
		pf = 0
	}
	return ps, pf, pl
}

// grad is the negative log-likelihood of outcome y at difference d, and its first and
// second derivatives in d (the second is positive: the loss is convex in d).
func (l link) grad(d float64, y Outcome) (nll, g, h float64) {
	gu, hu := 0.0, 0.0
	u := l.Kappa * d
	switch y {
	case OutcomeTooLarge:
		f1 := sigmoid(-l.Tau - u)
		nll = -math.Log(math.Max(f1, 1e-300))
		gu = 1 - f1
		hu = f1 * (1 - f1)
	case OutcomeTooSmall:
		f2 := sigmoid(l.Tau - u)
		nll = -math.Log(math.Max(1-f2, 1e-300))
		gu = -f2
		hu = f2 * (1 - f2)
	case OutcomeKept:
		// The loss is symmetric in u; computing it at |u| keeps f1 and f2 small, where
		// their difference does not cancel (at u ≪ 0 both round to 1 and the gradient
		// would vanish: a kept purchase far from the current estimate would not pull).
		a := math.Abs(u)
		f1 := sigmoid(-l.Tau - a)
		f2 := sigmoid(l.Tau - a)
		d1, d2 := f1*(1-f1), f2*(1-f2)
		den := math.Max(f2-f1, 1e-300)
		nll = -math.Log(den)
		gu = (d2 - d1) / den
		hu = (d1*(1-2*f1)-d2*(1-2*f2))/den + gu*gu
		if u < 0 {
			gu = -gu
		}
	default:
		return 0, 0, 0
	}
	if hu < 1e-9 {
		hu = 1e-9
	}
	return nll, l.Kappa * gu, l.Kappa * l.Kappa * hu
}

// paramGrad is the derivative of the negative log-likelihood in log κ and log τ.
func (l link) paramGrad(d float64, y Outcome) (ga, gb float64) {
	u := l.Kappa * d
	var gu, gtau float64
	switch y {
	case OutcomeTooLarge:
		f1 := sigmoid(-l.Tau - u)
		gu = 1 - f1
		gtau = 1 - f1
	case OutcomeTooSmall:
		f2 := sigmoid(l.Tau - u)
		gu = -f2
		gtau = f2
	case OutcomeKept:
		a := math.Abs(u) // symmetric, see grad
		f1 := sigmoid(-l.Tau - a)
		f2 := sigmoid(l.Tau - a)
		d1, d2 := f1*(1-f1), f2*(1-f2)
		den := math.Max(f2-f1, 1e-300)
		gu = (d2 - d1) / den
		gtau = -(d1 + d2) / den
		if u < 0 {
			gu = -gu
		}
	}
	return l.Kappa * gu * d, l.Tau * gtau
}

// nll is the negative log-likelihood of outcome y at difference d.
func (l link) nll(d float64, y Outcome) float64 {
	u := l.Kappa * d
	switch y {
	case OutcomeTooLarge:
		return -math.Log(math.Max(sigmoid(-l.Tau-u), 1e-300))
	case OutcomeTooSmall:
		return -math.Log(math.Max(sigmoid(u-l.Tau), 1e-300))
	case OutcomeKept:
		a := math.Abs(u) // symmetric, see grad
		return -math.Log(math.Max(sigmoid(l.Tau-a)-sigmoid(-l.Tau-a), 1e-300))
	}
	return 0
}

// A purchase whose return window is still open is "not returned yet", not kept: with
// w the share of its size returns still to come (Observation.Unsettled), its
// likelihood is P(fit) + w·(P(small) + P(large)) = w + (1−w)·P(fit). At w = 0 it is a
// kept purchase; at w = 1 it says nothing of fit. Counting such purchases as kept
// biases every offset toward zero (their returns are missing) and every true size
// toward the labels bought, most of all in a short history.

// unsettledParts are P(fit) and its first two derivatives in u = κd, computed at |u|
// like a kept purchase (see grad), with the sign of the first restored.
func (l link) unsettledParts(d float64) (pf, dpf, d2pf, sign float64) {
	u := l.Kappa * d
	a := math.Abs(u)
	f1 := sigmoid(-l.Tau - a)
	f2 := sigmoid(l.Tau - a)
	d1, d2 := f1*(1-f1), f2*(1-f2)
	pf = math.Max(f2-f1, 1e-300)
	dpf = d1 - d2
	d2pf = d2*(1-2*f2) - d1*(1-2*f1)
	sign = 1
	if u < 0 {
		sign = -1
	}
	return pf, dpf, d2pf, sign
}

// gradUnsettled is grad for a purchase not returned yet, with share w of its size
// returns still to come (0 < w ≤ 1). The curvature is floored at zero (the mixture is
// not convex everywhere), which keeps the fit's Newton steps descending.
func (l link) gradUnsettled(d, w float64) (nll, g, h float64) {
	pf, dpf, d2pf, sign := l.unsettledParts(d)
	lik := w + (1-w)*pf
	nll = -math.Log(lik)
	gu := -(1 - w) * dpf / lik
	hu := -(1-w)*d2pf/lik + gu*gu
	if hu < 1e-9 {
		hu = 1e-9
	}
	return nll, l.Kappa * sign * gu, l.Kappa * l.Kappa * hu
}

// nllUnsettled is nll for a purchase not returned yet (see gradUnsettled).
func (l link) nllUnsettled(d, w float64) float64 {
	pf, _, _, _ := l.unsettledParts(d)
	return -math.Log(w + (1-w)*pf)
}

// paramGradUnsettled is paramGrad for a purchase not returned yet: a kept purchase's
// gradient scaled by the weight P(fit) carries in its likelihood.
func (l link) paramGradUnsettled(d, w float64) (ga, gb float64) {
	pf, _, _, _ := l.unsettledParts(d)
	ga, gb = l.paramGrad(d, OutcomeKept)
	r := (1 - w) * pf / (w + (1-w)*pf)
	return r * ga, r * gb
}

// nllTable tabulates a link's negative log-likelihood on a grid of differences, for
// the quadrature in the fit (linear interpolation; exact outside the grid).
type nllTable struct {
	lk  link
	tab [3][]float64 // kept, too small, too large
}

const (
	tableRange = 30.0
	tableStep  = 0.01
	tableSize  = int(2*tableRange/tableStep) + 1
)

func (t *nllTable) build(lk link) {
	t.lk = lk
	for y := range t.tab {
		if t.tab[y] == nil {
			t.tab[y] = make([]float64, tableSize)
		}
		for i := range t.tab[y] {
			t.tab[y][i] = lk.nll(-tableRange+float64(i)*tableStep, Outcome(y+1))
		}
	}
}

func (t *nllTable) at(d float64, y Outcome) float64 {
	x := (d + tableRange) / tableStep
	if !(x >= 0) || x >= float64(tableSize-1) || y < OutcomeKept || y > OutcomeTooLarge {
		return t.lk.nll(d, y)
	}
	i := int(x)
	fr := x - float64(i)
	tb := t.tab[y-1]
	return tb[i] + fr*(tb[i+1]-tb[i])
}
