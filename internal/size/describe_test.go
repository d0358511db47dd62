package size

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

func TestDescribedFit(t *testing.T) {
	for _, c := range []struct{ desc, want string }{
		{"The Velora Trail is a sporty sneaker. Runs small; consider ordering a size up.", RunsSmall},
		{"RUNS LARGE — we suggest you size down.", RunsLarge},
		{"This one runs big through the toe.", RunsLarge},
		{"Fits true to size.", ""},
		{"Available in sizes up to XXL.", ""}, // "sizes up" is not advice
		{"Runs small in the toe, runs large in the heel.", ""},
		{"", ""},
		{"runs smal", ""},
		{"Oversize upper with a padded collar.", ""},
		{"Mid-size upright handles.", ""},
		{"Plus-size upgrade of our classic tee.", ""},
		{"Available in size up to 3XL.", ""},
		{"True to size: no need to size up.", ""},
		{"Between sizes? Size up or down.", ""},
		{"Runs true to size; if between sizes, size up.", ""},
		{"Don't size down: this one is snug.", ""},
		{"Slim cut. We recommend you size up.", RunsSmall},
		{"Roomy fit (runs large).", RunsLarge},
	} {
		if got := DescribedFit(c.desc); got != c.want {
			t.Errorf("DescribedFit(%q) = %q, want %q", c.desc, got, c.want)
		}
	}
}

func FuzzDescribedFit(f *testing.F) {
	for _, s := range []string{"Runs small; consider ordering a size up.", "runs LARGE", "", "size dow", "\xff\xfeRUNS BIG"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		switch got := DescribedFit(s); got {
		case "", RunsSmall, RunsLarge:
		default:
			t.Fatalf("DescribedFit(%q) = %q", s, got)
		}
	})
}

// A product without returns enough for a verdict of its own is sized like its brand,
// when the brand's returns give one, and failing that by what its description says.
func TestVerdictFallsBackToBrandThenDescription(t *testing.T) {
	tr := NewTrainer(Options{})
	// acme runs small: most buyers of their usual size send it back as too small
	addRunsSmallShoes(tr, "acme", func(i int) string { return fmt.Sprint("acme", i%6) })
	// one kept purchase of a new acme product: seen, no verdict of its own
	_ = tr.AddObservation(Observation{CustomerID: "c0", ProductID: "acme-new", Brand: "acme", Gender: "men", System: "us_shoe", Size: "9", Outcome: OutcomeKept})
	// an acme product whose own returns go both ways: true to size on its own evidence
	for i, y := range []Outcome{OutcomeTooSmall, OutcomeTooLarge, OutcomeTooSmall, OutcomeTooLarge, OutcomeKept, OutcomeKept} {
		_ = tr.AddObservation(Observation{CustomerID: fmt.Sprint("c", 10+i), ProductID: "acme-even", Brand: "acme", Gender: "men", System: "us_shoe",
			Size: Label(SystemUSShoe, 8+float64((10+i)%5)*0.5), Outcome: y})
	}
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := m.ProductFit("acme-new"); f.Fit == RunsSmall || f.Fit == RunsLarge {
		t.Fatalf("acme-new has a verdict of its own: %+v", f)
	}
	if f := m.BrandFitIn("acme", SystemUSShoe); f.Fit != RunsSmall {
		t.Fatalf("brand verdict %+v, want runs_small", f)
	}
	prof := &Profile{Sizes: []TrueSize{{System: SystemUSShoe, Gender: genderMale, Mean: 9, SD: 0.15, N: 2, Usual: 9, HasUsual: true}}}
	var rec Recommendation
	seen := shoeProduct("acme-new", "men", 7, 12)
	seen.Brand = "acme"
	m.RecommendProfile(prof, seen, &rec)
	if v, _ := ParseSize(SystemUSShoe, rec.RecommendedSize); v.Pos <= 9 || rec.ProductFit != RunsSmall {
		t.Errorf("seen product of a brand that runs small: recommended %s (%s, %q), want above the usual 9", rec.RecommendedSize, rec.ProductFit, rec.FitNote)
	}

	even := shoeProduct("acme-even", "men", 7, 12)
	even.Brand = "acme"
	m.RecommendProfile(prof, even, &rec)
	if f := m.ProductFit("acme-even"); f.Fit != TrueToSize || f.TooSmall+f.TooLarge < ownReturnsVerdict {
		t.Fatalf("acme-even: %+v, want true to size on its own returns", f)
	}
	if rec.RecommendedSize != "9" {
		t.Errorf("product whose own returns say true to size, in a brand that runs small: recommended %s (%s, %q), want the usual 9",
			rec.RecommendedSize, rec.ProductFit, rec.FitNote)
	}

	plain := shoeProduct("base-new", "men", 7, 12)
	plain.Brand = "base"
	m.RecommendProfile(prof, plain, &rec)
	if rec.RecommendedSize != "9" {
		t.Fatalf("plain product: recommended %s (%q), want the usual 9", rec.RecommendedSize, rec.FitNote)
	}
	plain.Description = "A classic runner. Runs large; consider ordering a size down."
	m.RecommendProfile(prof, plain, &rec)
	if rec.RecommendedSize != "8.5" || rec.ProductFit != RunsLarge {
		t.Errorf("described as running large: recommended %s (%s, %q), want 8.5, half a size down", rec.RecommendedSize, rec.ProductFit, rec.FitNote)
	}
}

