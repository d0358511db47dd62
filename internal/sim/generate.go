package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// offline is the store before personalization: the built-in ranker, no size advice.
type offline struct{ w *World }

func (o offline) search(_ context.Context, wk *worker, q, _, _ string) (searchResult, error) {
	h := hash(uint64(o.w.cfg.Seed), domSearch, uint64(wk.cust), uint64(wk.day), uint64(wk.seq))
	id := string(appendHex([]byte("S-"), h, 16))
	return searchResult{id: id, items: o.w.rankBuiltin(q, o.w.cfg.Query.ListSize, wk.sc)}, nil
}

func (offline) size(context.Context, string, string, int) (sizeAdvice, error) {
	return sizeAdvice{}, nil
}
func (offline) live() bool                           { return false }
func (offline) optOut(context.Context, string) error { return nil }

// Generate writes the world of cfg to outDir: catalog.jsonl (one catalog.Product per
// line), events.jsonl (CONTRACT §2 events ordered by timestamp) and truth.jsonl (the
// hidden truth, one JSON object per line with a "kind"). progress, if not nil, gets a
// line per simulated day.
func Generate(ctx context.Context, cfg Config, outDir string, progress io.Writer) (Stats, error) {
	begin := time.Now()
	w, err := NewWorld(cfg)
	if err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("cannot create world directory %q: %w", outDir, err)
	}
	progressf(progress, "world: %d products, %d customers, %d days (built in %v)\n", len(w.products), len(w.customers), cfg.Days, time.Since(begin).Round(time.Millisecond))
	if err := writeFile(filepath.Join(outDir, "catalog.jsonl"), w.writeCatalog); err != nil {
		return Stats{}, err
	}
	var st Stats
	err = writeFile(filepath.Join(outDir, "events.jsonl"), func(ev *bufio.Writer) error {
		return writeFile(filepath.Join(outDir, "truth.jsonl"), func(tr *bufio.Writer) error {
			if err := w.writeTruthHeader(tr); err != nil {
				return err
			}
			var err error
			st, err = w.play(ctx, 0, cfg.Days, offline{w}, nil, ev, tr, progress)
			return err
		})
	})
	st.Duration = time.Since(begin)
	if err != nil {
		return st, err
	}
	progressf(progress, "wrote %d events in %v\n", st.Events, st.Duration.Round(time.Millisecond))
	return st, nil
}

// play simulates days [from, to). Offline, the day's event lines go to events and
// truth lines to truth; live, events go out through the workers' out functions
// (set by the caller) and truth lines to truth if not nil. dayDone runs after each day.
func (w *World) play(ctx context.Context, from, to int, e env, setup func(wk *worker), events, truth io.Writer, progress io.Writer) (Stats, error) {
	if from != w.nextDay {
		return Stats{}, fmt.Errorf("cannot play days [%d, %d): the world is at day %d; windows must be played in order", from, to, w.nextDay)
	}
	if to > w.cfg.Days || to < from {
		return Stats{}, fmt.Errorf("cannot play days [%d, %d): the world has days [0, %d)", from, to, w.cfg.Days)
	}
	st := Stats{Metrics: newMetrics(), Products: len(w.products), Customers: len(w.customers)}
	workers := make([]*worker, w.workerCount())
	for i := range workers {
		workers[i] = w.newWorker(i, e)
		if setup != nil {
			setup(workers[i])
		}
	}
	for day := from; day < to; day++ {
		t0 := time.Now()
		before := st.Events
		for _, r := range w.future[day] {
			if !r.truth {
				st.ByEvent[r.name]++
				st.Events++
			}
		}
		if lp, ok := e.(*liveEnv); ok {
			if err := lp.startDay(day, w.future[day]); err != nil {
				return st, err
			}
			delete(w.future, day)
		}
		recs, err := w.runDay(ctx, day, workers)
		if err != nil {
			return st, err
		}
		nEvents := 0
		for _, r := range recs {
			dst := events
			if r.truth {
				dst = truth
			} else {
				nEvents++
			}
			if dst == nil {
				continue
			}
			if _, err := dst.Write(r.line); err != nil {
				return st, fmt.Errorf("cannot write day %d: %w", day, err)
			}
			if _, err := dst.Write([]byte{'\n'}); err != nil {
				return st, fmt.Errorf("cannot write day %d: %w", day, err)
			}
		}
		if lp, ok := e.(*liveEnv); ok {
			if err := lp.endDay(ctx); err != nil {
				return st, err
			}
		}
		mergeWorkerStats(&st.Metrics, workers)
		st.Days++
		w.nextDay = day + 1
		progressf(progress, "day %d/%d: %d events, %d searches so far (%v)\n", day+1, w.cfg.Days, st.Events-before, st.Searches, time.Since(t0).Round(time.Millisecond))
	}
	return st, nil
}

