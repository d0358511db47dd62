package size

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Trainer collects observations and surveys and fits a Model. It is not safe for
// concurrent use.
type Trainer struct {
	opts    Options
	obs     []Observation
	surveys map[string]Survey
	skipped int
}

// NewTrainer returns a Trainer with the given options (zero values take defaults).
func NewTrainer(opts Options) *Trainer {
	return &Trainer{opts: opts, surveys: make(map[string]Survey)}
}

// AddObservation adds one purchase and its outcome. Purchases returned for reasons
// other than size (OutcomeIgnored) and products without a size system are skipped
// without error; a size label the product's system cannot parse is an error.
func (t *Trainer) AddObservation(o Observation) error {
	if o.CustomerID == "" {
		return fmt.Errorf("size observation of product %q has no customer id", o.ProductID)
	}
	if o.Outcome == OutcomeIgnored {
		t.skipped++
		return nil
	}
	if o.Outcome > OutcomeTooLarge {
		return fmt.Errorf("size observation of customer %q: unknown outcome %d", o.CustomerID, o.Outcome)
	}
	if !(o.Unsettled >= 0 && o.Unsettled <= 1) || (o.Unsettled > 0 && o.Outcome != OutcomeKept) {
		return fmt.Errorf("size observation of customer %q, product %q: unsettled share %v must be in [0, 1], and 0 for a return", o.CustomerID, o.ProductID, o.Unsettled)
	}
	sys, err := ParseSystem(o.System)
	if err != nil {
		return fmt.Errorf("size observation of customer %q, product %q: %w", o.CustomerID, o.ProductID, err)
	}
	if sys == SystemNone {
		sys = GuessSystem(o.Size)
		if sys == SystemNone {
			t.skipped++
			return nil
		}
		o.System = sys.String()
	}
	if _, err := ParseSizeIn(sys, obsScale(sys, o.Scale, o.Gender), o.Size); err != nil {
		return fmt.Errorf("size observation of customer %q, product %q: %w", o.CustomerID, o.ProductID, err)
	}
	t.obs = append(t.obs, o)
	return nil
}

// AddSurvey adds a fit survey; a later survey of the same customer replaces an
// earlier one (by Time, or by arrival when times are equal).
func (t *Trainer) AddSurvey(s Survey) error {
	if s.CustomerID == "" {
		return fmt.Errorf("fit survey has no customer id")
	}
	if err := s.validate(); err != nil {
		return err
	}
	if old, ok := t.surveys[s.CustomerID]; ok && old.Time.After(s.Time) {
		return nil
	}
	t.surveys[s.CustomerID] = s
	return nil
}

func (s Survey) validate() error {
	bad := func(name string, v, lo, hi float64) error {
		if v != v || v < lo || v > hi {
			return fmt.Errorf("fit survey of customer %q: %s %v outside %g..%g", s.CustomerID, name, v, lo, hi)
		}
		return nil
	}
	if err := bad("height_cm", s.HeightCM, 0, 280); err != nil {
		return err
	}
	if err := bad("weight_kg", s.WeightKG, 0, 400); err != nil {
		return err
	}
	if err := bad("age", s.Age, 0, 130); err != nil {
		return err
	}
	if s.ShoeSizeUS != 0 {
		if err := bad("shoe_size_us", s.ShoeSizeUS, shoeMin, shoeMax); err != nil {
			return err
		}
	}
	if len(s.UsualSizes) > 50 {
		return fmt.Errorf("fit survey of customer %q has %d usual sizes; at most 50", s.CustomerID, len(s.UsualSizes))
	}
	return nil
}

// Skipped is how many observations were skipped (other return reasons, no size system).
func (t *Trainer) Skipped() int { return t.skipped }

type brandKey struct {
	brand string
	sys   System
}

type popKey struct {
	sys      System
	gender   uint8
	category string
}

// tobs is an observation inside the fit.
type tobs struct {
	slot    int32
	brand   int32 // -1: none
	prod    int32 // -1: none (usual sizes from surveys)
	L       float64
	width   int8
	y       Outcome
	open    float32 // Observation.Unsettled of a purchase not returned yet
	gender  uint8
	real    bool // a purchase, not a survey's usual size
	day     uint32
	catIdx  int32
	custIdx int32
}

type slot struct {
	cust    int32
	sys     System
	wearer  uint8
	theta   float64
	hess    float64
	mu0     float64
	var0    float64
	survey  bool
	width   int8
	gender  uint8
	lastDay uint32
	nReal   int
}

type entity struct {
	off  float64
	hess float64
	sys  System
}

type fitState struct {
	opts   Options
	aware  float64 // share of buyers who pick the label that fits (choiceTerm); 0: none
	links  [numSystems]link
	tables [numSystems]nllTable
	obs    []tobs
	slots  []slot
	brands []entity
	prods  []entity
	pbrand []int32 // product → brand entity (-1)
	bySlot [][]int32
	byBrnd [][]int32
	byProd [][]int32
	bySys  [numSystems][]int32
}

func (f *fitState) offset(o *tobs) float64 {
	v := 0.0
	if o.brand >= 0 {
		v += f.brands[o.brand].off
	}
	if o.prod >= 0 {
		v += f.prods[o.prod].off
	}
	return v
}