// A size from height and weight alone is what people of that build take, not the
// customer's own: basis "body"; a stated usual size is "survey".
func TestBodyBasis(t *testing.T) {
	// a body table: taller and heavier people wear larger letters
	var table []BodySample
	for h := 150.0; h <= 195; h += 5 {
		for w := 45.0; w <= 110; w += 5 {
			table = append(table, BodySample{HeightCM: h, WeightKG: w, Age: 35, Gender: "female", Size: clamp(math.Round((w-45)/13), 0, 6)})
		}
	}
	tr := NewTrainer(Options{BodyTable: table})
	_ = tr.AddObservation(Observation{CustomerID: "x", ProductID: "tee", Brand: "plain", System: "alpha", Size: "M", Outcome: OutcomeKept})
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tee := &catalog.Product{ProductID: "tee", Brand: "plain", SizeSystem: "alpha", Sizes: alphaLabelsAll()}
	prof, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "b", HeightCM: 170, WeightKG: 65, Age: 30, Gender: "female"})
	if err != nil {
		t.Fatal(err)
	}
	var rec Recommendation
	m.RecommendProfile(&prof, tee, &rec)
	if rec.Basis != BasisBody || rec.RecommendedSize == "" {
		t.Fatalf("measurements only: basis %q size %q (%q), want %q and a size", rec.Basis, rec.RecommendedSize, rec.FitNote, BasisBody)
	}
	prof, err = m.ProfileFromSurvey(nil, Survey{CustomerID: "b", HeightCM: 170, WeightKG: 65, Gender: "female",
		UsualSizes: []UsualSize{{Brand: "plain", Category: "t-shirts", Size: "L"}}})
	if err != nil {
		t.Fatal(err)
	}
	m.RecommendProfile(&prof, tee, &rec)
	if rec.Basis != BasisSurvey || rec.RecommendedSize != "L" {
		t.Errorf("stated usual L: basis %q size %q (%q), want survey and L", rec.Basis, rec.RecommendedSize, rec.FitNote)
	}
}

func BenchmarkDescribedFit(b *testing.B) {
	desc := "The Velora Trail 2 is a sporty sneaker in navy mesh, made for weekend runs and city walks. Features a cushioned midsole and breathable lining. Runs small; consider ordering a size up."
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if DescribedFit(desc) != RunsSmall {
			b.Fatal("missed")
		}
	}
}

func TestVerdictOffsetIsAtLeastAStep(t *testing.T) {
	for _, c := range []struct{ o, step, want float64 }{
		{0.2, 0.5, 0.5}, {-0.3, 0.5, -0.5}, {0.8, 0.5, 0.8}, {-1.4, 1, -1.4}, {0.4, 1, 1},
	} {
		if got := verdictOffset(c.o, c.step); got != c.want {
			t.Errorf("verdictOffset(%v, %v) = %v, want %v", c.o, c.step, got, c.want)
		}
	}
}

func TestOneSidedSignTest(t *testing.T) {
	for _, c := range []struct {
		k, other int
		want     float64
	}{{6, 0, 1.0 / 64}, {3, 8, 1}, {4, 4, 1}, {0, 0, 1}, {5, 1, 7.0 / 64}} {
		if got := oneSided(c.k, c.other); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("oneSided(%d, %d) = %v, want %v", c.k, c.other, got, c.want)
		}
	}
	// returns clearly one way make a verdict though the learned offset is short of the threshold
	it := &ItemFit{System: SystemUSShoe, Offset: 0.2, SD: 0.1, Kept: 25, TooSmall: 6}
	if f := flagFor(it); f.Fit != RunsSmall {
		t.Errorf("6 too-small returns, none too large, offset 0.2: %s, want runs_small", f.Fit)
	}
	it.TooLarge = 2
	if f := flagFor(it); f.Fit != TrueToSize {
		t.Errorf("6 too small, 2 too large, offset 0.2: %s, want true_to_size", f.Fit)
	}
}

