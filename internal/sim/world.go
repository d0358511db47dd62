package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// Size systems by index, and the width of one "size" in each (numeric waists: 2 inches).
const (
	sysShoe = iota
	sysAlpha
	sysNumeric
	sysNone = -1
)

var sysNames = []string{catalog.SizeUSShoe, catalog.SizeAlpha, catalog.SizeNumeric}
var sysScale = [3]float64{1, 1, 2}

type brand struct {
	name      string
	tier      int     // 0 budget .. 3 luxury
	priceMult float64 //
	pop       float64 // relative popularity, mean about 0
	weight    float64 // sampling weight
	shoe      bool
	apparel   bool
	offset    [3]float64 // sizing offset in sizes per system: -0.5 runs half a size small
	styles    [2]int
}

type product struct {
	brand    int16
	cat      int16
	gender   uint8
	color    uint8
	material uint8
	style    uint8
	width    uint8 // 0 narrow, 1 medium, 2 wide (apparel: 1)
	sys      int8
	price    float32
	logPrice float32
	quality  float32
	offset   float32   // deviation from the brand's sizing, in sizes
	sizes    []float32 // body value each label fits when offsets are 0 (US size, alpha index, waist inches)
	pop0     float32   // prior popularity (log scale)
}

type wearer struct {
	gender  uint8 // gWomen, gMen, gKids
	size    [3]float32
	belief  [3]float32 // the size the wearer believes is theirs
	width   uint8
	height  float32
	weight  float32
	age     uint8
	fitPref uint8 // 0 snug, 1 regular, 2 loose
}

type weighted struct {
	idx int16
	w   float32
}

type customer struct {
	strength    float32
	activity    float32
	buy         float32 // propensity to buy
	brands      []weighted
	cats        []weighted
	style       [10]float32
	color       [17]float32
	priceCenter float32
	priceTol    float32
	wearers     [2]wearer
	shared      bool
	anonymous   bool // never logs in
	trusts      bool
	aware       bool
	survey      bool
	optOut      bool
	devices     uint8

	// mutable state, touched only by the worker that owns the customer
	seen       bool
	surveyDone bool
	optedOut   bool
	lastSearch []int64 // per device: ms of the last search
	lastClick  []bool  // per device: did the last search get a click
}

// World is a simulated store: its catalog, its customers and their state. It is built
// deterministically from a Config by NewWorld; playing days (Generate, PlayLive)
// advances the customers' state, so windows of days must be played in order.
type World struct {
	cfg       Config
	brands    []brand
	products  []product
	catalog   []catalog.Product
	customers []customer
	index     *index
	catsBy    [3][]int // categories per wearer gender
	pop       []float32
	counts    []float32 // purchases and clicks per product during the current day (merged nightly)
	future    map[int][]rec
	nextDay   int
	closed    bool // the window being played has no shoppers (LiveOptions.ReturnsOnly)
	stats     Stats
}

// NewWorld builds the catalog and the customers of cfg (no events).
func NewWorld(cfg Config) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &World{cfg: cfg, future: map[int][]rec{}}
	w.buildBrands()
	w.buildProducts()
	w.buildCustomers()
	w.index = buildIndex(w)
	w.pop = make([]float32, len(w.products))
	for i := range w.products {
		w.pop[i] = w.products[i].pop0
	}
	w.counts = make([]float32, len(w.products))
	for g := uint8(0); g < 3; g++ {
		for ci, c := range categories {
			for _, cg := range c.genders {
				if cg == g || (cg == gUnisex && g != gKids) {
					w.catsBy[g] = append(w.catsBy[g], ci)
					break
				}
			}
		}
	}
	return w, nil
}

// Config is the world's configuration.
func (w *World) Config() Config { return w.cfg }

// Products is the catalog (CONTRACT §3), in product id order. Do not modify it.
func (w *World) Products() []catalog.Product { return w.catalog }

// CustomerID is the userId of customer i (0-based).
func CustomerID(i int) string { return fmt.Sprintf("C%06d", i+1) }

// ProductID is the product_id of product i (0-based).
func ProductID(i int) string { return fmt.Sprintf("P%06d", i+1) }

func parseID(s string, prefix byte, n int) (int, bool) {
	if len(s) < 2 || s[0] != prefix {
		return 0, false
	}
	v, err := strconv.Atoi(s[1:])
	if err != nil || v < 1 || v > n {
		return 0, false
	}
	return v - 1, true
}

func (w *World) productIndex(id string) (int, bool)  { return parseID(id, 'P', len(w.products)) }
func (w *World) customerIndex(id string) (int, bool) { return parseID(id, 'C', len(w.customers)) }

