package simworld

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/sim"
	"github.com/bespokesearch/bespoke/internal/size"
)

// World is a generated simulated world with its lake.
type World struct {
	Dir      string
	Config   sim.Config
	Sim      *sim.World
	Lake     lake.Storage
	Products []catalog.Product
	Events   int

	byID     map[string]int
	width    []string // per product (shoes only)
	searches map[string]intent
	wearers  map[string][]string // customer → width per wearer
	// buyers: user or device id, product and size of a purchase → its customer and
	// wearer (wearer -1: two wearers bought that product in that size)
	buyers map[string]buyer
}

type buyer struct {
	customer string
	wearer   int
}

type intent struct {
	customer string
	wearer   int
	category string
	gender   string
	color    string
	brand    string
	style    string
}

const readyFile = "READY"

// Build generates the world of cfg under dir (world/ and lake/), or reuses what an
// earlier Build with the same config left there. With truth, it loads the ground
// truth that Relevance needs (memory in proportion to the number of searches).
func Build(ctx context.Context, cfg sim.Config, dir string, truth bool, progress func(string, ...any)) (*World, error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	cfgJSON, _ := json.Marshal(cfg)
	worldDir, lakeDir := filepath.Join(dir, "world"), filepath.Join(dir, "lake")
	w := &World{Dir: dir, Config: cfg}
	ready, err := os.ReadFile(filepath.Join(dir, readyFile))
	reuse := err == nil && strings.HasPrefix(string(ready), string(cfgJSON)+"\n")
	worldReady, err := os.ReadFile(filepath.Join(worldDir, readyFile))
	reuseWorld := err == nil && string(worldReady) == string(cfgJSON)
	if !reuse {
		for _, d := range []string{lakeDir, filepath.Join(dir, "lake-state")} {
			if err := os.RemoveAll(d); err != nil {
				return nil, fmt.Errorf("cannot clear %q: %w", d, err)
			}
		}
	}
	if !reuse && !reuseWorld {
		if err := os.RemoveAll(worldDir); err != nil {
			return nil, fmt.Errorf("cannot clear %q: %w", worldDir, err)
		}
		t0 := time.Now()
		st, err := sim.Generate(ctx, cfg, worldDir, nil)
		if err != nil {
			return nil, fmt.Errorf("cannot generate the simulated world: %w", err)
		}
		progress("generated %d events in %v", st.Events, time.Since(t0).Round(time.Millisecond))
		if err := os.WriteFile(filepath.Join(worldDir, readyFile), cfgJSON, 0o644); err != nil {
			return nil, err
		}
	}
	if w.Sim, err = sim.NewWorld(cfg); err != nil {
		return nil, err
	}
	if w.Products, err = readCatalog(filepath.Join(worldDir, "catalog.jsonl")); err != nil {
		return nil, err
	}
	fs, err := lake.NewFS(lakeDir)
	if err != nil {
		return nil, err
	}
	w.Lake = fs
	if !reuse {
		t0 := time.Now()
		n, err := writeLake(ctx, fs, filepath.Join(worldDir, "events.jsonl"), filepath.Join(dir, "lake-state"))
		if err != nil {
			return nil, err
		}
		w.Events = n
		progress("wrote %d events into the lake in %v", n, time.Since(t0).Round(time.Millisecond))
		if err := os.WriteFile(filepath.Join(dir, readyFile), fmt.Appendf(cfgJSON, "\n%d\n", n), 0o644); err != nil {
			return nil, err
		}
	} else {
		fmt.Sscanf(strings.SplitN(string(ready), "\n", 2)[1], "%d", &w.Events)
	}
	if truth {
		if err := w.readTruth(filepath.Join(worldDir, "truth.jsonl")); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func readCatalog(path string) ([]catalog.Product, error) {
	f, err := catalog.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ps []catalog.Product
	if err := catalog.Read(f, catalog.ReadOptions{}, func(p catalog.Product) error { ps = append(ps, p); return nil }, nil); err != nil {
		return nil, fmt.Errorf("cannot read the simulated catalog %q: %w", path, err)
	}
	return ps, nil
}

// writeLake sends every event of events.jsonl through the lake writer. The writer
// acknowledges a batch once the files holding it are published, so it is flushed
// every flushEvery events (events are in time order: each hour's files are then
// written in one or two pieces).
func writeLake(ctx context.Context, st lake.Storage, eventsPath, stateDir string) (int, error) {
	const batchSize, flushEvery = 2000, 300_000
	w, err := lake.NewWriter(ctx, st, lake.WriterOptions{StateDir: stateDir, MaxFileAge: time.Hour, MaxOpenFiles: 512, Publishers: 8})
	if err != nil {
		return 0, err
	}
	ef, err := os.Open(eventsPath)
	if err != nil {
		return 0, err
	}
	defer ef.Close()
	sc := bufio.NewScanner(ef)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	errc := make(chan error, flushEvery/batchSize+2)
	pending, n := 0, 0
	var firstErr error
	settle := func() error {
		if err := w.Flush(ctx); err != nil {
			return err
		}
		for ; pending > 0; pending-- {
			if err := <-errc; err != nil && firstErr == nil {
				firstErr = err
			}
		}
		return firstErr
	}
	var batch []event.Event
	now := time.Now()
	for sc.Scan() {
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return n, fmt.Errorf("cannot parse event %d of %q: %w", n+1, eventsPath, err)
		}
		ev.ReceivedAt = now
		batch = append(batch, ev)
		n++
		if len(batch) == batchSize {
			w.Add(batch, func(err error) { errc <- err })
			pending++
			batch = nil
			if n%flushEvery == 0 {
				if err := settle(); err != nil {
					return n, err
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("cannot read %q: %w", eventsPath, err)
	}
	if len(batch) > 0 {
		w.Add(batch, func(err error) { errc <- err })
		pending++
	}
	if err := settle(); err != nil {
		return n, err
	}
	return n, w.Close(ctx)
}

// readTruth loads what Relevance and SizeTruth need: per-search intents, product
// widths, the customers' wearers' widths, and which wearer bought each size.
func (w *World) readTruth(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot open the simulated truth: %w", err)
	}
	defer f.Close()
	w.byID = make(map[string]int, len(w.Products))
	for i := range w.Products {
		w.byID[w.Products[i].ProductID] = i
	}
	w.width = make([]string, len(w.Products))
	w.searches = map[string]intent{}
	w.wearers = map[string][]string{}
	w.buyers = map[string]buyer{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rec struct {
		Kind       string `json:"kind"`
		SearchID   string `json:"search_id"`
		CustomerID string `json:"customer_id"`
		ProductID  string `json:"product_id"`
		Width      string `json:"width"`
		Wearer     int    `json:"wearer"`
		UserID     string `json:"user_id"`
		Anonymous  string `json:"anonymous_id"`
		Size       string `json:"size"`
		Intent     struct {
			Category, Gender, Color, Brand, Style string
		} `json:"intent"`
		Wearers []struct {
			Width string `json:"width"`
		} `json:"wearers"`
	}
	for sc.Scan() {
		line := sc.Bytes()
		if !(bytesHas(line, `"kind":"search"`) || bytesHas(line, `"kind":"product"`) || bytesHas(line, `"kind":"customer"`) ||
			bytesHas(line, `"kind":"purchase"`)) {
			continue
		}
		rec.Wearers = rec.Wearers[:0]
		rec.Intent.Color, rec.Intent.Brand, rec.Intent.Style, rec.Width = "", "", "", ""
		rec.UserID, rec.Anonymous, rec.Size = "", "", ""
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("cannot parse truth line %.80q: %w", line, err)
		}
		switch rec.Kind {
		case "search":
			w.searches[rec.SearchID] = intent{customer: rec.CustomerID, wearer: rec.Wearer, category: rec.Intent.Category,
				gender: rec.Intent.Gender, color: rec.Intent.Color, brand: rec.Intent.Brand, style: rec.Intent.Style}
		case "product":
			if i, ok := w.byID[rec.ProductID]; ok {
				w.width[i] = rec.Width
			}
		case "purchase":
			if rec.Size == "" {
				break
			}
			// the size model's customer is the user id, or the device's without one
			id := rec.UserID
			if id == "" {
				id = rec.Anonymous
			}
			k := id + "\x00" + rec.ProductID + "\x00" + rec.Size
			b := buyer{rec.CustomerID, rec.Wearer}
			if old, ok := w.buyers[k]; ok && old != b {
				b.wearer = -1
			}
			w.buyers[k] = b
		case "customer":
			ws := make([]string, len(rec.Wearers))
			for i, x := range rec.Wearers {
				ws[i] = x.Width
			}
			w.wearers[rec.CustomerID] = ws
		}
	}
	return sc.Err()
}

func bytesHas(b []byte, s string) bool { return strings.Contains(string(b), s) }

func genderOK(want, have string) bool {
	switch want {
	case "unisex":
		return have != "kids"
	case "kids":
		return have == "kids"
	}
	return have == want || have == "unisex"
}

// Utility is the simulated customer's latent utility for a product shown in a search:
// the world's query-independent utility (sim.World.Utility) plus the relevance to the
// search's hidden intent, as the simulator's click model computes it (without the
// per-impression noise).
func (w *World) utility(in *intent, pid string) (float64, bool) {
	pi, ok := w.byID[pid]
	if !ok {
		return 0, false
	}
	v, err := w.Sim.Utility(in.customer, pid)
	if err != nil {
		return 0, false
	}
	u := &w.Config.Utility
	p := &w.Products[pi]
	if p.Category != in.category {
		v -= 2
	}
	if !genderOK(in.gender, p.Gender) {
		v -= 3
	}
	if in.color != "" {
		if p.Color == in.color {
			v += u.IntentColor
		} else {
			v -= 0.3
		}
	}
	if in.style != "" && p.Style == in.style {
		v += u.IntentStyle
	}
	if in.brand != "" && p.Brand == in.brand {
		v += u.IntentBrand
	}
	if pw := w.width[pi]; pw != "" {
		fw := ""
		if ws := w.wearers[in.customer]; in.wearer < len(ws) {
			fw = ws[in.wearer]
		}
		switch {
		case fw == pw:
			if fw != "medium" {
				v += 0.5
			}
		case fw == "wide" && pw == "medium":
			v -= 0.7
		case fw == "narrow" && pw == "medium":
			v -= 0.3
		default:
			v -= 1.5
		}
	}
	return v, true
}

// Relevance fills out with the true probability that the searcher clicks each
// product if they examine it (the simulator's attraction, noise averaged out as a
// logistic of the noiseless utility). It reports false for searches the truth does
// not know.
func (w *World) Relevance(searchID string, productIDs []string, out []float64) bool {
	in, ok := w.searches[searchID]
	if !ok || w.byID == nil {
		return false
	}
	k := &w.Config.Click
	for i, id := range productIDs {
		out[i] = 0
		if u, ok := w.utility(&in, id); ok {
			out[i] = 1 / (1 + math.Exp(-k.AttractionScale*(u-k.AttractionBias)))
		}
	}
	return true
}

// SizeTruth is a size.FitTruth: the simulator's size error of label in p for the
// wearer who bought p in o's size (size.Metrics.TrueFit), in size only (a shoe of the
// wrong width also comes back, whatever its size). It does not know purchases the
// truth does not hold, nor which wearer bought a product two of them bought in one
// size.
func (w *World) SizeTruth(o size.Observation, p *catalog.Product, label string) (float64, bool) {
	b, ok := w.buyers[o.CustomerID+"\x00"+o.ProductID+"\x00"+o.Size]
	if !ok || b.wearer < 0 {
		return 0, false
	}
	off, _, ok, err := w.Sim.SizeFit(b.customer, b.wearer, p.ProductID, label)
	if err != nil || !ok {
		return 0, false
	}
	return off, true
}

// Examination is the simulator's probability that a result at position pos (from 1)
// is looked at (its position-based model).
func (w *World) Examination(pos int) float64 {
	if w.Config.Click.Model == "cascade" {
		return 1
	}
	return math.Pow(float64(max(pos, 1)), -w.Config.Click.PositionBias)
}

// Text is a stand-in for BM25 with an inverted index: a product's score for a query is
// the share of the query's words found among the words of its name, brand, category
// and colour (a word also matches its singular).
func Text(ps []catalog.Product) func(string) map[string]float32 {
	index := map[string][]int32{}
	for i := range ps {
		for v := range productWords(&ps[i]) {
			index[v] = append(index[v], int32(i))
		}
	}
	return func(q string) map[string]float32 {
		terms := strings.Fields(strings.ToLower(q))
		out := map[string]float32{}
		for _, t := range terms {
			for _, i := range index[t] {
				out[ps[i].ProductID] += 1 / float32(len(terms))
			}
		}
		return out
	}
}

// productWords is the set of words a product matches in Text.
func productWords(p *catalog.Product) map[string]bool {
	seen := map[string]bool{}
	for _, t := range strings.Fields(strings.ToLower(p.Name + " " + p.Brand + " " + p.Category + " " + p.Color)) {
		for _, v := range []string{t, strings.TrimSuffix(t, "s")} {
			seen[v] = true
		}
	}
	return seen
}

// TextFor is Text for the given products only (train.Options.TextFor): the same
// scores, computed for the items a list showed instead of everything the query matches.
func TextFor(ps []catalog.Product) func(query string, ids []string, out []float32) {
	words := make(map[string]map[string]bool, len(ps))
	for i := range ps {
		words[ps[i].ProductID] = productWords(&ps[i])
	}
	return func(q string, ids []string, out []float32) {
		terms := strings.Fields(strings.ToLower(q))
		for i, id := range ids {
			out[i] = 0
			w := words[id]
			for _, t := range terms {
				if w[t] {
					out[i] += 1 / float32(len(terms))
				}
			}
		}
	}
}

// MarkGenerated declares that dir/world already holds the files sim.Generate wrote
// for cfg (a Build interrupted after generating), so the next Build reuses them.
func MarkGenerated(cfg sim.Config, dir string) error {
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "world", "events.jsonl")); err != nil {
		return fmt.Errorf("no generated world in %q: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, "world", readyFile), cfgJSON, 0o644)
}