func writeFile(path string, fn func(*bufio.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create %q: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cannot close %q: %w", path, cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	return nil
}

// WriteCatalog writes the catalog as JSON lines (what Generate puts in catalog.jsonl).
func (w *World) WriteCatalog(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	if err := w.writeCatalog(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteTruth writes the static part of the truth (config, brands, products,
// customers): the head of truth.jsonl. Live mode's per-purchase and per-search truth
// goes to LiveOptions.Truth.
func (w *World) WriteTruth(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	if err := w.writeTruthHeader(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func (w *World) writeCatalog(bw *bufio.Writer) error {
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range w.catalog {
		if err := enc.Encode(&w.catalog[i]); err != nil {
			return fmt.Errorf("cannot write product %s: %w", w.catalog[i].ProductID, err)
		}
	}
	return nil
}

// Truth records (truth.jsonl), besides the per-purchase and per-search lines.
type truthBrand struct {
	Kind       string             `json:"kind"`
	Brand      string             `json:"brand"`
	Tier       int                `json:"tier"`
	Popularity float64            `json:"popularity"`
	Offset     map[string]float64 `json:"offset"` // sizes by size system: -0.5 runs half a size small
}

type truthProduct struct {
	Kind        string  `json:"kind"`
	ProductID   string  `json:"product_id"`
	Quality     float64 `json:"quality"`
	Offset      float64 `json:"offset"`       // the product's own deviation from its brand, in sizes
	TotalOffset float64 `json:"total_offset"` // brand + product
	Width       string  `json:"width,omitempty"`
	Popularity  float64 `json:"popularity_prior"`
}

type truthWearer struct {
	Gender   string         `json:"gender"`
	Sizes    map[string]any `json:"sizes"`  // true size per system
	Belief   map[string]any `json:"belief"` // what the wearer believes their usual size is
	Width    string         `json:"width"`
	HeightCM float64        `json:"height_cm"`
	WeightKG float64        `json:"weight_kg"`
	Age      int            `json:"age"`
	FitPref  string         `json:"fit_preference"`
}

type truthCustomer struct {
	Kind             string             `json:"kind"`
	CustomerID       string             `json:"customer_id"`
	PersonalStrength float64            `json:"personal_strength"`
	Activity         float64            `json:"activity"` // mean sessions per day
	Brands           map[string]float64 `json:"brands"`
	Categories       map[string]float64 `json:"categories"`
	Styles           map[string]float64 `json:"styles"`
	Colors           map[string]float64 `json:"colors"`
	PriceCenter      float64            `json:"price_center"` // preferred price
	PriceBand        [2]float64         `json:"price_band"`   // within one tolerance of the center
	Anonymous        bool               `json:"never_logs_in"`
	TrustsSize       bool               `json:"trusts_recommended_size"`
	KnowsBrandSizing bool               `json:"knows_brand_sizing"`
	Survey           bool               `json:"answers_survey"`
	OptsOut          bool               `json:"opts_out"`
	Devices          []string           `json:"anonymous_ids"`
	Wearers          []truthWearer      `json:"wearers"` // [0] the account holder, [1] a second wearer (shared account)
}

func (w *World) writeTruthHeader(bw *bufio.Writer) error {
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Kind   string `json:"kind"`
		Config Config `json:"config"`
	}{"config", w.cfg}); err != nil {
		return fmt.Errorf("cannot write truth: %w", err)
	}
	for _, b := range w.brands {
		if err := enc.Encode(truthBrand{Kind: "brand", Brand: b.name, Tier: b.tier, Popularity: r3(b.pop),
			Offset: map[string]float64{sysNames[0]: b.offset[0], sysNames[1]: b.offset[1], sysNames[2]: b.offset[2]}}); err != nil {
			return fmt.Errorf("cannot write truth: %w", err)
		}
	}
	for i := range w.products {
		p := &w.products[i]
		tp := truthProduct{Kind: "product", ProductID: w.catalog[i].ProductID, Quality: r3(float64(p.quality)),
			Offset: float64(p.offset), Popularity: r3(float64(p.pop0))}
		if p.sys >= 0 {
			tp.TotalOffset = w.brands[p.brand].offset[p.sys] + float64(p.offset)
		}
		if p.sys == sysShoe {
			tp.Width = widthNames[p.width]
		}
		if err := enc.Encode(tp); err != nil {
			return fmt.Errorf("cannot write truth: %w", err)
		}
	}
	for i := range w.customers {
		if err := enc.Encode(w.truthCustomer(i)); err != nil {
			return fmt.Errorf("cannot write truth: %w", err)
		}
	}
	return nil
}

func r3(v float64) float64 { return float64(int64(v*1000+0.5*sign(v))) / 1000 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func (w *World) truthCustomer(i int) truthCustomer {
	c := &w.customers[i]
	tc := truthCustomer{Kind: "customer", CustomerID: CustomerID(i), PersonalStrength: r3(float64(c.strength)),
		Activity: r3(float64(c.activity)), Brands: map[string]float64{}, Categories: map[string]float64{},
		Styles: map[string]float64{}, Colors: map[string]float64{}, Anonymous: c.anonymous, TrustsSize: c.trusts,
		KnowsBrandSizing: c.aware, Survey: c.survey, OptsOut: c.optOut}
	for _, b := range c.brands {
		tc.Brands[w.brands[b.idx].name] = r3(float64(b.w))
	}
	sum := 0.0
	for _, x := range c.cats {
		sum += float64(x.w)
	}
	for _, x := range c.cats {
		tc.Categories[categories[x.idx].name] = r3(float64(x.w) / sum)
	}
	for k, v := range c.style {
		if v != 0 {
			tc.Styles[styles[k]] = r3(float64(v))
		}
	}
	for k, v := range c.color {
		if v != 0 {
			tc.Colors[colors[k]] = r3(float64(v))
		}
	}
	tc.PriceCenter = r3(expf(c.priceCenter))
	tc.PriceBand = [2]float64{r3(expf(c.priceCenter - c.priceTol)), r3(expf(c.priceCenter + c.priceTol))}
	for d := 0; d < int(c.devices); d++ {
		tc.Devices = append(tc.Devices, anonID(w.cfg.Seed, i, d))
	}
	n := 1
	if c.shared {
		n = 2
	}
	for k := 0; k < n; k++ {
		wr := &c.wearers[k]
		tw := truthWearer{Gender: genderNames[wr.gender], Width: widthNames[wr.width], HeightCM: r3(float64(wr.height)),
			WeightKG: r3(float64(wr.weight)), Age: int(wr.age), FitPref: []string{"snug", "regular", "loose"}[wr.fitPref],
			Sizes:  map[string]any{sysNames[0]: float64(wr.size[0]), sysNames[1]: alphaLabel(float64(wr.size[1])), sysNames[2]: float64(wr.size[2])},
			Belief: map[string]any{sysNames[0]: float64(wr.belief[0]), sysNames[1]: alphaLabel(float64(wr.belief[1])), sysNames[2]: float64(wr.belief[2])}}
		if wr.gender == gKids {
			delete(tw.Sizes, sysNames[2])
			delete(tw.Belief, sysNames[2])
		}
		tc.Wearers = append(tc.Wearers, tw)
	}
	return tc
}

func expf(v float32) float64 { return math.Exp(float64(v)) }
