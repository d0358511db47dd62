package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/server"
	"github.com/bespokesearch/bespoke/internal/sim"
)

// `bespoke train --data DIR` trains in its own process on the data directory of a
// stopped server: the lake a server wrote, the catalog it kept.
func TestTrainOnAStoppedServersDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on a simulated world")
	}
	ctx := context.Background()
	world, data := t.TempDir(), t.TempDir()
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Products, cfg.Customers, cfg.Days = 9, 200, 250, 6
	if _, err := sim.Generate(ctx, cfg, world, nil); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Config{DataDir: data, WriteKeys: []string{"wk"}, AdminToken: "adm"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	send := func(path, auth, body string) {
		t.Helper()
		for attempt := 1; ; attempt++ {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
			if path == "/v1/products" {
				req.Method = http.MethodPut
			}
			req.Header.Set("Authorization", auth)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
			// Like every client, retry on 429/503 (a loaded machine answers them).
			if (resp.StatusCode != 429 && resp.StatusCode != 503) || attempt == 30 {
				t.Fatalf("%s: %s", path, resp.Status)
			}
			time.Sleep(time.Second)
		}
	}
	cat, err := os.ReadFile(filepath.Join(world, "catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	send("/v1/products", "Bearer adm", string(cat))
	f, err := os.Open(filepath.Join(world, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var batch []string
	for more := true; more; {
		more = sc.Scan()
		if more {
			batch = append(batch, sc.Text())
		}
		if len(batch) == 300 || (!more && len(batch) > 0) {
			send("/v1/batch", "Bearer wk", `{"batch":[`+strings.Join(batch, ",")+`]}`)
			batch = batch[:0]
		}
	}
	f.Close()
	if err := srv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI("train", "--data", data)
	if code != 0 {
		t.Fatalf("train --data: exit %d\n%s", code, errOut)
	}
	var rep struct {
		ModelVersion string `json:"model_version"`
		Examples     int    `json:"examples"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil || rep.ModelVersion == "" || rep.Examples == 0 {
		t.Fatalf("report %q: %v", lines[len(lines)-1], err)
	}
	for _, name := range []string{"report.json", "report.md", "report.png"} {
		if st, err := os.Stat(filepath.Join(data, "reports", rep.ModelVersion, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The published model is what a server started on the directory serves.
	srv, err = server.New(ctx, server.Config{DataDir: data, WriteKeys: []string{"wk"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts = httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/v1/search?q=shoes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		ModelVersion string `json:"model_version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.ModelVersion != rep.ModelVersion {
		t.Errorf("restarted server serves model %q (%v), want the one trained offline %q", got.ModelVersion, err, rep.ModelVersion)
	}
}
