package size

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// SizeProb is the predicted outcome of buying one size (CONTRACT §4 "sizes").
type SizeProb struct {
	Size    string  `json:"size"`
	PSmall  float64 `json:"p_small"`
	PFit    float64 `json:"p_fit"`
	PLarge  float64 `json:"p_large"`
	InStock bool    `json:"in_stock"`
}

// WearerSize is the answer for one wearer of an account that buys for two people.
type WearerSize struct {
	Gender          string `json:"gender,omitempty"`
	UsualSize       string `json:"usual_size"`
	RecommendedSize string `json:"recommended_size"`
	Chosen          bool   `json:"chosen"`
}

// Recommendation is the answer of GET /v1/size (CONTRACT §4) plus what explains it.
type Recommendation struct {
	ProductID       string     `json:"product_id"`
	RecommendedSize string     `json:"recommended_size"`
	Confidence      float64    `json:"confidence"`
	FitNote         string     `json:"fit_note"`
	Sizes           []SizeProb `json:"sizes"`
	Basis           string     `json:"basis"`       // see the Basis constants
	ProductFit      string     `json:"product_fit"` // runs_small, true_to_size, runs_large, unknown
	// Advice is what the shopper should do (see the Advice constants): take their
	// usual size, move off it by SizeSteps, or take RecommendedSize as it is.
	Advice    string `json:"advice"`
	UsualSize string `json:"usual_size,omitempty"` // the customer's usual size as the model knows it, for advice anchored on it
	SizeSteps int    `json:"size_steps"`           // for size_up/size_down: size steps from the usual size (+ up, - down)
	// SizeSystem is the product's size system (us_shoe, alpha, numeric), which says
	// what one of SizeSteps is: half a US shoe size, a letter, a waist inch.
	SizeSystem string       `json:"size_system,omitempty"`
	Wearers    []WearerSize `json:"wearers,omitempty"`
}

// Advice kinds. A recommendation for a customer the model knows the usual size of is
// anchored on it: what a shopper needs to hear is whether the item fits like their
// usual size or which way to move off it, and a shopper who knows their usual size
// better than the model does (most do; the model sees a purchase or two) should apply
// the move to their own. The named size is the model's reading of the same advice.
const (
	AdviceUsual    = "usual"     // the item fits like the customer's usual size: take it (RecommendedSize is the model's estimate of it)
	AdviceSizeUp   = "size_up"   // the item runs small: take SizeSteps steps above the usual size (UsualSize, or the shopper's own if empty)
	AdviceSizeDown = "size_down" // the item runs large: take -SizeSteps steps below the usual size (UsualSize, or the shopper's own if empty)
	AdviceSize     = "size"      // take RecommendedSize: nothing to anchor on, or the usual size is out of stock
	AdviceNone     = ""          // no sizes to advise on
)

// What a recommendation rests on.
const (
	BasisPurchases  = "purchases"  // the customer's own purchases and returns
	BasisSurvey     = "survey"     // the customer's fit survey only: sizes they stated
	BasisBody       = "body"       // the size people of the customer's height, weight and age wear (survey measurements, no size stated)
	BasisProduct    = "product"    // the size other customers keep in this product
	BasisPopulation = "population" // customers of the product's category and gender
	BasisNone       = "none"       // the product has no sizes the model understands
)

// Recommend recommends a size of product p for a customer the model has a profile of
// (unknown customers get the cold-start answer). It allocates the Sizes slice and the
// fit note; RecommendInto reuses a Recommendation's slices.
func (m *Model) Recommend(customerID string, p *catalog.Product) Recommendation {
	var r Recommendation
	m.RecommendProfile(m.profiles[customerID], p, &r)
	return r
}

// RecommendInto is Recommend writing into dst, reusing its slices.
func (m *Model) RecommendInto(customerID string, p *catalog.Product, dst *Recommendation) {
	m.RecommendProfile(m.profiles[customerID], p, dst)
}

func systemOf(p *catalog.Product) System {
	switch p.SizeSystem {
	case catalog.SizeUSShoe:
		return SystemUSShoe
	case catalog.SizeAlpha:
		return SystemAlpha
	case catalog.SizeNumeric:
		return SystemNumeric
	case "":
		if len(p.Sizes) > 0 {
			return GuessSystem(p.Sizes[0].Size)
		}
	}
	return SystemNone
}