func (w *World) buildBrands() {
	cfg := w.cfg
	r := newRand(uint64(cfg.Seed), domCatalog, 1)
	n := cfg.Catalog.Brands
	w.brands = make([]brand, n)
	mults := []float64{0.6, 1, 1.6, 2.8}
	for i := range w.brands {
		b := &w.brands[i]
		if i < len(brandNames) {
			b.name = brandNames[i]
		} else {
			b.name = fmt.Sprintf("%s %d", brandNames[i%len(brandNames)], i/len(brandNames)+1)
		}
		b.tier = pick(r, []float64{3, 4, 2.5, 1})
		b.priceMult = mults[b.tier] * math.Exp(0.1*r.NormFloat64())
		b.weight = 1 / math.Pow(float64(i%len(brandNames))+1, 0.8) * (0.7 + 0.6*r.Float64())
		switch x := r.Float64(); {
		case x < 0.35:
			b.shoe = true
		case x < 0.7:
			b.apparel = true
		default:
			b.shoe, b.apparel = true, true
		}
		for s := 0; s < 3; s++ {
			if r.Float64() < cfg.Catalog.BrandOffsetShare {
				// half a size for shoes and waists (one inch); a whole alpha size
				step := 0.5
				if s == sysAlpha {
					step = 1
				}
				if r.Float64() < 0.55 {
					b.offset[s] = -step
				} else {
					b.offset[s] = step
				}
			}
		}
		b.styles = [2]int{r.IntN(len(styles)), r.IntN(len(styles))}
	}
	if n > 0 { // both families need at least one brand
		w.brands[0].shoe = true
		w.brands[n-1].apparel = true
	}
	sum := 0.0
	for _, b := range w.brands {
		sum += math.Log(b.weight)
	}
	for i := range w.brands {
		w.brands[i].pop = math.Log(w.brands[i].weight) - sum/float64(n)
	}
}

func shoeRange(g uint8) (lo, hi float64) {
	switch g {
	case gWomen:
		return 5, 12
	case gMen:
		return 7, 15
	case gKids:
		return 4, 7
	}
	return 5, 13
}