func (f *fitState) diff(o *tobs) float64 {
	return f.slots[o.slot].theta + f.offset(o) - o.L
}

// grad is the link's grad for observation o at difference d (an unsettled purchase is
// "not returned yet", see gradUnsettled).
func grad(lk link, o *tobs, d float64) (nll, g, h float64) {
	if o.open > 0 {
		return lk.gradUnsettled(d, float64(o.open))
	}
	return lk.grad(d, o.y)
}

// choicePrec is the precision of the Gaussian term that ties a true size to the
// labels its wearer picked (Options.ChoiceSD), 0 for the single-latent baseline.
func (f *fitState) choicePrec(sys System) float64 {
	if f.opts.SingleLatent {
		return 0
	}
	sd := f.opts.ChoiceSD * sys.Step()
	return 1 / (sd * sd)
}

// choiceTerm is the pull of an observation's label on its wearer's true size x: most
// shoppers pick the label they believe is theirs (x), the share aware of how the brand
// is cut the label that fits it (x + off, off the brand's offset; a product's own
// deviation is nobody's common knowledge) — a mixture of two Gaussians of precision
// prec. Counting every pick as the first pins an aware buyer's true size to a label that
// fits only thanks to the brand's offset, and their kept purchase then argues that the
// brand is true to size: brand offsets came out at half their size. It returns the
// term's negative log and the aware component's responsibility.
func choiceTerm(x, off, label, prec, aware float64) (nll, ra float64) {
	eu := prec * (x - label) * (x - label) / 2
	if aware <= 0 || off == 0 {
		return eu, aware
	}
	ea := prec * (x + off - label) * (x + off - label) / 2
	m := math.Min(eu, ea)
	su := (1 - aware) * math.Exp(m-eu)
	sa := aware * math.Exp(m-ea)
	return m - math.Log(su+sa), sa / (su + sa)
}

// brandOffset is the offset of o's brand (0 if none).
func (f *fitState) brandOffset(o *tobs) float64 {
	if o.brand >= 0 {
		return f.brands[o.brand].off
	}
	return 0
}

// newton1 takes up to two damped Newton steps on one parameter x with a Gaussian prior.
// choice > 0 marks x as a true size: each observation's label also pulls it
// (choiceTerm). Offsets are learned from outcomes alone: were the aware buyers' labels
// to pull a brand's offset too, every buyer could be "aware" and the offset anything
// (a single purchase cannot tell the two apart), and on the synthetic world the brand
// offsets lost their agreement with the truth.
func (f *fitState) newton1(x *float64, hess *float64, mu0, var0 float64, idx []int32, sys System, choice float64) {
	maxStep := 2 * sys.Step()
	for it := 0; it < 2; it++ {
		g := (*x - mu0) / var0
		h := 1 / var0
		for _, i := range idx {
			o := &f.obs[i]
			lk := f.links[f.slots[o.slot].sys]
			_, gi, hi := grad(lk, o, f.diff(o))
			g += gi
			h += hi
			if choice == 0 {
				continue
			}
			b := f.brandOffset(o)
			_, ra := choiceTerm(*x, b, o.L, choice, f.aware)
			g += choice * (*x - o.L + ra*b)
			h += choice
		}
		step := clamp(g/h, -maxStep, maxStep)
		*x -= step
		*hess = h
		if math.Abs(step) < 1e-4 {
			break
		}
	}
}

const gridPoints = 21

// posteriorMean replaces a slot's true size (at its posterior mode on entry) by its
// posterior mean and its curvature by the inverse posterior variance, by quadrature on
// a grid around the mode. A kept purchase is a flat-topped likelihood (anything within
// the "fits" band is as good), so the mode sits at the band's edge nearest the prior;
// the mean sits in the middle, where the next size should be chosen from.
func (f *fitState) posteriorMean(sl *slot, idx []int32) {
	if len(idx) == 0 {
		sl.theta, sl.hess = sl.mu0, 1/sl.var0
		return
	}
	tab := &f.tables[sl.sys]
	r := 6 * sl.sys.Step()
	if sd := math.Sqrt(sl.var0); 4*sd < r {
		r = 4 * sd
	}
	mode := sl.theta
	choice := f.choicePrec(sl.sys)
	var lp [gridPoints]float64
	best := math.Inf(-1)
	for k := 0; k < gridPoints; k++ {
		x := mode - r + 2*r*float64(k)/(gridPoints-1)
		v := -(x - sl.mu0) * (x - sl.mu0) / (2 * sl.var0)
		shift := x - mode
		for _, i := range idx {
			o := &f.obs[i]
			var nll float64
			if o.open > 0 {
				nll = tab.lk.nllUnsettled(f.diff(o)+shift, float64(o.open))
			} else {
				nll = tab.at(f.diff(o)+shift, o.y)
			}
			c, _ := choiceTerm(x, f.brandOffset(o), o.L, choice, f.aware)
			v -= nll + c
		}
		lp[k] = v
		best = math.Max(best, v)
	}
	var z, m1, m2 float64
	for k := 0; k < gridPoints; k++ {
		x := mode - r + 2*r*float64(k)/(gridPoints-1)
		w := math.Exp(lp[k] - best)
		z += w
		m1 += w * x
		m2 += w * x * x
	}
	mean := m1 / z
	v := m2/z - mean*mean
	step := 2 * r / (gridPoints - 1)
	v = math.Max(v, step*step/4)
	sl.theta, sl.hess = mean, 1/v
}

