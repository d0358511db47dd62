package size

import (
	"math"
	"sort"
	"strings"
)

// TrueSize is a customer's (or one of an account's wearers') latent true size in one
// size system: Mean on the system's scale (US size, alpha position, waist inches), SD
// its uncertainty, N the purchases behind it (0: from a survey only).
type TrueSize struct {
	System  System
	Wearer  uint8 // 0 or 1
	Survey  bool  // a survey contributed
	Width   int8  // shoe width, WidthUnknown if not known
	Gender  uint8 // of the products this wearer keeps (0 unknown, 1 female, 2 male)
	Mean    float32
	SD      float32
	N       uint16
	LastDay uint32 // days since 1970 of the latest purchase
	// Usual is the label position the customer keeps most often (their habit, which
	// the fit note calls "your usual"), if HasUsual.
	Usual    float32
	HasUsual bool
}

// labelShift is what to subtract from the entry's Mean and Usual to put them on the
// latent scale when serving a product of scale sc. Entries are on the latent scale,
// except a US shoe size of a wearer whose sex nothing said — a survey's shoe size
// without a gender, unisex shoes bought (labelled in their wearer's scale, see
// wearerScale): which scale (men's or women's) those numbers are in is unknown, and they
// are read in the scale of the shoes the customer looks at, until a purchase of a shoe
// cut for one sex settles it.
func (t *TrueSize) labelShift(sc Scale) float64 {
	if t.System == SystemUSShoe && t.Gender == genderUnknown && sc == ScaleWomensShoe {
		return WomensShoeShift
	}
	return 0
}

// Profile is what the model knows about one customer: a true size per size system and
// wearer. It is small (see MarshalBinary) and is what a key-value store holds.
type Profile struct {
	Sizes []TrueSize
}

// Wearers reports whether the profile holds two wearers in system sys.
func (p *Profile) Wearers(sys System) int {
	if p == nil {
		return 0
	}
	n := 0
	for i := range p.Sizes {
		if p.Sizes[i].System == sys {
			n++
		}
	}
	return n
}

// ItemFit is the sizing offset of a brand (in one size system) or a product:
// Offset > 0 means it runs small (a label fits like a smaller size), in units of the
// system's scale; with its standard deviation and the evidence behind it.
type ItemFit struct {
	System   System
	Offset   float32
	SD       float32
	Kept     uint32
	TooSmall uint32
	TooLarge uint32
	Mode     string // the label kept most often (products only)
	Gender   uint8
	Brand    string // products only: the brand, lower-cased
	Category string // products only
}

// FitFlag is the shopper-facing verdict on a product or brand.
type FitFlag struct {
	Fit      string  `json:"fit"` // runs_small, true_to_size, runs_large, or unknown
	Offset   float64 `json:"offset"`
	Evidence int     `json:"evidence"` // purchases with a known outcome
	Kept     int     `json:"kept"`
	TooSmall int     `json:"too_small"`
	TooLarge int     `json:"too_large"`
}

// Fit verdicts.
const (
	RunsSmall  = "runs_small"
	TrueToSize = "true_to_size"
	RunsLarge  = "runs_large"
	FitUnknown = "unknown"
)

// TrainStats describe what a fit saw.
type TrainStats struct {
	Observations      int `json:"observations"`
	Customers         int `json:"customers"`
	Surveys           int `json:"surveys"`
	Brands            int `json:"brands"`
	Products          int `json:"products"`
	TwoWearerAccounts int `json:"two_wearer_accounts"`
	BodySamples       int `json:"body_samples"`
	Skipped           int `json:"skipped"`
	// BrandSD and ProductSD are the prior spreads of brand and product offsets the fit
	// used, in steps of the size system (learned unless Options set them).
	BrandSD   float64 `json:"brand_sd_steps"`
	ProductSD float64 `json:"product_sd_steps"`
	// AwareShare is the learned share of buyers who pick the label that fits an item
	// rather than their usual one (they know how it is cut).
	AwareShare float64 `json:"aware_share"`
}

// Model is a fitted size model. It is immutable and safe for concurrent use.
type Model struct {
	links    [numSystems]link
	single   bool
	brandSD  float64
	choiceSD float64             // Options.ChoiceSD of the fit; 0: labels do not pull (the baseline, old encodings)
	aware    float64             // TrainStats.AwareShare; 0: every pick is the buyer's usual label (old encodings)
	brands   map[string]*ItemFit // key: brandMapKey
	products map[string]*ItemFit
	pop      popTable
	profiles map[string]*Profile
	body     *BodyModel
	stats    TrainStats
}