func (w *World) buildProducts() {
	cfg := w.cfg
	r := newRand(uint64(cfg.Seed), domCatalog, 2)
	var shoeCats, appCats []int
	var shoeW, appW []float64
	for i, c := range categories {
		if c.shoe {
			shoeCats, shoeW = append(shoeCats, i), append(shoeW, c.pop)
		} else {
			appCats, appW = append(appCats, i), append(appW, c.pop)
		}
	}
	var shoeBrands, appBrands []int
	var shoeBW, appBW []float64
	for i, b := range w.brands {
		if b.shoe {
			shoeBrands, shoeBW = append(shoeBrands, i), append(shoeBW, b.weight)
		}
		if b.apparel {
			appBrands, appBW = append(appBrands, i), append(appBW, b.weight)
		}
	}
	n := cfg.Products
	w.products = make([]product, n)
	w.catalog = make([]catalog.Product, n)
	for i := 0; i < n; i++ {
		p := &w.products[i]
		shoe := r.Float64() < cfg.Catalog.ShoeShare
		var ci, bi int
		if shoe {
			ci = shoeCats[pick(r, shoeW)]
			bi = shoeBrands[pick(r, shoeBW)]
		} else {
			ci = appCats[pick(r, appW)]
			bi = appBrands[pick(r, appBW)]
		}
		c := &categories[ci]
		b := &w.brands[bi]
		p.cat, p.brand = int16(ci), int16(bi)
		// gender: kids by KidsShare when the category has kids, else among the adult genders
		var adult []uint8
		hasKids := false
		for _, g := range c.genders {
			if g == gKids {
				hasKids = true
			} else {
				adult = append(adult, g)
			}
		}
		if hasKids && (len(adult) == 0 || r.Float64() < cfg.Catalog.KidsShare*2) {
			p.gender = gKids
		} else {
			p.gender = adult[r.IntN(len(adult))]
			if p.gender == gUnisex && r.Float64() < 0.5 { // unisex is the exception
				p.gender = adult[0]
			}
		}
		if r.Float64() < 0.5 {
			p.style = uint8(c.styles[r.IntN(len(c.styles))])
		} else {
			p.style = uint8(b.styles[r.IntN(2)])
		}
		p.color = uint8(pick(r, colorPop))
		p.material = uint8(c.mats[r.IntN(len(c.mats))])
		p.quality = float32(r.NormFloat64())
		price := c.price * b.priceMult * math.Exp(cfg.Catalog.PriceNoise*r.NormFloat64())
		if p.gender == gKids {
			price *= 0.6
		}
		price = math.Max(4.99, math.Floor(price)+0.99)
		p.price = float32(price)
		p.logPrice = float32(math.Log(price))
		p.width = 1
		if r.Float64() < cfg.Catalog.ProductDeviationShare {
			if r.Float64() < 0.5 {
				p.offset = -0.5
			} else {
				p.offset = 0.5
			}
		}
		p.sys = sysNone
		var labels []string
		switch {
		case c.shoe:
			p.sys = sysShoe
			if x := r.Float64(); x < 0.08 {
				p.width = 0
			} else if x < 0.2 {
				p.width = 2
			}
			lo, hi := shoeRange(p.gender)
			for v := lo; v <= hi; v += 0.5 {
				if v > 12 && math.Mod(v, 1) != 0 { // no half sizes above 12
					continue
				}
				p.sizes = append(p.sizes, float32(v))
				labels = append(labels, strconv.FormatFloat(v, 'f', -1, 64))
			}
		case c.system == catalog.SizeNumeric && p.gender != gKids:
			p.sys = sysNumeric
			lo, hi := 26, 36
			if p.gender == gMen || p.gender == gUnisex {
				lo, hi = 28, 44
			}
			for v := lo; v <= hi; v++ {
				if v > 36 && v%2 == 1 {
					continue
				}
				p.sizes = append(p.sizes, float32(v))
				labels = append(labels, strconv.Itoa(v))
			}
		default:
			p.sys = sysAlpha
			lo, hi := 1, 6 // XS..XXL
			if p.gender == gKids {
				lo, hi = 0, 3
			} else if r.Float64() < 0.3 {
				lo, hi = 0, 7
			}
			for v := lo; v <= hi; v++ {
				p.sizes = append(p.sizes, float32(v))
				labels = append(labels, catalog.AlphaSizes[v])
			}
		}
		if p.sys == sysAlpha {
			p.offset *= 2 // alpha sizes deviate by a whole size
		}
		sizes := make([]catalog.Size, len(labels))
		allOut := r.Float64() < 0.01
		for j, l := range labels {
			edge := math.Abs(float64(j)-float64(len(labels)-1)/2) / math.Max(1, float64(len(labels)-1)/2)
			out := allOut || r.Float64() < cfg.Catalog.OutOfStockRate*(1+edge*edge)
			sizes[j] = catalog.Size{Size: l, InStock: !out}
		}
		p.pop0 = float32(0.6*float64(p.quality) + 0.8*b.pop + 0.3*r.NormFloat64() + 0.3*math.Log(c.pop))

		model := modelNames[r.IntN(len(modelNames))]
		if r.Float64() < 0.3 {
			model += " " + []string{"II", "2", "3", "Pro", "Lite", "Plus", "Classic", "Low", "High", "Max"}[r.IntN(10)]
		}
		matWord := strings.ToUpper(materials[p.material][:1]) + materials[p.material][1:]
		colorWord := strings.ToUpper(colors[p.color][:1]) + colors[p.color][1:]
		name := fmt.Sprintf("%s %s %s %s", b.name, model, matWord, c.noun)
		if r.Float64() < 0.4 {
			name = fmt.Sprintf("%s %s %s %s", b.name, model, colorWord, c.noun)
		}
		gword := map[uint8]string{gWomen: "Women's ", gMen: "Men's ", gKids: "Kids' ", gUnisex: ""}[p.gender]
		name = gword + name
		var feats []string
		if c.shoe {
			feats = shoeFeatures
		} else {
			feats = apparelFeatures
		}
		f1 := feats[r.IntN(len(feats))]
		f2 := feats[r.IntN(len(feats))]
		desc := fmt.Sprintf("The %s %s is a %s %s in %s %s, made for %s. Features a %s and %s.",
			b.name, model, styles[p.style], strings.ToLower(c.noun), colors[p.color], materials[p.material],
			occasions[r.IntN(len(occasions))], f1, f2)
		total := b.offset[max(int(p.sys), 0)] + float64(p.offset)
		if p.sys >= 0 && total != 0 && r.Float64() < cfg.Catalog.FitNoteShare {
			if total < 0 {
				desc += " Runs small; consider ordering a size up."
			} else {
				desc += " Runs large; consider ordering a size down."
			}
		}
		attrs := map[string]any{}
		if c.shoe {
			attrs["width"] = widthNames[p.width]
		} else {
			attrs["fit"] = []string{"slim", "regular", "relaxed"}[r.IntN(3)]
		}
		sysName := catalog.SizeNone
		if p.sys >= 0 {
			sysName = sysNames[p.sys]
		}
		w.catalog[i] = catalog.Product{
			ProductID: ProductID(i), Name: name, Brand: b.name, Category: c.name, Gender: genderNames[p.gender],
			Color: colors[p.color], Material: materials[p.material], Style: styles[p.style], Price: price,
			Description: desc, SizeSystem: sysName, Sizes: sizes, Attributes: attrs,
		}
	}
}

