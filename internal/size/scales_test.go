package size

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

func shoeProduct(id, gender string, lo, hi float64) *catalog.Product {
	p := &catalog.Product{ProductID: id, Brand: "acme", Category: "sneakers", Gender: gender, SizeSystem: catalog.SizeUSShoe}
	for v := lo; v <= hi; v += 0.5 {
		p.Sizes = append(p.Sizes, catalog.Size{Size: Label(SystemUSShoe, v), InStock: true})
	}
	return p
}

func TestProductScale(t *testing.T) {
	dress := &catalog.Product{ProductID: "d", Gender: "women", SizeSystem: catalog.SizeNumeric}
	for _, l := range []string{"0", "2", "4", "6", "8", "10", "12", "14", "16", "24"} {
		dress.Sizes = append(dress.Sizes, catalog.Size{Size: l})
	}
	jeans := &catalog.Product{ProductID: "j", Gender: "women", SizeSystem: catalog.SizeNumeric}
	for _, l := range []string{"24", "25", "26", "28", "30"} {
		jeans.Sizes = append(jeans.Sizes, catalog.Size{Size: l})
	}
	for _, c := range []struct {
		p    *catalog.Product
		want Scale
	}{
		{shoeProduct("w", "women", 5, 11), ScaleWomensShoe},
		{shoeProduct("m", "men", 7, 14), ScaleStandard},
		{shoeProduct("u", "unisex", 5, 14), ScaleStandard},
		{shoeProduct("k", "kids", 4, 7), ScaleStandard},
		{dress, ScaleDress},
		{jeans, ScaleStandard},
		{&catalog.Product{ProductID: "a", Gender: "women", SizeSystem: catalog.SizeAlpha, Sizes: []catalog.Size{{Size: "S"}}}, ScaleStandard},
	} {
		if got := ProductScale(c.p); got != c.want {
			t.Errorf("ProductScale(%s %s) = %s, want %s", c.p.Gender, c.p.ProductID, got, c.want)
		}
	}
	// "24" in a dress product is a dress size (waist 41.5), in jeans a 24-inch waist
	if v, _ := ParseSizeIn(SystemNumeric, ScaleDress, "24"); v.Pos != 41.5 {
		t.Errorf("dress 24 = %v", v.Pos)
	}
	if v, _ := ParseSizeIn(SystemNumeric, ScaleStandard, "24"); v.Pos != 24 {
		t.Errorf("waist 24 = %v", v.Pos)
	}
	if LabelIn(SystemUSShoe, ScaleWomensShoe, 6.5) != "8" || LabelIn(SystemNumeric, ScaleDress, 28.2) != "8" || LabelIn(SystemNumeric, ScaleDress, 100) != "24" {
		t.Error("LabelIn")
	}
}

