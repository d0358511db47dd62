package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/server"
	"github.com/bespokesearch/bespoke/web"
)

const (
	e2eWriteKey = "wk_e2e_storefront"
	e2eAdmin    = "adm_e2e_storefront"
	e2eCustomer = "C000007"
	e2eQuery    = "sneakers"
)

// e2eNeeds skips (or, under CI, fails) when the browser test's tools are missing.
func e2eNeeds(t *testing.T) (node, chromium string) {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser test is skipped with -short")
	}
	missing := func(what string) {
		msg := "storefront browser test needs " + what
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure; .ci/run must install it)")
		}
		t.Skip(msg + "; skipping (set CI=true to make this a failure)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node (Node.js 20+) on PATH")
	}
	chromium = os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("Chromium at " + chromium + " (apt-get install -y chromium, or set CHROMIUM_PATH)")
	}
	if _, err := os.Stat(filepath.Join("e2e", "node_modules", "playwright-core", "package.json")); err != nil {
		missing("playwright-core: run `npm ci` in web/e2e")
	}
	return node, chromium
}

// catalog is a small store: sneakers in many brands and colours (the searched query),
// plus boots and dresses, with sizes so that size advice has something to say.
func catalog() []map[string]any {
	brands := []string{"Northpeak", "Velora", "Kestrel", "Marlow", "Orsa", "Wren"}
	colors := []string{"black", "white", "red", "navy", "green", "tan", "pink", "grey"}
	shoe := []map[string]any{}
	for _, s := range []string{"6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "11"} {
		shoe = append(shoe, map[string]any{"size": s, "in_stock": s != "8.5"})
	}
	alpha := []map[string]any{{"size": "XS", "in_stock": true}, {"size": "S", "in_stock": true}, {"size": "M", "in_stock": true}, {"size": "L", "in_stock": true}, {"size": "XL", "in_stock": false}}
	var out []map[string]any
	for i := range 24 {
		b, c := brands[i%len(brands)], colors[(i*5)%len(colors)]
		out = append(out, map[string]any{
			"product_id": fmt.Sprintf("S%03d", i+1), "name": fmt.Sprintf("%s %s Runner Sneaker %d", b, strings.ToUpper(c[:1])+c[1:], i+1),
			"brand": b, "category": "sneakers", "gender": []string{"women", "men"}[i%2], "color": c, "material": "mesh",
			"style": "sporty", "price": 50 + float64(i*7%90), "size_system": "us_shoe", "sizes": shoe,
			"description": "A light " + c + " sneaker with a cushioned footbed.",
		})
	}
	for i := range 8 {
		out = append(out, map[string]any{
			"product_id": fmt.Sprintf("B%03d", i+1), "name": fmt.Sprintf("%s Trail Boot %d", brands[i%len(brands)], i+1),
			"brand": brands[i%len(brands)], "category": "boots", "gender": "women", "color": colors[i%len(colors)],
			"price": 120 + float64(i*9), "size_system": "us_shoe", "sizes": shoe,
		})
		out = append(out, map[string]any{
			"product_id": fmt.Sprintf("D%03d", i+1), "name": fmt.Sprintf("%s Linen Dress %d", brands[i%len(brands)], i+1),
			"brand": brands[i%len(brands)], "category": "dresses", "gender": "women", "color": colors[(i+3)%len(colors)],
			"price": 60 + float64(i*11), "size_system": "alpha", "sizes": alpha,
		})
	}
	return out
}

func adminDo(t *testing.T, method, url string, body []byte) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, b)
	}
	return b
}

type e2eResult struct {
	OK    bool     `json:"ok"`
	Error string   `json:"error"`
	Steps []string `json:"steps"`
	First struct {
		SearchID     string   `json:"searchId"`
		Personalized bool     `json:"personalized"`
		IDs          []string `json:"ids"`
	} `json:"first"`
	Clicked            string   `json:"clicked"`
	RecommendedSize    string   `json:"recommendedSize"`
	FitNote            string   `json:"fitNote"`
	OrderID            string   `json:"orderId"`
	PersonalizedBefore bool     `json:"personalizedBefore"`
	PersonalizedAfter  bool     `json:"personalizedAfter"`
	Before             []string `json:"before"`
	After              []string `json:"after"`
	Anonymous          []string `json:"anonymous"`
	EqualToAnonymous   bool     `json:"equalToAnonymous"`
	PageErrors         []string `json:"pageErrors"`
}