func (w *World) buildCustomers() {
	cfg := w.cfg
	n := cfg.Customers
	w.customers = make([]customer, n)
	brandW := make([]float64, len(w.brands))
	for i, b := range w.brands {
		brandW[i] = b.weight
	}
	for i := 0; i < n; i++ {
		r := newRand(uint64(cfg.Seed), domCustomer, uint64(i))
		c := &w.customers[i]
		cc := cfg.Customer
		c.strength = float32(beta(r, cc.PersonalStrengthA, cc.PersonalStrengthB))
		c.activity = float32(gamma(r, cfg.Sessions.ActivityShape) / cfg.Sessions.ActivityShape * cfg.Sessions.PerDay)
		c.buy = float32(0.5 + r.Float64())
		var g uint8
		switch x := r.Float64(); {
		case x < cc.WomenShare:
			g = gWomen
		case x < cc.WomenShare+cc.UnspecifiedShare:
			g = gUnisex // shops both
		default:
			g = gMen
		}
		c.wearers[0] = w.newWearer(r, g)
		if r.Float64() < cc.SharedAccountShare {
			c.shared = true
			if r.Float64() < cc.SecondIsKidShare {
				c.wearers[1] = w.newWearer(r, gKids)
			} else {
				og := gMen
				if c.wearers[0].gender == gMen {
					og = gWomen
				}
				c.wearers[1] = w.newWearer(r, og)
			}
		}
		// preferences
		seen := map[int]bool{}
		for k := 0; k < cc.FavoriteBrands; k++ {
			b := pick(r, brandW)
			if seen[b] {
				continue
			}
			seen[b] = true
			c.brands = append(c.brands, weighted{int16(b), float32(0.4 + 0.6*r.Float64())})
		}
		if r.Float64() < 0.3 && len(w.brands) > 1 { // a brand they avoid
			b := r.IntN(len(w.brands))
			if !seen[b] {
				c.brands = append(c.brands, weighted{int16(b), -0.8})
			}
		}
		gc := c.wearers[0].gender
		var cands []int
		var cw []float64
		for ci, cat := range categories {
			for _, cg := range cat.genders {
				if cg == gc || cg == gUnisex || (gc == gUnisex && cg != gKids) {
					cands = append(cands, ci)
					cw = append(cw, cat.pop*(0.2+r.Float64()))
					break
				}
			}
		}
		for k := 0; k < cc.FavoriteCategories && len(cands) > 0; k++ {
			j := pick(r, cw)
			c.cats = append(c.cats, weighted{int16(cands[j]), float32(cw[j])})
			cw[j] = 0
			if sumf(cw) == 0 {
				break
			}
		}
		for k := 0; k < 2+r.IntN(2); k++ {
			c.style[r.IntN(len(styles))] = float32(0.5 + 0.5*r.Float64())
		}
		c.style[r.IntN(len(styles))] -= 0.5
		for k := 0; k < cc.FavoriteColors; k++ {
			c.color[pick(r, colorPop)] = float32(1 - 0.25*float64(k))
		}
		c.color[r.IntN(len(colors))] -= 0.6
		c.priceCenter = float32(math.Log(70) + 0.5*r.NormFloat64())
		c.priceTol = float32(0.3 + 0.5*r.Float64())
		c.anonymous = r.Float64() < cfg.Anonymous.Share
		c.trusts = r.Float64() < cfg.Purchase.TrustShare
		c.aware = r.Float64() < cfg.Purchase.BrandAwareShare
		c.survey = !c.anonymous && r.Float64() < cfg.Survey.Share
		c.optOut = !c.anonymous && r.Float64() < cfg.Identity.OptOutShare
		c.devices = uint8(1 + r.IntN(cfg.Identity.MaxDevices))
		c.lastSearch = make([]int64, c.devices)
		c.lastClick = make([]bool, c.devices)
	}
}

