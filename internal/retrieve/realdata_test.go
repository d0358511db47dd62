package retrieve

import (
	"context"
	"encoding/csv"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// TestRealData indexes the 48k real BestBuy products and runs the real Wayfair and
// BestBuy queries against both engines, logging index time and latencies. It is slow,
// so it runs only with RETRIEVE_REALDATA=1:
//
//	RETRIEVE_REALDATA=1 go test -run TestRealData -v ./internal/retrieve/
const realData = "/work/shared/data"

func TestRealData(t *testing.T) {
	if os.Getenv("RETRIEVE_REALDATA") == "" {
		t.Skip("set RETRIEVE_REALDATA=1 to index the real product catalog (slow)")
	}
	dir := os.Getenv("RETRIEVE_DATA")
	if dir == "" {
		dir = realData
	}
	path := dir + "/retrotech-bestbuy-products/products.tgz"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data not found (%v): skipping", err)
	}
	rc, err := catalog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var prods []catalog.Product
	bad := 0
	err = catalog.Read(rc, catalog.ReadOptions{Columns: map[string]string{"product_id": "upc", "brand": "manufacturer", "description": "long_description"}},
		func(p catalog.Product) error { prods = append(prods, p); return nil },
		func(*catalog.LineError) error { bad++; return nil })
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	queries := realQueries(t, dir)
	t.Logf("%d products (%d unreadable rows), %d queries", len(prods), bad, len(queries))
	if len(prods) < 1000 || len(queries) < 100 {
		t.Fatalf("too little real data: %d products, %d queries", len(prods), len(queries))
	}
	for _, eng := range engines {
		var ms0 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		x, err := New(Options{Engine: eng, CacheSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Upsert(prods); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		var ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		t.Logf("%s: indexed %d products in %v, heap +%d MiB", eng, x.Len(), took.Round(time.Millisecond), (int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))>>20)
		for _, mode := range []struct {
			name string
			m    Mode
		}{{"and-first", ModeAuto}, {"or", ModeOr}} {
			runtime.LockOSThread()
			var lat, cpu []time.Duration
			found, relaxed := 0, 0
			for rep := 0; rep < 3; rep++ {
				for _, q := range queries {
					c := threadCPU()
					t0 := time.Now()
					r, err := x.Search(context.Background(), Query{Text: q, Limit: 100, Mode: mode.m})
					lat = append(lat, time.Since(t0))
					cpu = append(cpu, threadCPU()-c)
					if err != nil {
						t.Fatal(err)
					}
					if rep == 0 && len(r.Hits) > 0 {
						found++
					}
					if rep == 0 && r.Relaxed {
						relaxed++
					}
				}
			}
			runtime.UnlockOSThread()
			t.Logf("%s %s top100: wall p50 %v p99 %v; cpu p50 %v p99 %v; %d/%d queries found something, %d relaxed",
				eng, mode.name, percentile(lat, 0.5).Round(time.Microsecond), percentile(lat, 0.99).Round(time.Microsecond),
				percentile(cpu, 0.5).Round(time.Microsecond), percentile(cpu, 0.99).Round(time.Microsecond), found, len(queries), relaxed)
		}
		x.Close()
	}
}

// realQueries reads the Wayfair WANDS queries (tab-separated) and the BestBuy
// hackathon queries (each CSV row wrapped in one more layer of quotes).
func realQueries(t *testing.T, dir string) []string {
	var out []string
	if b, err := os.ReadFile(dir + "/wayfair-wands-queries/query.csv"); err == nil {
		for i, line := range strings.Split(string(b), "\n") {
			if f := strings.Split(line, "\t"); i > 0 && len(f) >= 2 && f[1] != "" {
				out = append(out, f[1])
			}
		}
	}
	f, err := os.Open(dir + "/bestbuy-acm-sf-hackathon-sample/train.csv")
	if err != nil {
		return out
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("cannot read the BestBuy queries: %v", err)
	}
	for i, rec := range recs {
		if i == 0 || len(rec) == 0 {
			continue
		}
		fields := rec
		if len(rec) == 1 { // the whole row is one quoted field
			inner, err := csv.NewReader(strings.NewReader(rec[0])).Read()
			if err != nil {
				continue
			}
			fields = inner
		}
		if len(fields) >= 4 && fields[3] != "" {
			out = append(out, fields[3])
		}
	}
	return out
}
