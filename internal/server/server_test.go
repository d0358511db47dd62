package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/profile"
)

const testAdmin = "admin-secret"
const testWriteKey = "wk"

func newTestServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(context.Background(), Config{
		DataDir: t.TempDir(), AdminToken: testAdmin, WriteKeys: []string{testWriteKey},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SearchDeadline: time.Second, TrainTrees: 15,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func do(t *testing.T, method, url, auth, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, url, raw)
		}
	}
	return resp.StatusCode, m
}

const testCatalog = `{"product_id":"p1","name":"Nimbus Trail Running Shoe","brand":"Nimbus","category":"running","color":"black","price":120,"size_system":"us_shoe","sizes":[{"size":"9","in_stock":true},{"size":"9.5","in_stock":false}]}
{"product_id":"p2","name":"Zephyr Road Running Shoe","brand":"Zephyr","category":"running","color":"white","price":60,"size_system":"us_shoe","sizes":[{"size":"9","in_stock":true}]}
{"product_id":"p3","name":"Alpine Running Boot","brand":"Alpine","category":"boots","color":"black","price":180}
`

func ids(m map[string]any, key string) []string {
	var out []string
	for _, r := range m[key].([]any) {
		out = append(out, r.(map[string]any)["product_id"].(string))
	}
	return out
}

func TestProductsAndSearch(t *testing.T) {
	s, ts := newTestServer(t)
	if code, m := do(t, "PUT", ts.URL+"/v1/products", "", testCatalog); code != 401 || m["error"] == nil {
		t.Fatalf("PUT without admin token: %d %v", code, m)
	}
	code, m := do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog+`{"name":"no id"}`+"\n")
	if code != 400 || !strings.Contains(fmt.Sprint(m["details"]), "product_id") {
		t.Fatalf("a bad product must refuse the request naming the field: %d %v", code, m)
	}
	if code, m = do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog); code != 200 || m["upserted"].(float64) != 3 {
		t.Fatalf("PUT: %d %v", code, m)
	}
	if code, m = do(t, "GET", ts.URL+"/v1/products/p1", "", ""); code != 200 || m["name"] != "Nimbus Trail Running Shoe" || m["fit"].(map[string]any)["fit"] != "unknown" {
		t.Fatalf("GET product: %d %v", code, m)
	}
	code, m = do(t, "GET", ts.URL+"/v1/search?q=running+shoe", "", "")
	if code != 200 || m["personalized"] != false || len(m["results"].([]any)) < 2 || m["search_id"] == "" {
		t.Fatalf("search: %d %v", code, m)
	}
	anonOrder := ids(m, "results")

	// A customer who buys Zephyr gets Zephyr first; the same query for an anonymous visitor does not change.
	err := s.updateProfile(context.Background(), customerKey("zed"), func(p *profile.Profile) bool {
		for i := 0; i < 5; i++ {
			p.Apply(profile.Purchased, profile.Item{ID: fmt.Sprint("z", i), Brand: "Zephyr", Category: "running", Color: "white", Price: 60}, int64(1000+i))
		}
		p.Sizes = []profile.SizePrediction{{System: 1, Size: 9.5, Conf: 0.9}}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	_, m = do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=zed", "", "")
	if m["personalized"] != true || ids(m, "results")[0] != "p2" {
		t.Fatalf("personalized search: %v (anonymous order %v)", m, anonOrder)
	}
	for _, r := range m["results"].([]any) {
		r := r.(map[string]any)
		if r["product_id"] == "p1" && (r["recommended_size"] != "9.5" || r["in_stock_in_size"] != false) {
			t.Errorf("size of p1 for zed: %v", r)
		}
	}

	// Opt-out: from the next request on, the anonymous order and personalized:false.
	if code, _ := do(t, "POST", ts.URL+"/v1/customers/zed/opt-out", "Bearer "+testWriteKey, ""); code != 200 {
		t.Fatalf("opt-out: %d", code)
	}
	_, m = do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=zed", "", "")
	if m["personalized"] != false || fmt.Sprint(ids(m, "results")) != fmt.Sprint(anonOrder) {
		t.Fatalf("opted-out search: %v, want anonymous order %v", m, anonOrder)
	}
	do(t, "DELETE", ts.URL+"/v1/customers/zed/opt-out", "Bearer "+testWriteKey, "")
	if _, m = do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=zed", "", ""); m["personalized"] != true {
		t.Fatalf("opt-in must restore personalization: %v", m)
	}

	// Erasure leaves no trace in the store or its cache.
	if code, _ := do(t, "DELETE", ts.URL+"/v1/customers/zed", "Bearer "+testAdmin, ""); code != 200 {
		t.Fatalf("erase: %d", code)
	}
	if _, err := s.profiles.Get(context.Background(), customerKey("zed")); err == nil {
		t.Fatal("profile still readable through the cache after erasure")
	}
	if _, err := s.backend.Get(context.Background(), customerKey("zed")); err == nil {
		t.Fatal("profile still in the online store after erasure")
	}
	if _, m = do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=zed", "", ""); m["personalized"] != false {
		t.Fatalf("erased customer still personalized: %v", m)
	}
}

func TestRerankRanksUnknownIDs(t *testing.T) {
	_, ts := newTestServer(t)
	do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog)
	code, m := do(t, "POST", ts.URL+"/v1/rerank?explain=true", "", `{"query":"running","items":[{"product_id":"p1","score":1},{"product_id":"nope","score":3},{"product_id":42}]}`)
	if code != 200 || len(m["items"].([]any)) != 3 {
		t.Fatalf("rerank: %d %v", code, m)
	}
	if got := ids(m, "items"); got[0] != "nope" {
		t.Errorf("with no profile the caller's scores must lead: %v", got)
	}
	if m["items"].([]any)[0].(map[string]any)["explain"] == nil {
		t.Error("explain=true must explain")
	}
	for _, c := range []struct{ body, field string }{
		{`{"items":[]}`, "items"}, {`{"items":[{"score":1}]}`, "items[0].product_id"}, {`not json`, "body"},
	} {
		code, m := do(t, "POST", ts.URL+"/v1/rerank", "", c.body)
		if code != 400 || !strings.Contains(fmt.Sprint(m["details"]), c.field) {
			t.Errorf("rerank %s: %d %v", c.body, code, m)
		}
	}
}

func TestSearchParameterErrors(t *testing.T) {
	_, ts := newTestServer(t)
	for _, q := range []string{"limit=0", "limit=abc", "offset=-1", "price_min=x", "price_max=-3"} {
		code, m := do(t, "GET", ts.URL+"/v1/search?q=x&"+q, "", "")
		field := strings.Split(q, "=")[0]
		if code != 400 || !strings.Contains(fmt.Sprint(m["details"]), field) {
			t.Errorf("%s: %d %v", q, code, m)
		}
	}
}
