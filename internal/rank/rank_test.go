package rank

import (
	"fmt"
	"math"
	"testing"

	"github.com/bespokesearch/bespoke/internal/profile"
)

func catalogItems() []Item {
	return []Item{
		NewItem(profile.Item{ID: "p1", Brand: "Nimbus", Category: "running", Color: "black", Style: "sport", Price: 120, SizeSystem: 1}, []float32{9, 9.5, 10}),
		NewItem(profile.Item{ID: "p2", Brand: "Zephyr", Category: "running", Color: "white", Style: "sport", Price: 60, SizeSystem: 1}, []float32{8, 8.5}),
		NewItem(profile.Item{ID: "p3", Brand: "Alpine", Category: "boots", Color: "black", Style: "outdoor", Price: 180, SizeSystem: 1}, []float32{9.5}),
		NewItem(profile.Item{ID: "p4", Brand: "Nimbus", Category: "sneakers", Color: "red", Style: "casual", Price: 90, SizeSystem: 1}, nil),
	}
}

func TestPersonalizationChangesOrder(t *testing.T) {
	s := NewDefaultSnapshot()
	items := catalogItems()
	text := []float32{1.0, 0.95, 0.9, 0.85}
	q := QueryKey("Running Shoes")
	var b Buffers

	anon := append([]int(nil), s.Rank(q, nil, items, text, &b)...)
	if fmt.Sprint(anon) != "[0 1 2 3]" {
		t.Fatalf("without a profile the order must follow text relevance, got %v", anon)
	}
	var zephyrFan, alpineFan profile.Profile
	for i := 0; i < 10; i++ {
		zephyrFan.Apply(profile.Purchased, profile.Item{ID: fmt.Sprint("z", i), Brand: "Zephyr", Category: "running", Color: "white", Price: 55}, int64(1000+i))
		alpineFan.Apply(profile.Purchased, profile.Item{ID: fmt.Sprint("a", i), Brand: "Alpine", Category: "boots", Color: "black", Price: 190}, int64(1000+i))
	}
	zOrder := append([]int(nil), s.Rank(q, &zephyrFan, items, text, &b)...)
	aOrder := append([]int(nil), s.Rank(q, &alpineFan, items, text, &b)...)
	if zOrder[0] != 1 {
		t.Errorf("a Zephyr fan should see p2 first, got %v", zOrder)
	}
	if aOrder[0] != 2 {
		t.Errorf("an Alpine fan should see p3 first, got %v", aOrder)
	}
}

func TestSizeInStockFeature(t *testing.T) {
	s := NewDefaultSnapshot()
	items := catalogItems()
	var p profile.Profile
	p.Apply(profile.Clicked, profile.Item{ID: "x", Brand: "Other"}, 1)
	p.Sizes = []profile.SizePrediction{{System: 1, Size: 9.5, Conf: 0.9}}
	feats := make([]float32, len(items)*NumFeatures)
	s.Extract(0, &p, items, nil, feats)
	got := []float32{feats[0*NumFeatures+FSizeInStock], feats[1*NumFeatures+FSizeInStock], feats[2*NumFeatures+FSizeInStock]}
	if got[0] != 1 || got[1] != 0 || got[2] != 1 {
		t.Fatalf("size in stock = %v, want [1 0 1]", got)
	}
}

func TestLearnedTablesAndExplain(t *testing.T) {
	s := NewDefaultSnapshot()
	items := catalogItems()
	q := QueryKey("running shoes")
	s.QueryItem = map[uint64]float32{PairKey(q, items[3].ID): 3}
	var b Buffers
	order := s.Rank(q, nil, items, []float32{1, 1, 1, 1}, &b)
	if order[0] != 3 {
		t.Fatalf("an item with a high debiased CTR for the query should lead, got %v", order)
	}
	ex := s.Explain(&b, 3)
	var sum float32
	for _, c := range ex {
		sum += c.Score
	}
	if math.Abs(float64(sum-b.Scores[3])) > 1e-4 {
		t.Fatalf("linear contributions sum to %v, score is %v", sum, b.Scores[3])
	}
}

type constModel struct{ w [NumFeatures]float32 }

func (m constModel) Predict(f []float32, n int, out []float32) {
	for i := 0; i < n; i++ {
		var s float32
		for j := range m.w {
			s += m.w[j] * f[i*NumFeatures+j]
		}
		out[i] = s
	}
}

func TestActiveSwapUsesModel(t *testing.T) {
	var a Active
	a.Store(NewDefaultSnapshot())
	if a.Load().Version != "default" {
		t.Fatal("default snapshot not active")
	}
	s2 := NewDefaultSnapshot()
	s2.Version = "v2"
	var w [NumFeatures]float32
	w[FRetrievalRank] = 1 // a model that prefers the last retrieved item
	s2.Model = constModel{w}
	a.Store(s2)
	var b Buffers
	order := a.Load().Rank(0, nil, catalogItems(), []float32{1, 1, 1, 1}, &b)
	if order[0] != 3 {
		t.Fatalf("the published model was not used: %v", order)
	}
}