func (f *fitState) sweep() {
	for sys := System(1); sys < numSystems; sys++ {
		f.tables[sys].build(f.links[sys])
	}
	// each stage updates one kind of parameter from the others, which it only reads:
	// its items are independent and run in parallel
	parallelFor(len(f.slots), func(s int) {
		sl := &f.slots[s]
		f.newton1(&sl.theta, &sl.hess, sl.mu0, sl.var0, f.bySlot[s], sl.sys, f.choicePrec(sl.sys))
		f.posteriorMean(sl, f.bySlot[s])
	})
	if f.opts.SingleLatent {
		f.updateLinks()
		return
	}
	parallelFor(len(f.brands), func(b int) {
		e := &f.brands[b]
		sd := f.opts.BrandSD * e.sys.Step()
		f.newton1(&e.off, &e.hess, 0, sd*sd, f.byBrnd[b], e.sys, 0)
	})
	parallelFor(len(f.prods), func(p int) {
		e := &f.prods[p]
		sd := f.opts.ProductSD * e.sys.Step()
		f.newton1(&e.off, &e.hess, 0, sd*sd, f.byProd[p], e.sys, 0)
	})
	f.updateLinks()
}

// updateLinks takes a few gradient steps on each system's log κ, the sharpness of the
// ordinal link. The half-width of the "fits" band (τ/κ) is held at bandWidth: left
// free, it trades off against the scale of the offsets (doubling both barely changes
// the likelihood, since most customers buy their usual label) and drifts wide.
func (f *fitState) updateLinks() {
	for sys := System(1); sys < numSystems; sys++ {
		idx := f.bySys[sys]
		if len(idx) < 30 {
			continue
		}
		lk := &f.links[sys]
		w := bandWidth(sys)
		for it := 0; it < 4; it++ {
			var g float64
			for _, i := range idx {
				o := &f.obs[i]
				var a, b float64
				if o.open > 0 {
					a, b = lk.paramGradUnsettled(f.diff(o), float64(o.open))
				} else {
					a, b = lk.paramGrad(f.diff(o), o.y)
				}
				g += a + b
			}
			n := float64(len(idx))
			ka := math.Log(lk.Kappa) - clamp(0.5*g/n, -0.2, 0.2)
			lk.Kappa = clamp(math.Exp(ka), 0.5/w, 40/w)
			lk.Tau = lk.Kappa * w
		}
	}
}

// parallelFor runs fn(0..n-1) on up to GOMAXPROCS goroutines, in chunks.
func parallelFor(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > 8 {
		workers = 8
	}
	if n < 256 || workers < 2 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	const chunk = 64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}

func dayOf(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	d := t.Unix() / 86400
	if d < 0 {
		return 0
	}
	if d > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(d)
}