// Stats are the counts of the fit that made the model.
func (m *Model) Stats() TrainStats { return m.stats }

// Profile is the stored profile of a customer, if the model has one.
func (m *Model) Profile(customerID string) (*Profile, bool) {
	p, ok := m.profiles[customerID]
	return p, ok
}

// Profiles calls fn for every customer profile (for publishing to a key-value
// store), in no particular order, until fn returns an error.
func (m *Model) Profiles(fn func(customerID string, p *Profile) error) error {
	for id, p := range m.profiles {
		if err := fn(id, p); err != nil {
			return err
		}
	}
	return nil
}

func (f *fitState) build(custIDs []string, brandKeys []brandKey, prodIDs []string, prodGender map[string]uint8, prodCat map[string]string, prodScale map[string]Scale, pop popTable, body *BodyModel) *Model {
	m := &Model{links: f.links, single: f.opts.SingleLatent, brandSD: f.opts.BrandSD, pop: pop, body: body,
		choiceSD: f.opts.ChoiceSD, aware: f.aware,
		brands: make(map[string]*ItemFit, len(f.brands)), products: make(map[string]*ItemFit, len(f.prods)),
		profiles: make(map[string]*Profile, len(custIDs))}
	if f.opts.SingleLatent {
		m.choiceSD = 0
	}
	sd := func(h float64) float32 {
		if h <= 0 {
			return 10
		}
		return float32(1 / math.Sqrt(h))
	}
	brandItems := make([]*ItemFit, len(f.brands))
	for i, k := range brandKeys {
		e := f.brands[i]
		it := &ItemFit{System: e.sys, Offset: float32(e.off), SD: sd(e.hess)}
		if f.opts.SingleLatent {
			it.Offset, it.SD = 0, 0
		}
		brandItems[i] = it
		m.brands[brandMapKey(k.brand, k.sys)] = it
	}
	modes := make([]map[float64]int, len(f.prods))
	for i, id := range prodIDs {
		e := f.prods[i]
		it := &ItemFit{System: e.sys, Offset: float32(e.off), SD: sd(e.hess), Gender: prodGender[id], Category: strings.ToLower(strings.TrimSpace(prodCat[id]))}
		if b := f.pbrand[i]; b >= 0 {
			it.Brand = brandKeys[b].brand
			it.Offset += brandItems[b].Offset
		}
		if f.opts.SingleLatent {
			it.Offset, it.SD = 0, 0
		}
		m.products[id] = it
		modes[i] = map[float64]int{}
	}
	bc, pc := f.evidence()
	for b, it := range brandItems {
		it.Kept, it.TooSmall, it.TooLarge = bc[b].kept, bc[b].small, bc[b].large
	}
	for i, id := range prodIDs {
		it := m.products[id]
		it.Kept, it.TooSmall, it.TooLarge = pc[i].kept, pc[i].small, pc[i].large
	}
	for i := range f.obs {
		if o := &f.obs[i]; o.real && o.prod >= 0 && o.y == OutcomeKept {
			modes[o.prod][o.L]++
		}
	}
	for i, id := range prodIDs {
		best, bestN := 0.0, 0
		for v, n := range modes[i] {
			if n > bestN || n == bestN && v < best {
				best, bestN = v, n
			}
		}
		if bestN > 0 {
			m.products[id].Mode = LabelIn(f.prods[i].sys, prodScale[id], best)
		}
	}
	// a survey's size worn in a brand that runs small or large stands for another
	// size on items true to size (usualInBrand)
	surveyShift := func(o *tobs) float64 {
		if o.brand < 0 || f.opts.SingleLatent {
			return 0
		}
		b := brandItems[o.brand]
		if fl := flagFor(b).Fit; fl == RunsSmall || fl == RunsLarge {
			return verdictOffset(float64(b.Offset), b.System.Step())
		}
		return 0
	}
	for s := range f.slots {
		sl := &f.slots[s]
		id := custIDs[sl.cust]
		p := m.profiles[id]
		if p == nil {
			p = &Profile{}
			m.profiles[id] = p
		}
		n := sl.nReal
		if n > math.MaxUint16 {
			n = math.MaxUint16
		}
		ts := TrueSize{System: sl.sys, Wearer: sl.wearer, Survey: sl.survey, Width: sl.width,
			Gender: sl.gender, Mean: float32(sl.theta), SD: sd(sl.hess), N: uint16(n), LastDay: sl.lastDay}
		ts.Usual, ts.HasUsual = f.usual(s, surveyShift)
		ts.quantize()
		p.Sizes = append(p.Sizes, ts)
	}
	for _, p := range m.profiles {
		sort.Slice(p.Sizes, func(i, j int) bool {
			a, b := p.Sizes[i], p.Sizes[j]
			if a.System != b.System {
				return a.System < b.System
			}
			return a.Wearer < b.Wearer
		})
	}
	return m
}