// itemOffset is the offset to apply to product p and its variance, the verdict that
// explains it (RunsSmall, TrueToSize, RunsLarge or FitUnknown) and the product's fit
// (nil if the model never saw it). A recommendation moves off the customer's size
// only for an item whose verdict says it runs small or large: its own returns'
// (flagFor), failing that its brand's, failing that its description's (DescribedFit:
// one step, the store's own word). The offset of an item only ever kept, which drifts
// with its buyers' estimated sizes, is left out, its uncertainty kept.
func (m *Model) itemOffset(p *catalog.Product, sys System) (o, v float64, fit string, prod *ItemFit) {
	step := sys.Step()
	prod = m.products[p.ProductID]
	if prod != nil && prod.System != sys {
		prod = nil
	}
	if m.single {
		return 0, 0, FitUnknown, prod
	}
	b := m.lookupBrand(p.Brand, sys)
	fit = FitUnknown
	switch {
	case prod != nil:
		v = float64(prod.SD) * float64(prod.SD)
		fp := flagFor(prod).Fit
		if fp == RunsSmall || fp == RunsLarge {
			return verdictOffset(float64(prod.Offset), step), v, fp, prod
		}
		fit = fp
		if prod.TooSmall+prod.TooLarge >= ownReturnsVerdict {
			return 0, v, fit, prod // its own returns say it is true to size
		}
		// a product with too few returns of its own for a verdict is cut like its
		// brand, when the brand's returns give one
		if fb := flagFor(b).Fit; fb == RunsSmall || fb == RunsLarge {
			return verdictOffset(float64(b.Offset), step), v + float64(b.SD)*float64(b.SD), fb, prod
		}
	case b != nil:
		ps := 0.5 * step
		v = float64(b.SD)*float64(b.SD) + ps*ps
		fit = flagFor(b).Fit
		if fit == RunsSmall || fit == RunsLarge {
			return verdictOffset(float64(b.Offset), step), v, fit, nil
		}
	default:
		bs := m.brandSD * step
		v = bs * bs
	}
	switch DescribedFit(p.Description) {
	case RunsSmall:
		return step, v, RunsSmall, prod
	case RunsLarge:
		return -step, v, RunsLarge, prod
	}
	return 0, v, fit, prod
}

// ownReturnsVerdict is how many size returns of its own make a product's "true to
// size" its verdict, over its brand's and its description's.
const ownReturnsVerdict = 4

// verdictOffset is the offset an item with a verdict is sized by: at least one step
// (half a US shoe size, a letter, a waist inch) in its direction. Learned offsets come
// out short of the truth where buyers keep sizes that are a step off (many do), and an
// item that runs small runs small by a size label, not by a fraction of one.
func verdictOffset(o, step float64) float64 {
	if math.Abs(o) >= step {
		return o
	}
	return math.Copysign(step, o)
}

// pickWearer chooses the profile entry of system sys for a product of gender g: the
// only one; of two, the one whose kept products match the gender, else the most
// recent. Children's entries serve children's products only, and adults' entries
// adults' products only. It returns the index of the chosen entry and of the other (-1
// if none).
func pickWearer(prof *Profile, sys System, g uint8) (int, int) {
	a, b := -1, -1
	if prof == nil {
		return -1, -1
	}
	for i := range prof.Sizes {
		if prof.Sizes[i].System != sys || (prof.Sizes[i].Gender == genderKids) != (g == genderKids) {
			continue
		}
		if a < 0 {
			a = i
		} else if b < 0 {
			b = i
		}
	}
	if b < 0 {
		// one wearer's size is not carried to a product cut for the other sex: a
		// women's shoe bought on an account that only knows a man's size is, most of the
		// time, for someone else, and the product's or population's answer is better
		if a >= 0 && g != genderUnknown && prof.Sizes[a].Gender != genderUnknown && prof.Sizes[a].Gender != g {
			return -1, -1
		}
		return a, -1
	}
	ga, gb := prof.Sizes[a].Gender, prof.Sizes[b].Gender
	if g != genderUnknown && ga != gb {
		if ga == g {
			return a, b
		}
		if gb == g {
			return b, a
		}
	}
	if prof.Sizes[b].LastDay > prof.Sizes[a].LastDay {
		return b, a
	}
	return a, b
}

