package size

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// A small simulated world: customers with true sizes (and some accounts with a second
// wearer), brands and products with sizing offsets, purchases in the size the customer
// believes is theirs, and returns that grow likelier with the size error.

type wearerTruth struct {
	gender       string
	shoe, alpha  float64
	height, kg   float64
	age          float64
	wearsPartner bool
}

type world struct {
	products   map[string]*catalog.Product
	byGender   map[string][]*catalog.Product // gender|system → products
	trueOffset map[string]float64            // product id → brand + product offset
	brandOff   map[brandKey]float64
	custs      map[string][2]*wearerTruth // [0] the account holder, [1] a partner or nil
	obs        []Observation
	surveys    []Survey
	surveyOnly []string
}

var simBrands = []string{"Acme", "Borealis", "Cobalt", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
	"Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quartz", "Rivet", "Sable", "Tundra"}

func shoeLabelsRange() []catalog.Size {
	var out []catalog.Size
	for v := 5.0; v <= 13.5; v += 0.5 {
		out = append(out, catalog.Size{Size: Label(SystemUSShoe, v), InStock: true})
	}
	return out
}

func alphaLabelsAll() []catalog.Size {
	var out []catalog.Size
	for _, s := range catalog.AlphaSizes {
		out = append(out, catalog.Size{Size: s, InStock: true})
	}
	return out
}

func genWearer(r *rand.Rand, gender string) *wearerTruth {
	w := &wearerTruth{gender: gender, age: 20 + r.Float64()*45}
	zh, zb := r.NormFloat64(), r.NormFloat64()
	if gender == "women" {
		w.height = 164 + 7*zh
		w.shoe = 7.8 + 0.7*zh + 0.5*r.NormFloat64()
	} else {
		w.height = 178 + 7*zh
		w.shoe = 10.2 + 0.7*zh + 0.5*r.NormFloat64()
	}
	bmi := 24 + 3.5*zb
	w.kg = bmi * w.height * w.height / 1e4
	base := 2.6
	if gender == "men" {
		base = 3.6
	}
	w.alpha = clamp(base+1.0*zb+0.5*zh+0.35*r.NormFloat64(), 0.2, 6.8)
	w.shoe = clamp(w.shoe, 5.5, 13)
	return w
}