// FlagThreshold is how far an offset must be from 0 for a "runs small/large" verdict:
// a quarter US shoe size, 0.4 of a letter, half a waist inch.
func FlagThreshold(sys System) float64 {
	switch sys {
	case SystemUSShoe:
		return 0.25
	case SystemAlpha:
		return 0.4
	}
	return 0.5
}

// minVerdictReturns is how many more size returns one way than the other an item
// needs before it is said to run small or large (see flagFor).
const minVerdictReturns = 2

// verdictP is the sign test's level for a verdict from the returns alone: on an item
// true to size, shoppers' own mistakes send back as many too small as too large, so
// returns clearly one way say the item runs that way even where the learned offset,
// pulled toward 0 by the many who keep a size a step off, stays under FlagThreshold
// (it must still point the same way, at least half as far).
const verdictP = 0.02

// oneSided is the sign test's p-value of at least k of k+other size returns going one
// way on an item where both ways are equally likely: P(X ≥ k), X ~ Binomial(k+other, ½).
// It runs on every recommendation (flagFor), so it is exact by a short product for up
// to 60 returns and the normal approximation (with continuity correction) beyond.
func oneSided(k, other int) float64 {
	n := k + other
	if n == 0 || k <= other {
		return 1
	}
	if n > 60 {
		z := (float64(k) - 0.5 - float64(n)/2) / math.Sqrt(float64(n)/4)
		return 0.5 * math.Erfc(z/math.Sqrt2)
	}
	term := math.Ldexp(1, -n) // C(n, n) / 2^n
	p := term
	for i := n; i > k; i-- {
		term *= float64(i) / float64(n-i+1) // C(n, i−1) from C(n, i)
		p += term
	}
	return math.Min(p, 1)
}

// flagFor turns an offset into a verdict: beyond FlagThreshold and 1.5 standard
// deviations of its own uncertainty, with returns that say so (minVerdictReturns), or,
// pointing the same way at least half as far, a clear majority of its size returns one
// way (a sign test at verdictP, with at least 3 to 2).
func flagFor(it *ItemFit) FitFlag {
	if it == nil {
		return FitFlag{Fit: FitUnknown}
	}
	ev := int(it.Kept + it.TooSmall + it.TooLarge)
	f := FitFlag{Offset: float64(it.Offset), Evidence: ev, Kept: int(it.Kept), TooSmall: int(it.TooSmall), TooLarge: int(it.TooLarge)}
	th := FlagThreshold(it.System)
	switch {
	case ev == 0:
		f.Fit = FitUnknown
	// a verdict needs returns that say so, at least minVerdictReturns more one way than
	// the other: offsets are learned jointly with the customers' true sizes, an item only
	// kept can drift with theirs, and one return is as often the buyer's mistake
	case float64(it.Offset) >= th && it.Offset >= 1.5*it.SD && it.TooSmall >= it.TooLarge+minVerdictReturns,
		float64(it.Offset) >= th/2 && it.Offset >= 1.5*it.SD && 2*it.TooSmall >= 3*it.TooLarge && oneSided(int(it.TooSmall), int(it.TooLarge)) < verdictP:
		f.Fit = RunsSmall
	case float64(it.Offset) <= -th && -it.Offset >= 1.5*it.SD && it.TooLarge >= it.TooSmall+minVerdictReturns,
		float64(it.Offset) <= -th/2 && -it.Offset >= 1.5*it.SD && 2*it.TooLarge >= 3*it.TooSmall && oneSided(int(it.TooLarge), int(it.TooSmall)) < verdictP:
		f.Fit = RunsLarge
	default:
		f.Fit = TrueToSize
	}
	return f
}

// ProductFit is the verdict on a product: runs small, true to size or runs large,
// with the evidence count. Products the model never saw are "unknown".
func (m *Model) ProductFit(productID string) FitFlag {
	return flagFor(m.products[productID])
}

// BrandFit is the verdict on a brand in the size system it has most evidence in.
func (m *Model) BrandFit(brand string) FitFlag {
	b := strings.ToLower(strings.TrimSpace(brand))
	var best *ItemFit
	for s := System(1); s < numSystems; s++ {
		it := m.brands[brandMapKey(b, s)]
		if it != nil && (best == nil || it.Kept+it.TooSmall+it.TooLarge > best.Kept+best.TooSmall+best.TooLarge) {
			best = it
		}
	}
	return flagFor(best)
}

