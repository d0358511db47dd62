package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/profile"
)

// TestInterleavedSearch: a customer in the interleaved arm gets one list merged from
// the control and personalized rankings, each item with the team that placed it, the
// same list on a repeated search, and plain control once opted out.
func TestInterleavedSearch(t *testing.T) {
	s, err := New(context.Background(), Config{
		DataDir: t.TempDir(), AdminToken: testAdmin, WriteKeys: []string{testWriteKey},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SearchDeadline: time.Second,
		Split: experiment.Split{Interleave: 1, Salt: "t"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	if code, m := do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog); code != 200 {
		t.Fatalf("PUT: %d %v", code, m)
	}
	err = s.updateProfile(context.Background(), customerKey("zed"), func(p *profile.Profile) bool {
		for i := 0; i < 5; i++ {
			p.Apply(profile.Purchased, profile.Item{ID: fmt.Sprint("z", i), Brand: "Zephyr", Category: "running", Color: "white", Price: 60}, int64(1000+i))
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	_, anon := do(t, "GET", ts.URL+"/v1/search?q=running+shoe", "", "")
	_, m := do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=zed", "", "")
	if m["arm"] != experiment.Interleaved {
		t.Fatalf("arm %v, want interleaved", m["arm"])
	}
	// The merged list holds the personalized ranking's picks: it is personalized
	// (CONTRACT §4: false means the non-personalized order an anonymous visitor gets).
	if m["personalized"] != true {
		t.Fatalf("an interleaved list for a customer with a profile says personalized %v", m["personalized"])
	}
	if anon["personalized"] != false {
		t.Fatalf("an interleaved visitor without a profile says personalized %v", anon["personalized"])
	}
	got, teams := ids(m, "results"), map[string]int{}
	for _, r := range m["results"].([]any) {
		teams[fmt.Sprint(r.(map[string]any)["team"])]++
	}
	if teams[experiment.Control] == 0 || teams[experiment.Personalized] == 0 || teams[experiment.Control]+teams[experiment.Personalized] != len(got) {
		t.Fatalf("teams %v for %d results", teams, len(got))
	}
	want := ids(anon, "results")
	if len(got) != len(want) || !slices.Contains(got[:2], "p2") || !slices.Contains(got[:2], want[0]) {
		t.Fatalf("interleaved %v: want the same items with both rankings' tops (control %v, personalized top p2) first", got, want)
	}
	for i := 0; i < 3; i++ {
		if _, again := do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=zed", "", ""); !slices.Equal(ids(again, "results"), got) {
			t.Fatal("a repeated search must show the same interleaved list")
		}
	}
	do(t, "POST", ts.URL+"/v1/customers/zed/opt-out", "Bearer "+testWriteKey, "")
	_, m = do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=zed", "", "")
	if !slices.Equal(ids(m, "results"), want) {
		t.Fatalf("opted out: %v, want the control order %v", ids(m, "results"), want)
	}
	if m["personalized"] != false {
		t.Fatalf("opted out: personalized %v, want false", m["personalized"])
	}
	for _, r := range m["results"].([]any) {
		if team := r.(map[string]any)["team"]; team != nil {
			t.Fatalf("an opted-out customer's list has teams: %v", m)
		}
	}
	if err := s.SetSplit(experiment.Split{Treatment: 0.7, Interleave: 0.5}); err == nil {
		t.Fatal("a split over 100% must be refused")
	}
}

// TestSearchLatencyIsTheSplits: the per-arm latencies and search counts of the metrics
// report are those of the current split. The demo answers its whole history in control
// before it splits: those searches must not stand for the A/B period's control arm, and
// an arm without a measured latency is absent (not 0 ms).
func TestSearchLatencyIsTheSplits(t *testing.T) {
	s, ts := newTestServer(t)
	if code, m := do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog); code != 200 {
		t.Fatalf("PUT: %d %v", code, m)
	}
	err := s.updateProfile(context.Background(), customerKey("zed"), func(p *profile.Profile) bool {
		p.Apply(profile.Purchased, profile.Item{ID: "z", Brand: "Zephyr", Category: "running", Color: "white", Price: 60}, 1000)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // before the split: everyone personalized (the default)
		do(t, "GET", ts.URL+"/v1/search?q=running&customer_id=zed", "", "")
	}
	if err := s.SetSplit(experiment.Split{Treatment: 1, Salt: "t"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		do(t, "GET", ts.URL+"/v1/search?q=running&customer_id=zed", "", "")
		do(t, "GET", ts.URL+fmt.Sprintf("/v1/search?q=running&customer_id=new%d", i), "", "")
	}
	req := httptest.NewRequest("GET", "/", nil)
	m, err := s.BusinessMetrics(req, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if m.LatencyN[experiment.Personalized] != 6 || m.ServedSearches[experiment.Personalized] != 6 || m.PersonalizedSearches[experiment.Personalized] != 3 {
		t.Fatalf("personalized arm: n %v served %v personalized %v, want 6, 6, 3 (the searches since the split)", m.LatencyN, m.ServedSearches, m.PersonalizedSearches)
	}
	if _, ok := m.LatencyP99[experiment.Control]; ok {
		t.Fatalf("control has a p99 %v without a search: report it as missing, not 0 ms", m.LatencyP99)
	}
}