// TestE2EStorefront drives the storefront and the dashboard in headless Chromium against a
// real server (collector, stream, lake, profiles, search, size) and then checks that the
// storefront's events reached the lake with the properties of CONTRACT §2.
func TestE2EStorefront(t *testing.T) {
	node, chromium := e2eNeeds(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	data := t.TempDir()
	srv, err := server.New(ctx, server.Config{
		DataDir: data, WriteKeys: []string{e2eWriteKey}, AdminToken: e2eAdmin,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("cannot start the server: %v", err)
	}
	defer srv.Close()
	mux := http.NewServeMux()
	api := srv.Handler()
	for _, p := range []string{"/v1/", "/metrics", "/healthz", "/readyz"} {
		mux.Handle(p, api)
	}
	mux.Handle("/", web.Handler(web.Options{WriteKey: e2eWriteKey}))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	body, _ := json.Marshal(catalog())
	adminDo(t, http.MethodPut, ts.URL+"/v1/products", body)

	artifacts := os.Getenv("BESPOKE_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs(filepath.Join("e2e", "artifacts"))
	}
	_ = os.RemoveAll(artifacts)
	cmd := exec.CommandContext(ctx, node, "storefront.mjs", ts.URL, artifacts, e2eAdmin, e2eCustomer, e2eQuery)
	cmd.Dir = "e2e"
	cmd.Env = append(os.Environ(), "CHROMIUM_PATH="+chromium)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, _ := cmd.StderrPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start node: %v", err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	runErr := cmd.Wait()
	t.Logf("browser run took %s; screenshots in %s", time.Since(start).Round(time.Millisecond), artifacts)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res e2eResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("the browser script printed no result (%v): %v\n%s", runErr, err, stdout.String())
	}
	if runErr != nil || !res.OK {
		t.Fatalf("browser test failed after steps %v: %s (page errors: %v); screenshots in %s", res.Steps, res.Error, res.PageErrors, artifacts)
	}
	if res.PersonalizedAfter || !res.PersonalizedBefore || !res.EqualToAnonymous {
		t.Fatalf("personalization: before opt-out %v (want true), after %v (want false), equal to anonymous %v", res.PersonalizedBefore, res.PersonalizedAfter, res.EqualToAnonymous)
	}
	if equal(res.Before, res.Anonymous) {
		t.Logf("note: the personalized ranking happened to equal the anonymous one: %v", res.Before)
	}

	// Every storefront event must be in the lake, with the properties of CONTRACT §2.
	adminDo(t, http.MethodPost, ts.URL+"/v1/admin/flush", nil)
	st, err := lake.OpenStorage(ctx, filepath.Join(data, "lake"), lake.S3Options{})
	if err != nil {
		t.Fatalf("cannot open the lake: %v", err)
	}
	seen := map[string]int{}
	var searched, listed, clicked, viewed, added, ordered, optedOut bool
	err = lake.Scan(ctx, st, lake.ScanOptions{}, func(r *lake.Row) error {
		if r.UserID != e2eCustomer {
			return nil
		}
		seen[r.Event]++
		switch r.Event {
		case "Products Searched":
			searched = searched || (r.SearchID == res.First.SearchID && r.Query == e2eQuery)
		case "Product List Viewed":
			if r.SearchID == res.First.SearchID {
				var ps []struct {
					ProductID string `json:"product_id"`
					Position  int    `json:"position"`
				}
				if err := json.Unmarshal([]byte(r.Products), &ps); err != nil {
					return fmt.Errorf("Product List Viewed products %q: %w", r.Products, err)
				}
				listed = len(ps) == len(res.First.IDs) && len(ps) > 0 && ps[0].ProductID == res.First.IDs[0] && ps[0].Position == 1
			}
		case "Product Clicked":
			clicked = clicked || (r.ProductID == res.Clicked && r.Position == 2 && r.SearchID == res.First.SearchID && r.Query == e2eQuery)
		case "Product Viewed":
			viewed = viewed || (r.ProductID == res.Clicked && r.SearchID == res.First.SearchID)
		case "Product Added":
			added = added || (r.ProductID == res.Clicked && r.Size == res.RecommendedSize)
		case "Order Completed":
			ordered = ordered || (r.OrderID == res.OrderID && strings.Contains(r.Products, res.Clicked))
		case "Personalization Opted Out":
			optedOut = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cannot scan the lake: %v", err)
	}
	t.Logf("lake events of %s: %v", e2eCustomer, seen)
	for name, ok := range map[string]bool{
		"Products Searched {query, search_id}": searched, "Product List Viewed {search_id, products[{product_id, position}]}": listed,
		"Product Clicked {product_id, position 2, search_id, query}": clicked, "Product Viewed {product_id, search_id}": viewed,
		"Product Added {product_id, size = the recommended size}": added, "Order Completed {order_id, products}": ordered,
		"Personalization Opted Out": optedOut, "identify": seen["identify"] > 0,
	} {
		if !ok {
			t.Errorf("the lake has no %s event of %s matching what the browser did", name, e2eCustomer)
		}
	}

	// The business metrics see the storefront's searches in the personalized arm.
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	var rep struct {
		Arms []struct {
			Arm      string `json:"arm"`
			Searches int    `json:"searches"`
		} `json:"arms"`
	}
	if err := json.Unmarshal(adminDo(t, http.MethodGet, ts.URL+"/v1/admin/metrics?from="+from, nil), &rep); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range rep.Arms {
		if a.Arm == "personalized" {
			n = a.Searches
		}
	}
	if n < 3 {
		t.Errorf("/v1/admin/metrics counts %d searches in the personalized arm, want at least the browser's 3: %+v", n, rep)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