// BrandFitIn is the verdict on a brand in one size system.
func (m *Model) BrandFitIn(brand string, sys System) FitFlag {
	return flagFor(m.brands[brandMapKey(strings.ToLower(strings.TrimSpace(brand)), sys)])
}

// BrandOffset is the learned offset of a brand in a system (0, false if unknown).
func (m *Model) BrandOffset(brand string, sys System) (float64, bool) {
	it := m.brands[brandMapKey(strings.ToLower(strings.TrimSpace(brand)), sys)]
	if it == nil {
		return 0, false
	}
	return float64(it.Offset), true
}

// brandMapKey is the key of a brand in a system: the system byte, then the brand
// lower-cased and trimmed.
func brandMapKey(brand string, sys System) string {
	return string(rune('0'+sys)) + brand
}

// brandVerdictShift is the offset a brand with a verdict in system sys is sized by
// (verdictOffset), 0 for a brand true to size or unknown.
func (m *Model) brandVerdictShift(brand string, sys System) float64 {
	if m.single {
		return 0
	}
	b := m.lookupBrand(brand, sys)
	if f := flagFor(b).Fit; f == RunsSmall || f == RunsLarge {
		return verdictOffset(float64(b.Offset), sys.Step())
	}
	return 0
}

// usualInBrand is the usual size position a survey's "the size I wear in brand B" (at
// position pos) stands for on items true to size, when B runs small or large by
// offset: asked what they wear in a brand, people name the label that fits them there,
// one step up in a brand that runs small. It is rounded to the system's steps.
func usualInBrand(pos, offset float64, sys System) float64 {
	st := sys.Step()
	return math.Round((pos-offset)/st) * st
}

// lookupBrand finds a brand's fit without allocating for brands up to 62 bytes.
func (m *Model) lookupBrand(brand string, sys System) *ItemFit {
	if brand == "" {
		return nil
	}
	var buf [64]byte
	b := buf[:0]
	b = append(b, byte('0'+sys))
	start, end := 0, len(brand)
	for start < end && brand[start] == ' ' {
		start++
	}
	for end > start && brand[end-1] == ' ' {
		end--
	}
	if end-start > len(buf)-1 {
		return m.brands[brandMapKey(strings.ToLower(strings.TrimSpace(brand)), sys)]
	}
	for i := start; i < end; i++ {
		c := brand[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		} else if c >= 0x80 {
			return m.brands[brandMapKey(strings.ToLower(strings.TrimSpace(brand)), sys)]
		}
		b = append(b, c)
	}
	return m.brands[string(b)]
}

// usual is the label a slot keeps most often (ties: the latest), from purchases, else
// from the survey's usual sizes, each moved by surveyShift(o) (usualInBrand).
func (f *fitState) usual(s int, surveyShift func(o *tobs) float64) (float32, bool) {
	for _, real := range []bool{true, false} {
		count := map[float64]int{}
		last := map[float64]uint32{}
		for _, i := range f.bySlot[s] {
			o := &f.obs[i]
			if o.real == real && o.y == OutcomeKept {
				l := o.L
				if !real {
					if sh := surveyShift(o); sh != 0 {
						l = usualInBrand(l, sh, f.slots[s].sys)
					}
				}
				count[l]++
				last[l] = max(last[l], o.day)
			}
		}
		best, bestN := 0.0, 0
		for v, n := range count {
			if n > bestN || n == bestN && (last[v] > last[best] || last[v] == last[best] && v < best) {
				best, bestN = v, n
			}
		}
		if bestN > 0 {
			return float32(best), true
		}
	}
	return 0, false
}

// quantize rounds the entry to what its encoding keeps, so that a profile serves the
// same before and after a trip through a key-value store.
func (t *TrueSize) quantize() {
	t.Mean = float32(int16(clamp(math.Round(float64(t.Mean)*100), math.MinInt16, math.MaxInt16))) / 100
	t.SD = float32(uint16(clamp(math.Round(float64(t.SD)*1000), 0, math.MaxUint16))) / 1000
	if t.HasUsual {
		t.Usual = float32(int16(clamp(math.Round(float64(t.Usual)*100), math.MinInt16+1, math.MaxInt16))) / 100
	}
}

// WithoutProfiles is the model with its shared parts only (links, priors, brand and
// product offsets, the survey → size model) and no customer profiles: what a server
// keeps in memory once the profiles live in a key-value store (see Profiles), so that
// the store is the one place a customer's sizes are read, updated and erased.
func (m *Model) WithoutProfiles() *Model {
	c := *m
	c.profiles = map[string]*Profile{}
	return &c
}