func sigmoidT(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// buy simulates one purchase of product p by wearer w at time t.
func (wd *world) buy(r *rand.Rand, cust string, w *wearerTruth, p *catalog.Product, t time.Time) Observation {
	sys, _ := ParseSystem(p.SizeSystem)
	theta := w.alpha
	if sys == SystemUSShoe {
		theta = w.shoe
	}
	off := wd.trueOffset[p.ProductID]
	believed := theta + 0.15*sys.Step()*r.NormFloat64()
	if r.Float64() < 0.3 { // knows how the brand runs
		believed += wd.brandOff[brandKey{strings.ToLower(p.Brand), sys}]
	}
	lo, hi := scaleRange(sys)
	if sys == SystemUSShoe {
		lo, hi = 5, 13.5
	}
	L := math.Round(clamp(believed, lo, hi)/sys.Step()) * sys.Step()
	e := theta + off - L
	o := Observation{CustomerID: cust, ProductID: p.ProductID, Brand: p.Brand, Category: p.Category, Gender: p.Gender,
		System: p.SizeSystem, Size: Label(sys, L), Outcome: OutcomeKept, Time: t}
	if r.Float64() < sigmoidT((math.Abs(e)-0.5)/0.12) {
		if e > 0 {
			o.Outcome = OutcomeTooSmall
		} else {
			o.Outcome = OutcomeTooLarge
		}
	} else if r.Float64() < 0.04 {
		o.Outcome = OutcomeIgnored // returned for another reason
	}
	return o
}

func newWorld(seed uint64, nCust, nSurveyOnly int) *world {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	wd := &world{products: map[string]*catalog.Product{}, byGender: map[string][]*catalog.Product{},
		trueOffset: map[string]float64{}, brandOff: map[brandKey]float64{}, custs: map[string][2]*wearerTruth{}}
	for bi, b := range simBrands {
		for _, sys := range []System{SystemUSShoe, SystemAlpha} {
			// offsets of ±0.5–1 size (US sizes, letters), some brands true to size
			off := (0.5 + 0.5*r.Float64()) * float64(1-2*r.IntN(2))
			if bi%5 == 0 {
				off = 0
			}
			wd.brandOff[brandKey{strings.ToLower(b), sys}] = off
			for k := 0; k < 12; k++ {
				g := []string{"women", "men"}[k%2]
				p := &catalog.Product{ProductID: fmt.Sprintf("%s-%s-%d", b, sys, k), Brand: b, Gender: g, SizeSystem: sys.String()}
				if sys == SystemUSShoe {
					p.Category = []string{"sneakers", "boots"}[k/2%2]
					p.Sizes = shoeLabelsRange()
				} else {
					p.Category = []string{"shirts", "jackets"}[k/2%2]
					p.Sizes = alphaLabelsAll()
				}
				wd.products[p.ProductID] = p
				wd.trueOffset[p.ProductID] = off + 0.15*sys.Step()*2*r.NormFloat64()
				wd.byGender[g+"|"+p.SizeSystem] = append(wd.byGender[g+"|"+p.SizeSystem], p)
			}
		}
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for c := 0; c < nCust+nSurveyOnly; c++ {
		id := fmt.Sprintf("c%05d", c)
		g := []string{"women", "men"}[r.IntN(2)]
		w0 := genWearer(r, g)
		var w1 *wearerTruth
		if c < nCust && r.Float64() < 0.08 {
			og := map[string]string{"women": "men", "men": "women"}[g]
			w1 = genWearer(r, og)
			// a partner far enough apart in alpha to be told apart
			if math.Abs(w1.alpha-w0.alpha) < 2 {
				if w1.alpha >= w0.alpha {
					w1.alpha = math.Min(w0.alpha+2.2, 6.8)
				} else {
					w1.alpha = math.Max(w0.alpha-2.2, 0.2)
				}
			}
			w1.wearsPartner = true
		}
		wd.custs[id] = [2]*wearerTruth{w0, w1}
		surveyed := c >= nCust || r.Float64() < 0.4
		if surveyed {
			s := Survey{CustomerID: id, HeightCM: math.Round(w0.height), WeightKG: math.Round(w0.kg), Age: math.Round(w0.age),
				Gender:     map[string]string{"women": "female", "men": "male"}[g],
				ShoeSizeUS: math.Round(w0.shoe*2) / 2, Time: start}
			wd.surveys = append(wd.surveys, s)
		}
		if c >= nCust {
			wd.surveyOnly = append(wd.surveyOnly, id)
			continue
		}
		n := 4 + r.IntN(11)
		if w1 != nil {
			n += 6
		}
		for k := 0; k < n; k++ {
			w := w0
			if w1 != nil && r.Float64() < 0.45 {
				w = w1
			}
			sys := []string{catalog.SizeUSShoe, catalog.SizeAlpha}[r.IntN(2)]
			ps := wd.byGender[w.gender+"|"+sys]
			p := ps[r.IntN(len(ps))]
			t := start.Add(time.Duration(k*30+r.IntN(20)) * 24 * time.Hour)
			wd.obs = append(wd.obs, wd.buy(r, id, w, p, t))
		}
	}
	return wd
}

func (wd *world) product(id string) *catalog.Product { return wd.products[id] }

func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// fitTruth is the world's FitTruth: how many steps label is from the wearer's true size
// plus the product's offset, rounded (0: the label nearest to fitting); accounts with a
// second wearer are unknown (a purchase does not say whose it was).
func (wd *world) fitTruth(o Observation, p *catalog.Product, label string) (float64, bool) {
	ws, ok := wd.custs[o.CustomerID]
	if !ok || ws[1] != nil {
		return 0, false
	}
	sys, _ := ParseSystem(p.SizeSystem)
	v, err := ParseSizeIn(sys, ProductScale(p), label)
	if err != nil {
		return 0, false
	}
	theta := ws[0].alpha
	if sys == SystemUSShoe {
		theta = ws[0].shoe
	}
	return math.Round((v.Pos - theta - wd.trueOffset[p.ProductID]) / sys.Step()), true
}

func TestSyntheticWorld(t *testing.T) {
	wd := newWorld(7, 1500, 300)
	train, held := SplitHeldOut(wd.obs, 0.2)
	rep, m, err := Compare(context.Background(), Options{}, train, wd.surveys, held, wd.product, wd.fitTruth)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rep.Models {
		t.Logf("%-19s accuracy %.3f (n=%d)  returns fixed %.3f (n=%d)  AUC small %.3f fit %.3f large %.3f mean %.3f  true fit %.3f (n=%d)",
			x.Name, x.Accuracy, x.NKept, x.ReturnsFixed, x.NReturns, x.AUCSmall, x.AUCFit, x.AUCLarge, x.AUCMean, x.TrueFit, x.NTrueFit)
	}
	t.Logf("sizes as bought that fit: %.3f; true-fit gain %.3f; taken %.3f", rep.BoughtTrueFit, rep.TrueFitGain, rep.Models[0].TakenTrueFit)
	t.Logf("train stats %+v; accuracy gain %.3f, AUC gain %.3f; product flags %v", rep.Train, rep.AccuracyGain, rep.AUCGain, rep.Flags)
	full, single, base := rep.Models[0], rep.Models[1], rep.Models[2]
	if full.N < 1000 {
		t.Fatalf("only %d held-out observations evaluated", full.N)
	}
	if full.Accuracy <= single.Accuracy || full.Accuracy <= base.Accuracy {
		t.Errorf("accuracy %.3f does not beat single-latent %.3f and most-frequent %.3f", full.Accuracy, single.Accuracy, base.Accuracy)
	}
	if full.AUCMean <= single.AUCMean || full.AUCMean <= base.AUCMean {
		t.Errorf("mean AUC %.3f does not beat single-latent %.3f and most-frequent %.3f", full.AUCMean, single.AUCMean, base.AUCMean)
	}
	// by the truth: most one-wearer purchases are scored, and the model's sizes fit
	// more often than the baselines' and than the sizes shoppers picked themselves
	if full.NTrueFit < full.N/2 {
		t.Errorf("true fit scored on %d of %d held-out purchases", full.NTrueFit, full.N)
	}
	if full.TakenTrueFit <= rep.BoughtTrueFit || full.TakenTrueFit > 1 {
		t.Errorf("the size a shopper following the advice takes fits %.3f of the time, the size bought %.3f", full.TakenTrueFit, rep.BoughtTrueFit)
	}
	if full.TrueFit <= single.TrueFit || full.TrueFit <= base.TrueFit || full.TrueFit <= rep.BoughtTrueFit || rep.TrueFitGain <= 0 {
		t.Errorf("true fit %.3f does not beat single-latent %.3f, most-frequent %.3f and the sizes bought %.3f (gain %.3f)",
			full.TrueFit, single.TrueFit, base.TrueFit, rep.BoughtTrueFit, rep.TrueFitGain)
	}

	// brand offsets recovered
	for _, sys := range []System{SystemUSShoe, SystemAlpha} {
		var truth, got []float64
		for _, b := range simBrands {
			o, ok := m.BrandOffset(b, sys)
			if !ok {
				t.Fatalf("brand %s has no offset in %s", b, sys)
			}
			truth = append(truth, wd.brandOff[brandKey{strings.ToLower(b), sys}])
			got = append(got, o)
		}
		c := pearson(truth, got)
		var sxy, sxx float64
		for i := range truth {
			sxy += truth[i] * got[i]
			sxx += truth[i] * truth[i]
		}
		t.Logf("%s brand offsets: correlation with truth %.3f, slope %.2f", sys, c, sxy/sxx)
		if c < 0.8 {
			t.Errorf("%s brand offsets correlate %.3f with the truth; want > 0.8", sys, c)
		}
	}

	// fit flags agree with clear truths
	agree, clear := 0, 0
	for id, off := range wd.trueOffset {
		f := m.ProductFit(id)
		sys, _ := ParseSystem(wd.products[id].SizeSystem)
		// clear truths: twice the threshold away from 0, or within a third of it
		th := FlagThreshold(sys)
		want := TrueToSize
		switch {
		case off >= 2*th:
			want = RunsSmall
		case off <= -2*th:
			want = RunsLarge
		case math.Abs(off) > th/3:
			continue
		}
		if f.Evidence < 10 {
			continue
		}
		clear++
		if f.Fit == want {
			agree++
		}
	}
	t.Logf("product fit flags agree with clear truths: %d/%d", agree, clear)
	if clear < 50 || float64(agree) < 0.8*float64(clear) {
		t.Errorf("product flags agree with the truth on %d of %d clear products; want ≥ 80%%", agree, clear)
	}

	// survey-only customers: within one size of the best size mostly
	within, withinShoe, n := 0, 0, 0
	for _, id := range wd.surveyOnly {
		w := wd.custs[id][0]
		prof, ok := m.Profile(id)
		if !ok {
			t.Fatalf("survey-only customer %s has no profile", id)
		}
		for _, sys := range []string{catalog.SizeAlpha, catalog.SizeUSShoe} {
			ps := wd.byGender[w.gender+"|"+sys]
			p := ps[len(id)%len(ps)]
			var rec Recommendation
			m.RecommendProfile(prof, p, &rec)
			s, _ := ParseSystem(sys)
			// a stated shoe size is the customer's own word; an alpha size from
			// height and weight alone is what people of their build take
			want := BasisSurvey
			if s == SystemAlpha && !hasUsual(prof, SystemAlpha) {
				want = BasisBody
			}
			if rec.Basis != want {
				t.Fatalf("survey-only customer %s: basis %q, want %q (note %q)", id, rec.Basis, want, rec.FitNote)
			}
			got, err := ParseSize(s, rec.RecommendedSize)
			if err != nil {
				t.Fatal(err)
			}
			theta := w.alpha
			if s == SystemUSShoe {
				theta = w.shoe
			}
			best := theta + wd.trueOffset[p.ProductID]
			if s == SystemAlpha {
				n++
				if math.Abs(got.Pos-math.Round(best)) <= 1 {
					within++
				}
			} else if math.Abs(got.Pos-best) <= 1 {
				withinShoe++
			}
		}
	}
	t.Logf("survey-only: alpha within one size %d/%d, US shoe within one size %d/%d", within, n, withinShoe, n)
	if float64(within) < 0.8*float64(n) || float64(withinShoe) < 0.8*float64(n) {
		t.Errorf("survey-only customers within one size: alpha %d/%d, shoe %d/%d; want ≥ 80%%", within, n, withinShoe, n)
	}

	// two-wearer accounts detected, among those with at least two training purchases
	// per wearer in one size system
	support := map[string]map[string]int{}
	for _, o := range train {
		if support[o.CustomerID] == nil {
			support[o.CustomerID] = map[string]int{}
		}
		support[o.CustomerID][o.System+"|"+o.Gender]++
	}
	tp, fn, fp, low := 0, 0, 0, 0
	for id, ws := range wd.custs {
		prof, ok := m.Profile(id)
		if !ok {
			continue
		}
		detected := prof.Wearers(SystemAlpha) == 2 || prof.Wearers(SystemUSShoe) == 2
		if ws[1] != nil && !detected {
			sp := support[id]
			if min(sp["alpha|women"], sp["alpha|men"]) < 2 && min(sp["us_shoe|women"], sp["us_shoe|men"]) < 2 {
				low++
				continue
			}
		}
		switch {
		case ws[1] != nil && detected:
			tp++
		case ws[1] != nil:
			fn++
		case detected:
			fp++
		}
	}
	t.Logf("two wearers: detected %d, missed %d, false alarms %d (%d more missed with under two purchases per wearer)", tp, fn, fp, low)
	if tp < 2*fn || fp > tp/4+1 {
		t.Errorf("two-wearer detection: %d found, %d missed, %d false", tp, fn, fp)
	}
	// a two-wearer account gets the wearer matching the product's gender, and both reported
	checked := 0
	for id, ws := range wd.custs {
		prof, ok := m.Profile(id)
		if !ok || ws[1] == nil || prof.Wearers(SystemAlpha) != 2 {
			continue
		}
		for _, w := range ws {
			ps := wd.byGender[w.gender+"|alpha"]
			var rec Recommendation
			m.RecommendProfile(prof, ps[0], &rec)
			if len(rec.Wearers) != 2 {
				t.Fatalf("account %s: %d wearers reported", id, len(rec.Wearers))
			}
			got, _ := ParseSize(SystemAlpha, rec.RecommendedSize)
			if math.Abs(got.Pos-(w.alpha+wd.trueOffset[ps[0].ProductID])) > 1.5 {
				t.Errorf("account %s: recommended %s for a wearer of true alpha %.1f (offset %.2f)", id, rec.RecommendedSize, w.alpha, wd.trueOffset[ps[0].ProductID])
			}
		}
		checked++
	}
	if checked == 0 {
		t.Error("no two-wearer account to check")
	}
}

func TestUpdateMovesTowardEvidence(t *testing.T) {
	wd, m := small(t)
	p := wd.byGender["women|us_shoe"][0]
	prof := &Profile{}
	var err error
	var next Profile
	// a new customer keeps 8.5 three times in a product: the recommendation moves there
	for i := 0; i < 3; i++ {
		next, err = m.Update(prof, Observation{CustomerID: "new", ProductID: p.ProductID, Brand: p.Brand, Gender: p.Gender,
			System: p.SizeSystem, Size: "8.5", Outcome: OutcomeKept, Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		cp := next
		prof = &cp
	}
	if len(prof.Sizes) != 1 || prof.Sizes[0].N != 3 {
		t.Fatalf("profile after 3 updates: %+v", prof.Sizes)
	}
	var rec Recommendation
	m.RecommendProfile(prof, p, &rec)
	if rec.RecommendedSize != "8.5" || rec.Basis != BasisPurchases {
		t.Errorf("after keeping 8.5 three times the recommendation is %q (%s, %q)", rec.RecommendedSize, rec.Basis, rec.FitNote)
	}
	sd0, mean0 := prof.Sizes[0].SD, prof.Sizes[0].Mean
	// then returns 8.5 as too small: the true size moves up and stays certain-ish
	next, err = m.Update(prof, Observation{CustomerID: "new", ProductID: p.ProductID, Brand: p.Brand, Gender: p.Gender,
		System: p.SizeSystem, Size: "8.5", Outcome: OutcomeTooSmall})
	if err != nil {
		t.Fatal(err)
	}
	if next.Sizes[0].Mean <= mean0 {
		t.Errorf("a too-small return did not move the true size up: %v → %v", mean0, next.Sizes[0].Mean)
	}
	if next.Sizes[0].SD > sd0*1.2 {
		t.Errorf("uncertainty grew from %v to %v", sd0, next.Sizes[0].SD)
	}
	if prof == &next || prof.Sizes[0].N != 3 || prof.Sizes[0].Mean != mean0 {
		t.Error("Update modified its input profile")
	}
	if _, err := m.Update(prof, Observation{CustomerID: "x", System: "us_shoe", Size: "banana", Outcome: OutcomeKept}); err == nil {
		t.Error("Update accepted an unparseable size")
	}
}

func trainWorld(t testing.TB, wd *world, opts Options) *Model {
	t.Helper()
	tr := NewTrainer(opts)
	for _, o := range wd.obs {
		if err := tr.AddObservation(o); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range wd.surveys {
		if err := tr.AddSurvey(s); err != nil {
			t.Fatal(err)
		}
	}
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestColdStartAndNotes(t *testing.T) {
	wd, m := small(t)
	// unknown customer, known product: the size most customers keep
	var p *catalog.Product
	ids := make([]string, 0, len(wd.products))
	for id := range wd.products {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if it := m.products[id]; it != nil && it.Mode != "" {
			p = wd.products[id]
			break
		}
	}
	if p == nil {
		t.Fatal("no product with kept purchases")
	}
	rec := m.Recommend("nobody", p)
	if rec.Basis != BasisProduct || rec.RecommendedSize != m.products[p.ProductID].Mode {
		t.Errorf("unknown customer: %+v; want the product's most kept size %q", rec, m.products[p.ProductID].Mode)
	}
	if !strings.Contains(rec.FitNote, rec.RecommendedSize) {
		t.Errorf("note %q does not name the size", rec.FitNote)
	}
	// unknown customer, unknown product of a known brand: population prior
	np := &catalog.Product{ProductID: "brand-new", Brand: "acme", Gender: "men", Category: "Sneakers", SizeSystem: "us_shoe", Sizes: shoeLabelsRange()}
	rec = m.Recommend("nobody", np)
	if rec.Basis != BasisPopulation || rec.RecommendedSize == "" || len(rec.Sizes) != len(np.Sizes) {
		t.Errorf("cold product: %+v", rec)
	}
	for _, s := range rec.Sizes {
		if sum := s.PSmall + s.PFit + s.PLarge; math.Abs(sum-1) > 1e-6 || s.PFit < 0 {
			t.Fatalf("size %s probabilities sum to %v", s.Size, sum)
		}
	}
	// no product, no size system: an empty answer, no panic
	if r := m.Recommend("nobody", nil); r.RecommendedSize != "" || r.Basis != BasisNone {
		t.Errorf("nil product: %+v", r)
	}
	rec = m.Recommend("nobody", &catalog.Product{ProductID: "bag", SizeSystem: "none"})
	if rec.RecommendedSize != "" || rec.Basis != BasisNone {
		t.Errorf("product without sizes: %+v", rec)
	}
	// the in-stock preference: take the best size out of stock
	var cust string
	custIDs := make([]string, 0, len(wd.custs))
	for id := range wd.custs {
		custIDs = append(custIDs, id)
	}
	sort.Strings(custIDs) // the same customer every run
	for _, id := range custIDs {
		if ws := wd.custs[id]; ws[1] == nil {
			if pr, ok := m.Profile(id); ok && pr.Wearers(SystemUSShoe) == 1 && pr.Sizes[0].N > 0 {
				cust = id
				break
			}
		}
	}
	g := wd.custs[cust][0].gender
	sp := *wd.byGender[g+"|us_shoe"][0]
	sp.Sizes = shoeLabelsRange()
	first := m.Recommend(cust, &sp)
	for i := range sp.Sizes {
		if sp.Sizes[i].Size == first.RecommendedSize {
			sp.Sizes[i].InStock = false
		}
	}
	second := m.Recommend(cust, &sp)
	// the best size in stock is recommended if nearly as likely to fit (inStockGap),
	// else the best one, out of stock, with a note that says so
	bestFit, bestIn := 0.0, -1
	for i, z := range second.Sizes {
		bestFit = math.Max(bestFit, z.PFit)
		if z.InStock && (bestIn < 0 || z.PFit > second.Sizes[bestIn].PFit) {
			bestIn = i
		}
	}
	switch {
	case second.Sizes[bestIn].PFit >= bestFit-inStockGap:
		if second.RecommendedSize != second.Sizes[bestIn].Size {
			t.Errorf("out of stock %s: recommended %s, not %s in stock (P(fit) %.2f of the best's %.2f): %q",
				first.RecommendedSize, second.RecommendedSize, second.Sizes[bestIn].Size, second.Sizes[bestIn].PFit, bestFit, second.FitNote)
		}
	case second.RecommendedSize != first.RecommendedSize || !strings.Contains(second.FitNote, "out of stock"):
		t.Errorf("out of stock %s and nothing in stock nearly as likely to fit: recommended %s (%q)", first.RecommendedSize, second.RecommendedSize, second.FitNote)
	}
	t.Logf("notes: %q / %q", first.FitNote, second.FitNote)
	// a note for a brand that runs small names both sizes
	for _, b := range simBrands {
		if f := m.BrandFitIn(b, SystemUSShoe); f.Fit == RunsSmall {
			sp := *wd.byGender[g+"|us_shoe"][0]
			sp.ProductID, sp.Brand = "unseen", b
			sp.Sizes = shoeLabelsRange() // every size in stock: the note is about the brand
			rec := m.Recommend(cust, &sp)
			t.Logf("brand %s runs small (offset %.2f, evidence %d): %q", b, f.Offset, f.Evidence, rec.FitNote)
			if rec.ProductFit != RunsSmall || !strings.HasPrefix(rec.FitNote, "Runs") {
				t.Errorf("brand that runs small: note %q, flag %s", rec.FitNote, rec.ProductFit)
			}
			break
		}
	}
}

func TestProfileFromSurvey(t *testing.T) {
	_, m := small(t)
	smallP, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "a", HeightCM: 155, WeightKG: 47, Age: 30, Gender: "female", ShoeSizeUS: 6.5, ShoeWidth: "wide"})
	if err != nil {
		t.Fatal(err)
	}
	large, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "b", HeightCM: 190, WeightKG: 110, Age: 40, Gender: "male", ShoeSizeUS: 12})
	if err != nil {
		t.Fatal(err)
	}
	alpha := func(p Profile) float32 {
		for _, s := range p.Sizes {
			if s.System == SystemAlpha {
				return s.Mean
			}
		}
		t.Fatalf("no alpha size in %+v", p)
		return 0
	}
	if alpha(smallP) >= alpha(large) {
		t.Errorf("a 155 cm 47 kg survey gets alpha %.1f, a 190 cm 110 kg one %.1f", alpha(smallP), alpha(large))
	}
	// a woman's 6.5 is a men's 5 on the latent scale
	if smallP.Sizes[0].System != SystemUSShoe || smallP.Sizes[0].Width != WidthWide || smallP.Sizes[0].Mean != 6.5-WomensShoeShift {
		t.Errorf("shoe entry %+v", smallP.Sizes[0])
	}
	// usual size in a named brand that runs small: the brand offset is taken into account
	var brand string
	var off float64
	for _, b := range simBrands {
		if o, _ := m.BrandOffset(b, SystemAlpha); o > off {
			brand, off = b, o
		}
	}
	u, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "c", UsualSizes: []UsualSize{{Brand: brand, Category: "shirts", Size: "M"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Sizes) != 1 || u.Sizes[0].N != 0 || !u.Sizes[0].Survey {
		t.Fatalf("usual-size profile %+v", u.Sizes)
	}
	if float64(u.Sizes[0].Mean) >= 3 {
		t.Errorf("usual M in %s (runs small by %.2f) gives true size %.2f; want below 3", brand, off, u.Sizes[0].Mean)
	}
	if _, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "d", HeightCM: -4}); err == nil {
		t.Error("negative height accepted")
	}
}

func TestWidthPreference(t *testing.T) {
	_, m := small(t)
	p := &catalog.Product{ProductID: "wide-test", Brand: "nobrand", Gender: "men", SizeSystem: "us_shoe",
		Sizes: []catalog.Size{{Size: "10 M", InStock: true}, {Size: "10 W", InStock: true}, {Size: "10.5 M", InStock: true}, {Size: "10.5 W", InStock: true}}}
	prof, err := m.Update(nil, Observation{CustomerID: "w", ProductID: "other", System: "us_shoe", Size: "10.5 Wide", Outcome: OutcomeKept, Gender: "men"})
	if err != nil {
		t.Fatal(err)
	}
	if prof.Sizes[0].Width != WidthWide {
		t.Fatalf("width not learned: %+v", prof.Sizes[0])
	}
	rec := m.Recommend("", p)
	var r Recommendation
	m.RecommendProfile(&prof, p, &r)
	if r.RecommendedSize != "10.5 W" {
		t.Errorf("wide-footed customer who kept 10.5 W gets %q (%q); cold answer %q", r.RecommendedSize, r.FitNote, rec.RecommendedSize)
	}
}

func TestTrainerInputErrors(t *testing.T) {
	tr := NewTrainer(Options{})
	for _, o := range []Observation{
		{ProductID: "p", System: "alpha", Size: "M", Outcome: OutcomeKept},
		{CustomerID: "c", System: "alpha", Size: "XXXXXL", Outcome: OutcomeKept},
		{CustomerID: "c", System: "eu_shoe", Size: "42", Outcome: OutcomeKept},
		{CustomerID: "c", System: "alpha", Size: "M", Outcome: Outcome(9)},
	} {
		if err := tr.AddObservation(o); err == nil {
			t.Errorf("AddObservation(%+v) accepted", o)
		}
	}
	if err := tr.AddObservation(Observation{CustomerID: "c", System: "alpha", Size: "M", Outcome: OutcomeIgnored}); err != nil || tr.Skipped() != 1 {
		t.Errorf("a return for another reason: %v, skipped %d", err, tr.Skipped())
	}
	if err := tr.AddSurvey(Survey{CustomerID: "c", WeightKG: math.NaN()}); err == nil {
		t.Error("NaN weight accepted")
	}
	if err := tr.AddSurvey(Survey{CustomerID: "c", ShoeSizeUS: 30}); err == nil {
		t.Error("shoe size 30 accepted")
	}
	// an empty trainer fits (everything cold) and answers from the population prior
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec := m.Recommend("c", &catalog.Product{ProductID: "p", SizeSystem: "alpha", Sizes: alphaLabelsAll()})
	if rec.RecommendedSize == "" || rec.Basis != BasisPopulation {
		t.Errorf("empty model: %+v", rec)
	}
	// a cancelled context stops the fit
	wd, _ := small(t)
	tr = NewTrainer(Options{})
	for _, o := range wd.obs {
		tr.AddObservation(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.Fit(ctx); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("cancelled fit: %v", err)
	}
	if _, err := NewTrainer(Options{BrandSD: math.NaN()}).Fit(context.Background()); err == nil {
		t.Error("NaN option accepted")
	}
}

// hasUsual reports whether a profile states a usual size in system sys.
func hasUsual(prof *Profile, sys System) bool {
	for _, ts := range prof.Sizes {
		if ts.System == sys && ts.HasUsual {
			return true
		}
	}
	return false
}
