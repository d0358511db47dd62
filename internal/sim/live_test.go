package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
)

// fakeStore implements the server endpoints Live uses, minimally: it keeps the
// catalog, ranks by id among products whose name has a query word, recommends each
// product's largest in-stock size, and records every event after validating it.
type fakeStore struct {
	mu          sync.Mutex
	writeKey    string
	adminToken  string
	products    []catalog.Product
	byID        map[string]*catalog.Product
	catalogPuts int
	events      []event.Event
	batches     int
	refusals    int // 503s still to answer to /v1/batch
	searches    map[string][]string
	sizeCalls   int
	optOuts     []string
}

func newFakeStore() *fakeStore {
	return &fakeStore{writeKey: "wk", adminToken: "adm", byID: map[string]*catalog.Product{}, searches: map[string][]string{}, refusals: 2}
}

func (s *fakeStore) recommended(p *catalog.Product) string {
	for i := len(p.Sizes) - 1; i >= 0; i-- {
		if p.Sizes[i].InStock {
			return p.Sizes[i].Size
		}
	}
	return ""
}

func (s *fakeStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/v1/products":
		if r.Header.Get("Authorization") != "Bearer "+s.adminToken {
			http.Error(w, "bad admin token", http.StatusUnauthorized)
			return
		}
		err := catalog.Read(r.Body, catalog.ReadOptions{}, func(p catalog.Product) error {
			s.products = append(s.products, p)
			s.byID[p.ProductID] = &s.products[len(s.products)-1]
			return nil
		}, func(le *catalog.LineError) error { return le })
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for i := range s.products { // the slice may have moved
			s.byID[s.products[i].ProductID] = &s.products[i]
		}
		s.catalogPuts++
		fmt.Fprint(w, `{"success":true}`)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/search":
		q := strings.Fields(strings.ToLower(r.URL.Query().Get("q")))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if r.URL.Query().Get("anonymous_id") == "" {
			http.Error(w, "anonymous_id missing", http.StatusBadRequest)
			return
		}
		var ids []string
		for _, p := range s.products {
			name := strings.ToLower(p.Name + " " + p.Category)
			for _, t := range q {
				if len(t) > 3 && strings.Contains(name, t[:len(t)-1]) {
					ids = append(ids, p.ProductID)
					break
				}
			}
			if len(ids) == limit {
				break
			}
		}
		sid := fmt.Sprintf("srv-%d", len(s.searches)+1)
		s.searches[sid] = ids
		type res struct {
			ProductID       string  `json:"product_id"`
			Score           float64 `json:"score"`
			RecommendedSize string  `json:"recommended_size"`
		}
		out := struct {
			SearchID     string `json:"search_id"`
			Personalized bool   `json:"personalized"`
			Arm          string `json:"arm"`
			Results      []res  `json:"results"`
		}{SearchID: sid, Arm: "control", Results: []res{}}
		for i, id := range ids {
			out.Results = append(out.Results, res{id, float64(len(ids) - i), s.recommended(s.byID[id])})
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/size":
		p := s.byID[r.URL.Query().Get("product_id")]
		if p == nil {
			http.Error(w, "unknown product", http.StatusNotFound)
			return
		}
		s.sizeCalls++
		fmt.Fprintf(w, `{"product_id":%q,"recommended_size":%q,"confidence":0.5}`, p.ProductID, s.recommended(p))
	case r.Method == http.MethodPost && r.URL.Path == "/v1/batch":
		if u, _, ok := r.BasicAuth(); !ok || u != s.writeKey {
			http.Error(w, `{"error":"bad write key"}`, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if s.refusals > 0 {
			s.refusals--
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
			return
		}
		b, err := event.ParseBatch(body, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.batches++
		s.events = append(s.events, b.Events...)
		fmt.Fprint(w, `{"success":true}`)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/customers/") && strings.HasSuffix(r.URL.Path, "/opt-out"):
		s.optOuts = append(s.optOuts, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/customers/"), "/opt-out"))
		fmt.Fprint(w, `{"success":true}`)
	default:
		http.NotFound(w, r)
	}
}

func TestLiveAgainstAServer(t *testing.T) {
	store := newFakeStore()
	srv := httptest.NewServer(store)
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Products, cfg.Customers, cfg.Days = 300, 400, 4
	cfg.Identity.OptOutShare = 0.2
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opt := LiveOptions{Target: srv.URL, WriteKey: "wk", AdminToken: "adm", Concurrency: 3, BatchSize: 50, ToDay: 2}
	var truth bytes.Buffer
	opt.Truth = &truth
	st1, err := w.PlayLive(context.Background(), opt, nil)
	if err != nil {
		t.Fatalf("history window: %v", err)
	}
	store.mu.Lock()
	n1 := len(store.events)
	if store.catalogPuts != 1 || len(store.products) != cfg.Products {
		t.Errorf("catalog: %d PUTs, %d products", store.catalogPuts, len(store.products))
	}
	if n1 != st1.Events || n1 < 300 {
		t.Errorf("server got %d events, Stats says %d", n1, st1.Events)
	}
	if st1.Retries < 2 {
		t.Errorf("503 answers were not retried: %d retries", st1.Retries)
	}
	split := cfg.Start.AddDate(0, 0, 2)
	for _, e := range store.events {
		if !e.Timestamp.Before(split) || e.Timestamp.Before(cfg.Start) {
			t.Fatalf("event of the history window at %v", e.Timestamp)
		}
	}
	store.mu.Unlock()
	if !strings.Contains(truth.String(), `"kind":"purchase"`) {
		t.Error("no purchase truth written in live mode")
	}

	// the A/B period: the same world goes on
	opt.FromDay, opt.ToDay, opt.Truth = 2, 0, nil
	st2, err := w.PlayLive(context.Background(), opt, nil)
	if err != nil {
		t.Fatalf("second window: %v", err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.catalogPuts != 1 {
		t.Errorf("the catalog was loaded again (%d PUTs)", store.catalogPuts)
	}
	if len(store.events) != st1.Events+st2.Events {
		t.Errorf("server got %d events, Stats say %d + %d", len(store.events), st1.Events, st2.Events)
	}
	ids := map[string]bool{}
	var searched, listed, addedRec, added, returns, optOutEvents int
	for i, e := range store.events {
		if ids[e.MessageID] {
			t.Fatalf("messageId %s sent twice", e.MessageID)
		}
		ids[e.MessageID] = true
		if i >= n1 && e.Timestamp.Before(split) {
			t.Fatalf("event of the second window at %v", e.Timestamp)
		}
		p, err := e.Props()
		if err != nil {
			t.Fatal(err)
		}
		switch e.Event {
		case event.ProductsSearched:
			searched++
			if _, ok := store.searches[p.SearchID]; !ok {
				t.Fatalf("Products Searched with a search_id the server never gave: %q", p.SearchID)
			}
			if p.Arm != "control" {
				t.Fatalf("the arm of the search is not recorded: %+v", p)
			}
		case event.ProductListViewed:
			listed++
			served := store.searches[p.SearchID]
			if len(served) != len(p.Products) {
				t.Fatalf("search %s served %d products, impressions list %d", p.SearchID, len(served), len(p.Products))
			}
			for j, pr := range p.Products {
				if string(pr.ProductID) != served[j] || pr.Position != j+1 {
					t.Fatalf("impression %d of %s is %s at %d, the server ranked %s there", j, p.SearchID, pr.ProductID, pr.Position, served[j])
				}
			}
		case event.ProductAdded:
			added++
			if string(p.Size) == store.recommended(store.byID[string(p.ProductID)]) {
				addedRec++
			}
		case event.ProductReturned:
			returns++
		case event.PersonalizationOut:
			optOutEvents++
		}
	}
	if searched == 0 || listed == 0 || added == 0 {
		t.Fatalf("searched %d, listed %d, added %d", searched, listed, added)
	}
	if st := st1.RecommendationsTrusted + st2.RecommendationsTrusted; st == 0 || store.sizeCalls == 0 || addedRec < st {
		t.Errorf("recommended sizes: %d size calls, %d trusted, %d of %d adds in the recommended size", store.sizeCalls, st, addedRec, added)
	}
	if addedRec == added {
		t.Errorf("every add took the recommended size; customers who do not trust it must choose their own")
	}
	if optOutEvents == 0 || len(store.optOuts) != optOutEvents {
		t.Errorf("%d opt-out events, %d opt-out calls", optOutEvents, len(store.optOuts))
	}
	t.Logf("live: %d events in %d batches, %d searches, %d adds (%d in the recommended size), %d returns",
		len(store.events), store.batches, searched, added, addedRec, returns)

	// windows must follow each other
	if _, err := w.PlayLive(context.Background(), LiveOptions{Target: srv.URL, FromDay: 1, ToDay: 2, SkipCatalog: true}, nil); err == nil {
		t.Error("replaying an earlier window was accepted")
	}
}

// reliableStore is a fake store that never answers 503, behind a test HTTP server
// closed with the test.
func reliableStore(t *testing.T) (*fakeStore, *httptest.Server) {
	store := newFakeStore()
	store.refusals = 0
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	return store, srv
}

func TestLiveReportsServerErrors(t *testing.T) {
	_, srv := reliableStore(t)
	cfg := DefaultConfig()
	cfg.Products, cfg.Customers, cfg.Days = 100, 100, 1
	_, err := Live(context.Background(), cfg, LiveOptions{Target: srv.URL, WriteKey: "wrong", AdminToken: "adm"}, nil)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong write key gave %v; want an error naming the 401", err)
	}
	_, err = Live(context.Background(), cfg, LiveOptions{Target: srv.URL, WriteKey: "wk", AdminToken: "nope"}, nil)
	if err == nil || !strings.Contains(err.Error(), "catalog") {
		t.Errorf("a wrong admin token gave %v; want an error about loading the catalog", err)
	}
	if _, err := Live(context.Background(), cfg, LiveOptions{Target: "localhost:1"}, nil); err == nil {
		t.Error("a target without a scheme was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Live(ctx, cfg, LiveOptions{Target: srv.URL, WriteKey: "wk", AdminToken: "adm"}, nil); err == nil {
		t.Error("a cancelled context did not stop Live")
	}
}

// A window played with ReturnsOnly has no shoppers: the server gets only what the
// shopping days left due in it — the returns of their orders, and the end of sessions
// that ran past midnight — and every return of the shopping window's orders (decided
// at checkout) is delivered by the end of the world.
func TestLiveReturnsOnlyWindow(t *testing.T) {
	store, srv := reliableStore(t)
	cfg := DefaultConfig()
	cfg.Products, cfg.Customers = 300, 600
	cfg.Days = 3 + cfg.Returns.MaxDelayDays + 1
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var truth bytes.Buffer
	opt := LiveOptions{Target: srv.URL, WriteKey: "wk", AdminToken: "adm", Concurrency: 2, ToDay: 3, Truth: &truth}
	shop, err := w.PlayLive(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt.FromDay, opt.ToDay, opt.ReturnsOnly, opt.SkipCatalog, opt.Truth = 3, 0, true, true, nil
	tail, err := w.PlayLive(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tail.ByEvent[event.ProductReturned] == 0 {
		t.Fatalf("no returns in the returns-only window: %+v", tail.ByEvent)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	returned, late := 0, 0
	closed := cfg.Start.AddDate(0, 0, 3)
	for i, e := range store.events {
		if e.Event == event.ProductReturned {
			returned++
		}
		if i < shop.Events {
			continue
		}
		if e.Timestamp.Before(closed) {
			t.Fatalf("event %s of the returns-only window at %v, before it", e.Event, e.Timestamp)
		}
		if e.Event != event.ProductReturned {
			late++
			if e.Timestamp.After(closed.Add(6 * time.Hour)) {
				t.Errorf("%s at %v in the returns-only window: no session began after %v", e.Event, e.Timestamp, closed)
			}
		}
	}
	t.Logf("returns-only window: %d returns, %d events of sessions that ran past its start", tail.ByEvent[event.ProductReturned], late)
	if returned != shop.Returns || returned != shop.ByEvent[event.ProductReturned]+tail.Events {
		t.Errorf("returns decided in the shopping window %d, delivered %d (%d in it, %d after)",
			shop.Returns, returned, shop.ByEvent[event.ProductReturned], tail.Events)
	}
}
