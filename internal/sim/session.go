package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/bespokesearch/bespoke/internal/event"
)

// repeatWindowMS is the "few minutes" of a repeated search (issue 7): a new search
// from the same device within 5 minutes of one that got no click.
const repeatWindowMS = 300_000

type intent struct {
	cat    int16
	gender uint8 // wanted product gender (gUnisex: any adult)
	wearer uint8
	color  int16 // -1: none in mind
	brand  int16
	style  int16
}

type cartLine struct {
	p      int32
	size   int // index into the product's sizes
	source string
	rec    string // recommended size shown, if any
	basis  string // what the recommendation rested on (live mode)
	advice string // what it advised (live mode): usual, size_up, size_down, size
	qty    int
	wearer uint8
}

func anonID(seed int64, ci, dev int) string {
	b := make([]byte, 0, 21)
	b = append(b, "anon-"...)
	return string(appendHex(b, hash(uint64(seed), domDevice, uint64(ci), uint64(dev)), 16))
}

// customerDay simulates the sessions of customer ci on a day.
func (wk *worker) customerDay(ctx context.Context, ci, day int) error {
	w := wk.w
	c := &w.customers[ci]
	r := newRand(uint64(w.cfg.Seed), domDay, uint64(ci), uint64(day))
	n := poisson(r, float64(c.activity))
	if n == 0 {
		return nil
	}
	wk.cust, wk.day, wk.seq = ci, day, 0
	starts := make([]int64, n)
	for i := range starts {
		h := pick(r, w.cfg.Diurnal)
		starts[i] = int64(h)*3_600_000 + r.Int64N(3_600_000)
	}
	slices.Sort(starts)
	base := w.cfg.Start.UnixMilli() + int64(day)*86_400_000
	end := int64(0)
	for _, s := range starts {
		t := max(base+s, end+60_000) // a customer's sessions do not overlap
		var err error
		if end, err = wk.session(ctx, r, ci, c, t); err != nil {
			return err
		}
		if wk.err != nil {
			return wk.err
		}
	}
	return nil
}