// RecommendProfile is Recommend for a profile fetched from a store (nil: unknown
// customer), writing into dst and reusing its slices.
func (m *Model) RecommendProfile(prof *Profile, p *catalog.Product, dst *Recommendation) {
	m.recommend(prof, p, dst, true)
}

// RecommendNamed is the answer of a store without size advice, which the control arm
// of an experiment on it gets: the product's and brand's named size for anyone (advice
// "size"), without the move off the shopper's own size that RecommendProfile gives on
// an item that runs small or large.
func (m *Model) RecommendNamed(p *catalog.Product, dst *Recommendation) {
	m.recommend(nil, p, dst, false)
}

// recommend is RecommendProfile; anchored false leaves out advice anchored on the
// shopper's own size for answers that are not personal (RecommendNamed).
func (m *Model) recommend(prof *Profile, p *catalog.Product, dst *Recommendation, anchored bool) {
	if p == nil {
		*dst = Recommendation{Sizes: dst.Sizes[:0], Wearers: dst.Wearers[:0], Basis: BasisNone, ProductFit: FitUnknown, Advice: AdviceNone}
		return
	}
	dst.ProductID = p.ProductID
	dst.RecommendedSize, dst.FitNote, dst.Confidence = "", "", 0
	dst.Advice, dst.UsualSize, dst.SizeSteps = AdviceNone, "", 0
	if cap(dst.Sizes) < len(p.Sizes) {
		dst.Sizes = make([]SizeProb, 0, len(p.Sizes))
	}
	dst.Sizes = dst.Sizes[:0]
	dst.Wearers = dst.Wearers[:0]
	dst.Basis, dst.ProductFit = BasisNone, FitUnknown
	dst.SizeSystem = ""
	sys := systemOf(p)
	if sys == SystemNone || len(p.Sizes) == 0 {
		return
	}
	dst.SizeSystem = sys.String()
	o, vo, fit, prod := m.itemOffset(p, sys)
	dst.ProductFit = fit
	pg := parseGenderFast(p.Gender)
	chosen, other := pickWearer(prof, sys, pg)
	sc := productScale(sys, pg, p)
	if chosen >= 0 {
		sc = wearerScale(sys, pg, p, prof.Sizes[chosen].Gender)
	}
	var theta, vt float64
	var width int8
	usual := math.NaN()
	switch {
	case chosen >= 0:
		ts := &prof.Sizes[chosen]
		shift := ts.labelShift(sc)
		theta, vt, width = float64(ts.Mean)-shift, float64(ts.SD)*float64(ts.SD), ts.Width
		if ts.HasUsual {
			usual = float64(ts.Usual) - shift
		}
		dst.Basis = BasisPurchases
		switch {
		case ts.N > 0:
		case ts.HasUsual || sys == SystemUSShoe: // a shoe entry without purchases is the survey's shoe size
			dst.Basis = BasisSurvey
		default:
			// measurements only: what people of their build wear, which a shopper who
			// knows their size should not take for their own (on the simulated store,
			// shoppers' own picks fitted exactly 59% of the time, these 46%)
			dst.Basis = BasisBody
		}
	case prod != nil && prod.Mode != "":
		v, _ := parseLabel(sys, sc, prod.Mode)
		pp := m.popFor(sys, pg, prod, p)
		theta, vt = v.Pos-o, math.Min(pp.Var, sys.Step()*sys.Step())
		dst.Basis = BasisProduct
	default:
		pp := m.popFor(sys, pg, prod, p)
		theta, vt = pp.Mean, pp.Var
		dst.Basis = BasisPopulation
	}
	anchor := usual
	if math.IsNaN(anchor) && dst.Basis == BasisSurvey && sys == SystemUSShoe {
		anchor = theta // the shoe size the survey stated
	}
	moved := math.NaN() // the usual size moved by the item's verdict, for a personal answer
	if !math.IsNaN(anchor) && anchored && (fit == RunsSmall || fit == RunsLarge) && (dst.Basis == BasisPurchases || dst.Basis == BasisSurvey) {
		moved = anchor + math.Round(o/sys.Step())*sys.Step()
	}
	best, bestAll, atMoved, pickAtUsual := m.fillSizes(p, sys, sc, theta, vt+vo, o, width, anchor, moved, dst)
	if best < 0 {
		dst.Basis = BasisNone
		return
	}
	if !math.IsNaN(moved) {
		// on an item with a verdict, the size the model picks for the customer's
		// estimated true size stands when the estimate is narrow (within half a step, on
		// two purchases or more) and lands on their usual size: they keep that size in
		// items cut like this one (a brand that runs small, where they keep L; one
		// purchase of a size up on our advice is no such habit). Otherwise it is the usual size
		// moved by the verdict, as anyone gets it (advise): an estimate resting on a
		// purchase or two sits between the size they keep and the population's, and
		// moves off it sent shoppers the wrong number of steps
		narrow := chosen >= 0 && prof.Sizes[chosen].N >= 2 && vt <= 0.25*sys.Step()*sys.Step()
		if atMoved >= 0 && (!narrow || !pickAtUsual) {
			best = atMoved
		}
	}
	dst.RecommendedSize = dst.Sizes[best].Size
	dst.Confidence = dst.Sizes[best].PFit
	if other >= 0 {
		// report both wearers; the other's recommendation is computed on a scratch copy
		ts := &prof.Sizes[other]
		osc := wearerScale(sys, pg, p, ts.Gender)
		otherMean := float64(ts.Mean) - ts.labelShift(osc)
		otherUsual := math.NaN()
		if ts.HasUsual {
			otherUsual = float64(ts.Usual) - ts.labelShift(osc)
		}
		otherRec := m.bestLabel(p, sys, osc, otherMean, float64(ts.SD)*float64(ts.SD)+vo, o, ts.Width, otherUsual)
		dst.Wearers = append(dst.Wearers,
			WearerSize{Gender: genderName(prof.Sizes[chosen].Gender), UsualSize: LabelIn(sys, sc, theta), RecommendedSize: dst.RecommendedSize, Chosen: true},
			WearerSize{Gender: genderName(ts.Gender), UsualSize: LabelIn(sys, osc, otherMean), RecommendedSize: otherRec})
	}
	if math.IsNaN(usual) {
		usual = theta
	}
	itemSteps := 0 // the verdict on the item, in size steps (+ runs small: size up)
	if anchored && (fit == RunsSmall || fit == RunsLarge) {
		itemSteps = int(math.Round(o / sys.Step()))
	}
	dst.Advice, dst.UsualSize, dst.SizeSteps = advise(dst.Basis, sys, sc, usual, itemSteps, dst, best, bestAll)
	dst.FitNote = note(dst.Basis, fit, sys, sc, usual, dst, best, bestAll, prod)
}

