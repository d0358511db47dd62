package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer answers searches, reranks, sizes and batches; slow makes every answer take
// that long, one at a time (a server that can do one request at a time).
func fakeServer(t *testing.T, slow time.Duration) (*httptest.Server, *atomic.Int64) {
	var mu sync.Mutex
	var batches atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/search", func(w http.ResponseWriter, r *http.Request) {
		if slow > 0 {
			mu.Lock()
			time.Sleep(slow)
			mu.Unlock()
		}
		pers := r.URL.Query().Get("customer_id") != ""
		res := []map[string]any{}
		for i := range 20 {
			res = append(res, map[string]any{"product_id": "p" + string(rune('a'+i)), "name": "Trail Shoe " + string(rune('a'+i)), "brand": "Nimbus"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"personalized": pers, "took_ms": 0.5, "results": res})
	})
	mux.HandleFunc("POST /v1/rerank", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			CustomerID string `json:"customer_id"`
			Items      []any  `json:"items"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Items) != 100 {
			http.Error(w, "bad rerank", 400)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"personalized": req.CustomerID != ""})
	})
	mux.HandleFunc("GET /v1/size", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
		if u, _, ok := r.BasicAuth(); !ok || u != "wk" {
			http.Error(w, "no key", 401)
			return
		}
		var b struct {
			Batch []map[string]any `json:"batch"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || len(b.Batch) != 10 {
			http.Error(w, "bad batch", 400)
			return
		}
		ids := map[string]bool{}
		for _, e := range b.Batch {
			id, _ := e["messageId"].(string)
			if id == "" || ids[id] {
				http.Error(w, "missing or repeated messageId", 400)
				return
			}
			ids[id] = true
		}
		batches.Add(1)
		w.Write([]byte(`{"success":true}`))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts, &batches
}

func TestSearchRerankSizeFromServerCatalog(t *testing.T) {
	ts, _ := fakeServer(t, 0)
	for _, kind := range []string{KindSearch, KindRerank, KindSize} {
		res, err := Run(context.Background(), Config{Kind: kind, Target: ts.URL, Rate: 200, Duration: 300 * time.Millisecond, Concurrency: 4})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if res.Sent != 60 || res.OK != 60 || res.Errors != 0 {
			t.Fatalf("%s: sent %d ok %d errors %d (%v %s), want 60 sent and ok", kind, res.Sent, res.OK, res.Errors, res.Status, res.FirstError)
		}
		if res.Anonymous == nil || res.Customer == nil || res.Anonymous.N+res.Customer.N != 60 {
			t.Fatalf("%s: classes %+v %+v", kind, res.Anonymous, res.Customer)
		}
		if kind != KindSize && (res.Customer.Personalized != res.Customer.N || res.Anonymous.Personalized != 0) {
			t.Fatalf("%s: personalized counts wrong: %+v %+v", kind, res.Anonymous, res.Customer)
		}
		if kind == KindSearch && (res.TookP50 != 0.5 || res.Customer.TookP99 != 0.5) {
			t.Fatalf("server took_ms not summarized: %+v", res)
		}
		if !(res.P50 > 0 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.P999 && res.P999 <= res.Max) {
			t.Fatalf("%s: percentiles out of order: %+v", kind, res)
		}
	}
}

// A server that serves one request per 20 ms, loaded at 200/s: an open-loop generator
// must see the queue grow (latency from the intended send time), where a closed loop
// would report ~20 ms for every request.
func TestNoCoordinatedOmission(t *testing.T) {
	ts, _ := fakeServer(t, 20*time.Millisecond)
	res, err := Run(context.Background(), Config{Kind: KindSearch, Target: ts.URL, Rate: 200, Duration: 500 * time.Millisecond, Concurrency: 200})
	if err != nil {
		t.Fatal(err)
	}
	// 100 requests need ≥ 2 s of service; the last is due at 0.5 s, so it waits ≥ 1.5 s.
	if res.Max < 1000 || res.P50 < 200 {
		t.Fatalf("latency must include queueing from the intended send time: p50 %.1f ms max %.1f ms", res.P50, res.Max)
	}
}

