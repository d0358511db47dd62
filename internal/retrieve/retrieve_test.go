package retrieve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

var engines = []string{EngineMemory, EngineBleve}

// newIndex makes an index that never relaxes (MinResults 1): the small test catalogs
// would otherwise always fall back to OR.
func newIndex(t testing.TB, engine string, prods []catalog.Product) *Index {
	t.Helper()
	return newIndexOpts(t, Options{Engine: engine, MinResults: 1}, prods)
}

func newIndexOpts(t testing.TB, opts Options, prods []catalog.Product) *Index {
	t.Helper()
	x, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if err := x.Upsert(prods); err != nil {
		t.Fatal(err)
	}
	return x
}

func doSearch(t testing.TB, x *Index, q Query) Result {
	t.Helper()
	r, err := x.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return r
}

func ids(r Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.ProductID
	}
	return out
}

func TestAnalyze(t *testing.T) {
	for in, want := range map[string]string{
		"Sneakers":                   "sneaker",
		"TRAINERS kicks":             "sneaker sneaker",
		"Men's T-Shirt":              "men tee",
		"t shirt":                    "tee",
		"Women's dresses":            "women dress",
		"hoodies & sweatshirts":      "hoodie hoodie",
		"jumper":                     "sweater",
		"Crème Suède shoes for kids": "creme suede shoe kid",
		"size 9.5 boots":             "size 9.5 boot",
		"grey pants":                 "gray pant",
		"trousers":                   "pant",
		"pumps":                      "heel",
		"boxes watches glasses":      "box watch glass",
		"dress tennis":               "dress tennis",
		"":                           "",
		"the and for":                "",
	} {
		if got := strings.Join(Analyze(in), " "); got != want {
			t.Errorf("Analyze(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithin1(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"sneaker", "sneaker", true}, {"sneakr", "sneaker", true}, {"sneakres", "sneakers", true},
		{"snaeker", "sneaker", true}, {"sneaker", "sneakerz", true}, {"sneaker", "speaker", true},
		{"sneaker", "sneakerzz", false}, {"sneaker", "snaekre", false}, {"abcd", "badc", false},
	} {
		if got := within1(c.a, c.b); got != c.want {
			t.Errorf("within1(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// small is a hand-made catalog for the ranking, synonym and typo tests.
func small() []catalog.Product {
	sz := func(s ...string) []catalog.Size {
		var out []catalog.Size
		for _, x := range s {
			in := !strings.HasSuffix(x, "!")
			out = append(out, catalog.Size{Size: strings.TrimSuffix(x, "!"), InStock: in})
		}
		return out
	}
	return []catalog.Product{
		{ProductID: "boot1", Name: "Black Leather Chelsea Boots", Brand: "Dr. Martens", Category: "Shoes", Gender: "women", Color: "Black", Material: "Leather", Price: 180, Sizes: sz("7", "8", "9!")},
		{ProductID: "tote", Name: "Canvas Tote Bag", Brand: "Everlane", Category: "Bags", Gender: "unisex", Color: "Tan", Price: 40,
			Description: "Roomy enough for a pair of boots, a laptop and lunch. Goes with boots and more boots."},
		{ProductID: "snk1", Name: "Classic White Sneakers", Brand: "Nike", Category: "Shoes", Gender: "men", Color: "White", Material: "Leather", Price: 95, Sizes: sz("9", "10", "11!")},
		{ProductID: "snk2", Name: "Court Trainers", Brand: "Adidas", Category: "Shoes", Gender: "unisex", Color: "Black", Price: 85, Sizes: sz("8", "9!")},
		{ProductID: "jmp", Name: "Merino Wool Jumper", Brand: "Uniqlo", Category: "Apparel", Gender: "women", Color: "Gray", Price: 50, Sizes: sz("S", "M", "L")},
		{ProductID: "tee", Name: "Cotton T-Shirt", Brand: "Gap", Category: "Apparel", Gender: "men", Color: "White", Price: 15, Sizes: sz("M", "XL")},
		{ProductID: "hood", Name: "Fleece Sweatshirt", Brand: "Gap", Category: "Apparel", Gender: "kids", Color: "Navy", Price: 35, Sizes: sz("S")},
		{ProductID: "pump", Name: "Patent Pumps", Brand: "Sam Edelman", Category: "Shoes", Gender: "women", Color: "Red", Price: 120, Sizes: sz("7", "8")},
		{ProductID: "trs", Name: "Slim Wool Trousers", Brand: "Zara", Category: "Apparel", Gender: "men", Color: "Grey", Price: 60, Sizes: sz("32", "34")},
		{ProductID: "hike", Name: "Waterproof Hiking Boots", Brand: "Merrell", Category: "Shoes", Gender: "men", Color: "Brown", Material: "Suede", Price: 150, Sizes: sz("9", "10")},
	}
}

func TestRanking(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			x := newIndex(t, eng, small())
			r := doSearch(t, x, Query{Text: "boots"})
			got := ids(r)
			if len(got) != 3 || got[2] != "tote" {
				t.Fatalf("boots: got %v, want the two boots first and the tote (description mentions) last", got)
			}
			if r.Relaxed || r.Corrected {
				t.Errorf("boots: relaxed=%v corrected=%v, want an exact AND match", r.Relaxed, r.Corrected)
			}
			for i := 1; i < len(r.Hits); i++ {
				if r.Hits[i].Score > r.Hits[i-1].Score {
					t.Errorf("hits not in score order: %+v", r.Hits)
				}
			}
			// AND: both words must match
			if got := ids(doSearch(t, x, Query{Text: "black leather boots"})); !slices.Equal(got, []string{"boot1"}) {
				t.Errorf("black leather boots: got %v, want [boot1] only", got)
			}
			// brand words count: "nike" finds the Nike sneaker
			if got := ids(doSearch(t, x, Query{Text: "nike"})); !slices.Equal(got, []string{"snk1"}) {
				t.Errorf("nike: got %v", got)
			}
		})
	}
}

func TestSynonyms(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			x := newIndex(t, eng, small())
			for q, want := range map[string][]string{
				"trainers":      {"snk1", "snk2"},
				"sneakers":      {"snk1", "snk2"},
				"kicks":         {"snk1", "snk2"},
				"sweater":       {"jmp"},
				"tee":           {"tee"},
				"t shirt":       {"tee"},
				"hoodie":        {"hood"},
				"heels":         {"pump"},
				"pants":         {"trs"},
				"gray trousers": {"trs"},
			} {
				got := ids(doSearch(t, x, Query{Text: q, Limit: 50}))
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Errorf("%q: got %v, want %v", q, got, want)
				}
			}
		})
	}
}

