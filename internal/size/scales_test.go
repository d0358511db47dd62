package size

import (
	"context"
	"testing"

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

// A customer's true size is kept in one scale: a woman who keeps women's 8 gets a
// men's (unisex) 6.5, and the other way round; a survey says which scale by its gender,
// and without one is read in the scale of the shoe asked about until a purchase.
func TestShoeScalesConvert(t *testing.T) {
	m, err := NewTrainer(Options{}).Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	women := shoeProduct("pw", "women", 5, 12)
	men := shoeProduct("pm", "men", 4, 15)
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
	if got := rec(p, men); got != "6.5" {
		t.Errorf("keeps women's 8: men's shoe %s, want 6.5", got)
	}
	var r Recommendation
	m.RecommendProfile(p, women, &r)
	if r.FitNote != "True to size: we suggest your usual 8" {
		t.Errorf("note on a women's shoe: %q", r.FitNote)
	}

	for _, c := range []struct {
		gender      string
		women, mens string
	}{
		{"female", "8", "6.5"}, // a women's 8
		{"male", "9.5", "8"},   // a men's 8
		{"", "8", "8"},         // unknown scale: read in the shoe's
	} {
		sp, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "s", ShoeSizeUS: 8, Gender: c.gender})
		if err != nil {
			t.Fatal(err)
		}
		if w, mm := rec(&sp, women), rec(&sp, men); w != c.women || mm != c.mens {
			t.Errorf("survey 8, gender %q: women's %s men's %s; want %s and %s", c.gender, w, mm, c.women, c.mens)
		}
		// the first purchase settles the scale: a women's 8 kept
		next, err := m.Update(&sp, Observation{CustomerID: "s", ProductID: "pw", Gender: "women", System: "us_shoe", Size: "8", Outcome: OutcomeKept})
		if err != nil {
			t.Fatal(err)
		}
		if c.gender != "male" {
			if got := rec(&next, men); got != "6.5" {
				t.Errorf("survey 8 (%q) then a women's 8 kept: men's %s, want 6.5", c.gender, got)
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
