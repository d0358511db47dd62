package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
)

// BenchmarkWriterAdd measures filing events into Parquet on the local file system:
// batches of 500 events over 6 event names in one hour, files published at the end of
// each 100k events (or by the 64 MiB roll). Run:
//
//	go test -run '^$' -bench WriterAdd -benchtime 200000x ./internal/lake/
func BenchmarkWriterAdd(b *testing.B) {
	st := newFS(b)
	w := newWriter(b, st, b.TempDir(), WriterOptions{MaxFileAge: time.Hour})
	defer w.Close(context.Background())
	names := []string{event.ProductClicked, event.ProductListViewed, event.ProductReturned, event.IdentifyName, event.PageName, event.ProductViewed}
	const batchSize = 500
	r := rand.New(rand.NewPCG(1, 1))
	all := make([]event.Event, b.N)
	for n := range all {
		e := ev(fmt.Sprint("msg-", n, "-", r.Uint64()), names[n%len(names)], t0.Add(time.Duration(r.IntN(3600_000))*time.Millisecond), fmt.Sprint("user-", r.IntN(100000)))
		if e.Event == event.ProductClicked {
			e.Properties = json.RawMessage(fmt.Sprintf(`{"product_id":"sku-%d","position":%d,"search_id":"s-%d","query":"%s"}`,
				r.IntN(50000), 1+r.IntN(40), r.Uint32(), []string{"black boots", "running shoes", "red dress", "wool socks"}[r.IntN(4)]))
		}
		all[n] = e
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batchSize {
		w.Add(all[i:min(i+batchSize, b.N)], nil)
		if (i/batchSize)%200 == 199 {
			if err := w.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	s, _ := Stats(context.Background(), st)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if s.Files > 0 {
		b.ReportMetric(float64(s.Bytes)/float64(b.N), "bytes/event")
	}
}
