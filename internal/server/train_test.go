package server

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/sim"
)

// TestTrainPublishAndRollback plays a small simulated world into the server through
// the public API, trains twice, and rolls back to the first version.
func TestTrainPublishAndRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on a simulated world")
	}
	_, ts := newTestServer(t)
	dir := t.TempDir()
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Products, cfg.Customers, cfg.Days = 5, 300, 400, 8
	if _, err := sim.Generate(context.Background(), cfg, dir, nil); err != nil {
		t.Fatal(err)
	}
	cat, err := os.ReadFile(filepath.Join(dir, "catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if code, m := do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, string(cat)); code != 200 {
		t.Fatalf("catalog: %d %v", code, m)
	}
	f, err := os.Open(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var batch []string
	send := func() {
		// Like every client, retry on 429/503 (a loaded machine answers them).
		for attempt := 1; ; attempt++ {
			code, body := post(t, ts.URL+"/v1/batch", `{"batch":[`+strings.Join(batch, ",")+`]}`)
			if code == 200 {
				break
			}
			if (code != 429 && code != 503) || attempt == 30 {
				t.Fatalf("batch: %d %s", code, body)
			}
			time.Sleep(time.Second)
		}
		batch = batch[:0]
	}
	for sc.Scan() {
		batch = append(batch, sc.Text())
		if len(batch) == 300 {
			send()
		}
	}
	if len(batch) > 0 {
		send()
	}

	code, rep := do(t, "POST", ts.URL+"/v1/admin/train", "Bearer "+testAdmin, "")
	if code != 200 {
		t.Fatalf("train: %d %v", code, rep)
	}
	v1, _ := rep["model_version"].(string)
	names := map[string]bool{}
	for _, r := range rep["rankers"].([]any) {
		r := r.(map[string]any)
		names[r["name"].(string)] = true
		if r["ndcg@10"] == nil || r["mrr"] == nil || r["n"] == nil {
			t.Errorf("ranker entry lacks CONTRACT fields: %v", r)
		}
	}
	for _, n := range []string{"bm25", "popularity", "ltr_non_personalized", "personalized"} {
		if !names[n] {
			t.Errorf("report lacks ranker %q", n)
		}
	}
	if rep["examples"] == nil || rep["trained_at"] == nil || rep["size"] == nil {
		t.Errorf("report lacks examples/trained_at/size: %v", rep)
	}
	_, m := do(t, "GET", ts.URL+"/v1/search?q=sneakers", "", "")
	if m["model_version"] != v1 {
		t.Fatalf("search serves %v, want the new model %s", m["model_version"], v1)
	}

	code, rep2 := do(t, "POST", ts.URL+"/v1/admin/train?force=true", "Bearer "+testAdmin, "")
	if code != 200 {
		t.Fatalf("second train: %d %v", code, rep2)
	}
	v2 := rep2["model_version"].(string)
	if v2 == v1 {
		t.Fatalf("two trainings got the same version %s", v1)
	}
	_, models := do(t, "GET", ts.URL+"/v1/admin/models", "Bearer "+testAdmin, "")
	if models["active"] != v2 || len(models["models"].([]any)) != 2 {
		t.Fatalf("models after two trainings: %v", models)
	}
	if code, _ := do(t, "POST", ts.URL+"/v1/admin/models/"+v1+"/activate", "Bearer "+testAdmin, ""); code != 200 {
		t.Fatalf("rollback: %d", code)
	}
	_, m = do(t, "GET", ts.URL+"/v1/search?q=sneakers", "", "")
	if m["model_version"] != v1 {
		t.Fatalf("after rollback search serves %v, want %s", m["model_version"], v1)
	}
	if code, _ := do(t, "POST", ts.URL+"/v1/admin/models/nope/activate", "Bearer "+testAdmin, ""); code != 404 {
		t.Errorf("activating an unknown version: %d", code)
	}
}