func TestTypoFallback(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			x := newIndex(t, eng, small())
			for _, q := range []string{"sneakres", "snekers", "sneeker", "white sneakres"} {
				r := doSearch(t, x, Query{Text: q})
				if len(r.Hits) == 0 || !strings.HasPrefix(r.Hits[0].ProductID, "snk") {
					t.Errorf("%q: got %v, want a sneaker first", q, ids(r))
				}
				if !r.Corrected {
					t.Errorf("%q: Corrected = false", q)
				}
			}
			// short words are never corrected
			if r := doSearch(t, x, Query{Text: "bots"}); len(r.Hits) != 0 {
				t.Errorf("bots: got %v, want nothing (words under 5 letters are not corrected)", ids(r))
			}
			// with the default MinResults (10) the tiny catalog relaxes "leather boots",
			// but its own AND match stays first
			x = newIndexOpts(t, Options{Engine: eng}, small())
			r := doSearch(t, x, Query{Text: "leather boots"})
			if len(r.Hits) == 0 || r.Hits[0].ProductID != "boot1" || r.Hits[0].Tier != 0 {
				t.Errorf("leather boots: got %+v, want boot1 first from the AND tier", r.Hits)
			}
			if !r.Relaxed {
				t.Errorf("leather boots: Relaxed = false with 1 AND match < MinResults")
			}
			for _, h := range r.Hits[1:] {
				if h.Tier != 1 {
					t.Errorf("leather boots: fallback hit %+v has tier %d", h, h.Tier)
				}
			}
			// ModeAnd never relaxes
			if r := doSearch(t, x, Query{Text: "leather boots", Mode: ModeAnd}); len(r.Hits) != 1 || r.Relaxed {
				t.Errorf("leather boots ModeAnd: %+v", r)
			}
		})
	}
}