// advise is the advice of a recommendation of size best (bestAll: the best of all
// sizes, in stock or not) to a customer whose usual size is at label position
// usualPosition, on an item whose verdict is itemSteps size steps (+: runs small, 0:
// none). For anyone the model does not know, when the item has a verdict, it is the
// move off the size the shopper knows as theirs (usual returned empty) — a shopper who
// knows their size is better served by "runs small: one size up from your usual" than
// by the size most customers keep, and whether the size it lands on is in stock
// depends on theirs, not on the crowd's best. When the recommendation rests on the
// customer's own purchases or survey and is not a stand-in for a size out of stock, it
// is the move off the model's reading of their usual size (usual returned). Otherwise
// the named size.
func advise(basis string, sys System, sc Scale, usualPosition float64, itemSteps int, r *Recommendation, best, bestAll int) (advice, usual string, steps int) {
	if basis != BasisPurchases && basis != BasisSurvey {
		switch {
		case itemSteps > 0:
			return AdviceSizeUp, "", itemSteps
		case itemSteps < 0:
			return AdviceSizeDown, "", itemSteps
		}
		return AdviceSize, "", 0
	}
	// a stand-in — the size in stock nearest a best size that is not — is named as it
	// is; the usual size, or the usual size moved by the item's verdict, is advice
	// anchored on it even when a size the model's estimate prefers is out of stock
	if !r.Sizes[best].InStock || (bestAll != best && !r.Sizes[bestAll].InStock &&
		!samePosition(sys, sc, r.Sizes[best].Size, usualPosition) &&
		!samePosition(sys, sc, r.Sizes[best].Size, usualPosition+float64(itemSteps)*sys.Step())) {
		return AdviceSize, "", 0
	}
	usual = LabelIn(sys, sc, usualPosition)
	usualPos, ok1 := parseLabel(sys, sc, usual)
	recPos, ok2 := parseLabel(sys, sc, r.Sizes[best].Size)
	if !ok1 || !ok2 {
		return AdviceSize, "", 0
	}
	steps = int(math.Round((recPos.Pos - usualPos.Pos) / sys.Step()))
	switch {
	case steps > 0:
		return AdviceSizeUp, usual, steps
	case steps < 0:
		return AdviceSizeDown, usual, steps
	}
	return AdviceUsual, usual, 0
}

