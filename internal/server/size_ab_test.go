package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/sim"
)

// TestSizeReturnsAB measures the effect of size recommendations in the simulator's
// live mode, the way `bespoke demo --quick` plays it (history with no personalization,
// training, then an A/B period split 50/50 by customer), and reads the truth of the
// A/B period: size-related return rate of order lines in the control arm (which sees
// the product's and brand's answer) against lines of the personalized arm whose size
// was the recommended one ("shown and trusted"), with a bootstrap over customers.
//
//	BESPOKE_SIZE_AB=1 go test -run TestSizeReturnsAB -v -timeout 30m ./internal/server
//
// BESPOKE_SIZE_AB_SEED picks the world's seed (default 1, the demo's).
func TestSizeReturnsAB(t *testing.T) {
	if os.Getenv("BESPOKE_SIZE_AB") == "" {
		t.Skip("a measurement: set BESPOKE_SIZE_AB=1")
	}
	ctx := context.Background()
	cfg := sim.DefaultConfig()
	cfg.Products, cfg.Customers, cfg.Days = 3000, 4000, 21
	cfg.Seed = 1
	if v := os.Getenv("BESPOKE_SIZE_AB_SEED"); v != "" {
		cfg.Seed, _ = strconv.ParseInt(v, 10, 64)
	}
	cfg.Truth.Purchases = true
	srv, err := New(ctx, Config{DataDir: t.TempDir(), WriteKeys: []string{testWriteKey}, AdminToken: testAdmin,
		Split:            experiment.Split{Treatment: 0, Salt: "demo"},
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		LakeMaxOpenFiles: 1024, IngestAckTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	world, err := sim.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	history := cfg.Days * 2 / 3
	live := sim.LiveOptions{Target: ts.URL, WriteKey: testWriteKey, AdminToken: testAdmin, Concurrency: 4, ToDay: history}
	if _, err := world.PlayLive(ctx, live, io.Discard); err != nil {
		t.Fatal(err)
	}
	rep, _, err := srv.Train(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Size != nil {
		b, _ := json.Marshal(rep.Size)
		t.Logf("size report: %s", b)
	}
	split := experiment.Split{Treatment: 0.5, Salt: "demo"}
	srv.SetSplit(split)
	var truth bytes.Buffer
	live.FromDay, live.ToDay, live.SkipCatalog, live.Truth = history, cfg.Days, true, &truth
	st, err := world.PlayLive(ctx, live, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("A/B period: %d orders, recommendations shown %d, taken %d", st.Orders, st.RecommendationsShown, st.RecommendationsTrusted)

	// per customer and group: order lines with a size, and size returns
	type cell struct{ lines, returns float64 }
	groups := []string{"control", "control/recommended", "personalized", "personalized/recommended", "personalized/recommended personal", "personalized/not recommended"}
	per := map[string]map[string]*cell{} // customer → group → cell
	bySource := map[string]*cell{}
	dec := json.NewDecoder(&truth)
	for dec.More() {
		var r struct {
			Kind        string `json:"kind"`
			CustomerID  string `json:"customer_id"`
			UserID      string `json:"user_id"`
			AnonymousID string `json:"anonymous_id"`
			Size        string `json:"size"`
			Source      string `json:"source"`
			Reason      string `json:"reason"`
			Basis       string `json:"recommended_basis"`
		}
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.Kind != "purchase" || r.Size == "" {
			continue
		}
		subject := r.UserID
		if subject == "" {
			subject = r.AnonymousID
		}
		arm := "control"
		if split.Arm(subject) == experiment.Personalized {
			arm = "personalized"
		}
		ret := 0.0
		if r.Reason == "too_small" || r.Reason == "too_large" {
			ret = 1
		}
		add := func(g string) {
			if per[r.CustomerID] == nil {
				per[r.CustomerID] = map[string]*cell{}
			}
			c := per[r.CustomerID][g]
			if c == nil {
				c = &cell{}
				per[r.CustomerID][g] = c
			}
			c.lines++
			c.returns += ret
		}
		add(arm)
		if r.Source == "recommended" {
			add(arm + "/recommended")
			if r.Basis == "purchases" || r.Basis == "survey" {
				add(arm + "/recommended personal")
			}
		} else if arm == "personalized" {
			add(arm + "/not recommended")
		}
		k := arm + " " + r.Source
		if r.Source == "recommended" {
			k += " (" + r.Basis + ")"
		}
		if bySource[k] == nil {
			bySource[k] = &cell{}
		}
		bySource[k].lines++
		bySource[k].returns += ret
	}
	custs := make([]string, 0, len(per))
	for c := range per {
		custs = append(custs, c)
	}
	sort.Strings(custs)
	rate := func(sample []string, g string) float64 {
		var l, r float64
		for _, c := range sample {
			if x := per[c][g]; x != nil {
				l += x.lines
				r += x.returns
			}
		}
		if l == 0 {
			return 0
		}
		return r / l
	}
	for _, g := range groups {
		var n float64
		for _, c := range custs {
			if x := per[c][g]; x != nil {
				n += x.lines
			}
		}
		t.Logf("%-30s size-return rate %.4f over %.0f lines", g, rate(custs, g), n)
	}
	keys := make([]string, 0, len(bySource))
	for k := range bySource {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("  %-34s %.4f over %.0f lines", k, bySource[k].returns/bySource[k].lines, bySource[k].lines)
	}
	// relative change against the control arm, bootstrap over customers
	rng := rand.New(rand.NewPCG(1, 2))
	for _, g := range []string{"personalized", "personalized/recommended", "personalized/recommended personal"} {
		point := rate(custs, g)/rate(custs, "control") - 1
		var boots []float64
		sample := make([]string, len(custs))
		for b := 0; b < 1000; b++ {
			for i := range sample {
				sample[i] = custs[rng.IntN(len(custs))]
			}
			if c := rate(sample, "control"); c > 0 {
				boots = append(boots, rate(sample, g)/c-1)
			}
		}
		sort.Float64s(boots)
		lo, hi := boots[len(boots)*25/1000], boots[len(boots)*975/1000]
		t.Logf("%s vs control: %s [%s, %s]", g, pct(point), pct(lo), pct(hi))
	}
}

func pct(x float64) string { return fmt.Sprintf("%+.1f%%", 100*x) }