var tokCache sync.Map // *catalog.Product -> []string

// brute is the reference: products whose tokens include every query token and that
// pass the filters.
func brute(prods []catalog.Product, q Query) map[string]bool {
	f := q.filters()
	want := Analyze(q.Text)
	out := map[string]bool{}
	for i := range prods {
		p := &prods[i]
		var toks []string
		if v, ok := tokCache.Load(p); ok {
			toks = v.([]string)
		} else {
			var sb strings.Builder
			toks = indexText(p, &sb, nil, map[string]bool{})
			tokCache.Store(p, toks)
		}
		ok := true
		for _, w := range want {
			if !slices.Contains(toks, w) {
				ok = false
				break
			}
		}
		r := row{p: p, brand: normKey(p.Brand), category: normKey(p.Category), gender: normGender(p.Gender), sizes: inStockSizes(p)}
		if ok && f.match(&r) {
			out[p.ProductID] = true
		}
	}
	return out
}

func TestFiltersAgainstBruteForce(t *testing.T) {
	prods := genCatalog(1000, 3)
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			x := newIndex(t, eng, prods)
			r := rand.New(rand.NewPCG(4, 4))
			checked := 0
			for i := 0; i < 60; i++ {
				q := Query{Limit: MaxLimit, Mode: ModeAnd, Facets: true}
				switch i % 3 {
				case 0:
					q.Text = pick(r, headQueries)
				case 1:
					q.Text = strings.ToLower(pick(r, genColors) + " " + pick(r, genShoes))
				}
				if r.IntN(2) == 0 {
					q.Brand = strings.ToUpper(pick(r, genBrands[:8])) // case-insensitive
				}
				if r.IntN(3) == 0 {
					q.Gender = pick(r, genGenders)
				}
				if r.IntN(3) == 0 {
					q.Size = pick(r, append(append([]string{}, shoeSizes...), alphaSizes...))
				}
				if r.IntN(3) == 0 {
					q.PriceMin, q.PriceMax = 30, 90
				}
				if r.IntN(4) == 0 {
					q.Category = "shoes"
				}
				want := brute(prods, q)
				res := doSearch(t, x, q)
				if res.Total != len(want) {
					t.Errorf("%+v: total %d, brute force %d", q, res.Total, len(want))
					continue
				}
				for _, h := range res.Hits {
					if !want[h.ProductID] {
						t.Errorf("%+v: hit %s should not match", q, h.ProductID)
					}
				}
				if len(res.Hits) != min(len(want), q.Limit) {
					t.Errorf("%+v: %d hits, want %d", q, len(res.Hits), len(want))
				}
				checkFacets(t, q, prods, want, res.Facets)
				if len(want) > 0 {
					checked++
				}
			}
			if checked < 20 {
				t.Fatalf("only %d of the random queries matched anything: the test proves little", checked)
			}
		})
	}
}

func checkFacets(t *testing.T, q Query, prods []catalog.Product, want map[string]bool, f *Facets) {
	t.Helper()
	if f == nil {
		if len(want) > 0 {
			t.Errorf("%+v: no facets", q)
		}
		return
	}
	brands, genders := map[string]int{}, map[string]int{}
	price := make([]int, len(PriceRanges))
	for i := range prods {
		p := &prods[i]
		if !want[p.ProductID] {
			continue
		}
		brands[strings.ToLower(p.Brand)]++
		genders[normGender(p.Gender)]++
		for k, b := range PriceRanges {
			if p.Price >= b.Min && p.Price < b.Max {
				price[k]++
			}
		}
	}
	for _, c := range f.Brand {
		if brands[strings.ToLower(c.Value)] != c.Count {
			t.Errorf("%+v: brand facet %q = %d, brute force %d", q, c.Value, c.Count, brands[strings.ToLower(c.Value)])
		}
	}
	if len(brands) <= facetSize && len(f.Brand) != len(brands) {
		t.Errorf("%+v: %d brand facets, want %d", q, len(f.Brand), len(brands))
	}
	for _, c := range f.Gender {
		if genders[c.Value] != c.Count {
			t.Errorf("%+v: gender facet %q = %d, want %d", q, c.Value, c.Count, genders[c.Value])
		}
	}
	for k, c := range f.Price {
		if c.Count != price[k] {
			t.Errorf("%+v: price facet %q = %d, want %d", q, c.Value, c.Count, price[k])
		}
	}
}