func (m *Model) popFor(sys System, g uint8, prod *ItemFit, p *catalog.Product) PopPrior {
	cat := ""
	if prod != nil {
		cat = prod.Category
	} else if p.Category != "" {
		cat = strings.ToLower(strings.TrimSpace(p.Category))
	}
	return m.pop.lookup(sys, g, cat)
}

const widthMismatchPenalty = 0.3

// inStockGap is how much less likely to fit (in P(fit), less width penalties) than
// the best size a size in stock may be and still be recommended instead of the best
// one when that is out of stock: a shopper who takes our word for a size that will not
// fit comes back with it.
const inStockGap = 0.2

// anchorMargin is how much likelier to fit (in P(fit), less width penalties) a size
// must be than the one the customer usually takes before we suggest they change: the
// usual size carries what the shopper knows of their own feet and no purchase shows
// (most shoppers know their size), so a small edge in the model — a true size
// estimated between two labels, an offset learned from a few returns — is no reason to
// move them off it. It applies to items with a verdict (runs small or large, see
// flagFor); on any other item the usual size stands whatever the model's P(fit) says:
// on the simulated world, where the model's pick and a shopper's usual size differed
// without a verdict, the shopper's was the right one four times as often.
const anchorMargin = 0.15

// sizeChoice picks the size to recommend while the sizes are scored in turn.
type sizeChoice struct {
	margin                             float64 // anchorMargin, or more (see newSizeChoice)
	best, bestIn, usual                int
	bestScore, bestInScore, usualScore float64
	usualDist                          float64
	moved                              float64 // a second position to find a size at (NaN: none)
	atMoved                            int     // the size in stock at moved likeliest to fit, -1 if none
	atMovedScore                       float64
}

// newSizeChoice starts a choice for an item whose offset with a verdict is o (0: none).
func newSizeChoice(o float64) sizeChoice {
	margin := anchorMargin
	if o == 0 {
		margin = 1 // nothing known of the item moves a customer off their usual size
	}
	return sizeChoice{margin: margin, best: -1, bestIn: -1, usual: -1, bestScore: math.Inf(-1), bestInScore: math.Inf(-1), usualDist: math.Inf(1),
		moved: math.NaN(), atMoved: -1}
}

// add scores size k (at label position pos, in stock or not) against the customer's
// usual position (NaN: none).
func (c *sizeChoice) add(k int, score, pos, usual float64, inStock bool) {
	if score > c.bestScore {
		c.best, c.bestScore = k, score
	}
	if inStock && score > c.bestInScore {
		c.bestIn, c.bestInScore = k, score
	}
	// of labels at the usual position (widths), the one likelier to fit
	if d := math.Abs(pos - usual); inStock && (d < c.usualDist-1e-9 || d < c.usualDist+1e-9 && score > c.usualScore) {
		c.usual, c.usualScore, c.usualDist = k, score, d
	}
	if inStock && math.Abs(pos-c.moved) < 0.25 && (c.atMoved < 0 || score > c.atMovedScore) {
		c.atMoved, c.atMovedScore = k, score
	}
}

// pick is the size to recommend: the best in stock if it is nearly as good as the best
// of all (inStockGap), else the best of all; and the customer's usual size instead,
// when in stock and not clearly worse (anchorMargin), or always when the item has no
// verdict.
func (c *sizeChoice) pick() int {
	k, score := c.best, c.bestScore
	if c.bestIn >= 0 && c.bestInScore >= c.bestScore-inStockGap {
		k, score = c.bestIn, c.bestInScore
	}
	if c.usual >= 0 && c.usualDist <= 0.25 && c.usualScore >= score-c.margin {
		k = c.usual
	}
	return k
}

