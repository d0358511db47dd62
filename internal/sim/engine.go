package sim

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/bespokesearch/bespoke/internal/event"
)

// rec is one output line of a simulated day, ordered by (ts, key).
type rec struct {
	ts    int64  // event time, unix ms
	key   uint64 // customer, generation day and sequence: unique
	truth bool
	name  string // event name (partition name), counted when the line comes due
	line  []byte // nil while the line is in a worker's arena at [off, off+n)
	wk    int32
	off   int32
	n     int32
}

func recLess(a, b rec) int {
	switch {
	case a.ts < b.ts:
		return -1
	case a.ts > b.ts:
		return 1
	case a.key < b.key:
		return -1
	case a.key > b.key:
		return 1
	}
	return 0
}

// sizeAdvice is a size recommendation as the storefront shows it.
type sizeAdvice struct {
	label  string
	basis  string
	advice string // CONTRACT additions' /v1/size advice: usual, size_up, size_down, size ("": not said)
	steps  int    // size_steps: for size_up/size_down, steps from the usual size
}

// personal reports whether the advice is for this customer: it rests on their own
// purchases or survey, or the store does not say (CONTRACT §4 has no basis; the page
// just shows a size). Advice the store itself calls generic — the size most customers
// keep in the product, or take in its category — is no reason for a shopper who knows
// their size to buy another one.
func (a sizeAdvice) personal() bool {
	switch a.basis {
	case "", "purchases", "survey":
		return true
	}
	return false
}

// taken reports whether a shopper who trusts the store's size advice acts on a: when
// it is for them (personal), or when it moves them off the size they know as theirs
// ("runs small: half a size up from your usual"), which needs nothing personal — only
// the generic "take size 9" is left to their own judgement.
func (a sizeAdvice) taken() bool {
	return a.personal() || a.advice == "size_up" || a.advice == "size_down"
}

// env is where simulated customers get rankings and size advice: the built-in ranker
// offline, a running server live.
type env interface {
	search(ctx context.Context, wk *worker, q, userID, anonID string) (searchResult, error)
	// size is the store's size advice for a product: the label ("" when none is shown)
	// and what it rests on (the basis of /v1/size: purchases, survey, product, population).
	size(ctx context.Context, userID, anonID string, p int) (sizeAdvice, error)
	// optOut tells the store a customer opted out of personalization (besides the event).
	optOut(ctx context.Context, userID string) error
	live() bool
}

type searchResult struct {
	id    string
	items []int32
	arm   string
	teams []string // per item, when the server interleaved two rankings
}

// worker simulates the customers of one partition for a day.
type worker struct {
	w      *World
	id     int
	env    env
	sc     *scratch
	arena  []byte
	recs   []rec
	future map[int][]rec
	stats  Metrics
	counts []float32
	// per customer-day
	cust int
	day  int
	seq  uint32
	pb   []byte                  // reused buffer for properties
	out  func(line []byte) error // live: where event lines go
	err  error
}

func (w *World) newWorker(id int, e env) *worker {
	return &worker{w: w, id: id, env: e, sc: newScratch(len(w.products)), future: map[int][]rec{},
		counts: make([]float32, len(w.products)), stats: newMetrics()}
}

func (wk *worker) key() uint64 {
	wk.seq++
	return uint64(wk.cust)<<28 | uint64(wk.day&1023)<<18 | uint64(wk.seq&(1<<18-1))
}

