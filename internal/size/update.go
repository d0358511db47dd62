package size

import (
	"fmt"
	"math"
	"strings"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// driftSteps is how far (in steps, one standard deviation) a true size may drift
// between two purchases; it keeps old evidence from freezing a profile.
const driftSteps = 0.1

// Update folds one new purchase or return into a customer's profile (nil: a new
// customer) and returns the new profile; prof is not modified, so a served Model and
// its profiles stay immutable. It is a Laplace (assumed-density) step on the true size
// with the model's brand and product offsets held fixed: cheap enough to run per event.
func (m *Model) Update(prof *Profile, o Observation) (Profile, error) {
	var out Profile
	if prof != nil {
		out.Sizes = append(make([]TrueSize, 0, len(prof.Sizes)+1), prof.Sizes...)
	}
	if o.Outcome == OutcomeIgnored {
		return out, nil
	}
	if o.Outcome > OutcomeTooLarge {
		return out, fmt.Errorf("size update of customer %q: unknown outcome %d", o.CustomerID, o.Outcome)
	}
	sys, err := ParseSystem(o.System)
	if err != nil {
		return out, fmt.Errorf("size update of customer %q: %w", o.CustomerID, err)
	}
	if sys == SystemNone {
		if sys = GuessSystem(o.Size); sys == SystemNone {
			return out, nil
		}
	}
	val, sc, ok := parseLabelScale(sys, obsScale(sys, o.Scale, o.Gender), o.Size)
	if !ok {
		_, err := ParseSizeIn(sys, obsScale(sys, o.Scale, o.Gender), o.Size)
		return out, fmt.Errorf("size update of customer %q, product %q: %w", o.CustomerID, o.ProductID, err)
	}
	off := m.offsetFor(o.ProductID, o.Brand, sys)
	step := sys.Step()
	implied := val.Pos - off
	switch o.Outcome {
	case OutcomeTooSmall:
		implied += step
	case OutcomeTooLarge:
		implied -= step
	}
	g := parseGender(o.Gender)
	idx := -1
	for i := range out.Sizes {
		ts := &out.Sizes[i]
		if ts.System != sys || (ts.Gender == genderKids) != (g == genderKids) {
			continue // a child's purchase goes to the child's entry, an adult's to an adult's
		}
		if idx < 0 {
			idx = i
			continue
		}
		// two wearers: the one of the product's gender, else the nearer
		cur := &out.Sizes[idx]
		if g != genderUnknown && cur.Gender != ts.Gender {
			if ts.Gender == g {
				idx = i
			}
			continue
		}
		if math.Abs(float64(ts.Mean)-implied) < math.Abs(float64(cur.Mean)-implied) {
			idx = i
		}
	}
	if idx < 0 {
		pp := m.pop.lookup(sys, g, strings.ToLower(strings.TrimSpace(o.Category)))
		out.Sizes = append(out.Sizes, TrueSize{System: sys, Gender: g, Mean: float32(pp.Mean), SD: float32(math.Sqrt(pp.Var))})
		idx = len(out.Sizes) - 1
	}
	ts := &out.Sizes[idx]
	if shift := ts.labelShift(sc); shift != 0 {
		// a survey's shoe size of unknown scale, now read in the scale of the first
		// shoe bought (see labelShift)
		ts.Mean -= float32(shift)
		if ts.HasUsual {
			ts.Usual -= float32(shift)
		}
	}
	if sys == SystemUSShoe && g == genderUnknown && sc == ScaleStandard && ts.Gender == genderFemale {
		// a unisex shoe is labelled in its wearer's scale (wearerScale)
		val.Pos -= WomensShoeShift
		implied -= WomensShoeShift
	}
	mu := float64(ts.Mean)
	v := float64(ts.SD)*float64(ts.SD) + (driftSteps*step)*(driftSteps*step)
	ev := evidence{lk: m.links[sys], shift: off - val.Pos, y: o.Outcome, label: val.Pos}
	// Swap only what the profile can hold: a purchase folded in (N > 0) into an estimate
	// already narrow (SD within a step). Undoing a kept outcome that was never counted —
	// an order the profile never saw, or a profile rebuilt by a training run that ended
	// before it — would tilt a wide prior far off; then the return counts as a purchase.
	swap := o.AlreadyKept && o.Outcome != OutcomeKept && ts.N > 0 && v <= step*step
	if swap {
		ev.undo = OutcomeKept // the order put a kept purchase (and its label's pull) in
	} else if m.choiceSD > 0 {
		sd := m.choiceSD * step
		ev.choice, ev.aware = 1/(sd*sd), m.aware
		if b := m.lookupBrand(o.Brand, sys); b != nil && !m.single {
			ev.off = float64(b.Offset)
		}
	}
	mean, vpost := posterior1(mu, v, ev, implied, step)
	lo, hi := scaleRange(sys)
	ts.Mean = float32(clamp(mean, lo-2, hi+2))
	ts.SD = float32(math.Sqrt(vpost))
	if ts.N < math.MaxUint16 && !swap {
		ts.N++
	}
	if d := dayOf(o.Time); d > ts.LastDay {
		ts.LastDay = d
	}
	if swap && ts.HasUsual && math.Abs(float64(ts.Usual)-val.Pos) < 1e-3 {
		// the usual size came back too small (large) in an item whose verdict does not
		// say it runs small (large): the next size that way is the better reading of
		// the customer's own (advice anchored on it moves them the same steps)
		dir := 1.0
		if o.Outcome == OutcomeTooLarge {
			dir = -1
		}
		if m.verdictStepsOf(o.ProductID, o.Brand, sys)*dir <= 0 {
			ts.Usual += float32(dir * step)
		}
	}
	if o.Outcome == OutcomeKept && !ts.HasUsual {
		// the usual size is the label kept most often, which training recomputes from
		// settled purchases; one purchase folded in here, kept or not yet returned, only
		// gives an entry without one its first. Moved to each new label, it followed the
		// sizes shoppers took on our advice in items that run small or large (and the
		// next such item got "your usual size"), the sizes of gifts, and sizes still to
		// come back. A return does not take it away either (dropped, the answer rested
		// on an estimate pulled toward the population's size, and trusting shoppers
		// took it); it moves it a step, above.
		ts.Usual, ts.HasUsual = float32(val.Pos), true
	}
	if o.Outcome == OutcomeKept {
		if val.Width != WidthUnknown {
			ts.Width = val.Width
		}
	}
	if ts.Gender == genderUnknown {
		ts.Gender = g
	}
	ts.quantize()
	return out, nil
}

// updateGrid is the number of points of the quadrature in posterior1.
const updateGrid = 81

// evidence is one observation's likelihood in a true size x: outcome y at difference
// x + shift, times the pull of the chosen label (choiceTerm, of precision choice; 0:
// none), divided by the likelihood of outcome undo (not OutcomeIgnored) when the
// observation replaces an earlier one — a return swapping out the kept outcome its
// order brought in, the deletion step of expectation propagation.
type evidence struct {
	lk     link
	shift  float64
	y      Outcome
	undo   Outcome
	label  float64
	choice float64
	off    float64 // the brand's offset, where a buyer aware of it picks (choiceTerm)
	aware  float64
}

func (e *evidence) nll(x float64) float64 {
	v := e.lk.nll(x+e.shift, e.y)
	if e.choice > 0 {
		c, _ := choiceTerm(x, e.off, e.label, e.choice, e.aware)
		v += c
	}
	if e.undo != OutcomeIgnored {
		v -= e.lk.nll(x+e.shift, e.undo)
	}
	return v
}

// posterior1 is the mean and variance of a true size with prior N(mu, v) after one
// piece of evidence, by quadrature on a grid spanning the prior and the size the
// observation implies. A kept purchase has a flat-topped likelihood, so the
// posterior's mode (a Laplace step) sits at the edge of the "fits" band and its
// curvature says little; the mean and variance are what the next recommendation
// needs, as in the batch fit (posteriorMean).
func posterior1(mu, v float64, ev evidence, implied, step float64) (float64, float64) {
	sd := math.Sqrt(v)
	lo := math.Min(mu-4*sd, implied-4*step)
	hi := math.Max(mu+4*sd, implied+4*step)
	dx := (hi - lo) / (updateGrid - 1)
	var lp [updateGrid]float64
	best := math.Inf(-1)
	for k := range lp {
		x := lo + float64(k)*dx
		lp[k] = -(x-mu)*(x-mu)/(2*v) - ev.nll(x)
		best = math.Max(best, lp[k])
	}
	var z, m1, m2 float64
	for k := range lp {
		x := lo + float64(k)*dx
		w := math.Exp(lp[k] - best)
		z += w
		m1 += w * x
		m2 += w * x * x
	}
	mean := m1 / z
	return mean, math.Max(m2/z-mean*mean, dx*dx/4)
}

// verdictStepsOf is the whole size steps a product runs small (+) or large (−) by, as
// itemOffset sizes it (its own verdict, else its brand's; no description here), 0
// without a verdict.
func (m *Model) verdictStepsOf(productID, brand string, sys System) float64 {
	o, _, fit, _ := m.itemOffset(&catalog.Product{ProductID: productID, Brand: brand}, sys)
	if fit != RunsSmall && fit != RunsLarge {
		return 0
	}
	return math.Round(o / sys.Step())
}

func (m *Model) offsetFor(productID, brand string, sys System) float64 {
	if m.single {
		return 0
	}
	if it := m.products[productID]; it != nil && it.System == sys {
		return float64(it.Offset)
	}
	if b := m.lookupBrand(brand, sys); b != nil {
		return float64(b.Offset)
	}
	return 0
}

// ProfileFromSurvey makes (or, with prof non-nil, refines) a profile from a fit
// survey: the shoe size and width, the survey → alpha size model on height, weight,
// age and gender, and the usual sizes in named brands (each a kept purchase of that
// size in that brand). Entries already learned from purchases keep their means; the
// survey only adds entries for systems the profile lacks, and then the usual sizes.
func (m *Model) ProfileFromSurvey(prof *Profile, s Survey) (Profile, error) {
	var out Profile
	if prof != nil {
		out.Sizes = append([]TrueSize(nil), prof.Sizes...)
	}
	if err := s.validate(); err != nil {
		return out, err
	}
	has := func(sys System) bool {
		for i := range out.Sizes {
			if out.Sizes[i].System == sys && out.Sizes[i].Gender != genderKids { // the survey is the account holder's
				return true
			}
		}
		return false
	}
	g := parseGender(s.Gender)
	if s.ShoeSizeUS > 0 && !has(SystemUSShoe) {
		w, _ := parseWidth([]byte(strings.ToLower(strings.TrimSpace(s.ShoeWidth))))
		mean := s.ShoeSizeUS + fitPreferenceShift(s.FitPreference)*SystemUSShoe.Step()
		if g == genderFemale {
			mean -= WomensShoeShift // a woman's answer is a women's size
		}
		out.Sizes = append(out.Sizes, TrueSize{System: SystemUSShoe, Survey: true, Width: w, Gender: g,
			Mean: float32(mean), SD: 0.5})
	}
	if s.WeightKG > 0 && m.body != nil && !has(SystemAlpha) {
		pos, v := m.body.PredictSize(s.HeightCM, s.WeightKG, s.Age, s.Gender)
		out.Sizes = append(out.Sizes, TrueSize{System: SystemAlpha, Survey: true, Gender: g,
			Mean: float32(pos + fitPreferenceShift(s.FitPreference)), SD: float32(math.Sqrt(math.Max(v, 0.25)))})
	}
	for i := range out.Sizes {
		out.Sizes[i].quantize()
	}
	for _, u := range s.UsualSizes {
		sys := GuessSystem(u.Size)
		if sys == SystemNone {
			continue
		}
		before := make([]uint16, len(out.Sizes))
		for i := range out.Sizes {
			before[i] = out.Sizes[i].N
		}
		next, err := m.Update(&out, Observation{CustomerID: s.CustomerID, Brand: u.Brand, Category: u.Category,
			Gender: s.Gender, System: sys.String(), Size: u.Size, Outcome: OutcomeKept})
		if err != nil {
			return out, err
		}
		// a usual size is survey evidence, not a purchase; and the size worn in a brand
		// that runs small or large is that brand's label (see usualInBrand)
		shift := m.brandVerdictShift(u.Brand, sys)
		for i := range next.Sizes {
			changed := i >= len(before) || next.Sizes[i].N != before[i]
			if !changed {
				continue
			}
			if i < len(before) {
				next.Sizes[i].N = before[i]
			} else {
				next.Sizes[i].N = 0
			}
			next.Sizes[i].Survey = true
			if shift != 0 && next.Sizes[i].HasUsual {
				next.Sizes[i].Usual = float32(usualInBrand(float64(next.Sizes[i].Usual), shift, sys))
			}
		}
		out = next
	}
	return out, nil
}
