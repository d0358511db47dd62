package retrieve

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Benchmarks on a synthetic 50k-product catalog. Run:
//
//	go test -run '^$' -bench . -benchtime 3000x ./internal/retrieve/
//
// Each sub-benchmark reports p50/p99 latency (µs) over its queries, besides ns/op
// and allocs/op. BENCH_PRODUCTS overrides the catalog size, BENCH_DIR puts the index
// on disk (scorch) instead of in memory.

var (
	benchOnce sync.Once
	benchIdx  *Index
	benchErr  error
	benchQs   []benchQuery
	benchDur  time.Duration
)

func benchIndex(b *testing.B) *Index {
	benchOnce.Do(func() {
		n := 50000
		if s := os.Getenv("BENCH_PRODUCTS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		prods := genCatalog(n, 1)
		start := time.Now()
		benchIdx, benchErr = New(Options{Engine: os.Getenv("BENCH_ENGINE"), Dir: os.Getenv("BENCH_DIR"), CacheSize: 4096})
		if benchErr == nil {
			benchErr = benchIdx.Upsert(prods)
		}
		benchDur = time.Since(start)
		pop := make(map[string]float64, n)
		for i, p := range prods {
			pop[p.ProductID] = float64((i * 7919) % 1000)
		}
		if benchErr == nil {
			benchIdx.SetPopularity(pop)
		}
		benchQs = genQueries(20000, 2)
		fmt.Fprintf(os.Stderr, "indexed %d products in %v (engine=%q dir=%q)\n", n, benchDur, benchIdx.opts.Engine, os.Getenv("BENCH_DIR"))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchIdx
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// threadCPU is the CPU time of the calling OS thread: on a shared, overloaded
// machine it measures the work of a search without the time spent waiting for a core.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func reportLatency(b *testing.B, lat, cpu []time.Duration) {
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(percentile(cpu, 0.5).Microseconds()), "p50-cpu-µs")
	b.ReportMetric(float64(percentile(cpu, 0.99).Microseconds()), "p99-cpu-µs")
}

func BenchmarkSearch(b *testing.B) {
	x := benchIndex(b)
	ctx := context.Background()
	for _, kind := range []string{"head", "tail", "typo", "mix"} {
		var qs []benchQuery
		for _, q := range benchQs {
			if kind == "mix" || q.kind == kind {
				qs = append(qs, q)
			}
		}
		for _, mode := range []struct {
			name  string
			mode  Mode
			cache bool
			limit int
		}{
			{"and-first", ModeAuto, false, 200},
			{"or", ModeOr, false, 200},
			{"and-first-cached", ModeAuto, true, 200},
			{"and-first-top20", ModeAuto, false, 20},
		} {
			b.Run(kind+"/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				if mode.cache {
					x.cache = newResultCache(4096) // cold: head queries hit after their first time
				}
				lat := make([]time.Duration, 0, b.N)
				cpu := make([]time.Duration, 0, b.N)
				relaxed := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					q := qs[i%len(qs)]
					c := threadCPU()
					t := time.Now()
					r, err := x.Search(ctx, Query{Text: q.text, Limit: mode.limit, Mode: mode.mode, NoCache: !mode.cache})
					lat = append(lat, time.Since(t))
					cpu = append(cpu, threadCPU()-c)
					if err != nil {
						b.Fatal(err)
					}
					if r.Relaxed {
						relaxed++
					}
				}
				b.StopTimer()
				reportLatency(b, lat, cpu)
				b.ReportMetric(float64(relaxed)/float64(b.N), "relaxed/op")
			})
		}
	}
}

func BenchmarkBrowse(b *testing.B) {
	x := benchIndex(b)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"all", Query{Limit: 200}},
		{"brand+size", Query{Brand: "Nike", Size: "9", Limit: 200}},
		{"facets", Query{Category: "Shoes", Limit: 200, Facets: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			q := c.q
			q.NoCache = true
			timed(b, func() error { _, err := x.Search(ctx, q); return err })
		})
	}
}

func BenchmarkSearchFiltered(b *testing.B) {
	x := benchIndex(b)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"boots+size", Query{Text: "boots", Size: "9", Gender: "women", Limit: 200}},
		{"sneakers+brand+price", Query{Text: "sneakers", Brand: "Nike", PriceMax: 100, Limit: 200}},
		{"boots+facets", Query{Text: "black boots", Limit: 200, Facets: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			q := c.q
			q.NoCache = true
			timed(b, func() error { _, err := x.Search(ctx, q); return err })
		})
	}
}

// BenchmarkSearchParallel runs the mix (AND-first, top 200, no cache) from two
// goroutines: throughput on the 2-core machine is 1e9/ns-per-op queries per second.
func BenchmarkSearchParallel(b *testing.B) {
	x := benchIndex(b)
	ctx := context.Background()
	b.ReportAllocs()
	var next atomicCounter
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q := benchQs[next.add()%len(benchQs)]
			if _, err := x.Search(ctx, Query{Text: q.text, Limit: 200, NoCache: true}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add() int { return int(c.n.Add(1)) }

// timed runs fn b.N times on one locked OS thread and reports wall and CPU percentiles.
func timed(b *testing.B, fn func() error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := threadCPU()
		t := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
		cpu = append(cpu, threadCPU()-c)
	}
	b.StopTimer()
	reportLatency(b, lat, cpu)
}