func TestFiltersSmall(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			x := newIndex(t, eng, small())
			for _, c := range []struct {
				q    Query
				want []string
			}{
				{Query{Text: "boots", Size: "9"}, []string{"hike"}},                // boot1 is out of stock in 9
				{Query{Text: "boots", Gender: "women"}, []string{"boot1", "tote"}}, // unisex counts
				{Query{Text: "sneakers", Gender: "men"}, []string{"snk1", "snk2"}},
				{Query{Text: "sneakers", Brand: "adidas"}, []string{"snk2"}},
				{Query{Text: "boots", PriceMin: 100, PriceMax: 160}, []string{"hike"}},
				{Query{Text: "boots", Category: "Bags"}, []string{"tote"}},
				{Query{Size: "xl"}, []string{"tee"}},
				{Query{Gender: "kids"}, []string{"hood"}},
			} {
				got := ids(doSearch(t, x, c.q))
				sort.Strings(got)
				if !slices.Equal(got, c.want) {
					t.Errorf("%+v: got %v, want %v", c.q, got, c.want)
				}
			}
		})
	}
}

func TestBrowse(t *testing.T) {
	prods := genCatalog(300, 5)
	x := newIndex(t, EngineMemory, prods)
	pop := map[string]float64{}
	for i, p := range prods {
		pop[p.ProductID] = float64((i * 37) % 101)
	}
	x.SetPopularity(pop)
	r := doSearch(t, x, Query{Limit: 50})
	if r.Total != len(prods) || len(r.Hits) != 50 {
		t.Fatalf("browse: total %d hits %d", r.Total, len(r.Hits))
	}
	for i := 1; i < len(r.Hits); i++ {
		if pop[r.Hits[i].ProductID] > pop[r.Hits[i-1].ProductID] {
			t.Fatalf("browse not in popularity order at %d", i)
		}
	}
	// pages join up
	p2 := doSearch(t, x, Query{Limit: 25, Offset: 25})
	if !slices.Equal(ids(p2), ids(r)[25:]) {
		t.Errorf("page 2 %v != hits 25..50 %v", ids(p2), ids(r)[25:])
	}
	// filtered browse agrees with brute force, facets too
	q := Query{Brand: "nike", Size: "M", Limit: 1000, Facets: true}
	want := brute(prods, q)
	got := doSearch(t, x, q)
	if got.Total != len(want) || len(got.Hits) != len(want) {
		t.Fatalf("filtered browse: total %d, want %d", got.Total, len(want))
	}
	checkFacets(t, q, prods, want, got.Facets)
	// a new product without popularity comes last; with popularity, first
	if err := x.Upsert([]catalog.Product{{ProductID: "new", Name: "New Thing"}}); err != nil {
		t.Fatal(err)
	}
	all := doSearch(t, x, Query{Limit: 1000})
	if all.Hits[len(all.Hits)-1].ProductID != "new" {
		t.Errorf("new product without popularity is not last")
	}
	pop["new"] = 1000
	x.SetPopularity(pop)
	if first := doSearch(t, x, Query{Limit: 1}).Hits[0].ProductID; first != "new" {
		t.Errorf("most popular product is %s, want new", first)
	}
}

