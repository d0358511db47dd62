package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"sort"
	"testing"
)

// oracleEnv is a store that knows the truth: it re-ranks the built-in ranker's top
// 100 by each customer's utility and recommends the size that truly fits. It bounds
// what personalization and size advice can gain in this world.
type oracleEnv struct {
	offline
	doRank, doSize bool
	byAnon         map[string]int // device → customer (the store knows devices it has seen signed in)
}

func newOracleEnv(w *World, rank, size bool) oracleEnv {
	o := oracleEnv{offline{w}, rank, size, map[string]int{}}
	for ci := range w.customers {
		for d := 0; d < int(w.customers[ci].devices); d++ {
			o.byAnon[anonID(w.cfg.Seed, ci, d)] = ci
		}
	}
	return o
}

func (o oracleEnv) search(ctx context.Context, wk *worker, q, uid, anon string) (searchResult, error) {
	res, err := o.offline.search(ctx, wk, q, uid, anon)
	if err != nil || !o.doRank {
		return res, err
	}
	w := o.w
	cands := append([]int32(nil), w.rankBuiltin(q, 100, wk.sc)...)
	c := &w.customers[wk.cust]
	score := func(p int32) float64 {
		u := w.utility(c, nil, int(p))
		if !genderOK(c.wearers[0].gender, w.products[p].gender) {
			u -= 100
		}
		return u
	}
	sort.SliceStable(cands, func(i, j int) bool { return score(cands[i]) > score(cands[j]) })
	res.items = cands[:min(len(cands), w.cfg.Query.ListSize)]
	return res, nil
}

func (o oracleEnv) size(_ context.Context, uid, anon string, pi int) (sizeAdvice, error) {
	if !o.doSize {
		return sizeAdvice{}, nil
	}
	w := o.w
	ci, ok := w.customerIndex(uid)
	if !ok {
		ci = o.byAnon[anon]
	}
	p := &w.products[pi]
	wr := &w.customers[ci].wearers[0]
	best, bd := -1, math.Inf(1)
	for j := range p.sizes {
		d := math.Abs(w.sizeError(p, j, wr))
		if !w.catalog[pi].Sizes[j].InStock {
			d += 0.75
		}
		if d < bd {
			best, bd = j, d
		}
	}
	return sizeAdvice{label: w.catalog[pi].Sizes[best].Size, basis: "purchases"}, nil
}

// playWith plays a world with env e and returns its stats and the size-return rate
// of the order lines of customers who trust recommended sizes.
func playWith(t *testing.T, cfg Config, e func(w *World) env) (Stats, float64) {
	t.Helper()
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var truth bytes.Buffer
	st, err := w.play(context.Background(), 0, cfg.Days, e(w), nil, io.Discard, &truth, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n, k int
	for _, line := range bytes.Split(truth.Bytes(), []byte{'\n'}) {
		var p struct {
			Kind, CustomerID, Reason string
		}
		if !bytes.Contains(line, []byte(`"kind":"purchase"`)) {
			continue
		}
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatal(err)
		}
		p.CustomerID = string(bytes.SplitN(bytes.SplitN(line, []byte(`"customer_id":"`), 2)[1], []byte(`"`), 2)[0])
		ci, _ := w.customerIndex(p.CustomerID)
		if !w.customers[ci].trusts {
			continue
		}
		n++
		if p.Reason == "too_small" || p.Reason == "too_large" {
			k++
		}
	}
	return st, float64(k) / float64(n)
}

// TestOracleHeadroom checks that the world leaves room for what issues 6 and 7 must
// show: an oracle ranking lifts click-through well above the non-personalized one,
// and trusted true-size recommendations cut size returns by well over 40%.
func TestOracleHeadroom(t *testing.T) {
	t.Parallel()
	cfg := smallConfig()
	cfg.Products, cfg.Customers, cfg.Days = 1000, 2000, 5
	base, baseTrusting := playWith(t, cfg, func(w *World) env { return offline{w} })
	orc, orcTrusting := playWith(t, cfg, func(w *World) env { return newOracleEnv(w, true, true) })
	lift := orc.SearchCTR()/base.SearchCTR() - 1
	cut := 1 - orc.SizeReturnRate()/base.SizeReturnRate()
	cutTrusting := 1 - orcTrusting/baseTrusting
	t.Logf("searches with a click (the demo's click-through rate) %.3f -> %.3f (%+.0f%%)",
		base.ClickedSearchShare(), orc.ClickedSearchShare(), 100*(orc.ClickedSearchShare()/base.ClickedSearchShare()-1))
	t.Logf("clicks per search %.3f -> %.3f (%+.0f%%); repeated searches %.3f -> %.3f; size-return rate %.3f -> %.3f (-%.0f%%), "+
		"among customers who trust recommendations %.3f -> %.3f (-%.0f%%); recommendations taken %d of %d",
		base.SearchCTR(), orc.SearchCTR(), 100*lift, base.RepeatedSearchShare(), orc.RepeatedSearchShare(),
		base.SizeReturnRate(), orc.SizeReturnRate(), 100*cut, baseTrusting, orcTrusting, 100*cutTrusting,
		orc.RecommendationsTrusted, orc.RecommendationsShown)
	if lift < 0.15 {
		t.Errorf("an oracle ranking lifts clicks per search by only %.0f%%", 100*lift)
	}
	if cutTrusting < 0.4 || cut < 0.2 {
		t.Errorf("true-size recommendations cut size returns by only %.0f%% (%.0f%% among those who trust them)", 100*cut, 100*cutTrusting)
	}
	// the gender a product is cut for alone: the built-in order, with products not cut
	// for the customer's (first) wearer moved below the others
	gender, _ := playWith(t, cfg, func(w *World) env { return genderEnv{offline{w}} })
	gl := gender.ClickedSearchShare()/base.ClickedSearchShare() - 1
	t.Logf("the wearer's gender alone: searches with a click %.3f -> %.3f (%+.0f%%)", base.ClickedSearchShare(), gender.ClickedSearchShare(), 100*gl)
	if gl < 0.05 {
		t.Errorf("ranking by the wearer's gender lifts searches with a click by only %.0f%%", 100*gl)
	}
}

// genderEnv is a store that knows only each customer's (first) wearer's gender: it
// keeps the built-in ranker's top 100 in order, products cut for that wearer first.
type genderEnv struct{ offline }

func (g genderEnv) search(ctx context.Context, wk *worker, q, uid, anon string) (searchResult, error) {
	res, err := g.offline.search(ctx, wk, q, uid, anon)
	if err != nil {
		return res, err
	}
	w := g.w
	want := w.customers[wk.cust].wearers[0].gender
	cands := w.rankBuiltin(q, 100, wk.sc)
	items := make([]int32, 0, len(cands))
	for pass := 0; pass < 2; pass++ {
		for _, p := range cands {
			if genderOK(want, w.products[p].gender) == (pass == 0) {
				items = append(items, p)
			}
		}
	}
	res.items = items[:min(len(items), w.cfg.Query.ListSize)]
	return res, nil
}