// fillSizes appends the per-size probabilities to dst.Sizes and returns the index of
// the size to recommend (sizeChoice.pick: the highest P(fit), less a penalty for a
// width that is not the customer's, preferring sizes in stock and the customer's usual
// label position usual, NaN if none), of the best of all sizes, and of the size in
// stock at position moved (NaN: none wanted; -1: none in stock there); pickAtUsual
// reports whether the size to recommend is at the usual position.
func (m *Model) fillSizes(p *catalog.Product, sys System, sc Scale, theta, v, o float64, width int8, usual, moved float64, dst *Recommendation) (pick, bestAll, atMoved int, pickAtUsual bool) {
	lk := m.links[sys]
	ks := lk.scale(v)
	ch := newSizeChoice(o)
	ch.moved = moved
	for i := range p.Sizes {
		z := &p.Sizes[i]
		val, ok := parseLabel(sys, sc, z.Size)
		if !ok {
			continue
		}
		ps, pf, pl := lk.probsScaled(theta+o-val.Pos, ks)
		dst.Sizes = append(dst.Sizes, SizeProb{Size: z.Size, PSmall: ps, PFit: pf, PLarge: pl, InStock: z.InStock})
		score := pf
		if width != WidthUnknown && val.Width != WidthUnknown && val.Width != width {
			score -= widthMismatchPenalty
		}
		ch.add(len(dst.Sizes)-1, score, val.Pos, usual, z.InStock)
	}
	pick = ch.pick()
	return pick, ch.best, ch.atMoved, pick >= 0 && pick == ch.usual && ch.usualDist < 0.25
}

// samePosition reports whether label sits at position pos of the system's scale.
func samePosition(sys System, sc Scale, label string, pos float64) bool {
	v, ok := parseLabel(sys, sc, label)
	return ok && math.Abs(v.Pos-pos) < 0.25
}

// bestLabel is the size fillSizes would choose, without recording the sizes.
func (m *Model) bestLabel(p *catalog.Product, sys System, sc Scale, theta, v, o float64, width int8, usual float64) string {
	lk := m.links[sys]
	ch := newSizeChoice(o)
	for i := range p.Sizes {
		z := &p.Sizes[i]
		val, ok := parseLabel(sys, sc, z.Size)
		if !ok {
			continue
		}
		_, score, _ := lk.probs(theta+o-val.Pos, v)
		if width != WidthUnknown && val.Width != WidthUnknown && val.Width != width {
			score -= widthMismatchPenalty
		}
		ch.add(i, score, val.Pos, usual, z.InStock)
	}
	if k := ch.pick(); k >= 0 {
		return p.Sizes[k].Size
	}
	return ""
}

// note words the recommendation for a shopper.
func note(basis, fit string, sys System, sc Scale, usualPosition float64, r *Recommendation, best, bestAll int, prod *ItemFit) string {
	rec := r.Sizes[best].Size
	if r.UsualSize == "" && (r.Advice == AdviceSizeUp || r.Advice == AdviceSizeDown) {
		// not personal, anchored on the size the shopper knows as theirs
		move := stepsWords(r.SizeSteps, sys)
		verdict := "Runs small"
		if r.Advice == AdviceSizeDown {
			verdict = "Runs large"
		}
		switch basis {
		case BasisBody:
			return verdict + ": take " + move + " from your usual size (people of your height and weight usually take " + rec + ")"
		case BasisProduct:
			return verdict + ": take " + move + " from your usual size (most customers keep " + rec + ")"
		}
		return verdict + ": take " + move + " from your usual size"
	}
	if !r.Sizes[best].InStock && len(r.Sizes) > 1 {
		if basis == BasisPurchases || basis == BasisSurvey || basis == BasisBody {
			return "Your best size, " + rec + ", is out of stock, and no size in stock is likely to fit you"
		}
		return "The size most likely to fit, " + rec + ", is out of stock, and no size in stock is as likely to fit"
	}
	if bestAll != best && !r.Sizes[bestAll].InStock {
		ideal := r.Sizes[bestAll].Size
		if basis == BasisPurchases || basis == BasisSurvey || basis == BasisBody {
			return "Your best size, " + ideal + ", is out of stock: " + rec + " is the closest in stock"
		}
		return "The size most likely to fit, " + ideal + ", is out of stock: " + rec + " is the closest in stock"
	}
	recPos, _ := parseLabel(sys, sc, rec)
	usual := LabelIn(sys, sc, usualPosition)
	usualPos, _ := parseLabel(sys, sc, usual)
	same := math.Abs(recPos.Pos-usualPos.Pos) < 1e-9
	switch basis {
	case BasisPurchases:
		switch {
		case fit == RunsSmall && !same:
			return "Runs small: we suggest " + rec + " instead of your usual " + usual
		case fit == RunsLarge && !same:
			return "Runs large: we suggest " + rec + " instead of your usual " + usual
		case fit == RunsSmall:
			return "Runs a little small, but your usual " + rec + " should fit"
		case fit == RunsLarge:
			return "Runs a little large, but your usual " + rec + " should fit"
		case same:
			return "True to size: we suggest your usual " + rec
		}
		return "We suggest " + rec + " (your usual size is " + usual + ")"
	case BasisSurvey:
		if r := runs(fit); r != "" {
			return "Based on your fit survey, we suggest " + rec + " (this item " + r + ")"
		}
		return "Based on your fit survey, we suggest " + rec
	case BasisBody:
		if r := runs(fit); r != "" {
			return "People of your height and weight usually take " + rec + " in this item (it " + r + ")"
		}
		return "People of your height and weight usually take " + rec + "; tell us your usual size for a personal suggestion"
	case BasisProduct:
		if prod != nil && prod.Mode == rec {
			return "Most customers keep " + rec + " in this item"
		}
		return "We suggest " + rec + ", the closest in stock to the size most customers keep"
	case BasisPopulation:
		switch fit {
		case RunsSmall:
			return "Runs small: we suggest " + rec + "; tell us your usual size for a personal suggestion"
		case RunsLarge:
			return "Runs large: we suggest " + rec + "; tell us your usual size for a personal suggestion"
		}
		return "We suggest " + rec + ", the size most customers take; tell us your usual size for a personal suggestion"
	}
	return ""
}