// Fit learns the model. It honours ctx between sweeps.
func (t *Trainer) Fit(ctx context.Context) (*Model, error) {
	if err := t.opts.validate(); err != nil {
		return nil, err
	}
	opts := t.opts.withDefaults()
	f := &fitState{opts: opts}
	if !opts.SingleLatent {
		f.aware = initialAwareShare
	}
	for s := System(1); s < numSystems; s++ {
		f.links[s] = defaultLink(s)
	}
	custIdx := map[string]int32{}
	var custIDs []string
	cust := func(id string) int32 {
		i, ok := custIdx[id]
		if !ok {
			i = int32(len(custIDs))
			custIdx[id] = i
			custIDs = append(custIDs, id)
		}
		return i
	}
	slotIdx := map[[3]int32]int32{}
	// a customer's purchases of children's products make a wearer of their own
	slotOf := func(c int32, sys System, g uint8) int32 {
		k := [3]int32{c, int32(sys), 0}
		if g == genderKids {
			k[2] = 1
		}
		i, ok := slotIdx[k]
		if !ok {
			i = int32(len(f.slots))
			slotIdx[k] = i
			sl := slot{cust: c, sys: sys}
			if g == genderKids {
				sl.gender = genderKids
			}
			f.slots = append(f.slots, sl)
		}
		return i
	}
	brandIdx := map[brandKey]int32{}
	var brandKeys []brandKey
	brand := func(name string, sys System) int32 {
		if name == "" {
			return -1
		}
		k := brandKey{strings.ToLower(strings.TrimSpace(name)), sys}
		i, ok := brandIdx[k]
		if !ok {
			i = int32(len(f.brands))
			brandIdx[k] = i
			brandKeys = append(brandKeys, k)
			f.brands = append(f.brands, entity{sys: sys})
		}
		return i
	}
	prodIdx := map[string]int32{}
	var prodIDs []string
	prod := func(id string, sys System, b int32) int32 {
		if id == "" {
			return -1
		}
		i, ok := prodIdx[id]
		if !ok {
			i = int32(len(f.prods))
			prodIdx[id] = i
			prodIDs = append(prodIDs, id)
			f.prods = append(f.prods, entity{sys: sys})
			f.pbrand = append(f.pbrand, b)
		}
		if f.prods[i].sys != sys {
			return -1 // one product, two size systems: keep the first
		}
		return i
	}
	catIdx := map[string]int32{}
	var cats []string
	category := func(c string) int32 {
		c = strings.ToLower(strings.TrimSpace(c))
		i, ok := catIdx[c]
		if !ok {
			i = int32(len(cats))
			catIdx[c] = i
			cats = append(cats, c)
		}
		return i
	}
	prodGender := map[string]uint8{}
	prodCat := map[string]string{}
	prodScale := map[string]Scale{}
	for _, o := range t.obs {
		sys, _ := ParseSystem(o.System)
		v, sc, _ := parseLabelScale(sys, obsScale(sys, o.Scale, o.Gender), o.Size)
		if _, ok := prodScale[o.ProductID]; !ok && o.ProductID != "" {
			prodScale[o.ProductID] = sc
		}
		c := cust(o.CustomerID)
		g := parseGender(o.Gender)
		s := slotOf(c, sys, g)
		b := brand(o.Brand, sys)
		p := prod(o.ProductID, sys, b)
		if o.ProductID != "" {
			prodGender[o.ProductID] = g
			prodCat[o.ProductID] = o.Category
		}
		f.obs = append(f.obs, tobs{slot: s, brand: b, prod: p, L: v.Pos, width: v.Width, y: o.Outcome, open: float32(o.Unsettled),
			gender: g, real: true, day: dayOf(o.Time), catIdx: category(o.Category), custIdx: c})
	}
	// surveys: usual sizes are kept pseudo-purchases in their brand; shoe size and body
	// measurements are priors.
	surveyIDs := make([]string, 0, len(t.surveys))
	for id := range t.surveys {
		surveyIDs = append(surveyIDs, id)
	}
	sort.Strings(surveyIDs)
	for _, id := range surveyIDs {
		sv := t.surveys[id]
		c := cust(id)
		for _, u := range sv.UsualSizes {
			sys := GuessSystem(u.Size)
			if sys == SystemNone {
				continue
			}
			v, _ := parseLabel(sys, obsScale(sys, ScaleAuto, sv.Gender), u.Size)
			s := slotOf(c, sys, genderUnknown) // the survey is the account holder's
			f.slots[s].survey = true
			f.obs = append(f.obs, tobs{slot: s, brand: brand(u.Brand, sys), prod: -1, L: v.Pos, width: v.Width,
				y: OutcomeKept, gender: parseGender(sv.Gender), day: dayOf(sv.Time), catIdx: category(u.Category), custIdx: c})
		}
		if sv.ShoeSizeUS > 0 {
			s := slotOf(c, SystemUSShoe, genderUnknown)
			f.slots[s].survey = true
		}
		if sv.WeightKG > 0 {
			s := slotOf(c, SystemAlpha, genderUnknown)
			f.slots[s].survey = true
		}
	}
	f.index()

	// population prior per system (and gender), from the labels kept
	pop := populationPriors(f, cats, custIDs, t.surveys, opts)
	setPriors := func(body *BodyModel) {
		for s := range f.slots {
			sl := &f.slots[s]
			g := sl.gender // of the products kept
			sv, hasSurvey := t.surveys[custIDs[sl.cust]]
			if sl.gender == genderKids {
				hasSurvey = false // the survey is the account holder's, not their child's
			}
			if hasSurvey && parseGender(sv.Gender) != genderUnknown {
				g = parseGender(sv.Gender)
				if sl.gender == genderUnknown {
					sl.gender = g // the scale a survey-only shoe size is in (TrueSize.labelShift)
				}
			}
			pp := pop.lookup(sl.sys, g, "")
			sl.mu0, sl.var0 = pp.Mean, pp.Var
			if hasSurvey {
				shift := fitPreferenceShift(sv.FitPreference) * sl.sys.Step()
				switch {
				case sl.sys == SystemUSShoe && sv.ShoeSizeUS > 0:
					sl.mu0, sl.var0 = sv.ShoeSizeUS+shift, 0.5*0.5
					if g == genderFemale {
						// a women's size: stated by a woman, or by someone who buys women's shoes
						sl.mu0 -= WomensShoeShift
					}
					if w, ok := parseWidth([]byte(strings.ToLower(sv.ShoeWidth))); ok && w != WidthUnknown {
						sl.width = w
					}
				case sl.sys == SystemAlpha && sv.WeightKG > 0 && body != nil:
					m, v := body.PredictSize(sv.HeightCM, sv.WeightKG, sv.Age, sv.Gender)
					sl.mu0, sl.var0 = m+shift, math.Max(v, 0.25)
				}
			}
			if sl.var0 <= 0 {
				sl.var0 = 1
			}
		}
	}
	initTheta := func() {
		sum := make([]float64, len(f.slots))
		n := make([]float64, len(f.slots))
		for i := range f.obs {
			o := &f.obs[i]
			if o.y == OutcomeKept {
				sum[o.slot] += o.L - f.offset(o)
				n[o.slot]++
			}
		}
		for s := range f.slots {
			if n[s] > 0 {
				f.slots[s].theta = (sum[s] + f.slots[s].mu0/f.slots[s].var0) / (n[s] + 1/f.slots[s].var0)
			} else {
				f.slots[s].theta = f.slots[s].mu0
			}
		}
	}
	run := func(sweeps int) error {
		for i := 0; i < sweeps; i++ {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("size model fit interrupted after %d sweeps: %w", i, err)
			}
			f.sweep()
		}
		return nil
	}

	setPriors(nil)
	// a unisex shoe is labelled in its wearer's scale (wearerScale): now that each slot's
	// sex is known, put a woman's unisex labels on the latent (men's) scale
	for i := range f.obs {
		o := &f.obs[i]
		if sl := &f.slots[o.slot]; o.real && sl.sys == SystemUSShoe && o.gender == genderUnknown && sl.gender == genderFemale &&
			o.prod >= 0 && prodScale[prodIDs[o.prod]] == ScaleStandard {
			o.L -= WomensShoeShift
		}
	}
	initTheta()
	if err := run(opts.Sweeps); err != nil {
		return nil, err
	}
	// how much brands and products really differ: the spread of the offsets learned,
	// given their uncertainty (an EM step on each prior's variance), then refit
	// (and how many buyers pick the label that fits rather than their usual one)
	learnBrand, learnProduct := t.opts.BrandSD <= 0 && !opts.SingleLatent, t.opts.ProductSD <= 0 && !opts.SingleLatent
	for it := 0; it < 3 && (learnBrand || learnProduct || f.aware > 0); it++ {
		if f.aware > 0 {
			f.aware = f.awareShare()
		}
		if learnBrand {
			f.opts.BrandSD = priorSD(f.brands, f.byBrnd, f.opts.BrandSD)
		}
		if learnProduct {
			f.opts.ProductSD = priorSD(f.prods, f.byProd, f.opts.ProductSD)
		}
		if err := run(max(opts.Sweeps/3, 1)); err != nil {
			return nil, err
		}
	}
	opts.BrandSD, opts.ProductSD = f.opts.BrandSD, f.opts.ProductSD
	// survey → alpha size: customers with a survey and kept alpha purchases, plus the table
	body, bodyN, err := fitBody(f, custIDs, t.surveys, opts.BodyTable)
	if err != nil {
		return nil, err
	}
	setPriors(body)
	// later passes start from the previous fit and need fewer sweeps
	later := max(opts.Sweeps/2, 1)
	if err := run(later); err != nil {
		return nil, err
	}
	wearers := 0
	if !opts.SingleLatent && !opts.NoWearers {
		wearers = f.splitWearers(opts.MinWearerKept)
		if wearers > 0 {
			if err := run(later); err != nil {
				return nil, err
			}
		}
	}
	// final Hessians for the uncertainties
	f.sweep()
	if !opts.SingleLatent && !opts.LearnedOffsets && f.deshrinkVerdicts() {
		// the customers' sizes again, against the offsets they will be served with
		for i := 0; i < 2; i++ {
			f.sweepSlots()
		}
	}
	pop = populationPriors(f, cats, custIDs, t.surveys, opts)
	m := f.build(custIDs, brandKeys, prodIDs, prodGender, prodCat, prodScale, pop, body)
	m.stats = TrainStats{Observations: countReal(f.obs), Customers: len(custIDs), Surveys: len(t.surveys),
		Brands: len(f.brands), Products: len(f.prods), TwoWearerAccounts: wearers, BodySamples: bodyN, Skipped: t.skipped,
		BrandSD: opts.BrandSD, ProductSD: opts.ProductSD, AwareShare: f.aware}
	return m, nil
}