// emitEvent encodes one event; props (a JSON object) may be nil.
func (wk *worker) emitEvent(ts int64, typ, name, userID, anonID string, props, traits []byte) {
	k := wk.key()
	start := len(wk.arena)
	var o obj
	o.open(wk.arena)
	o.str("type", typ)
	if name != "" && typ == event.TypeTrack {
		o.str("event", name)
	}
	if userID != "" {
		o.str("userId", userID)
	}
	if anonID != "" {
		o.str("anonymousId", anonID)
	}
	o.key("messageId")
	h := hash(uint64(wk.w.cfg.Seed), domMessage, uint64(wk.cust), uint64(wk.day), uint64(wk.seq))
	o.b = append(o.b, '"')
	o.b = appendUUID(o.b, h, mix(h))
	o.b = append(o.b, '"')
	o.key("timestamp")
	o.b = append(o.b, '"')
	o.b = appendTime(o.b, ts)
	o.b = append(o.b, '"')
	if props != nil {
		o.raw("properties", props)
	}
	if traits != nil {
		o.raw("traits", traits)
	}
	wk.arena = o.close()
	line := wk.arena[start:len(wk.arena):len(wk.arena)]
	if typ == event.TypeIdentify {
		name = event.IdentifyName
	}
	if props != nil {
		wk.pb = props[:0]
	} else if traits != nil {
		wk.pb = traits[:0]
	}
	if wk.place(rec{ts: ts, key: k, name: name, line: line}) {
		wk.stats.ByEvent[name]++
		wk.stats.Events++
	}
}

// emitTruth records one hidden-truth line at the time of the event it explains.
func (wk *worker) emitTruth(ts int64, line []byte) {
	start := len(wk.arena)
	wk.arena = append(wk.arena, line...)
	wk.pb = line[:0]
	wk.place(rec{ts: ts, key: wk.key(), truth: true, line: wk.arena[start:len(wk.arena):len(wk.arena)]})
}

// place files a line for its day: today's go to recs (or straight out live), later
// days wait in the worker's future buckets (a copy, as the arena is reused). Lines
// kept for a later day or dropped (due after the world's last day) are not counted (false).
func (wk *worker) place(r rec) bool {
	day := int((r.ts - wk.w.cfg.Start.UnixMilli()) / 86_400_000)
	if day > wk.day {
		if day >= wk.w.cfg.Days {
			return false
		}
		r.line = append([]byte(nil), r.line...)
		wk.future[day] = append(wk.future[day], r)
		return false // counted when it comes due
	}
	if wk.out != nil && !r.truth { // live: events go out now, truth is kept for the day's file
		if wk.err == nil {
			wk.err = wk.out(r.line)
		}
		return true
	}
	// the arena may still grow (and move): keep the offset, resolve after the day
	r.wk, r.off, r.n = int32(wk.id), int32(len(wk.arena)-len(r.line)), int32(len(r.line))
	r.line = nil
	wk.recs = append(wk.recs, r)
	return true
}

// runDay simulates one day with the workers (one per customer partition) and returns
// the day's lines in order. The World's future buckets and popularity are updated.
func (w *World) runDay(ctx context.Context, day int, workers []*worker) ([]rec, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	for i, wk := range workers {
		wk.recs = wk.recs[:0]
		wk.arena = wk.arena[:0]
		clear(wk.sc.cache)
		if w.closed {
			continue // no shoppers: only what comes due
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ci := i; ci < len(w.customers); ci += len(workers) {
				if ci%512 == i && ctx.Err() != nil {
					errs[i] = ctx.Err()
					return
				}
				if err := wk.customerDay(ctx, ci, day); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	out := w.future[day]
	delete(w.future, day)
	for _, wk := range workers {
		for i := range wk.recs {
			r := &wk.recs[i]
			r.line = wk.arena[r.off : r.off+r.n : r.off+r.n]
		}
		out = append(out, wk.recs...)
		for d, rs := range wk.future {
			w.future[d] = append(w.future[d], rs...)
		}
		clear(wk.future)
	}
	slices.SortFunc(out, recLess)
	// nightly popularity: learned counts decay, prior stays
	decay := float32(w.cfg.Ranker.PopularityDecay)
	for p := range w.counts {
		c := w.counts[p] * decay
		for _, wk := range workers {
			c += wk.counts[p]
			wk.counts[p] = 0
		}
		w.counts[p] = c
		w.pop[p] = w.products[p].pop0 + 0.5*float32(math.Log1p(float64(c)))
	}
	return out, nil
}

func (w *World) workerCount() int {
	n := w.cfg.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return n
}

func mergeWorkerStats(dst *Metrics, workers []*worker) {
	for _, wk := range workers {
		dst.add(&wk.stats)
		wk.stats = newMetrics()
	}
}

func progressf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}
