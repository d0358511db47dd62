package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
)

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Products, cfg.Customers, cfg.Days = 500, 1000, 5
	return cfg
}

func generate(t *testing.T, cfg Config) (string, Stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := Generate(context.Background(), cfg, dir, nil)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, st
}

func readLines(t *testing.T, path string, fn func(i int, line []byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	i := 0
	for sc.Scan() {
		fn(i, sc.Bytes())
		i++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func readEvents(t *testing.T, dir string) []event.Event {
	t.Helper()
	var evs []event.Event
	readLines(t, filepath.Join(dir, "events.jsonl"), func(i int, line []byte) {
		var e event.Event
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("events.jsonl line %d does not decode: %v: %s", i+1, err, line)
		}
		evs = append(evs, e)
	})
	return evs
}

type truthLine struct {
	Kind             string             `json:"kind"`
	CustomerID       string             `json:"customer_id"`
	ProductID        string             `json:"product_id"`
	PersonalStrength float64            `json:"personal_strength"`
	Brands           map[string]float64 `json:"brands"`
	Wearers          []struct {
		Gender string         `json:"gender"`
		Sizes  map[string]any `json:"sizes"`
	} `json:"wearers"`
	TotalOffset float64 `json:"total_offset"`
	Wearer      int     `json:"wearer"`
	Size        string  `json:"size"`
	SizeSystem  string  `json:"size_system"`
	SizeError   float64 `json:"size_error"`
	Returned    bool    `json:"returned"`
	Reason      string  `json:"reason"`
	Source      string  `json:"source"`
	Brand       string  `json:"brand"`
}

func readTruth(t *testing.T, dir string) map[string][]truthLine {
	t.Helper()
	out := map[string][]truthLine{}
	readLines(t, filepath.Join(dir, "truth.jsonl"), func(i int, line []byte) {
		if bytes.HasPrefix(line, []byte(`{"kind":"search"`)) {
			out["search"] = append(out["search"], truthLine{Kind: "search"})
			return
		}
		var tl truthLine
		if err := json.Unmarshal(line, &tl); err != nil {
			t.Fatalf("truth.jsonl line %d does not decode: %v", i+1, err)
		}
		if tl.Kind == "" {
			t.Fatalf("truth.jsonl line %d has no kind: %s", i+1, line)
		}
		out[tl.Kind] = append(out[tl.Kind], tl)
	})
	return out
}

func TestEveryEventValidatesAndIsOrdered(t *testing.T) {
	t.Parallel()
	cfg := smallConfig()
	dir, st := generate(t, cfg)
	evs := readEvents(t, dir)
	if len(evs) != st.Events || len(evs) < 3000 {
		t.Fatalf("events.jsonl has %d events, Stats says %d (want a few thousand)", len(evs), st.Events)
	}
	ids := map[string]bool{}
	var last time.Time
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	for i := range evs {
		e := &evs[i]
		if errs := e.Validate(i); len(errs) > 0 {
			t.Fatalf("event %d is invalid: %v", i, errs)
		}
		if e.Timestamp.Before(last) {
			t.Fatalf("event %d at %v comes before the previous one at %v", i, e.Timestamp, last)
		}
		last = e.Timestamp
		if e.Timestamp.Before(cfg.Start) || !e.Timestamp.Before(end) {
			t.Fatalf("event %d at %v is outside the world's days", i, e.Timestamp)
		}
		if ids[e.MessageID] {
			t.Fatalf("messageId %q repeats", e.MessageID)
		}
		ids[e.MessageID] = true
		if e.AnonymousID == "" {
			t.Fatalf("event %d has no anonymousId", i)
		}
	}
	for _, name := range []string{event.ProductsSearched, event.ProductListViewed, event.ProductClicked, event.ProductViewed,
		event.ProductAdded, event.OrderCompleted, event.ProductReturned, event.FitSurveyCompleted, event.IdentifyName} {
		if st.ByEvent[name] == 0 {
			t.Errorf("no %q events in the world: %v", name, st.ByEvent)
		}
	}
	// the catalog reads back through the catalog package
	f, err := os.Open(filepath.Join(dir, "catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, outOfStock, systems := 0, 0, map[string]int{}
	err = catalog.Read(f, catalog.ReadOptions{}, func(p catalog.Product) error {
		n++
		systems[p.SizeSystem]++
		for _, s := range p.Sizes {
			if !s.InStock {
				outOfStock++
			}
		}
		return nil
	}, func(le *catalog.LineError) error { t.Errorf("catalog line: %v", le); return nil })
	if err != nil || n != cfg.Products {
		t.Fatalf("catalog: %d products, err %v", n, err)
	}
	if outOfStock == 0 || systems["us_shoe"] == 0 || systems["alpha"] == 0 || systems["numeric"] == 0 {
		t.Errorf("catalog lacks variety: %d sizes out of stock, systems %v", outOfStock, systems)
	}
	truth := readTruth(t, dir)
	for _, k := range []string{"config", "brand", "product", "customer", "purchase", "search"} {
		if len(truth[k]) == 0 {
			t.Errorf("truth.jsonl has no %q records", k)
		}
	}
	if len(truth["customer"]) != cfg.Customers || len(truth["product"]) != cfg.Products {
		t.Errorf("truth has %d customers and %d products", len(truth["customer"]), len(truth["product"]))
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	t.Parallel()
	cfg := smallConfig()
	cfg.Days = 3
	cfg.Workers = 1
	a, _ := generate(t, cfg)
	cfg.Workers = 3 // the number of workers never changes the world
	b, _ := generate(t, cfg)
	for _, f := range []string{"catalog.jsonl", "events.jsonl", "truth.jsonl"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) && f != "truth.jsonl" {
			t.Errorf("%s differs between two runs with the same seed (%d and %d bytes)", f, len(x), len(y))
		}
		if f == "truth.jsonl" { // the config line records the worker count; the rest must match
			xi, yi := bytes.IndexByte(x, '\n'), bytes.IndexByte(y, '\n')
			if !bytes.Equal(x[xi:], y[yi:]) {
				t.Errorf("truth.jsonl differs between two runs with the same seed")
			}
		}
	}
	cfg.Seed++
	c, _ := generate(t, cfg)
	x, _ := os.ReadFile(filepath.Join(a, "events.jsonl"))
	y, _ := os.ReadFile(filepath.Join(c, "events.jsonl"))
	if bytes.Equal(x, y) {
		t.Error("a different seed gave the same events")
	}
}

func TestClickThroughFallsWithPosition(t *testing.T) {
	t.Parallel()
	dir, st := generate(t, smallConfig())
	m, err := Summarize(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctr := m.CTRByPosition(10)
	if !(ctr[0] > ctr[1] && ctr[1] > ctr[4] && ctr[4] > ctr[9]) {
		t.Errorf("click-through does not fall with position: %v", ctr)
	}
	// Summarize recounts from the files exactly what Generate counted
	if !reflect.DeepEqual(m.ByEvent, st.ByEvent) || !reflect.DeepEqual(m.Impressions, st.Impressions) ||
		!reflect.DeepEqual(m.Clicks, st.Clicks) || m.LinesBySizeError != st.LinesBySizeError ||
		m.SizeReturnsBySizeError != st.SizeReturnsBySizeError || m.Searches != st.Searches || m.Orders != st.Orders ||
		m.ClickedSearches != st.ClickedSearches || m.ClickedSearches == 0 {
		t.Errorf("Summarize differs from Stats:\nsummarize %+v\nstats     %+v", m, st.Metrics)
	}
	if d := m.RepeatedSearches - st.RepeatedSearches; d < -3 || d > 3 || m.RepeatedSearches == 0 {
		t.Errorf("repeated searches: Summarize %d, Stats %d", m.RepeatedSearches, st.RepeatedSearches)
	}
}

func TestPositionBiasOverride(t *testing.T) {
	t.Parallel()
	ratio := func(bias float64) float64 {
		cfg := smallConfig()
		cfg.Days = 3
		cfg.Click.PositionBias = bias
		_, st := generate(t, cfg)
		ctr := st.CTRByPosition(5)
		return ctr[4] / ctr[0]
	}
	weak, strong := ratio(0.3), ratio(2)
	if !(strong < weak/2) {
		t.Errorf("CTR@5/CTR@1 with position bias 2 = %.3f, with 0.3 = %.3f: a stronger bias must cut it", strong, weak)
	}
	cfg := smallConfig()
	cfg.Days = 3
	cfg.Click.Model = "cascade"
	_, st := generate(t, cfg)
	if ctr := st.CTRByPosition(10); !(ctr[0] > ctr[9]) {
		t.Errorf("cascade click-through does not fall with position: %v", ctr)
	}
}

func TestReturnOverrides(t *testing.T) {
	t.Parallel()
	cfg := smallConfig()
	cfg.Returns.BaseRate = 0
	dir, _ := generate(t, cfg)
	sizeReturns := 0
	for _, e := range readEvents(t, dir) {
		if e.Event != event.ProductReturned {
			continue
		}
		p, _ := e.Props()
		switch p.Reason {
		case "too_small", "too_large":
			sizeReturns++
		default:
			t.Fatalf("a %q return with returns.base_rate 0", p.Reason)
		}
	}
	if sizeReturns == 0 {
		t.Error("no size returns at all")
	}
	cfg.Returns.SizeProb = []float64{0, 0, 0, 0, 0}
	cfg.Returns.WidthProb = 0
	_, st := generate(t, cfg)
	if st.Returns != 0 || st.ByEvent[event.ProductReturned] != 0 {
		t.Errorf("%d returns with every return probability 0", st.Returns)
	}
}

var (
	mediumOnce  sync.Once
	mediumDir   string
	mediumStats Stats
	mediumErr   error
)

// mediumWorld is a larger world shared by the tests that need more purchases.
func mediumWorld(t *testing.T) (Config, string, Stats) {
	cfg := smallConfig()
	cfg.Products, cfg.Customers, cfg.Days = 1000, 3000, 8
	mediumOnce.Do(func() {
		mediumDir, mediumErr = os.MkdirTemp("", "bespoke-sim-test-")
		if mediumErr == nil {
			mediumStats, mediumErr = Generate(context.Background(), cfg, mediumDir, nil)
		}
	})
	if mediumErr != nil {
		t.Fatal(mediumErr)
	}
	return cfg, mediumDir, mediumStats
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mediumDir != "" {
		os.RemoveAll(mediumDir)
	}
	os.Exit(code)
}

func TestSizeReturnsRiseWithSizeError(t *testing.T) {
	_, dir, st := mediumWorld(t)
	rate := st.SizeReturnRateBySizeError()
	big := float64(st.SizeReturnsBySizeError[3]+st.SizeReturnsBySizeError[4]) / float64(st.LinesBySizeError[3]+st.LinesBySizeError[4])
	if !(rate[0] < rate[1] && rate[1] < rate[2] && rate[1] < big) {
		t.Errorf("size-related return rate does not rise with |size error|: %v (lines %v)", rate, st.LinesBySizeError)
	}
	// the truth's size errors follow from its own sizes and offsets
	truth := readTruth(t, dir)
	prods := map[string]truthLine{}
	for _, p := range truth["product"] {
		prods[p.ProductID] = p
	}
	custs := map[string]truthLine{}
	for _, c := range truth["customer"] {
		custs[c.CustomerID] = c
	}
	checked := 0
	for _, pl := range truth["purchase"] {
		if pl.SizeSystem != "us_shoe" {
			continue
		}
		c := custs[pl.CustomerID]
		label, _ := strconv.ParseFloat(pl.Size, 64)
		trueSize := c.Wearers[pl.Wearer].Sizes["us_shoe"].(float64)
		want := math.Round((label+prods[pl.ProductID].TotalOffset-trueSize)*2) / 2
		if want != pl.SizeError {
			t.Fatalf("purchase %+v: size error %v, truth says %v", pl, pl.SizeError, want)
		}
		if pl.Returned && pl.Reason == "too_small" && pl.SizeError > 0 {
			t.Fatalf("a too-large purchase returned as too_small: %+v", pl)
		}
		checked++
	}
	if checked < 50 {
		t.Errorf("only %d shoe purchases checked", checked)
	}
}

func TestHeterogeneousCustomers(t *testing.T) {
	cfg, dir, _ := mediumWorld(t)
	truth := readTruth(t, dir)
	var strengths []float64
	custs := map[string]truthLine{}
	shared := 0
	for _, c := range truth["customer"] {
		strengths = append(strengths, c.PersonalStrength)
		custs[c.CustomerID] = c
		if len(c.Wearers) == 2 {
			shared++
			if c.Wearers[0].Sizes["us_shoe"] == c.Wearers[1].Sizes["us_shoe"] && c.Wearers[0].Sizes["alpha"] == c.Wearers[1].Sizes["alpha"] {
				t.Logf("shared account %s with equal sizes", c.CustomerID)
			}
		}
	}
	mean, sd := meanSD(strengths)
	lo, hi := 0, 0
	for _, s := range strengths {
		if s < 0.2 {
			lo++
		}
		if s > 0.8 {
			hi++
		}
	}
	if sd < 0.15 || lo < len(strengths)/20 || hi < len(strengths)/20 {
		t.Errorf("personal strength not spread: mean %.2f sd %.2f, %d below 0.2, %d above 0.8", mean, sd, lo, hi)
	}
	if share := float64(shared) / float64(cfg.Customers); share < 0.03 || share > 0.12 {
		t.Errorf("shared accounts: %.3f of customers, want about %.2f", share, cfg.Customer.SharedAccountShare)
	}
	// purchases concentrate on favourite brands more for strongly personal customers
	brandOf := map[string]string{}
	readLines(t, filepath.Join(dir, "catalog.jsonl"), func(_ int, line []byte) {
		var p catalog.Product
		json.Unmarshal(line, &p)
		brandOf[p.ProductID] = p.Brand
	})
	var fav, n [2]int
	secondWearer := 0
	for _, pl := range truth["purchase"] {
		c := custs[pl.CustomerID]
		g := -1
		switch {
		case c.PersonalStrength < 0.35:
			g = 0
		case c.PersonalStrength > 0.65:
			g = 1
		}
		if pl.Wearer == 1 {
			secondWearer++
		}
		if g < 0 {
			continue
		}
		n[g]++
		if c.Brands[brandOf[pl.ProductID]] > 0 {
			fav[g]++
		}
	}
	gen, pers := float64(fav[0])/float64(n[0]), float64(fav[1])/float64(n[1])
	if !(pers > gen*1.3) {
		t.Errorf("favourite-brand share of purchases: strongly personal %.3f (n=%d), generic %.3f (n=%d)", pers, n[1], gen, n[0])
	}
	if secondWearer == 0 {
		t.Error("no purchase for a second wearer of a shared account")
	}
}

func meanSD(v []float64) (float64, float64) {
	s, ss := 0.0, 0.0
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)))
}

func TestSurveyAnswersPartial(t *testing.T) {
	t.Parallel()
	cfg := smallConfig()
	cfg.Customers = 3000
	cfg.Survey.Share = 0.5
	cfg.Survey.HeightCM, cfg.Survey.WeightKG, cfg.Survey.ShoeWidth, cfg.Survey.Age = 0.8, 0.3, 0.5, 0
	dir, _ := generate(t, cfg)
	var n, height, weight, width, age int
	for _, e := range readEvents(t, dir) {
		if e.Event != event.FitSurveyCompleted {
			continue
		}
		n++
		p, _ := e.Props()
		if p.HeightCM > 0 {
			height++
		}
		if p.WeightKG > 0 {
			weight++
		}
		if p.ShoeWidth != "" {
			width++
		}
		if p.Age > 0 {
			age++
		}
	}
	if n < 300 {
		t.Fatalf("only %d surveys", n)
	}
	near := func(name string, got int, want float64) {
		if r := float64(got) / float64(n); math.Abs(r-want) > 0.06 {
			t.Errorf("%s answered in %.3f of surveys, configured %.2f", name, r, want)
		}
	}
	near("height_cm", height, 0.8)
	near("weight_kg", weight, 0.3)
	near("shoe_width", width, 0.5)
	near("age", age, 0)
	// about half of the customers who came back answered (some never came)
	if r := float64(n) / float64(cfg.Customers); r < 0.2 || r > 0.5 {
		t.Errorf("%.3f of customers answered the survey with survey.share 0.5", r)
	}
}

func TestLoadConfig(t *testing.T) {
	base := DefaultConfig()
	cfg, err := LoadConfig(base, strings.NewReader(`{"seed":9,"click":{"position_bias":1.7},"returns":{"size_prob":[0,0.1,0.2,0.3,0.4]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seed != 9 || cfg.Click.PositionBias != 1.7 || cfg.Click.Model != "pbm" || cfg.Returns.SizeProb[4] != 0.4 || cfg.Products != base.Products {
		t.Errorf("overrides not applied on top of the base: %+v", cfg)
	}
	if base.Returns.SizeProb[4] == 0.4 {
		t.Error("LoadConfig modified the base's slices")
	}
	for _, c := range []struct{ in, want string }{
		{`{"click":{"positon_bias":1}}`, `unknown field "positon_bias"`},
		{`{"colour":"red"}`, `unknown field "colour"`},
		{`{"click":{"position_bias":-1}}`, "click.position_bias must be between 0 and 5"},
		{`{"click":{"model":"dbn"}}`, `click.model must be "pbm" or "cascade"`},
		{`{"returns":{"size_prob":[0.1]}}`, "returns.size_prob must have 5 values"},
		{`{"days":"ten"}`, `"days" has the wrong type`},
		{`{"days":0}`, "days must be between 1"},
		{`{"seed":1} {"seed":2}`, "data after its JSON object"},
		{`{`, "not valid"},
		{`{"start":"yesterday"}`, "not valid"},
	} {
		_, err := LoadConfig(base, strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadConfig(%s) = %v; want an error containing %q", c.in, err, c.want)
		}
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(`{"seed":3,"click":{"position_bias":1.2}}`))
	f.Add([]byte(`{"returns":{"size_prob":[0,0,0,0,0]},"diurnal":[1]}`))
	f.Add([]byte(`{"start":"2026-01-01T00:00:00Z","days":1e9}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadConfig(DefaultConfig(), bytes.NewReader(data))
		if err != nil {
			return
		}
		if verr := cfg.Validate(); verr != nil {
			t.Fatalf("LoadConfig accepted a config that does not validate: %v", verr)
		}
	})
}

func TestOracle(t *testing.T) {
	w, err := NewWorld(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := w.OracleRanking("C000001", "black boots", 10)
	if err != nil || len(ids) == 0 {
		t.Fatalf("oracle: %v %v", ids, err)
	}
	// a one-word query matches its candidates equally: the oracle orders them by utility
	// (products for another gender than the customer's come after)
	ids, err = w.OracleRanking("C000001", "boots", 30)
	if err != nil || len(ids) < 10 {
		t.Fatalf("oracle: %v %v", ids, err)
	}
	g := w.customers[0].wearers[0].gender
	prevU, prevOK := math.Inf(1), true
	for _, id := range ids {
		u, err := w.Utility("C000001", id)
		if err != nil {
			t.Fatal(err)
		}
		pi, _ := w.productIndex(id)
		ok := genderOK(g, w.products[pi].gender)
		if ok && !prevOK {
			t.Fatalf("oracle ranks a product for another gender above %s", id)
		}
		if ok == prevOK && u > prevU+1e-9 {
			t.Fatalf("oracle ranking is not by utility: %s has %.3f after %.3f", id, u, prevU)
		}
		prevU, prevOK = u, ok
	}
	if _, err := w.Utility("C999999", "P000001"); err == nil {
		t.Error("unknown customer accepted")
	}
	if _, err := w.OracleRanking("C000001", "boots", 0); err == nil {
		t.Error("k = 0 accepted")
	}
	if len(w.Products()) != 500 {
		t.Errorf("%d products", len(w.Products()))
	}
}

// The size oracle agrees with itself: a product's sizes are ever larger on the wearer
// by half sizes or more, the shopper's own pick is one of them, and bad ids are errors.
func TestSizeOracle(t *testing.T) {
	cfg := smallConfig()
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prods := w.Products()
	checked := 0
	for i := range prods[:200] {
		p := &prods[i]
		if len(p.Sizes) < 2 {
			continue
		}
		prev := math.Inf(-1)
		for _, z := range p.Sizes {
			e, _, ok, err := w.SizeFit(CustomerID(0), 0, p.ProductID, z.Size)
			if err != nil || !ok {
				t.Fatalf("%s size %s: ok %v err %v", p.ProductID, z.Size, ok, err)
			}
			if e < prev+0.5-1e-9 || math.Mod(e*2, 1) != 0 {
				t.Fatalf("%s: size %s is %v sizes off after %v", p.ProductID, z.Size, e, prev)
			}
			prev = e
		}
		own, ok, err := w.ShopperSize(CustomerID(0), 0, p.ProductID)
		if err != nil || !ok || slices.IndexFunc(p.Sizes, func(z catalog.Size) bool { return z.Size == own }) < 0 {
			t.Fatalf("%s: shopper's size %q ok %v err %v", p.ProductID, own, ok, err)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no sized products")
	}
	if _, _, _, err := w.SizeFit("C999999999", 0, prods[0].ProductID, "9"); err == nil {
		t.Error("unknown customer accepted")
	}
	if _, _, _, err := w.SizeFit(CustomerID(0), 0, "nope", "9"); err == nil {
		t.Error("unknown product accepted")
	}
	if n, _ := w.Wearers(CustomerID(0)); n == 1 {
		if _, _, _, err := w.SizeFit(CustomerID(0), 1, prods[0].ProductID, "9"); err == nil {
			t.Error("a second wearer of a one-wearer account accepted")
		}
	}
}

// A trusting shopper applies advice anchored on the usual size to the size they
// believe is theirs: "usual" is their own pick, "size_up" by n steps lands n steps
// (or the first size beyond, where the chart skips half sizes) above the size they
// believe is theirs, "size_down" as far below, and other advice is the named size.
func TestAdvisedSize(t *testing.T) {
	w, err := NewWorld(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	prods := w.Products()
	cust := CustomerID(0)
	checked := 0
	for i := range prods {
		p := &prods[i]
		if len(p.Sizes) < 5 {
			continue
		}
		own, ok, err := w.ShopperSize(cust, 0, p.ProductID)
		if err != nil || !ok {
			continue // a product cut for the other wearer's system or none
		}
		if got, _, _ := w.AdvisedSize(cust, 0, p.ProductID, "nonsense", "usual", 0); got != own {
			t.Fatalf("%s: usual advice gives %q, own pick %q", p.ProductID, got, own)
		}
		if got, ok, _ := w.AdvisedSize(cust, 0, p.ProductID, p.Sizes[0].Size, "size", 0); !ok || got != p.Sizes[0].Size {
			t.Fatalf("%s: named advice %q gives %q", p.ProductID, p.Sizes[0].Size, got)
		}
		if _, ok, _ := w.AdvisedSize(cust, 0, p.ProductID, "no such size", "size", 0); ok {
			t.Fatalf("%s: a named size the product does not have was taken", p.ProductID)
		}
		// the belief, without brand awareness: the size "usual" would be for a shopper unaware of brands
		ci, _ := w.customerIndex(cust)
		pi, _ := w.productIndex(p.ProductID)
		wp := &w.products[pi]
		base := wp.nearestSize(float64(w.customers[ci].wearers[0].belief[wp.sys]))
		up, _, _ := w.AdvisedSize(cust, 0, p.ProductID, "", "size_up", 2)
		down, _, _ := w.AdvisedSize(cust, 0, p.ProductID, "", "size_down", -1)
		ju := slices.IndexFunc(p.Sizes, func(z catalog.Size) bool { return z.Size == up })
		jd := slices.IndexFunc(p.Sizes, func(z catalog.Size) bool { return z.Size == down })
		step := sizeStep[wp.sys]
		if ju < 0 || (ju < len(p.Sizes)-1 && float64(wp.sizes[ju]) < float64(wp.sizes[base])+2*step-1e-6) || (ju > 0 && ju-1 > base && float64(wp.sizes[ju-1]) >= float64(wp.sizes[base])+2*step-1e-6) {
			t.Fatalf("%s: two steps up from %s gives %q", p.ProductID, p.Sizes[base].Size, up)
		}
		if jd < 0 || (jd > 0 && float64(wp.sizes[jd]) > float64(wp.sizes[base])-step+1e-6) {
			t.Fatalf("%s: a step down from %s gives %q", p.ProductID, p.Sizes[base].Size, down)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d products checked", checked)
	}
	if _, _, err := w.AdvisedSize("C999999999", 0, prods[0].ProductID, "9", "size", 0); err == nil {
		t.Error("unknown customer accepted")
	}
}

// A trusting shopper acts on advice meant for them, and on advice anchored on the size
// they know as theirs whoever it is for; the store's generic size is not theirs.
func TestSizeAdviceTaken(t *testing.T) {
	for _, c := range []struct {
		adv  sizeAdvice
		want bool
	}{
		{sizeAdvice{label: "9", basis: "purchases", advice: "usual"}, true},
		{sizeAdvice{label: "9", basis: "survey", advice: "size"}, true},
		{sizeAdvice{label: "9"}, true}, // the store does not say: the page just shows a size
		{sizeAdvice{label: "9", basis: "population", advice: "size"}, false},
		{sizeAdvice{label: "9", basis: "product", advice: "size"}, false},
		{sizeAdvice{label: "9.5", basis: "population", advice: "size_up", steps: 1}, true},
		{sizeAdvice{label: "8.5", basis: "body", advice: "size_down", steps: -1}, true},
	} {
		if got := c.adv.taken(); got != c.want {
			t.Errorf("%+v taken = %v, want %v", c.adv, got, c.want)
		}
	}
}