func TestUpsertDelete(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			x := newIndex(t, eng, small())
			p, d, ok := x.Lookup("snk1")
			if !ok || p.Name != "Classic White Sneakers" || d < 0 {
				t.Fatalf("Lookup(snk1) = %v %d %v", p, d, ok)
			}
			// search, so that the result is cached
			if n := len(doSearch(t, x, Query{Text: "sandals"}).Hits); n != 0 {
				t.Fatalf("sandals before upsert: %d hits", n)
			}
			upd := catalog.Product{ProductID: "snk1", Name: "Beach Sandals", Brand: "Nike", Category: "Shoes", Price: 30}
			if err := x.Upsert([]catalog.Product{upd, {ProductID: "sl", Name: "Slide Sandals"}}); err != nil {
				t.Fatal(err)
			}
			got := ids(doSearch(t, x, Query{Text: "sandals"}))
			sort.Strings(got)
			if !slices.Equal(got, []string{"sl", "snk1"}) {
				t.Errorf("sandals after upsert: %v", got)
			}
			if got := ids(doSearch(t, x, Query{Text: "white sneakers", Mode: ModeAnd})); len(got) != 0 {
				t.Errorf("old text still found: %v", got)
			}
			p2, d2, _ := x.Lookup("snk1")
			if p2.Name != "Beach Sandals" || d2 != d {
				t.Errorf("after upsert Lookup = %q dense %d, want new name, same dense %d", p2.Name, d2, d)
			}
			if p.Name != "Classic White Sneakers" {
				t.Errorf("the old *Product was modified")
			}
			if err := x.Delete([]string{"snk1", "nope"}); err != nil {
				t.Fatal(err)
			}
			if got := ids(doSearch(t, x, Query{Text: "sandals"})); !slices.Equal(got, []string{"sl"}) {
				t.Errorf("sandals after delete: %v", got)
			}
			if _, _, ok := x.Lookup("snk1"); ok {
				t.Errorf("deleted product still looked up")
			}
			if x.Len() != len(small()) {
				t.Errorf("Len = %d, want %d", x.Len(), len(small()))
			}
			if n := doSearch(t, x, Query{Limit: 100}).Total; n != len(small()) {
				t.Errorf("browse total after delete = %d, want %d", n, len(small()))
			}
			// re-adding a deleted id keeps its dense index and appears once when browsing
			if err := x.Upsert([]catalog.Product{upd}); err != nil {
				t.Fatal(err)
			}
			if _, d3, _ := x.Lookup("snk1"); d3 != d {
				t.Errorf("re-added dense %d, want %d", d3, d)
			}
			if n := doSearch(t, x, Query{Limit: 100}).Total; n != len(small())+1 {
				t.Errorf("browse total after re-add = %d, want %d", n, len(small())+1)
			}
			// a bad product fails the whole call and changes nothing
			err := x.Upsert([]catalog.Product{{ProductID: "ok1", Name: "Fine"}, {ProductID: "", Name: "no id"}})
			if err == nil || !strings.Contains(err.Error(), "product_id") {
				t.Errorf("upsert with a missing id: err = %v", err)
			}
			if _, _, ok := x.Lookup("ok1"); ok {
				t.Errorf("a failed upsert changed the table")
			}
		})
	}
}

func TestConcurrentSearchDuringUpdates(t *testing.T) {
	prods := genCatalog(700, 6)
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			x, err := New(Options{Engine: eng, CompactAfter: 5})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if err := x.Upsert(prods[:500]); err != nil {
				t.Fatal(err)
			}
			qs := genQueries(200, 9)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			stop := make(chan struct{})
			for g := 0; g < 3; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						q := Query{Text: qs[(i*3+g)%len(qs)].text, Facets: i%5 == 0, Size: []string{"", "9", "M"}[i%3]}
						r, err := x.Search(context.Background(), q)
						if err != nil {
							errs <- err
							return
						}
						for _, h := range r.Hits {
							if p, _, ok := x.Lookup(h.ProductID); ok && p.ProductID != h.ProductID {
								errs <- fmt.Errorf("hit %s looked up as %s", h.ProductID, p.ProductID)
								return
							}
						}
						x.Lookup(prods[i%len(prods)].ProductID)
					}
				}(g)
			}
			for i := 0; i < 20; i++ {
				lo := 500 + i*10
				if err := x.Upsert(prods[lo : lo+10]); err != nil {
					t.Fatal(err)
				}
				if err := x.Delete([]string{prods[i].ProductID}); err != nil {
					t.Fatal(err)
				}
				if i == 10 {
					x.SetPopularity(map[string]float64{prods[600].ProductID: 5})
				}
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if x.Len() != 700-20 {
				t.Errorf("Len = %d, want 680", x.Len())
			}
			// every remaining product is findable by its own name
			for _, p := range prods[20:60] {
				r := doSearch(t, x, Query{Text: p.Name, Limit: 1000, Mode: ModeAnd, NoCache: true})
				found := false
				for _, h := range r.Hits {
					found = found || h.ProductID == p.ProductID
				}
				if !found {
					t.Errorf("%s (%q) not found by its name", p.ProductID, p.Name)
				}
			}
		})
	}
}

