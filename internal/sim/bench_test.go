package sim

import (
	"context"
	"testing"
)

// BenchmarkRankBuiltin is the offline ranker on a query mix (cache disabled).
func BenchmarkRankBuiltin(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Customers = 10
	w, err := NewWorld(cfg)
	if err != nil {
		b.Fatal(err)
	}
	sc := newScratch(len(w.products))
	qs := []string{"sneakers", "women's black boots", "northpeak running shoes", "mens navy wool sweater", "blak jeans", "casual linen shirt"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(sc.cache)
		if len(w.rankBuiltin(qs[i%len(qs)], 20, sc)) == 0 {
			b.Fatal("no results")
		}
	}
}

// BenchmarkCustomerDay is one customer-day of behaviour with the built-in ranker.
func BenchmarkCustomerDay(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Products, cfg.Customers = 5000, 2000
	cfg.Sessions.PerDay = 2
	w, err := NewWorld(cfg)
	if err != nil {
		b.Fatal(err)
	}
	wk := w.newWorker(0, offline{w})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(w.customers) == 0 {
			wk.arena, wk.recs = wk.arena[:0], wk.recs[:0]
			clear(wk.future)
		}
		if err := wk.customerDay(context.Background(), i%len(w.customers), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(wk.stats.Events)/float64(b.N), "events/op")
}