// stepsWords words a move of steps size steps in system sys: "half a size up", "one
// size down", "2 sizes up".
func stepsWords(steps int, sys System) string {
	dir := " up"
	if steps < 0 {
		dir, steps = " down", -steps
	}
	switch {
	case sys == SystemUSShoe && steps == 1:
		return "half a size" + dir
	case sys == SystemUSShoe && steps%2 == 0:
		if steps == 2 {
			return "one size" + dir
		}
		return strconv.Itoa(steps/2) + " sizes" + dir
	case sys == SystemUSShoe:
		return strconv.FormatFloat(float64(steps)/2, 'f', 1, 64) + " sizes" + dir
	case steps == 1:
		return "one size" + dir
	}
	return strconv.Itoa(steps) + " sizes" + dir
}

// runs words a verdict for a note: "runs small", "runs large", or "" for none.
func runs(fit string) string {
	switch fit {
	case RunsSmall:
		return "runs small"
	case RunsLarge:
		return "runs large"
	}
	return ""
}

// FitProbs is P(too small), P(fits), P(too large) for a customer profile (nil:
// unknown) buying product p in size label.
func (m *Model) FitProbs(prof *Profile, p *catalog.Product, label string) (small, fit, large float64, err error) {
	if p == nil {
		return 0, 0, 0, fmt.Errorf("no product to score size %q for", label)
	}
	sys := systemOf(p)
	if sys == SystemNone {
		return 0, 0, 0, fmt.Errorf("product %q has no size system", p.ProductID)
	}
	pg := parseGenderFast(p.Gender)
	chosen, _ := pickWearer(prof, sys, pg)
	sc := productScale(sys, pg, p)
	if chosen >= 0 {
		sc = wearerScale(sys, pg, p, prof.Sizes[chosen].Gender)
	}
	val, err := ParseSizeIn(sys, sc, label)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("product %q: %w", p.ProductID, err)
	}
	o, vo, _, prod := m.itemOffset(p, sys)
	var theta, vt float64
	switch {
	case chosen >= 0:
		ts := &prof.Sizes[chosen]
		theta, vt = float64(ts.Mean)-ts.labelShift(sc), float64(ts.SD)*float64(ts.SD)
	case prod != nil && prod.Mode != "":
		v, _ := parseLabel(sys, sc, prod.Mode)
		pp := m.popFor(sys, pg, prod, p)
		theta, vt = v.Pos-o, math.Min(pp.Var, sys.Step()*sys.Step())
	default:
		pp := m.popFor(sys, pg, prod, p)
		theta, vt = pp.Mean, pp.Var
	}
	small, fit, large = m.links[sys].probs(theta+o-val.Pos, vt+vo)
	return small, fit, large, nil
}
