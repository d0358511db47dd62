package collector

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/stream"
	"github.com/bespokesearch/bespoke/internal/stream/jetstream"
)

// TestGroupCommitEmbeddedJetStream runs many concurrent requests through the collector
// into a real embedded JetStream (SyncAlways) and checks that there are far fewer
// envelopes than requests and that every event is in the stream exactly once.
func TestGroupCommitEmbeddedJetStream(t *testing.T) {
	js, err := jetstream.Open(context.Background(), jetstream.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	c, reg := newCollector(t, js, func(o *Options) { o.AckTimeout = 5 * time.Second })
	const clients, perClient, perReq = 32, 8, 5
	var wg sync.WaitGroup
	var bad atomic.Int32
	for cl := range clients {
		wg.Go(func() {
			for r := range perClient {
				ids := make([]string, perReq)
				for e := range ids {
					ids[e] = fmt.Sprintf("c%d-r%d-e%d", cl, r, e)
				}
				if w := do(c, req{path: "/v1/batch", body: []byte(batchBody(ids...)), headers: auth(testKey)}); w.Code != 200 {
					t.Errorf("request c%d-r%d: %d %s", cl, r, w.Code, w.Body)
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() > 0 {
		t.FailNow()
	}
	ctx := context.Background()
	info, err := js.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	requests := clients * perClient
	if info.Messages == 0 || info.Messages >= uint64(requests)/2 {
		t.Fatalf("%d envelopes in the stream for %d requests: want group commit (fewer than half)", info.Messages, requests)
	}
	cons, err := js.Consumer(ctx, "check", stream.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	for uint64(len(msgs)) < info.Messages {
		ds, err := cons.Fetch(ctx, 100, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			msgs = append(msgs, d.Data())
		}
	}
	got := countIDs(t, msgs)
	if len(got) != requests*perReq {
		t.Fatalf("%d distinct events in the stream, want %d", len(got), requests*perReq)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("event %s is %d times in the stream", id, n)
		}
	}
	if n := counter(t, reg, "bespoke_collector_events_accepted_total", ""); n != float64(requests*perReq) {
		t.Fatalf("events accepted = %v", n)
	}
	t.Logf("%d requests in %d envelopes", requests, info.Messages)
}

// TestEmbeddedStreamDown503 stops the embedded server under the collector: requests get
// 503 within 100 ms.
func TestEmbeddedStreamDown503(t *testing.T) {
	js, err := jetstream.Open(context.Background(), jetstream.Config{Dir: t.TempDir(), ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newCollector(t, js, nil)
	if w := do(c, req{path: "/v1/batch", body: []byte(batchBody("up")), headers: auth(testKey)}); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	js.Close()
	for i := range 3 {
		start := time.Now()
		w := do(c, req{path: "/v1/batch", body: []byte(batchBody(fmt.Sprint("down", i))), headers: auth(testKey)})
		if el := time.Since(start); w.Code != 503 || el > 100*time.Millisecond {
			t.Fatalf("request %d with the stream stopped: %d after %s, want 503 within 100 ms", i, w.Code, el)
		}
	}
}