func TestIngestFreshMessageIDs(t *testing.T) {
	ts, batches := fakeServer(t, 0)
	dir := t.TempDir()
	writeWorld(t, dir)
	res, err := Run(context.Background(), Config{Kind: KindIngest, Target: ts.URL, World: dir, WriteKey: "wk", BatchSize: 10,
		Rate: 2000, Duration: 250 * time.Millisecond, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 50 || res.OK != 50 || res.EventsOK != 500 || batches.Load() != 50 {
		t.Fatalf("ingest: %+v (server saw %d batches)", res, batches.Load())
	}
	if _, err := Run(context.Background(), Config{Kind: KindIngest, Target: ts.URL, Rate: 10, Duration: time.Second}); err == nil {
		t.Fatal("ingest without a write key must be refused")
	}
}

func writeWorld(t *testing.T, dir string) {
	t.Helper()
	cat := `{"product_id":"p1","name":"Trail Shoe","brand":"Nimbus"}` + "\n" + `{"product_id":2,"name":"Boot"}` + "\n"
	evs := `{"type":"track","event":"Products Searched","userId":"u1","messageId":"m1","properties":{"query":"trail shoe","search_id":"s1"}}` + "\n" +
		`{"type":"track","event":"Product Clicked","userId":"u2","messageId":"m2","properties":{"product_id":"p1","position":1}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "catalog.jsonl"), []byte(cat), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte(evs), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadWorld(t *testing.T) {
	dir := t.TempDir()
	writeWorld(t, dir)
	src, err := loadWorld(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(src.products, ",") != "p1,2" || strings.Join(src.queries, ",") != "trail shoe" ||
		strings.Join(src.customers, ",") != "u1,u2" || len(src.events) != 2 {
		t.Fatalf("world read wrong: %+v", src)
	}
	for _, e := range src.events {
		if strings.Contains(string(e), "messageId") {
			t.Fatalf("template keeps its messageId: %s", e)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadWorld(dir, false); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a bad line must be reported with its number: %v", err)
	}
	if _, err := loadWorld(filepath.Join(dir, "missing"), false); err == nil {
		t.Fatal("a missing world must be an error")
	}
}

func TestConfigChecks(t *testing.T) {
	for _, c := range []Config{
		{Kind: "nope", Target: "http://x", Rate: 1, Duration: time.Second},
		{Kind: KindSearch, Target: "", Rate: 1, Duration: time.Second},
		{Kind: KindSearch, Target: "ftp://x", Rate: 1, Duration: time.Second},
		{Kind: KindSearch, Target: "http://x", Rate: 0, Duration: time.Second},
		{Kind: KindSearch, Target: "http://x", Rate: 1, Duration: 0},
		{Kind: KindRerank, Target: "http://x", Rate: 1, Duration: time.Second, Items: 5000},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("config %+v must be refused", c)
		}
	}
}

func TestPercentiles(t *testing.T) {
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	c := classOf(xs, 0)
	if c.P50 != 500 || c.P90 != 900 || c.P99 != 990 || c.P999 != 999 || c.Max != 1000 {
		t.Fatalf("nearest-rank percentiles of 1..1000: %+v", c)
	}
	if pct(nil, 0.5) != 0 {
		t.Fatal("empty percentile must be 0")
	}
}

func FuzzWithoutMessageID(f *testing.F) {
	f.Add([]byte(`{"messageId":"m","type":"track"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		out, err := withoutMessageID(line)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("output is not a JSON object: %s", out)
		}
		if _, ok := m["messageId"]; ok || len(out) < 2 || out[0] != '{' {
			t.Fatalf("bad template %s", out)
		}
	})
}

func TestTookOf(t *testing.T) {
	for in, want := range map[string]float32{
		`{"personalized":true,"took_ms":1.25,"items":[]}`: 1.25,
		`{"took_ms": 3}`:  3,
		`{"x":1}`:         -1,
		`{"took_ms":"a"}`: -1,
		`{"took_ms":-2}`:  -1,
	} {
		if got := tookOf([]byte(in)); got != want {
			t.Errorf("tookOf(%s) = %v, want %v", in, got, want)
		}
	}
}

func FuzzTookOf(f *testing.F) {
	f.Add([]byte(`{"took_ms":1.5}`))
	f.Add([]byte(`"took_ms":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got := tookOf(b); got < 0 && got != -1 {
			t.Fatalf("tookOf gave %v", got)
		}
	})
}