// deshrinkVerdicts sets the offset of each brand and product with a verdict (flagFor, on
// the evidence build will count) to what recommendations size it by, verdictOffset: at
// least one step its way. Learned offsets come out short where buyers keep sizes a
// step off; served at a full step while the customers' true sizes were fitted against
// the short one, a customer who kept L three times in a brand that runs small was sent
// XL in it. It reports whether any offset changed; the caller refits the true sizes.
func (f *fitState) deshrinkVerdicts() bool {
	bc, pc := f.evidence()
	sd := func(h float64) float32 {
		if h <= 0 {
			return 10
		}
		return float32(1 / math.Sqrt(h))
	}
	verdict := func(sys System, off float64, hess float64, c evidenceCounts) (float64, bool) {
		it := ItemFit{System: sys, Offset: float32(off), SD: sd(hess), Kept: c.kept, TooSmall: c.small, TooLarge: c.large}
		if fl := flagFor(&it).Fit; fl == RunsSmall || fl == RunsLarge {
			return verdictOffset(off, sys.Step()), true
		}
		return off, false
	}
	changed := false
	for b := range f.brands {
		e := &f.brands[b]
		if v, ok := verdict(e.sys, e.off, e.hess, bc[b]); ok && v != e.off {
			e.off, changed = v, true
		}
	}
	for p := range f.prods {
		e := &f.prods[p]
		base := 0.0
		if b := f.pbrand[p]; b >= 0 {
			base = f.brands[b].off
		}
		if v, ok := verdict(e.sys, base+e.off, e.hess, pc[p]); ok && v != base+e.off {
			e.off, changed = v-base, true
		}
	}
	return changed
}