func (wk *worker) session(ctx context.Context, r *rand.Rand, ci int, c *customer, t int64) (int64, error) {
	w := wk.w
	cfg := &w.cfg
	dev := r.IntN(int(c.devices))
	anon := anonID(cfg.Seed, ci, dev)
	cid := CustomerID(ci)
	uid := ""
	if !c.anonymous && (r.Float64() < cfg.Identity.LoggedIn || (c.survey && !c.surveyDone)) {
		uid = cid
	}
	if uid != "" && !c.seen { // sign-up
		wk.identify(t, uid, anon, r)
		c.seen = true
		t += 1000 + r.Int64N(5000)
	}
	if uid != "" && c.survey && !c.surveyDone {
		wk.survey(t, r, c, uid, anon)
		c.surveyDone = true
		t += 30_000 + r.Int64N(90_000)
	}
	wi := 0
	if c.shared && r.Float64() < cfg.Customer.SecondWearerShare {
		wi = 1
	}
	it := w.drawIntent(r, c, wi)
	var cart []cartLine
	identified := false
	prevQ := ""
	for attempt := 0; ; attempt++ {
		q := w.buildQuery(r, c, &it, attempt, prevQ)
		prevQ = q
		res, err := wk.env.search(ctx, wk, q, uid, anon)
		if err != nil {
			return t, err
		}
		// Products Searched
		wk.stats.Searches++
		if c.lastSearch[dev] > 0 && t-c.lastSearch[dev] <= repeatWindowMS && !c.lastClick[dev] {
			wk.stats.RepeatedSearches++
		}
		c.lastSearch[dev], c.lastClick[dev] = t, false
		var o obj
		o.open(wk.pb[:0])
		o.str("query", q)
		o.str("search_id", res.id)
		if res.arm != "" {
			o.str("arm", res.arm)
		}
		wk.emitEvent(t, event.TypeTrack, event.ProductsSearched, uid, anon, o.close(), nil)
		if cfg.Truth.Searches {
			wk.truthSearch(t, res.id, cid, uid, anon, q, attempt, &it)
		}
		t += 300 + r.Int64N(1200)
		if len(res.items) > 0 {
			o.open(wk.pb[:0])
			o.str("search_id", res.id)
			o.str("query", q)
			if res.arm != "" {
				o.str("arm", res.arm)
			}
			o.key("products")
			o.b = append(o.b, '[')
			for i, p := range res.items {
				if i > 0 {
					o.b = append(o.b, ',')
				}
				o.b = append(o.b, `{"product_id":"`...)
				o.b = append(o.b, w.catalog[p].ProductID...)
				o.b = append(o.b, `","position":`...)
				o.b = appendInt(o.b, i+1)
				if len(res.teams) == len(res.items) {
					o.b = append(o.b, `,"team":"`...)
					o.b = append(o.b, res.teams[i]...)
					o.b = append(o.b, '"')
				}
				o.b = append(o.b, '}')
			}
			o.b = append(o.b, ']')
			wk.emitEvent(t, event.TypeTrack, event.ProductListViewed, uid, anon, o.close(), nil)
			wk.stats.impress(len(res.items))
		}
		clicks := w.examine(r, c, &it, res.items)
		if len(clicks) > 0 {
			wk.stats.ClickedSearches++
		}
		satisfied := false
		for _, pos := range clicks {
			p := res.items[pos]
			t += 2000 + r.Int64N(13_000)
			o.open(wk.pb[:0])
			o.str("product_id", w.catalog[p].ProductID)
			o.int("position", int64(pos+1))
			o.str("search_id", res.id)
			o.str("query", q)
			if res.arm != "" {
				o.str("arm", res.arm)
			}
			wk.emitEvent(t, event.TypeTrack, event.ProductClicked, uid, anon, o.close(), nil)
			wk.stats.click(pos)
			c.lastClick[dev] = true
			wk.counts[p] += 0.2
			t += 500 + r.Int64N(1500)
			o.open(wk.pb[:0])
			o.str("product_id", w.catalog[p].ProductID)
			o.str("search_id", res.id)
			wk.emitEvent(t, event.TypeTrack, event.ProductViewed, uid, anon, o.close(), nil)
			u := w.utility(c, &it, int(p)) + cfg.Utility.Noise*r.NormFloat64()
			if u >= cfg.Click.SatisfiedUtility {
				satisfied = true
			}
			pAdd := sigmoid(cfg.Purchase.AddScale*(u-cfg.Purchase.AddBias)) * float64(c.buy)
			if len(cart) >= 3 || r.Float64() >= pAdd {
				continue
			}
			t += 10_000 + r.Int64N(50_000)
			line, ok, err := wk.chooseSize(ctx, r, c, it.wearer, int(p), uid, anon)
			if err != nil {
				return t, err
			}
			if !ok {
				continue // wanted size out of stock
			}
			o.open(wk.pb[:0])
			o.str("product_id", w.catalog[p].ProductID)
			if line.size >= 0 {
				o.str("size", w.catalog[p].Sizes[line.size].Size)
			}
			o.num("price", float64(w.products[p].price), 2)
			o.str("search_id", res.id)
			wk.emitEvent(t, event.TypeTrack, event.ProductAdded, uid, anon, o.close(), nil)
			cart = append(cart, line)
			satisfied = true
			if r.Float64() < 0.6 {
				break
			}
		}
		if uid == "" && !c.anonymous && !identified && r.Float64() < cfg.Identity.IdentifyRate {
			t += 5000 + r.Int64N(20_000)
			uid = cid
			identified = true
			wk.identify(t, uid, anon, r)
			c.seen = true
		}
		if satisfied || attempt >= cfg.Query.MaxRepeats || r.Float64() >= cfg.Query.Reformulate {
			break
		}
		t += 5000 + r.Int64N(int64(cfg.Query.RepeatWithin*1000)-4999)
	}
	if len(cart) > 0 && r.Float64() < cfg.Purchase.CheckoutProb {
		t += 30_000 + r.Int64N(150_000)
		if uid == "" && !c.anonymous { // sign in at checkout
			uid = cid
			wk.identify(t, uid, anon, r)
			c.seen = true
			t += 2000 + r.Int64N(10_000)
		}
		wk.order(t, r, ci, c, uid, anon, cart)
	}
	if c.optOut && !c.optedOut && uid != "" && r.Float64() < 0.25 {
		t += 5000 + r.Int64N(30_000)
		wk.emitEvent(t, event.TypeTrack, event.PersonalizationOut, uid, anon, nil, nil)
		c.optedOut = true
		if err := wk.env.optOut(ctx, uid); err != nil {
			return t, err
		}
	}
	return t, nil
}