// Asked what they wear in a brand that runs small, people name the label that fits
// them there, a size up: on items true to size their size is one down, and in the
// brand itself the one they named.
func TestSurveySizeInABrandThatRunsSmall(t *testing.T) {
	tr := NewTrainer(Options{})
	alpha := []string{"S", "M", "L", "XL"}
	for i := 0; i < 80; i++ {
		own := alpha[i%4]
		o := Observation{CustomerID: fmt.Sprint("c", i), ProductID: fmt.Sprint("acme", i%5), Brand: "acme", Gender: "women", System: "alpha",
			Size: own, Outcome: OutcomeKept}
		if i%3 != 0 {
			o.Outcome = OutcomeTooSmall
		}
		for k := 0; k < 2; k++ {
			_ = tr.AddObservation(Observation{CustomerID: o.CustomerID, ProductID: fmt.Sprint("base", k), Brand: "base", Gender: "women", System: "alpha", Size: own, Outcome: OutcomeKept})
		}
		_ = tr.AddObservation(o)
	}
	// a customer who kept L three times in acme
	for k := 0; k < 3; k++ {
		_ = tr.AddObservation(Observation{CustomerID: "keeper", ProductID: fmt.Sprint("acme", k), Brand: "acme", Gender: "women", System: "alpha", Size: "L", Outcome: OutcomeKept})
	}
	// trained with the survey: a customer who only told us "L in acme"
	if err := tr.AddSurvey(Survey{CustomerID: "s1", UsualSizes: []UsualSize{{Brand: "acme", Category: "tops", Size: "L"}}}); err != nil {
		t.Fatal(err)
	}
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := m.BrandFitIn("acme", SystemAlpha); f.Fit != RunsSmall {
		t.Fatalf("acme verdict %+v, want runs_small", f)
	}
	plain := &catalog.Product{ProductID: "base-new", Brand: "base", Gender: "women", SizeSystem: "alpha", Sizes: alphaLabelsAll()}
	var rec Recommendation
	trained, ok := m.Profile("s1")
	if !ok {
		t.Fatal("no profile for the surveyed customer")
	}
	online, err := m.ProfileFromSurvey(nil, Survey{CustomerID: "s2", UsualSizes: []UsualSize{{Brand: "acme", Category: "tops", Size: "L"}}})
	if err != nil {
		t.Fatal(err)
	}
	acme := &catalog.Product{ProductID: "acme-new", Brand: "acme", Gender: "women", SizeSystem: "alpha", Sizes: alphaLabelsAll()}
	for name, prof := range map[string]*Profile{"trained": trained, "online": &online} {
		m.RecommendProfile(prof, plain, &rec)
		if rec.RecommendedSize != "M" {
			t.Errorf("%s: L in a brand that runs small, a plain item: %s (%q), want M", name, rec.RecommendedSize, rec.FitNote)
		}
		m.RecommendProfile(prof, acme, &rec)
		if rec.RecommendedSize != "L" {
			t.Errorf("%s: L in a brand that runs small, another item of the brand: %s (%q), want L", name, rec.RecommendedSize, rec.FitNote)
		}
	}
	keeper, _ := m.Profile("keeper")
	m.RecommendProfile(keeper, acme, &rec)
	if rec.RecommendedSize != "L" {
		t.Errorf("kept L three times in a brand that runs small, another item of it: %s (%q), want L", rec.RecommendedSize, rec.FitNote)
	}
}

// The normal approximation beyond 60 returns agrees with the exact sum.
func TestOneSidedLargeN(t *testing.T) {
	exact := func(k, n int) float64 {
		p := 0.0
		for i := k; i <= n; i++ {
			a, _ := math.Lgamma(float64(n + 1))
			b, _ := math.Lgamma(float64(i + 1))
			c, _ := math.Lgamma(float64(n - i + 1))
			p += math.Exp(a - b - c - math.Ln2*float64(n))
		}
		return p
	}
	for _, c := range [][2]int{{40, 21}, {50, 30}, {70, 40}, {600, 520}, {2000, 1950}} {
		want := exact(c[0], c[0]+c[1])
		if got := oneSided(c[0], c[1]); math.Abs(got-want) > 0.01+0.1*want {
			t.Errorf("oneSided(%d, %d) = %.4g, exact %.4g", c[0], c[1], got, want)
		}
	}
}

func BenchmarkOneSided(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = oneSided(40+i%20, 15)
	}
}

// A slight majority of many returns is no verdict, however significant.
func TestSignTestNeedsAClearMajority(t *testing.T) {
	it := &ItemFit{System: SystemAlpha, Offset: 0.25, SD: 0.05, Kept: 5000, TooSmall: 1050, TooLarge: 950}
	if f := flagFor(it); f.Fit != TrueToSize {
		t.Errorf("1050 too small against 950 too large: %s, want true_to_size", f.Fit)
	}
}

// The usual size that stands on an item with every size in stock is not "out of stock".
func TestUsualSizeNoteWhenAllInStock(t *testing.T) {
	m := &Model{links: [numSystems]link{SystemUSShoe: defaultLink(SystemUSShoe)}, products: map[string]*ItemFit{}, brands: map[string]*ItemFit{}}
	prof := &Profile{Sizes: []TrueSize{{System: SystemUSShoe, Gender: genderMale, Mean: 9.5, SD: 0.15, N: 2, Usual: 9, HasUsual: true}}}
	var rec Recommendation
	m.RecommendProfile(prof, shoeProduct("plain", "men", 7, 12), &rec)
	if rec.RecommendedSize != "9" || strings.Contains(rec.FitNote, "out of stock") {
		t.Errorf("usual 9, estimate 9.5, all in stock: %s (%q), want 9 and no word of stock", rec.RecommendedSize, rec.FitNote)
	}
}