func BenchmarkRank100(b *testing.B) {
	s := NewDefaultSnapshot()
	items := make([]Item, 100)
	text := make([]float32, 100)
	for i := range items {
		items[i] = NewItem(profile.Item{ID: fmt.Sprint("p", i), Brand: fmt.Sprint("brand", i%20), Category: fmt.Sprint("cat", i%7), Color: fmt.Sprint("c", i%9), Style: fmt.Sprint("s", i%5), Gender: []string{"men", "women", "unisex"}[i%3], Price: float64(20 + i), SizeSystem: 1}, []float32{8, 9, 10})
		text[i] = float32(100 - i)
	}
	var p profile.Profile
	for i := 0; i < 50; i++ {
		p.Apply(profile.Clicked, profile.Item{ID: fmt.Sprint("p", i*2), Brand: fmt.Sprint("brand", i%20), Category: fmt.Sprint("cat", i%7), Price: 50}, int64(i))
	}
	p.Sizes = []profile.SizePrediction{{System: 1, Size: 9, Conf: 1}}
	var buf Buffers
	b.ReportAllocs()
	for b.Loop() {
		s.Rank(1, &p, items, text, &buf)
	}
}

// TestPersonalPriorWithALearnedModel: a learned model that gives the personal features
// no weight still ranks a customer's favourite brand first through the personal prior,
// and leaves the order and scores of a request without a profile to the model alone.
func TestPersonalPriorWithALearnedModel(t *testing.T) {
	s := NewDefaultSnapshot()
	var w [NumFeatures]float32
	w[FText] = 1
	s.Model = constModel{w}
	items := catalogItems()
	text := []float32{1.0, 0.95, 0.9, 0.85}
	var b Buffers
	if got := fmt.Sprint(s.Rank(1, nil, items, text, &b)); got != "[0 1 2 3]" {
		t.Fatalf("without a profile: %v, want the model's order", got)
	}
	for i, want := range []float32{1, 0.95, 0.9, 0.85} {
		if b.Scores[i] != want {
			t.Fatalf("without a profile item %d scores %v, want the model's %v", i, b.Scores[i], want)
		}
	}
	var fan profile.Profile
	for i := 0; i < 10; i++ {
		fan.Apply(profile.Purchased, profile.Item{ID: fmt.Sprint("z", i), Brand: "Zephyr", Category: "running", Color: "white", Price: 55}, int64(1000+i))
	}
	if order := s.Rank(1, &fan, items, text, &b); order[0] != 1 {
		t.Fatalf("a Zephyr fan should see p2 first, got %v", order)
	}
	ex := s.Explain(&b, 1)
	var brand float32
	for _, c := range ex {
		if c.Feature == "brand_affinity" {
			brand = c.Score
		}
	}
	if brand <= 0 {
		t.Fatalf("the explanation should credit the brand affinity: %+v", ex)
	}
}

// A customer who only ever looks at men's products sees a men's product above an
// otherwise equal women's one; the gender affinity feature carries it.
func TestGenderAffinityChangesOrder(t *testing.T) {
	s := NewDefaultSnapshot()
	items := []Item{
		NewItem(profile.Item{ID: "w1", Brand: "Nimbus", Category: "running", Gender: "women", Price: 100}, nil),
		NewItem(profile.Item{ID: "m1", Brand: "Nimbus", Category: "running", Gender: "men", Price: 100}, nil),
	}
	var p profile.Profile
	for i := 0; i < 5; i++ {
		p.Apply(profile.Clicked, profile.Item{ID: fmt.Sprint("m", i+2), Brand: "Nimbus", Category: "running", Gender: "men", Price: 100}, int64(1000+i))
	}
	var b Buffers
	q := QueryKey("running shoes")
	if got := s.Rank(q, nil, items, []float32{1, 1}, &b); got[0] != 0 {
		t.Fatalf("without a profile the retrieval order stands, got %v", got)
	}
	if got := s.Rank(q, &p, items, []float32{1, 1}, &b); got[0] != 1 {
		t.Errorf("a customer of men's products should see m1 first, got %v", got)
	}
	if g := b.Feats[1*NumFeatures+FGenderLift]; g <= 0 || b.Feats[0*NumFeatures+FGenderLift] >= 0 {
		t.Errorf("gender affinity: men's %v, women's %v", g, b.Feats[FGenderLift])
	}
}

// A customer who clicks wide shoes sees a wide shoe above an otherwise equal medium
// one; the width affinity feature carries it.
func TestWidthAffinityChangesOrder(t *testing.T) {
	s := NewDefaultSnapshot()
	items := []Item{
		NewItem(profile.Item{ID: "m1", Brand: "Nimbus", Category: "running", Gender: "men", Width: "medium", Price: 100}, nil),
		NewItem(profile.Item{ID: "w1", Brand: "Nimbus", Category: "running", Gender: "men", Width: "wide", Price: 100}, nil),
	}
	var p profile.Profile
	for i := 0; i < 4; i++ {
		p.Apply(profile.Clicked, profile.Item{ID: fmt.Sprint("w", i+2), Brand: "Nimbus", Category: "running", Gender: "men", Width: "wide", Price: 100}, int64(1000+i))
	}
	var b Buffers
	q := QueryKey("running shoes")
	if got := s.Rank(q, &p, items, []float32{1, 1}, &b); got[0] != 1 {
		t.Errorf("a customer of wide shoes should see w1 first, got %v", got)
	}
	if w := b.Feats[1*NumFeatures+FWidthLift]; w <= 0 || b.Feats[0*NumFeatures+FWidthLift] >= 0 {
		t.Errorf("width affinity: wide %v, medium %v", w, b.Feats[FWidthLift])
	}
}
