package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/sim"
	"github.com/bespokesearch/bespoke/internal/size"
)

// startServerAt starts a server on dataDir; stop closes it (the test may start another
// on the same directory afterwards).
func startServerAt(t *testing.T, dataDir string) (ts *httptest.Server, stop func()) {
	t.Helper()
	_, ts, stop = startServerWith(t, dataDir)
	return ts, stop
}

// startServerWith is startServerAt that also returns the server, for looking inside.
func startServerWith(t *testing.T, dataDir string) (s *Server, ts *httptest.Server, stop func()) {
	t.Helper()
	s, err := New(context.Background(), Config{
		DataDir: dataDir, AdminToken: testAdmin, WriteKeys: []string{testWriteKey},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SearchDeadline: time.Second, TrainTrees: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts = httptest.NewServer(s.Handler())
	done := false
	stop = func() {
		if !done {
			done = true
			ts.Close()
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return s, ts, stop
}

// sendEvents posts JSON-lines events through /v1/batch, retrying 429/503 as clients do.
func sendEvents(t *testing.T, base string, lines []string) {
	t.Helper()
	for len(lines) > 0 {
		n := min(len(lines), 300)
		for attempt := 1; ; attempt++ {
			code, body := post(t, base+"/v1/batch", `{"batch":[`+strings.Join(lines[:n], ",")+`]}`)
			if code == 200 {
				break
			}
			if (code != 429 && code != 503) || attempt == 30 {
				t.Fatalf("batch: %d %s", code, body)
			}
			time.Sleep(time.Second)
		}
		lines = lines[n:]
	}
}

func sizeAnswer(t *testing.T, base, customer, product string) map[string]any {
	t.Helper()
	v := url.Values{"customer_id": {customer}, "product_id": {product}}
	code, m := do(t, "GET", base+"/v1/size?"+v.Encode(), "", "")
	if code != 200 {
		t.Fatalf("size of %s for %s: %d %v", product, customer, code, m)
	}
	if took, ok := m["took_ms"].(float64); !ok || took < 0 {
		t.Fatalf("size answer without its took_ms: %v", m)
	}
	delete(m, "took_ms") // the one field that differs between equal answers
	return m
}

// waitBasis polls /v1/size until the answer rests on basis (the profile updater works
// asynchronously) and returns it.
func waitBasis(t *testing.T, base, customer, product, basis string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := sizeAnswer(t, base, customer, product)
		if m["basis"] == basis {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("size of %s for %s: basis %v after 20 s, want %s (%v)", product, customer, m["basis"], basis, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSizeProfilesSurviveRestart trains on a simulated world, asks /v1/size for the
// customers the model learned, restarts the server on the same data directory and
// checks that every answer is the same; then that purchases, size returns and surveys
// arriving after training change the answer at once, survive a restart too, and that
// erasing the customer removes their size profile.
func TestSizeProfilesSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on a simulated world")
	}
	dataDir := t.TempDir()
	ts, stop := startServerAt(t, dataDir)
	world := t.TempDir()
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Products, cfg.Customers, cfg.Days = 11, 200, 300, 8
	cfg.Truth.Purchases = true
	if _, err := sim.Generate(context.Background(), cfg, world, nil); err != nil {
		t.Fatal(err)
	}
	cat, err := os.ReadFile(filepath.Join(world, "catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if code, m := do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, string(cat)); code != 200 {
		t.Fatalf("catalog: %d %v", code, m)
	}
	var events []string
	readLines(t, filepath.Join(world, "events.jsonl"), func(l string) { events = append(events, l) })
	sendEvents(t, ts.URL, events)
	// (customer, product) pairs to ask about: each signed-in buyer with a product of
	// the size system they bought in.
	type pair struct{ customer, product, system string }
	var pairs []pair
	seen := map[string]bool{}
	readLines(t, filepath.Join(world, "truth.jsonl"), func(l string) {
		var r struct{ Kind, UserID, ProductID, SizeSystem string }
		var raw map[string]any
		if json.Unmarshal([]byte(l), &raw) != nil || raw["kind"] != "purchase" {
			return
		}
		r.UserID, _ = raw["user_id"].(string)
		r.ProductID, _ = raw["product_id"].(string)
		r.SizeSystem, _ = raw["size_system"].(string)
		if r.UserID == "" || r.SizeSystem == "" || r.SizeSystem == "none" || seen[r.UserID] || len(pairs) == 60 {
			return
		}
		seen[r.UserID] = true
		pairs = append(pairs, pair{r.UserID, r.ProductID, r.SizeSystem})
	})
	if len(pairs) < 20 {
		t.Fatalf("only %d signed-in buyers in the world", len(pairs))
	}
	if code, rep := do(t, "POST", ts.URL+"/v1/admin/train", "Bearer "+testAdmin, ""); code != 200 {
		t.Fatalf("train: %d %v", code, rep)
	}
	before := make([]map[string]any, len(pairs))
	personal := 0
	for i, p := range pairs {
		before[i] = sizeAnswer(t, ts.URL, p.customer, p.product)
		if before[i]["basis"] == "purchases" {
			personal++
		}
	}
	if personal < len(pairs)/2 {
		t.Fatalf("only %d of %d buyers get an answer from their purchases after training", personal, len(pairs))
	}

	stop()
	srv, ts, stop := startServerWith(t, dataDir)
	for i, p := range pairs {
		if after := sizeAnswer(t, ts.URL, p.customer, p.product); !reflect.DeepEqual(after, before[i]) {
			t.Errorf("customer %s, product %s: after a restart %v, before %v", p.customer, p.product, after, before[i])
		}
	}

	// A ranking snapshot the binary cannot read (as one written before the ranking's
	// features changed) falls back to the default ranking, but keeps the size model.
	ctx := context.Background()
	active, err := srv.backend.Get(ctx, []byte("model/active"))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("model/" + string(active) + "/rank/0")
	chunk, err := srv.backend.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	old := append([]byte{1}, chunk[1:]...) // snapshot format 1
	if err := srv.backend.Put(ctx, key, old); err != nil {
		t.Fatal(err)
	}
	stop()
	srv, ts, stop = startServerWith(t, dataDir)
	if v := srv.active.Load().Version; v != "default" {
		t.Errorf("an unreadable snapshot is in service as %q", v)
	}
	for i, p := range pairs {
		if after := sizeAnswer(t, ts.URL, p.customer, p.product); !reflect.DeepEqual(after, before[i]) {
			t.Errorf("with the ranking unreadable, customer %s, product %s: %v, before %v", p.customer, p.product, after, before[i])
		}
	}
	if err := srv.backend.Put(ctx, key, chunk); err != nil {
		t.Fatal(err)
	}

	// A visitor the model knows nothing of is told to move off their own size on an
	// item that runs small or large; the control arm gets the named size alone.
	var anchored string
	for _, l := range strings.Split(strings.TrimSpace(string(cat)), "\n") {
		var p struct {
			ProductID string `json:"product_id"`
		}
		if json.Unmarshal([]byte(l), &p) != nil {
			t.Fatal(l)
		}
		m := sizeAnswer(t, ts.URL, "", p.ProductID)
		if m["advice"] != "size_up" && m["advice"] != "size_down" {
			continue
		}
		anchored = p.ProductID
		steps, _ := m["size_steps"].(float64)
		if _, personal := m["usual_size"]; personal || steps == 0 || (m["advice"] == "size_up") != (steps > 0) || m["size_system"] == nil ||
			(m["advice"] == "size_up") != (m["product_fit"] == "runs_small") ||
			m["basis"] == "purchases" || m["basis"] == "survey" || !strings.Contains(m["fit_note"].(string), "from your usual size") {
			t.Errorf("an unknown visitor's advice on %s: %v", p.ProductID, m)
		}
		break
	}
	if anchored == "" {
		t.Fatal("no item in the world runs small or large for an unknown visitor")
	}
	prevSplit := *srv.split.Load()
	if err := srv.SetSplit(experiment.Split{Treatment: 0, Salt: "t"}); err != nil {
		t.Fatal(err)
	}
	if m := sizeAnswer(t, ts.URL, "visitor-in-control", anchored); m["advice"] != "size" || m["size_steps"] != 0.0 || m["recommended_size"] == "" ||
		strings.Contains(m["fit_note"].(string), "from your usual") {
		t.Errorf("the control arm's answer on %s: %v, want the named size without advice", anchored, m)
	}
	if err := srv.SetSplit(prevSplit); err != nil {
		t.Fatal(err)
	}

	// Online: a new customer buys a shoe and keeps it, another answers a survey.
	var shoe, shoeSize string
	for _, l := range strings.Split(strings.TrimSpace(string(cat)), "\n") {
		var p struct {
			ProductID  string `json:"product_id"`
			SizeSystem string `json:"size_system"`
			Gender     string `json:"gender"`
			Sizes      []struct {
				Size    string `json:"size"`
				InStock bool   `json:"in_stock"`
			} `json:"sizes"`
		}
		if json.Unmarshal([]byte(l), &p) == nil && p.SizeSystem == "us_shoe" && p.Gender == "men" && len(p.Sizes) > 8 {
			shoe, shoeSize = p.ProductID, p.Sizes[len(p.Sizes)-3].Size
			break
		}
	}
	if shoe == "" {
		t.Fatal("no men's shoe in the catalog")
	}
	now := time.Now().UTC().Format(time.RFC3339)
	if m := sizeAnswer(t, ts.URL, "new-buyer", shoe); m["basis"] == "purchases" || m["basis"] == "survey" {
		t.Fatalf("an unknown customer gets a personal answer: %v", m)
	}
	sendEvents(t, ts.URL, []string{
		`{"type":"track","event":"Order Completed","userId":"new-buyer","messageId":"sz-o1","timestamp":"` + now + `","properties":{"order_id":"o1","products":[{"product_id":"` + shoe + `","size":"` + shoeSize + `"}]}}`,
		`{"type":"track","event":"Fit Survey Completed","userId":"new-surveyed","messageId":"sz-s1","timestamp":"` + now + `","properties":{"shoe_size_us":8,"gender":"male"}}`,
	})
	bought := waitBasis(t, ts.URL, "new-buyer", shoe, "purchases")
	if bought["recommended_size"] != shoeSize {
		// a single kept purchase of a product is the best evidence there is for it
		t.Errorf("after keeping %s of %s, recommended %v: %v", shoeSize, shoe, bought["recommended_size"], bought)
	}
	surveyed := waitBasis(t, ts.URL, "new-surveyed", shoe, "survey")
	if surveyed["recommended_size"] == bought["recommended_size"] {
		t.Errorf("a survey saying 8 and a purchase of %s give the same size %v", shoeSize, surveyed["recommended_size"])
	}
	// The surveyed customer buys the size suggested; it comes back too small: the
	// return replaces the kept purchase, and the recommendation moves up.
	sendEvents(t, ts.URL, []string{
		`{"type":"track","event":"Order Completed","userId":"new-surveyed","messageId":"sz-o2","timestamp":"` + now + `","properties":{"order_id":"o2","products":[{"product_id":"` + shoe + `","size":"` + surveyed["recommended_size"].(string) + `"}]}}`,
	})
	kept := waitBasis(t, ts.URL, "new-surveyed", shoe, "purchases")
	if kept["recommended_size"] != surveyed["recommended_size"] {
		t.Errorf("survey said %v, the customer kept it, now %v", surveyed["recommended_size"], kept["recommended_size"])
	}
	sendEvents(t, ts.URL, []string{
		`{"type":"track","event":"Product Returned","userId":"new-surveyed","messageId":"sz-r1","timestamp":"` + now + `","properties":{"order_id":"o2","product_id":"` + shoe + `","size":"` + surveyed["recommended_size"].(string) + `","reason":"too_small"}}`,
	})
	var returned map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		returned = sizeAnswer(t, ts.URL, "new-surveyed", shoe)
		if returned["recommended_size"] != kept["recommended_size"] || time.Now().After(deadline) {
			break
		}
	}
	if returned["basis"] != "purchases" || sizeNum(t, returned["recommended_size"]) <= sizeNum(t, surveyed["recommended_size"]) {
		t.Errorf("after a too_small return of %v, recommended %v: %v", surveyed["recommended_size"], returned["recommended_size"], returned)
	}
	var prof size.Profile
	if found, reason := srv.sizeProfile(context.Background(), "new-surveyed", &prof); !found || reason != "" {
		t.Fatalf("size profile of new-surveyed: %v %q", found, reason)
	}
	for _, e := range prof.Sizes {
		if e.System == size.SystemUSShoe && e.N != 1 {
			t.Errorf("one purchase, returned: the profile counts %d purchases", e.N)
		}
	}

	stop()
	ts, stop = startServerAt(t, dataDir)
	if m := sizeAnswer(t, ts.URL, "new-buyer", shoe); !reflect.DeepEqual(m, bought) {
		t.Errorf("online purchase lost in a restart: %v, before %v", m, bought)
	}
	if m := sizeAnswer(t, ts.URL, "new-surveyed", shoe); !reflect.DeepEqual(m, returned) {
		t.Errorf("online survey and return lost in a restart: %v, before %v", m, returned)
	}

	// Erasure removes the size profile: the answer is the cold-start one again.
	if code, m := do(t, "DELETE", ts.URL+"/v1/customers/"+pairs[0].customer, "Bearer "+testAdmin, ""); code != 200 {
		t.Fatalf("erase: %d %v", code, m)
	}
	if m := sizeAnswer(t, ts.URL, pairs[0].customer, pairs[0].product); m["basis"] == "purchases" || m["basis"] == "survey" {
		t.Errorf("erased customer still gets a personal size: %v", m)
	}
	stop()
}

func sizeNum(t *testing.T, v any) float64 {
	t.Helper()
	s, _ := v.(string)
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("size %v is not a number", v)
	}
	return f
}

func readLines(t *testing.T, path string, fn func(string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fn(sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