func sumf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func round(v, step float64) float64 { return math.Round(v/step) * step }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// newWearer draws a body and its true sizes; g is gWomen, gMen, gKids or gUnisex
// (a customer who gave no gender: a body of either).
func (w *World) newWearer(r *rand.Rand, g uint8) wearer {
	body := g
	if g == gUnisex {
		body = uint8(r.IntN(2))
	}
	var wr wearer
	wr.gender = g
	noise := w.cfg.Sizing.BodyNoise
	switch body {
	case gKids:
		wr.height = float32(clamp(130+12*r.NormFloat64(), 100, 165))
		wr.weight = float32(clamp(28+6*r.NormFloat64(), 15, 60))
		wr.age = uint8(6 + r.IntN(8))
		wr.size[sysShoe] = float32(clamp(round(4+(float64(wr.height)-110)/14+0.5*r.NormFloat64(), 0.5), 4, 7))
		wr.size[sysAlpha] = float32(clamp(math.Round((float64(wr.height)-115)/18+noise*r.NormFloat64()), 0, 3))
		wr.size[sysNumeric] = 26
	default:
		men := body == gMen
		h := 164 + 7*r.NormFloat64()
		bmi := 25 * math.Exp(0.16*r.NormFloat64())
		if men {
			h = 178 + 7.5*r.NormFloat64()
			bmi = 26.5 * math.Exp(0.14*r.NormFloat64())
		}
		h = clamp(h, 140, 210)
		bmi = clamp(bmi, 16, 48)
		wt := bmi * (h / 100) * (h / 100)
		wr.height, wr.weight = float32(h), float32(wt)
		wr.age = uint8(clamp(18+math.Abs(22*r.NormFloat64())+r.Float64()*20, 18, 90))
		var shoe, alpha, waist float64
		if men {
			shoe = 10.5 + (h-178)/6.5 + 0.7*r.NormFloat64()
			alpha = 3.3 + (bmi-23.5)/3 + (h-178)/14 + noise*r.NormFloat64()
			waist = 32 + (bmi-25)*1.5 + (h-178)/20 + 1.2*r.NormFloat64()
			shoe = clamp(round(shoe, 0.5), 7, 15)
		} else {
			shoe = 8 + (h-164)/6.5 + 0.6*r.NormFloat64()
			alpha = 2.5 + (bmi-22)/3.2 + (h-164)/16 + noise*r.NormFloat64()
			waist = 28 + (bmi-23)*1.4 + 1.2*r.NormFloat64()
			shoe = clamp(round(shoe, 0.5), 5, 12)
		}
		if shoe > 12 {
			shoe = math.Round(shoe)
		}
		wr.size[sysShoe] = float32(shoe)
		wr.size[sysAlpha] = float32(clamp(math.Round(alpha), 0, 7))
		wr.size[sysNumeric] = float32(clamp(math.Round(waist), 26, 44))
	}
	switch x := r.Float64(); {
	case x < w.cfg.Customer.NarrowShare:
		wr.width = 0
	case x < w.cfg.Customer.NarrowShare+w.cfg.Customer.WideShare:
		wr.width = 2
	default:
		wr.width = 1
	}
	wr.fitPref = uint8(pick(r, []float64{0.25, 0.55, 0.2}))
	// believed usual sizes: most know theirs, some are a step off
	steps := [3]float64{0.5, 1, 1}
	for s := 0; s < 3; s++ {
		b := float64(wr.size[s])
		if r.Float64() < w.cfg.Purchase.UsualSizeError {
			if r.Float64() < 0.5 {
				b -= steps[s]
			} else {
				b += steps[s]
			}
		}
		wr.belief[s] = float32(b)
	}
	return wr
}

// sizeLabel is the label of the product's size nearest to body value v, and its index.
func (p *product) nearestSize(v float64) int {
	best, bd := -1, math.Inf(1)
	for j, s := range p.sizes {
		if d := math.Abs(float64(s) - v); d < bd-1e-9 {
			best, bd = j, d
		}
	}
	return best
}

// sizeError is how far size j of product p is from fitting wearer wr, in sizes
// (positive: too large), rounded to half sizes.
func (w *World) sizeError(p *product, j int, wr *wearer) float64 {
	s := int(p.sys)
	eff := float64(p.sizes[j]) + (w.brands[p.brand].offset[s]+float64(p.offset))*sysScale[s]
	return round((eff-float64(wr.size[s]))/sysScale[s], 0.5)
}

// sortedBrandsByWeight is used by truth output.
func sortedWeights(ws []weighted) []weighted {
	out := append([]weighted(nil), ws...)
	sort.Slice(out, func(i, j int) bool { return out[i].w > out[j].w })
	return out
}