// evidenceCounts is what a verdict rests on (flagFor): purchases kept, size returns.
type evidenceCounts struct{ kept, small, large uint32 }

// evidence counts each brand's and product's purchases with a known outcome: kept
// (settled: one whose return window is mostly still open is not kept yet), returned
// too small, returned too large. Survey answers are not evidence.
func (f *fitState) evidence() (brands, prods []evidenceCounts) {
	brands = make([]evidenceCounts, len(f.brands))
	prods = make([]evidenceCounts, len(f.prods))
	for i := range f.obs {
		o := &f.obs[i]
		if !o.real {
			continue
		}
		for _, c := range []*evidenceCounts{at(brands, o.brand), at(prods, o.prod)} {
			if c == nil {
				continue
			}
			switch o.y {
			case OutcomeKept:
				if o.open < 0.5 {
					c.kept++
				}
			case OutcomeTooSmall:
				c.small++
			case OutcomeTooLarge:
				c.large++
			}
		}
	}
	return brands, prods
}

// at is &cs[i], nil for a negative i (no brand or product).
func at[T any](cs []T, i int32) *T {
	if i < 0 {
		return nil
	}
	return &cs[i]
}

// sweepSlots is sweep's customer stage alone: true sizes against the offsets as they are.
func (f *fitState) sweepSlots() {
	parallelFor(len(f.slots), func(s int) {
		sl := &f.slots[s]
		f.newton1(&sl.theta, &sl.hess, sl.mu0, sl.var0, f.bySlot[s], sl.sys, f.choicePrec(sl.sys))
		f.posteriorMean(sl, f.bySlot[s])
	})
}

// initialAwareShare is where the share of buyers who pick the label that fits, rather
// than their usual one, starts before EM learns it (awareShare).
const initialAwareShare = 0.25

// awareShare is the EM update of the share of buyers aware of an item's sizing: the
// mean responsibility of the aware component (choiceTerm) over purchases in brands whose
// offset is at least a quarter step (elsewhere the two components coincide and say
// nothing), with 20 purchases' worth of prior at initialAwareShare, kept in [0.02, 0.8].
func (f *fitState) awareShare() float64 {
	const prior = 20.0
	sum, n := prior*initialAwareShare, prior
	for i := range f.obs {
		o := &f.obs[i]
		sys := f.slots[o.slot].sys
		off := f.brandOffset(o)
		if !o.real || math.Abs(off) < 0.25*sys.Step() {
			continue
		}
		_, ra := choiceTerm(f.slots[o.slot].theta, off, o.L, f.choicePrec(sys), f.aware)
		sum += ra
		n++
	}
	return clamp(sum/n, 0.02, 0.8)
}

// priorSD is the EM update of the prior standard deviation (in steps) of a kind of
// offset: the mean of offset² + posterior variance over the entities with evidence,
// kept within [0.1, 3] steps (a catalog whose every item fits alike would otherwise
// shrink the prior to nothing).
func priorSD(es []entity, by [][]int32, cur float64) float64 {
	var sum, n float64
	for i := range es {
		if len(by[i]) == 0 || es[i].hess <= 0 {
			continue
		}
		st := es[i].sys.Step()
		sum += (es[i].off*es[i].off + 1/es[i].hess) / (st * st)
		n++
	}
	if n < 5 {
		return cur
	}
	return clamp(math.Sqrt(sum/n), 0.1, 3)
}

func countReal(obs []tobs) int {
	n := 0
	for i := range obs {
		if obs[i].real {
			n++
		}
	}
	return n
}

func (f *fitState) index() {
	f.bySlot = make([][]int32, len(f.slots))
	f.byBrnd = make([][]int32, len(f.brands))
	f.byProd = make([][]int32, len(f.prods))
	for s := range f.bySys {
		f.bySys[s] = f.bySys[s][:0]
	}
	for i := range f.obs {
		o := &f.obs[i]
		f.bySlot[o.slot] = append(f.bySlot[o.slot], int32(i))
		if o.brand >= 0 {
			f.byBrnd[o.brand] = append(f.byBrnd[o.brand], int32(i))
		}
		if o.prod >= 0 {
			f.byProd[o.prod] = append(f.byProd[o.prod], int32(i))
		}
		f.bySys[f.slots[o.slot].sys] = append(f.bySys[f.slots[o.slot].sys], int32(i))
	}
	for s := range f.slots {
		sl := &f.slots[s]
		var wc [4]int
		var gc [4]int
		latest, latestDay := genderUnknown, uint32(0)
		sl.nReal = 0
		for _, i := range f.bySlot[s] {
			o := &f.obs[i]
			if o.day > sl.lastDay {
				sl.lastDay = o.day
			}
			if o.real {
				sl.nReal++
				gc[o.gender]++
				if (o.gender == genderFemale || o.gender == genderMale) && o.day >= latestDay {
					latest, latestDay = o.gender, o.day
				}
			}
			if o.y == OutcomeKept && o.width != WidthUnknown {
				wc[o.width]++
			}
		}
		for w := 1; w < 4; w++ {
			if wc[w] > 0 && wc[w] >= wc[sl.width] {
				sl.width = int8(w)
			}
		}
		switch {
		case sl.gender == genderKids:
		case gc[genderFemale] > gc[genderMale]:
			sl.gender = genderFemale
		case gc[genderMale] > gc[genderFemale]:
			sl.gender = genderMale
		case latest != genderUnknown:
			// as many women's as men's purchases: the latest decides, for an entry of
			// unknown sex would be read as bare numbers in the shoe's scale (labelShift)
			// while these are on the latent scale already
			sl.gender = latest
		}
	}
}