// A customer's true size is kept in one scale: a woman who keeps women's 8 gets her 8
// in a unisex shoe (labelled in its wearer's scale) and no answer from her size for a
// men's shoe (bought for someone else); a survey says which scale by its gender, and
// without one is read in the scale of the shoe asked about until a purchase.
func TestShoeScalesConvert(t *testing.T) {
	m, err := NewTrainer(Options{}).Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	women := shoeProduct("pw", "women", 5, 12)
	men := shoeProduct("pm", "men", 4, 15)
	unisex := shoeProduct("pu", "unisex", 4, 15)
	rec := func(p *Profile, prod *catalog.Product) string {
		var r Recommendation
		m.RecommendProfile(p, prod, &r)
		return r.RecommendedSize
	}
	var p *Profile
	for i := 0; i < 3; i++ {
		next, err := m.Update(p, Observation{CustomerID: "c", ProductID: "pw", Gender: "women", System: "us_shoe", Size: "8", Outcome: OutcomeKept})
		if err != nil {
			t.Fatal(err)
		}
		p = &next
	}
	if got := rec(p, women); got != "8" {
		t.Errorf("keeps women's 8: women's shoe %s, want 8", got)
	}
	// a unisex shoe is labelled in its wearer's scale
	if got := rec(p, unisex); got != "8" {
		t.Errorf("keeps women's 8: unisex shoe %s, want 8", got)
	}
	// a men's shoe on an account that only knows a woman's size is for someone else
	var mr Recommendation
	m.RecommendProfile(p, men, &mr)
	if mr.Basis == BasisPurchases || mr.Basis == BasisSurvey {
		t.Errorf("keeps women's 8: a men's shoe answered from her size (%s, basis %s)", mr.RecommendedSize, mr.Basis)
	}
	var r Recommendation
	m.RecommendProfile(p, women, &r)
	if r.FitNote != "True to size: we suggest your usual 8" {
		t.Errorf("note on a women's shoe: %q", r.FitNote)
	}

	for _, c := range []struct {
		gender        string
		women, unisex string // "": not answered from the survey (another wearer's product)
	}{
		{"female", "8", "8"}, // a women's 8
		{"male", "", "8"},    // a men's 8
		{"", "8", "8"},       // unknown scale: read in the shoe's
	} {
		sp, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "s", ShoeSizeUS: 8, Gender: c.gender})
		if err != nil {
			t.Fatal(err)
		}
		var wr Recommendation
		m.RecommendProfile(&sp, women, &wr)
		w := wr.RecommendedSize
		if wr.Basis != BasisSurvey {
			w = ""
		}
		if u := rec(&sp, unisex); w != c.women || u != c.unisex {
			t.Errorf("survey 8, gender %q: women's %q unisex %s; want %q and %s", c.gender, w, u, c.women, c.unisex)
		}
		// the first purchase settles the scale: a women's 8 kept
		next, err := m.Update(&sp, Observation{CustomerID: "s", ProductID: "pw", Gender: "women", System: "us_shoe", Size: "8", Outcome: OutcomeKept})
		if err != nil {
			t.Fatal(err)
		}
		if c.gender != "male" {
			if got := rec(&next, unisex); got != "8" {
				t.Errorf("survey 8 (%q) then a women's 8 kept: unisex %s, want 8", c.gender, got)
			}
		}
	}
}

// Dress sizes and waists inform one numeric true size.
func TestDressSizes(t *testing.T) {
	m, err := NewTrainer(Options{}).Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var p *Profile
	for i := 0; i < 3; i++ {
		next, err := m.Update(p, Observation{CustomerID: "c", ProductID: "jeans", Gender: "women", System: "numeric", Size: "28", Outcome: OutcomeKept})
		if err != nil {
			t.Fatal(err)
		}
		p = &next
	}
	dress := &catalog.Product{ProductID: "d", Gender: "women", SizeSystem: catalog.SizeNumeric}
	for _, l := range []string{"0", "2", "4", "6", "8", "10", "12", "14", "16", "18", "20", "22", "24"} {
		dress.Sizes = append(dress.Sizes, catalog.Size{Size: l, InStock: true})
	}
	var r Recommendation
	m.RecommendProfile(p, dress, &r)
	if r.RecommendedSize != "8" {
		t.Errorf("keeps a 28-inch waist: dress %s, want 8 (%+v)", r.RecommendedSize, r)
	}
	// and a kept dress 14 is a 32-inch waist
	next, err := m.Update(nil, Observation{CustomerID: "d", ProductID: "d", Gender: "women", System: "numeric", Size: "14", Scale: ScaleDress, Outcome: OutcomeKept})
	if err != nil {
		t.Fatal(err)
	}
	if mean := next.Sizes[0].Mean; mean < 31 || mean > 33 {
		t.Errorf("a kept dress 14 gives a true waist of %v, want about 32", mean)
	}
}

