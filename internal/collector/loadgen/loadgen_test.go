package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bespokesearch/bespoke/internal/collector"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/stream/jetstream"
)

// TestNoCoordinatedOmission: a server that takes 100 ms per request, one connection,
// 20 requests/s for 1 s. The 20th request was meant to go at 0.95 s and is served
// around 2 s: its latency is about 1 s, not the 100 ms a closed-loop client reports.
func TestNoCoordinatedOmission(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(100 * time.Millisecond)
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	defer srv.Close()
	res, err := BenchIngest(context.Background(), Config{Target: srv.URL, WriteKey: "k", Rate: 20, Duration: time.Second, Concurrency: 1, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 20 || res.OK != 20 || res.Errors != 0 {
		t.Fatalf("result %+v, want 20 sent and ok", res)
	}
	if res.Max < 800 || res.P50 < 300 {
		t.Fatalf("max %v ms, p50 %v ms: queueing delay was not counted", res.Max, res.P50)
	}
	if !(res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.P999 && res.P999 <= res.Max) {
		t.Fatalf("percentiles not ordered: %+v", res)
	}
}

func TestBodiesAreValidAndCounted(t *testing.T) {
	var events, requests, gzipped atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		user, _, _ := r.BasicAuth()
		if user != "wk" || r.URL.Path != "/v1/batch" {
			http.Error(w, "bad auth or path", 401)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			gzipped.Add(1)
			w.WriteHeader(200)
			return
		}
		b, err := event.ParseBatch(body, time.Now())
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		events.Add(int64(len(b.Events)))
		if requests.Load()%4 == 0 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	res, err := BenchIngest(context.Background(), Config{Target: srv.URL + "/", WriteKey: "wk", Rate: 2000, Duration: 500 * time.Millisecond, BatchSize: 20, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 50 || int64(res.Sent) != requests.Load() || events.Load() != 50*20 {
		t.Fatalf("result %+v; server saw %d requests, %d valid events", res, requests.Load(), events.Load())
	}
	if res.Status["503"] == 0 || res.OK+res.Status["503"] != 50 || res.Errors != res.Status["503"] || res.FirstError == "" {
		t.Fatalf("status counts %v, ok %d, errors %d, first error %q", res.Status, res.OK, res.Errors, res.FirstError)
	}
	line, _ := json.Marshal(res)
	var back map[string]any
	_ = json.Unmarshal(line, &back)
	for _, k := range []string{"kind", "rate", "sent", "ok", "errors", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"} {
		if _, ok := back[k]; !ok {
			t.Fatalf("result JSON %s lacks %q (CONTRACT §1)", line, k)
		}
	}
	res, err = BenchIngest(context.Background(), Config{Target: srv.URL, WriteKey: "wk", Rate: 100, Duration: 100 * time.Millisecond, BatchSize: 5, Gzip: true})
	if err != nil || res.OK != res.Sent || gzipped.Load() != int64(res.Sent) {
		t.Fatalf("gzip run: %+v %v (server saw %d gzip bodies)", res, err, gzipped.Load())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Rate: 1, Duration: time.Second},
		{Target: "http://x", Duration: time.Second},
		{Target: "http://x", Rate: 1},
		{Target: "http://x", Rate: 1, Duration: time.Second, BatchSize: 20000},
	} {
		if _, err := BenchIngest(context.Background(), cfg); err == nil {
			t.Errorf("BenchIngest(%+v) succeeded", cfg)
		}
	}
}

// startEmbedded runs a collector on an embedded JetStream (SyncAlways) behind a real
// loopback HTTP listener, as `bespoke serve` does.
func startEmbedded(t testing.TB, ackTimeout time.Duration) (url string, js *jetstream.Stream) {
	js, err := jetstream.Open(context.Background(), jetstream.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := collector.New(collector.Options{Stream: js, WriteKeys: []string{"wk"}, Registerer: prometheus.NewRegistry(), AckTimeout: ackTimeout})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		srv.Close()
		_ = c.Close(context.Background())
		_ = js.Close()
	})
	return srv.URL, js
}

// TestEndToEndSmall: a short low-rate run against the real collector and embedded
// JetStream: every request acknowledged, and every acknowledged event in the stream.
func TestEndToEndSmall(t *testing.T) {
	url, js := startEmbedded(t, 10*time.Second) // generous: -race on a loaded machine is slow
	res, err := BenchIngest(context.Background(), Config{Target: url, WriteKey: "wk", Rate: 5000, Duration: 500 * time.Millisecond, BatchSize: 50, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != res.Sent || res.Sent != 50 {
		t.Fatalf("result %+v, want all 50 requests acknowledged", res)
	}
	info, err := js.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages == 0 || info.Messages > uint64(res.Sent) {
		t.Fatalf("%d envelopes for %d requests", info.Messages, res.Sent)
	}
}

// TestIngestSweep measures the collector + embedded JetStream on this machine. It runs
// only with BESPOKE_BENCH_INGEST=1 (it loads both cores for a minute):
//
//	BESPOKE_BENCH_INGEST=1 go test -run TestIngestSweep -v -timeout 10m ./internal/collector/loadgen/
//
// BESPOKE_BENCH_RATES (events/s, comma-separated), BESPOKE_BENCH_BATCH,
// BESPOKE_BENCH_SECONDS and BESPOKE_BENCH_ACK_TIMEOUT_MS (collector AckTimeout) change the sweep.
func TestIngestSweep(t *testing.T) {
	if os.Getenv("BESPOKE_BENCH_INGEST") == "" {
		t.Skip("benchmark: set BESPOKE_BENCH_INGEST=1 to run")
	}
	rates := []float64{25000, 50000, 75000, 100000, 125000, 150000}
	if s := os.Getenv("BESPOKE_BENCH_RATES"); s != "" {
		rates = nil
		for _, f := range splitComma(s) {
			r, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			rates = append(rates, r)
		}
	}
	batch := envInt("BESPOKE_BENCH_BATCH", 100)
	secs := envInt("BESPOKE_BENCH_SECONDS", 10)
	ack := time.Duration(envInt("BESPOKE_BENCH_ACK_TIMEOUT_MS", 0)) * time.Millisecond
	url, _ := startEmbedded(t, ack) // 0: the defaults of bespoke serve
	// Warm up connections and the JIT-free but cache-cold paths.
	if _, err := BenchIngest(context.Background(), Config{Target: url, WriteKey: "wk", Rate: 10000, Duration: time.Second, BatchSize: batch}); err != nil {
		t.Fatal(err)
	}
	for _, rate := range rates {
		cpu0 := cpuTime()
		res, err := BenchIngest(context.Background(), Config{Target: url, WriteKey: "wk", Rate: rate, Duration: time.Duration(secs) * time.Second, BatchSize: batch, Concurrency: 256})
		if err != nil {
			t.Fatal(err)
		}
		cpu := cpuTime() - cpu0
		line, _ := json.Marshal(res)
		// CPU of this process (load generator + HTTP + collector + embedded JetStream) per
		// event acknowledged: a capacity estimate that holds on a shared, busy machine.
		perEvent := 0.0
		if res.EventsOK > 0 {
			perEvent = cpu.Seconds() * 1e6 / float64(res.EventsOK)
		}
		t.Logf("%s cpu_s=%.2f cpu_us_per_event_ok=%.1f", line, cpu.Seconds(), perEvent)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			panic(fmt.Sprintf("%s=%q is not an integer", name, v))
		}
		return n
	}
	return def
}