func TestEnginesAgree(t *testing.T) {
	prods := genCatalog(1200, 8)
	mem := newIndex(t, EngineMemory, prods)
	blv := newIndex(t, EngineBleve, prods)
	overlap, n := 0.0, 0
	for _, bq := range genQueries(150, 10) {
		q := Query{Text: bq.text, Limit: 20, NoCache: true}
		a, b := doSearch(t, mem, q), doSearch(t, blv, q)
		if a.Total != b.Total || a.Relaxed != b.Relaxed {
			t.Errorf("%q: memory total %d relaxed %v, bleve %d %v", bq.text, a.Total, a.Relaxed, b.Total, b.Relaxed)
			continue
		}
		if len(a.Hits) == 0 {
			continue
		}
		// scores differ in detail (Bleve uses sqrt(tf)), the top 20 should mostly agree
		set := map[string]bool{}
		for _, h := range b.Hits {
			set[h.ProductID] = true
		}
		same := 0
		for _, h := range a.Hits {
			if set[h.ProductID] {
				same++
			}
		}
		overlap += float64(same) / float64(len(a.Hits))
		n++
	}
	if n == 0 || overlap/float64(n) < 0.5 {
		t.Errorf("top-20 overlap between engines %.2f over %d queries, want >= 0.5", overlap/float64(n), n)
	}
	t.Logf("top-20 overlap memory vs bleve: %.2f over %d queries", overlap/float64(n), n)
}

func TestBadQueries(t *testing.T) {
	x := newIndex(t, EngineMemory, small())
	for _, q := range []Query{
		{Limit: -1}, {Limit: MaxLimit + 1}, {Offset: -3}, {PriceMin: math.NaN()}, {PriceMin: 50, PriceMax: 10},
		{Offset: MaxWindow}, {Text: strings.Repeat("a", MaxTextBytes+1)}, {PriceMax: -1}, {Mode: 9},
	} {
		if _, err := x.Search(context.Background(), q); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := x.Search(ctx, Query{Text: "boots"}); err == nil {
		t.Errorf("cancelled context: no error")
	}
	if _, err := New(Options{Engine: "lucene"}); err == nil {
		t.Errorf("unknown engine: no error")
	}
}

func TestCacheInvalidation(t *testing.T) {
	x := newIndex(t, EngineMemory, small())
	q := Query{Text: "boots"}
	a := doSearch(t, x, q)
	b := doSearch(t, x, q) // from the cache
	if !slices.Equal(ids(a), ids(b)) {
		t.Fatalf("cached result differs: %v vs %v", ids(a), ids(b))
	}
	b.Hits[0].ProductID = "mutated" // callers may modify what they get
	if c := doSearch(t, x, q); c.Hits[0].ProductID == "mutated" {
		t.Fatalf("modifying a result changed the cache")
	}
	if err := x.Upsert([]catalog.Product{{ProductID: "b2", Name: "Boots Boots Boots"}}); err != nil {
		t.Fatal(err)
	}
	if c := doSearch(t, x, q); c.Total != a.Total+1 {
		t.Errorf("after upsert total %d, want %d (stale cache?)", c.Total, a.Total+1)
	}
}

func FuzzSearch(f *testing.F) {
	x, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := x.Upsert(small()); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "boots", "sneakres", "t-shirt", "Ünïcødé 👟", "\xff\xfe", "9.5", "a b c d e f g h i j k l m n o p", "  ", "'s"} {
		f.Add(s, 10, 0, "")
	}
	f.Fuzz(func(t *testing.T, text string, limit, offset int, size string) {
		r, err := x.Search(context.Background(), Query{Text: text, Limit: limit, Offset: offset, Size: size, Facets: limit%2 == 0})
		if err != nil {
			return
		}
		if len(r.Hits) > max(limit, DefaultLimit) || r.Total < len(r.Hits) {
			t.Fatalf("%q: %d hits, total %d, limit %d", text, len(r.Hits), r.Total, limit)
		}
		for _, tok := range Analyze(text) {
			if tok == "" || strings.ContainsAny(tok, " \t\n") {
				t.Fatalf("%q: bad token %q", text, tok)
			}
		}
	})
}