// PopPrior is a population prior of true size: mean and variance on the system's scale.
type PopPrior struct {
	Mean, Var float64
	N         int
}

type popTable map[popKey]PopPrior

func (p popTable) lookup(sys System, g uint8, cat string) PopPrior {
	if cat != "" {
		if v, ok := p[popKey{sys, g, cat}]; ok && v.N >= 5 {
			return v
		}
	}
	if v, ok := p[popKey{sys, g, ""}]; ok && (v.N >= 5 || g == genderKids && v.N >= 1) {
		return v
	}
	// children's sizes never fall back to the adults' pool
	if v, ok := p[popKey{sys, genderUnknown, ""}]; ok && v.N >= 1 && g != genderKids {
		return v
	}
	lo, hi := scaleRange(sys)
	mid := (lo + hi) / 2
	if sys == SystemUSShoe {
		mid = 9
	}
	if sys == SystemNumeric {
		mid = 33
	}
	return PopPrior{Mean: mid, Var: (hi - lo) * (hi - lo) / 16}
}

// populationPriors are the means and variances of kept labels (less their offsets) by
// system, gender and category, with gender and category "" pooling all.
func populationPriors(f *fitState, cats []string, custIDs []string, surveys map[string]Survey, opts Options) popTable {
	type acc struct{ s, s2, n float64 }
	a := map[popKey]*acc{}
	add := func(k popKey, v float64) {
		x := a[k]
		if x == nil {
			x = &acc{}
			a[k] = x
		}
		x.s += v
		x.s2 += v * v
		x.n++
	}
	for i := range f.obs {
		o := &f.obs[i]
		if o.y != OutcomeKept || !o.real {
			continue
		}
		sys := f.slots[o.slot].sys
		v := o.L - f.offset(o)
		g := o.gender
		if g == genderKids { // children's sizes pool with children's only
			add(popKey{sys, g, ""}, v)
			add(popKey{sys, g, cats[o.catIdx]}, v)
			continue
		}
		add(popKey{sys, genderUnknown, ""}, v)
		add(popKey{sys, g, ""}, v)
		add(popKey{sys, g, cats[o.catIdx]}, v)
		if g != genderUnknown {
			add(popKey{sys, genderUnknown, cats[o.catIdx]}, v)
		}
	}
	out := popTable{}
	for k, x := range a {
		mean := x.s / x.n
		v := x.s2/x.n - mean*mean
		step := k.sys.Step()
		minVar := step * step
		if v < minVar || x.n < 2 {
			v = math.Max(v, minVar)
		}
		cap := opts.CustomerSD * step
		if v > 4*cap*cap {
			v = 4 * cap * cap
		}
		out[k] = PopPrior{Mean: mean, Var: v, N: int(x.n)}
	}
	return out
}