func appendInt(b []byte, v int) []byte { return strconv.AppendInt(b, int64(v), 10) }

func appendFloat(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', -1, 64) }

func (wk *worker) identify(t int64, uid, anon string, r *rand.Rand) {
	var o obj
	o.open(wk.pb[:0])
	o.str("customer_id", uid)
	o.str("signed_in_via", []string{"email", "google", "apple"}[r.IntN(3)])
	wk.emitEvent(t, event.TypeIdentify, "", uid, anon, nil, o.close())
}

// survey emits a Fit Survey Completed of the primary wearer: noisy, partial answers.
func (wk *worker) survey(t int64, r *rand.Rand, c *customer, uid, anon string) {
	s := &wk.w.cfg.Survey
	wr := &c.wearers[0]
	var o obj
	o.open(wk.pb[:0])
	any := false
	if r.Float64() < s.HeightCM {
		o.num("height_cm", math.Round(clamp(float64(wr.height)+s.HeightSD*r.NormFloat64(), 50, 250)), 0)
		any = true
	}
	if r.Float64() < s.WeightKG {
		o.num("weight_kg", math.Round(clamp(float64(wr.weight)+s.WeightBias+s.WeightSD*r.NormFloat64(), 10, 300)), 0)
		any = true
	}
	if r.Float64() < s.Age {
		o.int("age", int64(wr.age))
	}
	if r.Float64() < s.ShoeSizeUS {
		o.num("shoe_size_us", float64(wr.belief[sysShoe]), 1)
		any = true
	}
	if r.Float64() < s.ShoeWidth {
		o.str("shoe_width", widthNames[wr.width])
	}
	if r.Float64() < s.FitPreference {
		o.str("fit_preference", []string{"snug", "regular", "loose"}[wr.fitPref])
	}
	if r.Float64() < s.UsualSizes || !any {
		o.key("usual_sizes")
		o.b = append(o.b, '[')
		n := 1 + r.IntN(3)
		for k := 0; k < n; k++ {
			if k > 0 {
				o.b = append(o.b, ',')
			}
			wk.usualSize(&o, r, c, wr)
		}
		o.b = append(o.b, ']')
	}
	if r.Float64() < s.Gender && wr.gender != gUnisex {
		o.str("gender", []string{"female", "male"}[wr.gender])
	}
	wk.emitEvent(t, event.TypeTrack, event.FitSurveyCompleted, uid, anon, o.close(), nil)
	wk.stats.Surveys++
}

// usualSize writes one {brand, category, size}: the size the wearer wears in a brand
// they like (which fits them there when they know the brand's sizing).
func (wk *worker) usualSize(o *obj, r *rand.Rand, c *customer, wr *wearer) {
	w := wk.w
	bi := r.IntN(len(w.brands))
	if k := r.IntN(len(c.brands) + 1); k < len(c.brands) && c.brands[k].w > 0 {
		bi = int(c.brands[k].idx) // mostly brands they like
	}
	b := &w.brands[bi]
	ci := int(c.cats[r.IntN(len(c.cats))].idx)
	cat := &categories[ci]
	sys := sysAlpha
	switch {
	case cat.shoe:
		sys = sysShoe
	case cat.system == "numeric":
		sys = sysNumeric
	}
	v := float64(wr.belief[sys])
	if r.Float64() < 0.6 { // they remember the size that fit in that brand
		v = float64(wr.size[sys]) - b.offset[sys]*sysScale[sys]
	}
	var label string
	switch sys {
	case sysShoe:
		label = trimFloat(clamp(round(v, 0.5), 4, 15))
	case sysNumeric:
		label = trimFloat(clamp(math.Round(v), 26, 44))
	default:
		label = alphaLabel(v)
	}
	o.b = append(o.b, '{')
	o.b = appendStr(append(o.b, `"brand":`...), b.name)
	o.b = appendStr(append(o.b, `,"category":`...), cat.name)
	o.b = appendStr(append(o.b, `,"size":`...), label)
	o.b = append(o.b, '}')
}

func alphaLabel(v float64) string {
	i := int(clamp(math.Round(v), 0, 7))
	return []string{"XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"}[i]
}

func (w *World) drawIntent(r *rand.Rand, c *customer, wi int) intent {
	wr := &c.wearers[wi]
	it := intent{wearer: uint8(wi), color: -1, brand: -1, style: -1, gender: wr.gender}
	if wi == 0 {
		ws := make([]float64, len(c.cats))
		for i, x := range c.cats {
			ws[i] = float64(x.w)
		}
		it.cat = c.cats[pick(r, ws)].idx
	} else {
		cs := w.catsBy[wr.gender]
		ws := make([]float64, len(cs))
		for i, ci := range cs {
			ws[i] = categories[ci].pop
		}
		it.cat = int16(cs[pick(r, ws)])
	}
	s := float64(c.strength)
	q := &w.cfg.Query
	if r.Float64() < q.IntentColor {
		if r.Float64() < s {
			best, bw := -1, float32(0)
			for k, v := range c.color {
				if v > 0 && (best < 0 || v*float32(0.5+r.Float64()) > bw) {
					best, bw = k, v
				}
			}
			if best >= 0 {
				it.color = int16(best)
			}
		}
		if it.color < 0 {
			it.color = int16(pick(r, colorPop))
		}
	}
	if r.Float64() < q.IntentBrand*s && len(c.brands) > 0 && c.brands[0].w > 0 {
		b := c.brands[r.IntN(len(c.brands))]
		if b.w > 0 {
			it.brand = b.idx
		}
	}
	if r.Float64() < q.IntentStyle {
		cs := categories[it.cat].styles
		it.style = int16(cs[r.IntN(len(cs))])
		if r.Float64() < s {
			for k, v := range c.style {
				if v > 0.5 && slices.Contains(cs, k) {
					it.style = int16(k)
					break
				}
			}
		}
	}
	return it
}

// buildQuery writes what the customer types for an intent. Reformulations type more
// of the intent, fix typos and try other words.
func (w *World) buildQuery(r *rand.Rand, c *customer, it *intent, attempt int, prev string) string {
	q := &w.cfg.Query
	cat := &categories[it.cat]
	word := cat.words[0]
	if r.Float64() < q.SynonymRate || attempt > 0 {
		word = cat.words[r.IntN(len(cat.words))]
	}
	boost := float64(attempt) * 0.35
	var parts []string
	if attempt == 0 && r.Float64() < q.HeadShare {
		if it.color >= 0 && r.Float64() < 0.4 {
			return colors[it.color] + " " + word
		}
		return word
	}
	if it.brand >= 0 && r.Float64() < q.BrandRate+boost {
		parts = append(parts, w.brands[it.brand].name)
	}
	if it.gender <= gKids && r.Float64() < q.GenderRate+boost {
		ws := queryGenderWords[it.gender]
		parts = append(parts, ws[r.IntN(len(ws))])
	}
	if it.color >= 0 && r.Float64() < q.ColorRate+boost {
		parts = append(parts, colors[it.color])
	}
	if it.style >= 0 && r.Float64() < q.StyleRate+boost/2 {
		parts = append(parts, styles[it.style])
	}
	if r.Float64() < q.MaterialRate {
		parts = append(parts, materials[cat.mats[r.IntN(len(cat.mats))]])
	}
	parts = append(parts, word)
	s := strings.ToLower(strings.Join(parts, " "))
	if s == prev { // a reformulation is never the same words
		s = strings.ToLower(strings.Join(append(parts[:len(parts)-1], cat.words[(attempt)%len(cat.words)]), " "))
		if s == prev && it.color >= 0 && !strings.Contains(s, colors[it.color]) {
			s = colors[it.color] + " " + s
		}
	}
	if r.Float64() < q.TypoRate && attempt == 0 {
		s = typo(r, s)
	}
	return s
}

// typo changes one letter of a word of at least 4 letters: dropped, doubled, swapped or replaced.
func typo(r *rand.Rand, s string) string {
	words := strings.Fields(s)
	var cands []int
	for i, x := range words {
		if len(x) >= 4 {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return s
	}
	i := cands[r.IntN(len(cands))]
	b := []byte(words[i])
	k := 1 + r.IntN(len(b)-2)
	switch r.IntN(4) {
	case 0:
		b = append(b[:k], b[k+1:]...)
	case 1:
		b = append(b[:k+1], b[k:]...)
	case 2:
		b[k], b[k+1] = b[k+1], b[k]
	default:
		b[k] = "qwertyuiopasdfghjklzxcvbnm"[r.IntN(26)]
	}
	words[i] = string(b)
	return strings.Join(words, " ")
}

func genderOK(want, have uint8) bool {
	switch want {
	case gUnisex:
		return have != gKids
	case gKids:
		return have == gKids
	}
	return have == want || have == gUnisex
}

// utility is the customer's latent utility for a product: generic appeal, plus the
// personal part scaled by the customer's personal strength, plus relevance to the
// intent when there is one.
func (w *World) utility(c *customer, it *intent, pi int) float64 {
	p := &w.products[pi]
	u := &w.cfg.Utility
	v := u.Quality*float64(p.quality) + u.BrandPop*w.brands[p.brand].pop
	bw := 0.0
	for _, b := range c.brands {
		if b.idx == p.brand {
			bw = float64(b.w)
		}
	}
	d := float64(p.logPrice-c.priceCenter) / float64(c.priceTol)
	priceFit := 2*math.Exp(-d*d) - 1
	pers := u.Brand*bw + u.Style*float64(c.style[p.style]) + u.Color*float64(c.color[p.color]) + u.Price*priceFit
	v += float64(c.strength) * pers
	if it == nil {
		return v
	}
	if p.cat != it.cat {
		v -= 2
	}
	if !genderOK(it.gender, p.gender) {
		v -= 3
	}
	if it.color >= 0 {
		if int16(p.color) == it.color {
			v += u.IntentColor
		} else {
			v -= 0.3
		}
	}
	if it.style >= 0 && int16(p.style) == it.style {
		v += u.IntentStyle
	}
	if it.brand >= 0 && p.brand == it.brand {
		v += u.IntentBrand
	}
	if p.sys == sysShoe {
		fw := c.wearers[it.wearer].width
		switch {
		case fw == p.width:
			if fw != 1 {
				v += 0.5
			}
		case fw == 2 && p.width == 1:
			v -= 0.7
		case fw == 0 && p.width == 1:
			v -= 0.3
		default:
			v -= 1.5
		}
	}
	return v
}

// examine returns the positions (0-based, ascending) the customer clicks.
func (w *World) examine(r *rand.Rand, c *customer, it *intent, items []int32) []int {
	k := &w.cfg.Click
	var clicks []int
	for pos, p := range items {
		if len(clicks) >= k.MaxClicks {
			break
		}
		var examined bool
		if k.Model == "cascade" {
			examined = true
		} else {
			examined = r.Float64() < math.Pow(float64(pos+1), -k.PositionBias)
		}
		if !examined {
			continue
		}
		u := w.utility(c, it, int(p)) + w.cfg.Utility.Noise*r.NormFloat64()
		if r.Float64() < sigmoid(k.AttractionScale*(u-k.AttractionBias)) {
			clicks = append(clicks, pos)
			if k.Model == "cascade" && r.Float64() < 0.5 {
				break
			}
			continue
		}
		if k.Model == "cascade" && r.Float64() >= k.ContinueProb {
			break
		}
	}
	return clicks
}

// chooseSize picks the size the wearer buys: the advised one when advice is shown,
// trusted and meant for them or anchored on their own size (sizeAdvice.taken; not the
// store's generic "most customers keep 9"; see advisedSize), else their usual size,
// adjusted for the brand's sizing if they know it; the next size when theirs is out of
// stock (sometimes), else nothing.
func (wk *worker) chooseSize(ctx context.Context, r *rand.Rand, c *customer, wi uint8, pi int, uid, anon string) (cartLine, bool, error) {
	w := wk.w
	p := &w.products[pi]
	cp := &w.catalog[pi]
	line := cartLine{p: int32(pi), size: -1, qty: 1, wearer: wi}
	if r.Float64() < w.cfg.Purchase.SecondQuantityPct {
		line.qty = 2
	}
	if p.sys < 0 || len(p.sizes) == 0 {
		line.source = "none"
		return line, true, nil
	}
	adv, err := wk.env.size(ctx, uid, anon, pi)
	if err != nil {
		return line, false, err
	}
	wr := &c.wearers[wi]
	if adv.label != "" {
		wk.stats.RecommendationsShown++
		line.rec, line.basis, line.advice = adv.label, adv.basis, adv.advice
		if c.trusts && adv.taken() {
			if j := w.advisedSize(c, wr, p, pi, adv); j >= 0 && cp.Sizes[j].InStock {
				line.size, line.source = j, "recommended"
				wk.stats.RecommendationsTrusted++
				return line, true, nil
			}
		}
	}
	j, source := w.ownSize(c, wr, p)
	line.source = source
	if cp.Sizes[j].InStock {
		line.size = j
		return line, true, nil
	}
	if r.Float64() < w.cfg.Purchase.SubstituteProb {
		for _, k := range []int{j + 1, j - 1} {
			if k >= 0 && k < len(cp.Sizes) && cp.Sizes[k].InStock {
				line.size, line.source = k, "substitute"
				return line, true, nil
			}
		}
	}
	return line, false, nil
}

// ownSize is the index of the size the wearer picks in product p on their own: the
// size nearest the one they believe is theirs, adjusted for the brand's sizing if they
// know it (source "brand_adjusted", else "usual").
func (w *World) ownSize(c *customer, wr *wearer, p *product) (int, string) {
	v := float64(wr.belief[p.sys])
	if off := w.brands[p.brand].offset[p.sys]; c.aware && off != 0 {
		return p.nearestSize(v - off*sysScale[p.sys]), "brand_adjusted"
	}
	return p.nearestSize(v), "usual"
}

// sizeStep is one step of each size system in body units: half a US shoe size, a
// letter, a waist inch (what "size up" means to a shopper).
var sizeStep = [3]float64{0.5, 1, 1}

// advisedSize is the index of the size a trusting wearer takes on advice adv for
// product p (index pi), -1 if the advice names no size of it. Advice anchored on their
// usual size is applied to the size they believe is theirs, which they know better
// than the store does: "usual" is the size they would pick on their own, "size_up"
// by n steps the first size at least n steps above the one they believe is theirs (a
// shoe of 12.5 without half sizes above 12 is a 13); other advice names its size.
func (w *World) advisedSize(c *customer, wr *wearer, p *product, pi int, adv sizeAdvice) int {
	switch {
	case adv.advice == "usual":
		j, _ := w.ownSize(c, wr, p)
		return j
	case (adv.advice == "size_up" && adv.steps > 0) || (adv.advice == "size_down" && adv.steps < 0):
		base := p.sizes[p.nearestSize(float64(wr.belief[p.sys]))]
		target := float64(base) + float64(adv.steps)*sizeStep[p.sys]
		if adv.steps > 0 {
			for j, s := range p.sizes {
				if float64(s) >= target-1e-6 {
					return j
				}
			}
			return len(p.sizes) - 1
		}
		for j := len(p.sizes) - 1; j >= 0; j-- {
			if float64(p.sizes[j]) <= target+1e-6 {
				return j
			}
		}
		return 0
	}
	for j, s := range w.catalog[pi].Sizes {
		if s.Size == adv.label {
			return j
		}
	}
	return -1
}

var sizeReasons = []string{"not_as_pictured", "quality", "other"}

var returnComments = map[string][]string{
	"too_small":       {"Too tight", "Runs small", "Needed a size up", "Pinched my toes"},
	"too_large":       {"Too big", "Runs large", "Slipped off my heel", "Needed a size down"},
	"not_as_pictured": {"Color looked different online", "Not what I expected"},
	"quality":         {"Seams came apart", "Felt cheap", "Arrived damaged"},
	"other":           {"Changed my mind", "Ordered two, kept one", "Arrived too late"},
}

// order emits Order Completed and decides, for each line, whether and why it comes back.
func (wk *worker) order(t int64, r *rand.Rand, ci int, c *customer, uid, anon string, cart []cartLine) {
	w := wk.w
	cfg := &w.cfg
	if t >= cfg.Start.UnixMilli()+int64(cfg.Days)*86_400_000 {
		return // the world ended before the checkout
	}
	oh := hash(uint64(cfg.Seed), domOrder, uint64(ci), uint64(wk.day), uint64(wk.seq))
	oid := string(appendHex([]byte("O-"), oh, 16))
	var o obj
	o.open(wk.pb[:0])
	o.str("order_id", oid)
	o.key("products")
	o.b = append(o.b, '[')
	revenue := 0.0
	for i, l := range cart {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		cp := &w.catalog[l.p]
		o.b = appendStr(append(o.b, `{"product_id":`...), cp.ProductID)
		if l.size >= 0 {
			o.b = appendStr(append(o.b, `,"size":`...), cp.Sizes[l.size].Size)
		}
		o.b = append(o.b, `,"price":`...)
		o.b = appendFloat(o.b, cp.Price)
		o.b = append(o.b, `,"quantity":`...)
		o.b = appendInt(o.b, l.qty)
		o.b = append(o.b, '}')
		revenue += cp.Price * float64(l.qty)
	}
	o.b = append(o.b, ']')
	o.num("revenue", math.Round(revenue*100)/100, 2)
	o.str("currency", "USD")
	wk.emitEvent(t, event.TypeTrack, event.OrderCompleted, uid, anon, o.close(), nil)
	wk.stats.Orders++
	for _, l := range cart {
		p := &w.products[l.p]
		cp := &w.catalog[l.p]
		wk.counts[l.p]++
		wk.stats.OrderLines++
		wr := &c.wearers[l.size2wearer(c)]
		sizeErr, widthMismatch := 0.0, false
		reason := ""
		if l.size >= 0 {
			sizeErr = w.sizeError(p, l.size, wr)
			widthMismatch = p.sys == sysShoe && p.width != wr.width
			b := min(int(math.Abs(sizeErr)*2+1e-9), 4)
			x := r.Float64()
			switch {
			case x < cfg.Returns.SizeProb[b]:
				switch {
				case sizeErr > 0:
					reason = "too_large"
				case sizeErr < 0:
					reason = "too_small"
				case r.Float64() < 0.5:
					reason = "too_small"
				default:
					reason = "too_large"
				}
			case widthMismatch && r.Float64() < cfg.Returns.WidthProb:
				if p.width < wr.width {
					reason = "too_small"
				} else {
					reason = "too_large"
				}
			}
			wk.stats.LinesBySizeError[b]++
			if reason != "" {
				wk.stats.SizeReturnsBySizeError[b]++
			}
		}
		if reason == "" && r.Float64() < cfg.Returns.BaseRate*math.Exp(-0.4*float64(p.quality)) {
			reason = sizeReasons[pick(r, []float64{0.4, 0.35 * math.Exp(-0.5*float64(p.quality)), 0.25})]
		}
		size := ""
		if l.size >= 0 {
			size = cp.Sizes[l.size].Size
		}
		retTS := int64(0)
		if reason != "" {
			wk.stats.Returns++
			if reason == "too_small" || reason == "too_large" {
				wk.stats.SizeReturns++
			}
			delay := int64(cfg.Returns.MinDelayDays + r.IntN(cfg.Returns.MaxDelayDays-cfg.Returns.MinDelayDays+1))
			dayStart := cfg.Start.UnixMilli() + (int64(wk.day)+delay)*86_400_000
			retTS = max(dayStart+int64(pick(r, cfg.Diurnal))*3_600_000+r.Int64N(3_600_000), t+60_000)
			var ro obj
			ro.open(wk.pb[:0])
			ro.str("order_id", oid)
			ro.str("product_id", cp.ProductID)
			ro.str("size", cmpOr(size, "one size"))
			ro.str("reason", reason)
			if r.Float64() < cfg.Returns.CommentRate {
				cs := returnComments[reason]
				ro.str("comment", cs[r.IntN(len(cs))])
			}
			wk.emitEvent(retTS, event.TypeTrack, event.ProductReturned, uid, anon, ro.close(), nil)
		}
		if cfg.Truth.Purchases {
			var to obj
			to.open(wk.pb[:0])
			to.str("kind", "purchase")
			to.str("order_id", oid)
			to.str("customer_id", CustomerID(ci))
			to.str("user_id", uid)
			to.str("anonymous_id", anon)
			to.int("wearer", int64(l.size2wearer(c)))
			to.str("product_id", cp.ProductID)
			to.str("size_system", cp.SizeSystem)
			to.str("size", size)
			to.num("size_error", sizeErr, 1)
			to.bool("width_mismatch", widthMismatch)
			to.str("source", l.source)
			if l.rec != "" {
				to.str("recommended_size", l.rec)
				if l.basis != "" {
					to.str("recommended_basis", l.basis)
				}
				if l.advice != "" {
					to.str("recommended_advice", l.advice)
				}
			}
			to.bool("returned", reason != "")
			if reason != "" {
				to.str("reason", reason)
				to.key("returned_at")
				to.b = append(to.b, '"')
				to.b = appendTime(to.b, retTS)
				to.b = append(to.b, '"')
			}
			to.key("timestamp")
			to.b = append(to.b, '"')
			to.b = appendTime(to.b, t)
			to.b = append(to.b, '"')
			wk.emitTruth(t, to.close())
		}
	}
}

// size2wearer is the wearer a cart line is for: the session's intent wearer.
func (l cartLine) size2wearer(c *customer) int { return int(l.wearer) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (wk *worker) truthSearch(t int64, sid, cid, uid, anon, q string, attempt int, it *intent) {
	w := wk.w
	var o obj
	o.open(wk.pb[:0])
	o.str("kind", "search")
	o.str("search_id", sid)
	o.str("customer_id", cid)
	o.str("user_id", uid)
	o.str("anonymous_id", anon)
	o.int("wearer", int64(it.wearer))
	o.str("query", q)
	o.int("attempt", int64(attempt))
	o.key("intent")
	var io obj
	io.open(o.b)
	io.str("category", categories[it.cat].name)
	io.str("gender", genderNames[it.gender])
	if it.color >= 0 {
		io.str("color", colors[it.color])
	}
	if it.brand >= 0 {
		io.str("brand", w.brands[it.brand].name)
	}
	if it.style >= 0 {
		io.str("style", styles[it.style])
	}
	o.b = io.close()
	o.key("timestamp")
	o.b = append(o.b, '"')
	o.b = appendTime(o.b, t)
	o.b = append(o.b, '"')
	wk.emitTruth(t, o.close())
}