// TestChampions checks that the one-word fast path (champion lists) returns what a
// full scan returns, also after updates.
func TestChampions(t *testing.T) {
	prods := genCatalog(3500, 11)
	x := newIndex(t, EngineMemory, prods)
	check := func(when string) {
		for _, w := range []string{"shoes", "apparel", "boots"} {
			fast := doSearch(t, x, Query{Text: w, Limit: 200, NoCache: true})
			full := doSearch(t, x, Query{Text: w, Limit: 200, NoCache: true, Facets: true}) // facets force the full scan
			if l := x.post[Analyze(w)[0]]; w != "boots" && l.champ == nil {
				t.Fatalf("%s: %q has %d postings but no champion list", when, w, l.len())
			}
			if fast.Total != full.Total || !slices.Equal(ids(fast), ids(full)) {
				t.Errorf("%s: %q fast path %d/%v…, full scan %d/%v…", when, w, fast.Total, ids(fast)[:3], full.Total, ids(full)[:3])
			}
		}
	}
	check("after load")
	upd := []catalog.Product{{ProductID: prods[5].ProductID, Name: "Shoes Shoes Shoes", Category: "Shoes"}}
	if err := x.Upsert(upd); err != nil {
		t.Fatal(err)
	}
	if err := x.Delete([]string{prods[7].ProductID, prods[8].ProductID}); err != nil {
		t.Fatal(err)
	}
	check("after updates")
	if top := doSearch(t, x, Query{Text: "shoes", Limit: 1}); top.Hits[0].ProductID != prods[5].ProductID {
		t.Errorf("the product named shoes three times is not first: %v", ids(top))
	}
}

func TestWarm(t *testing.T) {
	x := newIndex(t, EngineMemory, small())
	if err := x.Warm(context.Background(), []Query{{Text: "boots"}, {Text: "sneakers", Limit: 5}}); err != nil {
		t.Fatal(err)
	}
	key := (&Query{Text: "boots", Limit: DefaultLimit}).cacheKey(Analyze("boots"), &filters{})
	if _, ok := x.cache.get(key, x.Generation()); !ok {
		t.Errorf("warmed query not in the cache")
	}
	if err := x.Warm(context.Background(), []Query{{Limit: -5}}); err == nil {
		t.Errorf("warming with a bad query: no error")
	}
}

// match is the reference filter the tests check the engines against.
func (f *filters) match(r *row) bool {
	if f.brand != "" && r.brand != f.brand || f.category != "" && r.category != f.category {
		return false
	}
	if f.gender != "" && r.gender != f.gender && !((f.gender == "men" || f.gender == "women") && r.gender == "unisex") {
		return false
	}
	if f.priced() {
		pr := r.p.Price
		if pr <= 0 || pr < f.priceMin || f.priceMax > 0 && pr > f.priceMax {
			return false
		}
	}
	if f.size != "" && !contains(r.sizes, f.size) {
		return false
	}
	return true
}

func TestUnknownWordDropped(t *testing.T) {
	for _, eng := range engines {
		x := newIndex(t, eng, small())
		r := doSearch(t, x, Query{Text: "qzxwv boots"})
		if len(r.Hits) != 3 || !r.Relaxed {
			t.Errorf("%s: qzxwv boots: %d hits relaxed=%v, want the 3 boots matches, relaxed", eng, len(r.Hits), r.Relaxed)
		}
		if r := doSearch(t, x, Query{Text: "qzxwv boots", Mode: ModeAnd}); len(r.Hits) != 0 {
			t.Errorf("%s: ModeAnd with a word nothing has: %d hits", eng, len(r.Hits))
		}
		if r := doSearch(t, x, Query{Text: "qzxwv"}); len(r.Hits) != 0 || r.Total != 0 {
			t.Errorf("%s: a word nothing has: %d hits, total %d", eng, len(r.Hits), r.Total)
		}
	}
}