// shoePopulation is a trainer holding 40 men and 40 women who keep US shoe sizes 7–10.5.
func shoePopulation() *Trainer {
	tr := NewTrainer(Options{})
	for i := 0; i < 40; i++ {
		label := Label(SystemUSShoe, 7+float64(i%8)*0.5)
		_ = tr.AddObservation(Observation{CustomerID: fmt.Sprint("m", i), ProductID: "mp", Brand: "acme", Gender: "men", System: "us_shoe", Size: label, Outcome: OutcomeKept})
		_ = tr.AddObservation(Observation{CustomerID: fmt.Sprint("w", i), ProductID: "wp", Brand: "acme", Gender: "women", System: "us_shoe", Size: label, Outcome: OutcomeKept})
	}
	return tr
}

// A customer known only from unisex shoes, labelled in their wearer's scale, is read in
// the scale of the shoes they look at: a 7 in unisex shoes is a 7 in women's shoes and
// in men's, not the women's 8.5 a men's 7 would be — online and after training.
func TestUnisexOnlyCustomerReadInTheShoesScale(t *testing.T) {
	tr := shoePopulation()
	for k := 0; k < 2; k++ {
		if err := tr.AddObservation(Observation{CustomerID: "u", ProductID: fmt.Sprint("up", k), Brand: "acme", Gender: "unisex", System: "us_shoe", Size: "7", Outcome: OutcomeKept}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	online, err := m.Update(nil, Observation{CustomerID: "u", ProductID: "up0", Brand: "acme", Gender: "unisex", System: "us_shoe", Size: "7", Outcome: OutcomeKept})
	if err != nil {
		t.Fatal(err)
	}
	trained, _ := m.Profile("u")
	for name, prof := range map[string]*Profile{"trained": trained, "online": &online} {
		for _, g := range []string{"women", "men"} {
			var rec Recommendation
			m.RecommendProfile(prof, shoeProduct("x-"+g, g, 4, 13), &rec)
			if rec.RecommendedSize != "7" || rec.Basis != BasisPurchases {
				t.Errorf("%s profile %+v, %s shoe: %s (%s), want 7 from purchases", name, prof.Sizes, g, rec.RecommendedSize, rec.Basis)
			}
		}
	}
}

// Children's sizes are a wearer of their own: an account's kids' purchases neither pull
// the adult's true size nor get the adult's size recommended, and a stranger's
// recommendation for a kids' shoe comes from children's sizes — after training and
// online.
func TestKidsAreTheirOwnWearer(t *testing.T) {
	tr := NewTrainer(Options{})
	add := func(o Observation) {
		t.Helper()
		if err := tr.AddObservation(o); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 40; i++ {
		add(Observation{CustomerID: fmt.Sprint("m", i), ProductID: "mp", Brand: "acme", Gender: "men", System: "us_shoe", Size: Label(SystemUSShoe, 8+float64(i%6)*0.5), Outcome: OutcomeKept})
		add(Observation{CustomerID: fmt.Sprint("k", i), ProductID: "kp", Brand: "acme", Gender: "kids", System: "us_shoe", Size: Label(SystemUSShoe, 3+float64(i%4)*0.5), Outcome: OutcomeKept})
	}
	for k := 0; k < 2; k++ {
		add(Observation{CustomerID: "parent", ProductID: fmt.Sprint("a", k), Brand: "acme", Gender: "men", System: "us_shoe", Size: "10", Outcome: OutcomeKept})
	}
	add(Observation{CustomerID: "parent", ProductID: "b", Brand: "acme", Gender: "kids", System: "us_shoe", Size: "4", Outcome: OutcomeKept})
	add(Observation{CustomerID: "adult", ProductID: "a0", Brand: "acme", Gender: "men", System: "us_shoe", Size: "10", Outcome: OutcomeKept})
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kidsShoe, mensShoe := shoeProduct("kx", "kids", 1, 7), shoeProduct("mx", "men", 6, 14)
	online, err := m.Update(nil, Observation{CustomerID: "parent", ProductID: "a0", Brand: "acme", Gender: "men", System: "us_shoe", Size: "10", Outcome: OutcomeKept})
	if err == nil {
		online, err = m.Update(&online, Observation{CustomerID: "parent", ProductID: "b", Brand: "acme", Gender: "kids", System: "us_shoe", Size: "4", Outcome: OutcomeKept})
	}
	if err != nil {
		t.Fatal(err)
	}
	trained, _ := m.Profile("parent")
	for name, prof := range map[string]*Profile{"trained": trained, "online": &online} {
		var rec Recommendation
		m.RecommendProfile(prof, kidsShoe, &rec)
		if rec.RecommendedSize != "4" || rec.Basis != BasisPurchases {
			t.Errorf("%s %+v, kids' shoe: %s (%s), want the child's 4", name, prof.Sizes, rec.RecommendedSize, rec.Basis)
		}
		m.RecommendProfile(prof, mensShoe, &rec)
		if rec.RecommendedSize != "10" || rec.Basis != BasisPurchases {
			t.Errorf("%s %+v, men's shoe: %s (%s), want the adult's 10", name, prof.Sizes, rec.RecommendedSize, rec.Basis)
		}
	}
	adult, _ := m.Profile("adult")
	var rec Recommendation
	m.RecommendProfile(adult, kidsShoe, &rec)
	if rec.Basis == BasisPurchases || rec.Basis == BasisSurvey {
		t.Errorf("an adult's size carried to a kids' shoe: %s (%s)", rec.RecommendedSize, rec.Basis)
	}
	if v, _ := ParseSize(SystemUSShoe, rec.RecommendedSize); v.Pos > 5 {
		t.Errorf("a kids' shoe for a customer without children's purchases: %s, not a child's size", rec.RecommendedSize)
	}
	p, _ := m.Profile("adult")
	if len(p.Sizes) != 1 || math.Abs(float64(p.Sizes[0].Mean)-10) > 0.3 {
		t.Errorf("adult profile %+v", p.Sizes)
	}
}

// An account with as many women's as men's shoe purchases (not split into two wearers)
// keeps a sex, the latest purchase's: its true size is on the latent scale, and read as
// bare numbers it would put a women's 8 at a women's 6.5.
func TestTiedSexesKeepTheLatestScale(t *testing.T) {
	tr := shoePopulation()
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range []Observation{
		{CustomerID: "both", ProductID: "m1", Brand: "acme", Gender: "men", System: "us_shoe", Size: "6.5", Outcome: OutcomeKept, Time: day},
		{CustomerID: "both", ProductID: "w1", Brand: "acme", Gender: "women", System: "us_shoe", Size: "8", Outcome: OutcomeKept, Time: day.Add(48 * time.Hour)},
	} {
		if err := tr.AddObservation(o); err != nil {
			t.Fatal(err)
		}
	}
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Profile("both")
	var rec Recommendation
	m.RecommendProfile(p, shoeProduct("wx", "women", 5, 12), &rec)
	if rec.RecommendedSize != "8" {
		t.Errorf("profile %+v: women's shoe %s (%s), want 8", p.Sizes, rec.RecommendedSize, rec.Basis)
	}
}

// A survey's shoe size is the account holder's: a child's entry does not stand in for it.
func TestSurveyBesideAChildsSize(t *testing.T) {
	_, m := small(t)
	kid, err := m.Update(nil, Observation{CustomerID: "p", ProductID: "k", Gender: "kids", System: "us_shoe", Size: "4.5", Outcome: OutcomeKept})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := m.ProfileFromSurvey(&kid, Survey{CustomerID: "p", ShoeSizeUS: 10, Gender: "male"})
	if err != nil {
		t.Fatal(err)
	}
	var rec Recommendation
	m.RecommendProfile(&prof, shoeProduct("mx", "men", 6, 14), &rec)
	if rec.RecommendedSize != "10" || rec.Basis != BasisSurvey {
		t.Errorf("profile %+v: men's shoe %s (%s), want the survey's 10", prof.Sizes, rec.RecommendedSize, rec.Basis)
	}
}