func fitBody(f *fitState, custIDs []string, surveys map[string]Survey, table []BodySample) (*BodyModel, int, error) {
	samples := append([]BodySample(nil), table...)
	sum := map[int32]float64{}
	n := map[int32]float64{}
	for i := range f.obs {
		o := &f.obs[i]
		if !o.real || o.y != OutcomeKept || f.slots[o.slot].sys != SystemAlpha {
			continue
		}
		sum[o.slot] += o.L - f.offset(o)
		n[o.slot]++
	}
	slots := make([]int32, 0, len(sum))
	for s := range sum {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
	for _, s := range slots {
		sl := &f.slots[s]
		sv, ok := surveys[custIDs[sl.cust]]
		if !ok || !(sv.WeightKG > 0) {
			continue
		}
		pos := math.Round(clamp(sum[s]/n[s], 0, float64(numAlpha-1)))
		samples = append(samples, BodySample{HeightCM: sv.HeightCM, WeightKG: sv.WeightKG, Age: sv.Age, Gender: sv.Gender, Size: pos})
	}
	if len(samples) < 20 {
		return nil, len(samples), nil
	}
	m, err := FitBodyModel(samples)
	if err != nil {
		return nil, len(samples), fmt.Errorf("cannot fit the survey → alpha size part: %w", err)
	}
	return m, len(samples), nil
}

// splitWearers finds slots whose kept sizes form two well separated groups and gives
// the second group its own slot. Two partitions are tried: by the gender of the
// products (an account buying women's and men's items far apart in size), then the
// best two-group split of the sizes alone (stricter). It returns how many slots were
// split.
func (f *fitState) splitWearers(minKept int) int {
	split := 0
	nSlots := len(f.slots)
	for s := 0; s < nSlots; s++ {
		sl := f.slots[s]
		step := sl.sys.Step()
		// implied sizes: a kept label less its offset; a return one step beyond
		var vals, kept []float64
		var gs []uint8
		for _, i := range f.bySlot[s] {
			o := &f.obs[i]
			if !o.real {
				continue
			}
			v := o.L - f.offset(o)
			switch o.y {
			case OutcomeKept:
				kept = append(kept, v)
			case OutcomeTooSmall:
				v += step / 2
			case OutcomeTooLarge:
				v -= step / 2
			}
			vals = append(vals, v)
			gs = append(gs, o.gender)
		}
		if len(vals) < 2*minKept {
			continue
		}
		m1, m2, ok := genderSplit(vals, gs, minKept, step)
		byGender := ok
		if !ok && len(kept) >= 2*minKept {
			m1, m2, ok = sizeSplit(kept, minKept, step)
		}
		if !ok {
			continue
		}
		// a new slot for the upper group
		ns := int32(len(f.slots))
		nsl := sl
		nsl.wearer = 1
		nsl.theta = m2
		nsl.mu0 = m2
		f.slots = append(f.slots, nsl)
		f.slots[s].theta = m1
		f.slots[s].mu0 = m1
		// the gender whose sizes are larger goes to the upper group
		var upper uint8
		if byGender {
			upper = upperGender(vals, gs)
		}
		mid := (m1 + m2) / 2
		for _, i := range f.bySlot[s] {
			o := &f.obs[i]
			if byGender && o.gender != genderUnknown {
				if o.gender == upper {
					o.slot = ns
				}
				continue
			}
			v := o.L - f.offset(o)
			switch o.y {
			case OutcomeTooSmall:
				v += step / 2
			case OutcomeTooLarge:
				v -= step / 2
			}
			if v > mid {
				o.slot = ns
			}
		}
		split++
	}
	if split > 0 {
		f.index()
	}
	return split
}

func meanSD(v []float64) (float64, float64) {
	var s, s2 float64
	for _, x := range v {
		s += x
		s2 += x * x
	}
	n := float64(len(v))
	m := s / n
	return m, math.Sqrt(math.Max(s2/n-m*m, 0))
}

func upperGender(vals []float64, gs []uint8) uint8 {
	var f, m []float64
	for i, v := range vals {
		switch gs[i] {
		case genderFemale:
			f = append(f, v)
		case genderMale:
			m = append(m, v)
		}
	}
	mf, _ := meanSD(f)
	mm, _ := meanSD(m)
	if mf > mm {
		return genderFemale
	}
	return genderMale
}

// genderSplit tests the partition of kept sizes by product gender: both genders with
// at least minKept purchases, means at least two steps and three pooled SDs apart.
func genderSplit(vals []float64, gs []uint8, minKept int, step float64) (lo, hi float64, ok bool) {
	var f, m []float64
	for i, v := range vals {
		switch gs[i] {
		case genderFemale:
			f = append(f, v)
		case genderMale:
			m = append(m, v)
		}
	}
	if len(f) < minKept || len(m) < minKept {
		return 0, 0, false
	}
	mf, sf := meanSD(f)
	mm, sm := meanSD(m)
	pooled := math.Max(math.Sqrt((sf*sf*float64(len(f))+sm*sm*float64(len(m)))/float64(len(f)+len(m))), 0.25*step)
	lo, hi = math.Min(mf, mm), math.Max(mf, mm)
	return lo, hi, hi-lo >= 2*step && hi-lo >= 3*pooled
}

// sizeSplit finds the best two-group split of the sizes (least within-group sum of
// squares) and accepts it when each group has at least minKept and a fifth of the
// purchases and the means are three steps and four pooled SDs apart.
func sizeSplit(vals []float64, minKept int, step float64) (lo, hi float64, ok bool) {
	v := append([]float64(nil), vals...)
	sort.Float64s(v)
	n := len(v)
	pre := make([]float64, n+1)
	pre2 := make([]float64, n+1)
	for i, x := range v {
		pre[i+1] = pre[i] + x
		pre2[i+1] = pre2[i] + x*x
	}
	sse := func(a, b int) float64 {
		m := float64(b - a)
		s := pre[b] - pre[a]
		return pre2[b] - pre2[a] - s*s/m
	}
	best, bestK := math.Inf(1), -1
	minN := max(minKept, (n+4)/5)
	for k := minN; k <= n-minN; k++ {
		if e := sse(0, k) + sse(k, n); e < best {
			best, bestK = e, k
		}
	}
	if bestK < 0 {
		return 0, 0, false
	}
	lo = pre[bestK] / float64(bestK)
	hi = (pre[n] - pre[bestK]) / float64(n-bestK)
	pooled := math.Max(math.Sqrt(best/float64(n)), 0.25*step)
	return lo, hi, hi-lo >= 3*step && hi-lo >= 4*pooled
}
