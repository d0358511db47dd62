package train

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/gbdt"
	"github.com/bespokesearch/bespoke/internal/rank"
	"github.com/bespokesearch/bespoke/internal/sim"
	"github.com/bespokesearch/bespoke/internal/train/simworld"
)

// runWorld generates a simulated world, trains on its lake and returns the result.
func runWorld(t *testing.T, cfg sim.Config, dir string, p gbdt.Params) (*Result, *simworld.World) {
	t.Helper()
	ctx := context.Background()
	w, err := simworld.Build(ctx, cfg, dir, true, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Options{
		Lake: w.Lake, Products: w.Products, Text: simworld.Text(w.Products), Params: p, Version: "vtest",
		Relevance: w.Relevance, Examination: w.Examination, SizeTruth: w.SizeTruth,
		Progress: func(f string, a ...any) { t.Logf(f, a...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", Summary(&res.Report))
	return res, w
}

func scores(rs []RankerScore) map[string]RankerScore {
	m := map[string]RankerScore{}
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

func TestRunOnSimulatedWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on a simulated world")
	}
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Products, cfg.Customers, cfg.Days = 11, 300, 500, 6
	cfg.Sessions.PerDay = 0.8 // more history per customer in fewer days
	// Sessions in one hour of the day only: the lake has a file per event and hour, and
	// writing (fsync per file) and reading many small files is what a small world
	// spends its time on.
	cfg.Diurnal = make([]float64, 24)
	cfg.Diurnal[12] = 1
	p := gbdt.DefaultParams()
	p.NumTrees, p.EarlyStoppingRounds, p.MaxDepth, p.MaxBins = 20, 5, 4, 64
	res, _ := runWorld(t, cfg, t.TempDir(), p)
	rep := res.Report
	byName := scores(rep.Rankers)
	for _, name := range []string{"bm25", "popularity", "ltr_non_personalized", "personalized", "oracle", "logged"} {
		if byName[name].N == 0 {
			t.Fatalf("ranker %s missing from the report", name)
		}
	}
	if byName["personalized"].NDCG10 <= byName["bm25"].NDCG10 {
		t.Errorf("the personalized ensemble must beat text relevance alone: %v vs %v", byName["personalized"].NDCG10, byName["bm25"].NDCG10)
	}
	// Against the ground truth the oracle is perfect by construction and the learned
	// ranker beats text relevance alone.
	truth := scores(rep.Truth)
	if o := truth["oracle"]; o.N == 0 || o.NDCG10 < 0.999 {
		t.Errorf("the oracle must be perfect against the truth it ranks by: %+v", o)
	}
	if truth["personalized"].NDCG10 <= truth["bm25"].NDCG10 || truth["personalized"].ExpClicks <= truth["bm25"].ExpClicks {
		t.Errorf("against the truth the personalized ensemble must beat text relevance: %+v vs %+v", truth["personalized"], truth["bm25"])
	}
	// The estimated examination curve falls with the position, as the simulator's does.
	if len(rep.Examination) != 10 || rep.Examination[0] != 1 || rep.Examination[9] >= rep.Examination[1] {
		t.Errorf("examination curve %v does not fall with the position", rep.Examination)
	}
	if res.Snapshot == nil || res.Snapshot.Model == nil || res.Snapshot.Version != "vtest" {
		t.Fatal("no snapshot to publish")
	}
	// The snapshot survives encoding with its model.
	b, err := rank.MarshalSnapshot(res.Snapshot, Codec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := rank.UnmarshalSnapshot(b, Codec)
	if err != nil || back.Model == nil {
		t.Fatalf("snapshot round trip: %v", err)
	}
	if rep.Size == nil || res.Size == nil {
		t.Fatal("the size model was not trained")
	}
	// With the world's truth of fit the size report scores sizes by whether they fit.
	if m := rep.Size.Models[0]; m.NTrueFit < m.N*9/10 || m.TakenTrueFit <= 0 || rep.Size.BoughtTrueFit <= 0 {
		t.Errorf("size model not scored against the truth: %+v, sizes bought fit %v", m, rep.Size.BoughtTrueFit)
	} else if md := Markdown(&rep); !strings.Contains(md, "fits (truth)") {
		t.Error("the markdown report does not show the truth's fit column")
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var contract struct {
		Version  string `json:"model_version"`
		Examples int    `json:"examples"`
		Rankers  []struct {
			Name string  `json:"name"`
			NDCG float64 `json:"ndcg@10"`
			MRR  float64 `json:"mrr"`
			N    int     `json:"n"`
		} `json:"rankers"`
	}
	if err := json.Unmarshal(js, &contract); err != nil || contract.Version != "vtest" || contract.Examples == 0 || len(contract.Rankers) < 4 {
		t.Errorf("report does not carry the contract fields: %v %+v", err, contract)
	}
	t.Logf("report: %d bytes, %.1f s", len(js), rep.Seconds["total"])
}

// TestRunBench trains on a bigger world for the numbers in the notes; set
// BESPOKE_TRAIN_BENCH=1 (default world scaled down) or =personal (stronger
// personal preferences). BESPOKE_TRAIN_BENCH_DIR keeps the generated world.
func TestRunBench(t *testing.T) {
	mode := os.Getenv("BESPOKE_TRAIN_BENCH")
	if mode == "" {
		t.Skip("set BESPOKE_TRAIN_BENCH=1 to train on a 2,000-product, 3,000-customer, 30-day world")
	}
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Products, cfg.Customers, cfg.Days = 11, 2000, 3000, 30
	if mode == "personal" {
		cfg.Customer.PersonalStrengthA, cfg.Customer.PersonalStrengthB = 4, 1
	}
	dir := os.Getenv("BESPOKE_TRAIN_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, mode)
	}
	p := gbdt.DefaultParams()
	p.EarlyStoppingRounds = 20
	res, _ := runWorld(t, cfg, dir, p)
	js, _ := json.MarshalIndent(res.Report, "", " ")
	t.Logf("report: %s", js)
}

func TestSizeHoldOutWaitsForReturns(t *testing.T) {
	day := 24 * time.Hour
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	last := first.Add(60 * day)
	split := first.Add(48 * day)
	from, to := sizeHoldOut(first, last, split, 0.2, 14*day)
	if want := last.Add(-14 * day); !to.Equal(want) {
		t.Errorf("held-out purchases end at %v, want the lake's end minus the return window %v", to, want)
	}
	if !from.Before(to) || from.Before(first) {
		t.Errorf("held-out window [%v, %v) is empty or starts before the lake", from, to)
	}
	if got, want := to.Sub(from), time.Duration(float64(46*day)*0.2); got < want-time.Hour || got > want+time.Hour {
		t.Errorf("held-out window is %v long, want about %v (the last 20%% of the settled period)", got, want)
	}
	// A lake shorter than the return window falls back to the ranking split.
	from, to = sizeHoldOut(first, first.Add(10*day), first.Add(8*day), 0.2, 14*day)
	if !from.Equal(first.Add(8*day)) || !to.Equal(first.Add(10*day)) {
		t.Errorf("short lake: got [%v, %v), want the ranking split to the lake's end", from, to)
	}
}
