package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/sim"
	"github.com/bespokesearch/bespoke/internal/size"
)

// TestSizeReturnsAB measures the effect of size recommendations in the simulator's
// live mode, the way `bespoke demo --quick` plays it (history with no personalization,
// training, then an A/B period split 50/50 by customer), and reads the truth of the
// A/B period: size-related return rate of order lines in the control arm (which sees
// the product's and brand's answer) against lines of the personalized arm whose size
// was the recommended one ("shown and trusted"), and — the measure without
// selection — the lines of the customers the simulator says trust recommendations, in
// the personalized arm against the control arm; with a bootstrap over customers.
// Before the A/B period it also scores the trained model against the simulator's
// truth without playing (counterfactualSizes): the recommended size against the
// size each shopper would pick on their own, for every signed-in customer.
//
//	BESPOKE_SIZE_AB=1 go test -run TestSizeReturnsAB -v -timeout 30m ./internal/server
//
// BESPOKE_SIZE_AB_SEED picks the world's seed (default 1, the demo's),
// BESPOKE_SIZE_AB_CUSTOMERS its size (default 4,000 customers, as the quick demo),
// BESPOKE_SIZE_AB_PRODUCTS its catalog (default 3,000) and BESPOKE_SIZE_AB_DAYS its
// length (default 21: two thirds history, one third A/B); the default demo's world is
// 50,000 customers, 20,000 products and 30 days.
// BESPOKE_SIZE_AB_DIFF=1 adds diagnostics: learned brand and product offsets against
// the world's, the size errors where recommendation and shopper differ, and examples.
func TestSizeReturnsAB(t *testing.T) {
	if os.Getenv("BESPOKE_SIZE_AB") == "" {
		t.Skip("a measurement: set BESPOKE_SIZE_AB=1")
	}
	ctx := context.Background()
	cfg := sim.DefaultConfig()
	cfg.Products, cfg.Customers, cfg.Days = 3000, 4000, 21
	if v := os.Getenv("BESPOKE_SIZE_AB_CUSTOMERS"); v != "" {
		cfg.Customers, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("BESPOKE_SIZE_AB_PRODUCTS"); v != "" {
		cfg.Products, _ = strconv.Atoi(v) // the default demo's world: 20000 products, 50000 customers, 30 days
	}
	if v := os.Getenv("BESPOKE_SIZE_AB_DAYS"); v != "" {
		cfg.Days, _ = strconv.Atoi(v)
	}
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
	var past bytes.Buffer
	live.Truth = &past // the history's purchases: what a perfect learner of it could know (counterfactualSizes)
	if _, err := world.PlayLive(ctx, live, io.Discard); err != nil {
		t.Fatal(err)
	}
	live.Truth = nil
	pastPurchases := map[string][]string{}
	bought := map[string]productHistory{} // product → its purchases and size returns in the history
	for dec := json.NewDecoder(&past); dec.More(); {
		var r struct {
			Kind       string  `json:"kind"`
			CustomerID string  `json:"customer_id"`
			Wearer     int     `json:"wearer"`
			ProductID  string  `json:"product_id"`
			Size       string  `json:"size"`
			Source     string  `json:"source"`
			SizeError  float64 `json:"size_error"`
			Reason     string  `json:"reason"`
		}
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.Kind == "purchase" && r.Size != "" {
			h := bought[r.ProductID]
			h.purchases++
			if r.Reason == "too_small" || r.Reason == "too_large" {
				h.sizeReturns++
			}
			bought[r.ProductID] = h
			pastPurchases[r.CustomerID] = append(pastPurchases[r.CustomerID], fmt.Sprintf("w%d %s %s %s err%+.1f %s", r.Wearer, r.ProductID, r.Size, r.Source, r.SizeError, r.Reason))
		}
	}
	rep, _, err := srv.Train(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Size != nil {
		b, _ := json.Marshal(rep.Size)
		t.Logf("size report: %s", b)
	}
	trained := counterfactualSizes(t, ctx, srv, world, pastPurchases, bought, "", nil)
	split := experiment.Split{Treatment: 0.5, Salt: "demo"}
	srv.SetSplit(split)
	var truth bytes.Buffer
	live.FromDay, live.ToDay, live.SkipCatalog, live.Truth = history, cfg.Days, true, &truth
	st, err := world.PlayLive(ctx, live, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("A/B period: %d orders, recommendations shown %d, taken %d", st.Orders, st.RecommendationsShown, st.RecommendationsTrusted)
	// the same pairs on the profiles as the A/B's purchases and returns left them (folded
	// in online, size.Model.Update): advice must not decay as customers follow it
	counterfactualSizes(t, ctx, srv, world, pastPurchases, bought, "after the A/B, profiles updated online: ", trained)

	// per customer and group: order lines with a size, and size returns
	type cell struct{ lines, returns float64 }
	groups := []string{"control", "control/recommended", "personalized", "personalized/recommended", "personalized/recommended personal", "personalized/not recommended",
		"control/trusting", "personalized/trusting", "control/trusting wrong width", "personalized/trusting wrong width"}
	trusting := trustingCustomers(t, world)
	diff := os.Getenv("BESPOKE_SIZE_AB_DIFF") != ""
	offsets := map[string]float64{} // product → the world's brand + product offset
	if diff {
		forEachTruth(t, world, func(raw json.RawMessage) {
			var p struct {
				Kind        string  `json:"kind"`
				ProductID   string  `json:"product_id"`
				TotalOffset float64 `json:"total_offset"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if p.Kind == "product" {
				offsets[p.ProductID] = p.TotalOffset
			}
		})
	}
	per := map[string]map[string]*cell{} // customer → group → cell
	bySource := map[string]*cell{}
	errs := map[string]map[string]int{} // source → size error (w: width mismatch) → lines
	widthKnown := map[string]int{}      // arm and the size profile's shoe width → trusting wrong-width lines
	dec := json.NewDecoder(&truth)
	for dec.More() {
		var r struct {
			Kind        string  `json:"kind"`
			CustomerID  string  `json:"customer_id"`
			UserID      string  `json:"user_id"`
			AnonymousID string  `json:"anonymous_id"`
			Size        string  `json:"size"`
			Source      string  `json:"source"`
			Reason      string  `json:"reason"`
			Basis       string  `json:"recommended_basis"`
			SizeError   float64 `json:"size_error"`
			System      string  `json:"size_system"`
			Width       bool    `json:"width_mismatch"`
			ProductID   string  `json:"product_id"`
			Advice      string  `json:"recommended_advice"`
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
		// the server's arm: a device once signed in is its customer's
		if person, _ := srv.personOf(ctx, r.UserID, r.AnonymousID); person != "" {
			subject = person
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
		if trusting[r.CustomerID] {
			add(arm + "/trusting")
			if r.Width { // a shoe of a width not the wearer's: no size advice helps
				add(arm + "/trusting wrong width")
				if diff {
					// what the store knows of the wearer's width at the end of the A/B (the
					// profile is the server's person's: a device once signed in is its customer's)
					var prof size.Profile
					known := "no shoe entry"
					if found, _ := srv.sizeProfile(ctx, subject, &prof); found {
						for _, ts := range prof.Sizes {
							if ts.System == size.SystemUSShoe {
								known = fmt.Sprintf("width %d", ts.Width)
							}
						}
					}
					widthKnown[arm+" "+known]++
				}
			}
		}
		if r.Source == "recommended" {
			add(arm + "/recommended")
			if r.Basis == "purchases" || r.Basis == "survey" {
				add(arm + "/recommended personal")
			}
		} else if arm == "personalized" {
			add(arm + "/not recommended")
		}
		if diff {
			// what each arm bought: the mix of size systems and of items that do not fit as labelled
			mix := fmt.Sprintf("mix %s %s offset %+.1f %s %s", arm, r.System, offsets[r.ProductID], r.Source, r.Advice)
			if r.Width {
				mix += " width mismatch"
			}
			if bySource[mix] == nil {
				bySource[mix] = &cell{}
			}
			bySource[mix].lines++
			bySource[mix].returns += ret
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
		if errs[k] == nil {
			errs[k] = map[string]int{}
		}
		e := r.System + ":" + strconv.FormatFloat(r.SizeError, 'f', 1, 64)
		if r.Width {
			e += "w"
		}
		errs[k][e]++
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
		t.Logf("  %-34s %.4f over %.0f lines; size errors %v", k, bySource[k].returns/bySource[k].lines, bySource[k].lines, errs[k])
	}
	if diff {
		t.Logf("trusting lines of the wrong width, by the size profile's shoe width after the A/B: %v", widthKnown)
	}
	// relative change against the control arm, bootstrap over customers
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range [][2]string{{"personalized", "control"}, {"personalized/recommended", "control"}, {"personalized/recommended personal", "control"},
		{"personalized/trusting", "control/trusting"}} {
		g, base := c[0], c[1]
		point := rate(custs, g)/rate(custs, base) - 1
		var boots []float64
		sample := make([]string, len(custs))
		for b := 0; b < 1000; b++ {
			for i := range sample {
				sample[i] = custs[rng.IntN(len(custs))]
			}
			if c := rate(sample, base); c > 0 {
				boots = append(boots, rate(sample, g)/c-1)
			}
		}
		sort.Float64s(boots)
		lo, hi := boots[len(boots)*25/1000], boots[len(boots)*975/1000]
		t.Logf("%s vs %s: %s [%s, %s]", g, base, pct(point), pct(lo), pct(hi))
	}
}

func pct(x float64) string { return fmt.Sprintf("%+.1f%%", 100*x) }

// trustingCustomers are the world's customers who take a recommended size meant for
// them (the simulator's truth).
func trustingCustomers(t *testing.T, world *sim.World) map[string]bool {
	out := map[string]bool{}
	forEachTruth(t, world, func(raw json.RawMessage) {
		var c struct {
			Kind       string `json:"kind"`
			CustomerID string `json:"customer_id"`
			Trusts     bool   `json:"trusts_recommended_size"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if c.Kind == "customer" && c.Trusts {
			out[c.CustomerID] = true
		}
	})
	return out
}

// forEachTruth calls fn with each record of the world's truth (sim.World.WriteTruth).
func forEachTruth(t *testing.T, world *sim.World, fn func(raw json.RawMessage)) {
	var tb bytes.Buffer
	if err := world.WriteTruth(&tb); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&tb)
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		fn(raw)
	}
}

// counterfactualSizes scores the trained size model against the simulator's truth
// without playing: for signed-in customers and products of their wearers' gender, the
// size-return probability (Returns.SizeProb by |size error|, Returns.WidthProb for a
// shoe of the wrong width) of the size a shopper who trusts the advice takes
// (sim.World.AdvisedSize: the advice applied to their own idea of their size) against
// that of the size the shopper picks on their own, by the recommendation's basis.
// past are the history's purchases per customer, for BESPOKE_SIZE_AB_DIFF's examples.
// productHistory is what the history says of one product: purchases with a size, and how
// many came back for their size.
type productHistory struct{ purchases, sizeReturns int }

// counterfactualSizes scores the size advice against the world's truth on (shopper,
// product) pairs, with the bounds next to it; when is "" right after training, else the
// prefix of the lines it prints (and it prints the tallies only).
//
// It returns the profiles it read; given those of an earlier call (before), it also
// tallies, where the advice changed since, what a trusting shopper takes now against
// what they took then, by how the profile's usual size moved.
func counterfactualSizes(t *testing.T, ctx context.Context, srv *Server, world *sim.World, past map[string][]string, bought map[string]productHistory, when string, before map[string]*size.Profile) map[string]*size.Profile {
	read := map[string]*size.Profile{}
	cfg := world.Config()
	type wearer struct{ Gender string }
	var custs []struct {
		ID      string
		Wearers []wearer
	}
	truthOffset := map[string]float64{}
	brandOffset := map[string]map[string]float64{} // brand → size system → the world's offset
	forEachTruth(t, world, func(raw json.RawMessage) {
		var c struct {
			Kind        string          `json:"kind"`
			CustomerID  string          `json:"customer_id"`
			Anonymous   bool            `json:"never_logs_in"`
			Wearers     []wearer        `json:"wearers"`
			ProductID   string          `json:"product_id"`
			TotalOffset float64         `json:"total_offset"`
			Brand       string          `json:"brand"`
			Offset      json.RawMessage `json:"offset"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if c.Kind == "product" {
			truthOffset[c.ProductID] = c.TotalOffset
		}
		if c.Kind == "brand" {
			var off map[string]float64
			if err := json.Unmarshal(c.Offset, &off); err != nil {
				t.Fatal(err)
			}
			brandOffset[c.Brand] = off
		}
		if c.Kind == "brand" && os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && when == "" {
			var off map[string]float64
			_ = json.Unmarshal(c.Offset, &off)
			for _, sys := range []string{"us_shoe", "alpha", "numeric"} {
				sy, _ := size.ParseSystem(sys)
				mo, ok := srv.sizeModel.Load().BrandOffset(c.Brand, sy)
				f := srv.sizeModel.Load().BrandFitIn(c.Brand, sy)
				t.Logf("brand %-14s %-8s truth %+.1f model %+.2f (%v) %s evidence %d small %d large %d", c.Brand, sys, -off[sys], mo, ok, f.Fit, f.Evidence, f.TooSmall, f.TooLarge)
			}
		}
		if c.Kind == "customer" && !c.Anonymous {
			custs = append(custs, struct {
				ID      string
				Wearers []wearer
			}{c.CustomerID, c.Wearers})
		}
	})
	byGender := map[string][]int{}
	prods := world.Products()
	boughtBrand := map[string]productHistory{} // brand and size system → its products' history
	for i := range prods {
		if h, ok := bought[prods[i].ProductID]; ok {
			k := prods[i].Brand + "\x00" + prods[i].SizeSystem
			b := boughtBrand[k]
			b.purchases += h.purchases
			b.sizeReturns += h.sizeReturns
			boughtBrand[k] = b
		}
	}
	for i := range prods {
		if len(prods[i].Sizes) > 0 {
			byGender[prods[i].Gender] = append(byGender[prods[i].Gender], i)
		}
	}
	pReturn := func(e float64, width bool) float64 {
		b := min(int(math.Abs(e)*2+1e-9), 4)
		p := cfg.Returns.SizeProb[b]
		if width {
			p += (1 - p) * cfg.Returns.WidthProb
		}
		return p
	}
	type tally struct {
		n, own, rec, ownExact, recExact float64
		diff                            map[string]int
	}
	by := map[string]*tally{}
	alt := map[string]*tally{} // bounds and alternatives, scored against the shopper's own pick
	tallyOf := func(m map[string]*tally, k string) *tally {
		if m[k] == nil {
			m[k] = &tally{}
		}
		return m[k]
	}
	// count adds to x a pair: the size error and width mismatch of the shopper's own
	// pick, and of the recommended one
	count := func(x *tally, eo float64, wo bool, er float64, wr bool) {
		x.n++
		x.own += pReturn(eo, wo)
		x.rec += pReturn(er, wr)
		if eo == 0 {
			x.ownExact++
		}
		if er == 0 {
			x.recExact++
		}
	}
	m := srv.sizeModel.Load()
	rng := rand.New(rand.NewPCG(3, 4))
	var rec size.Recommendation
	examples := 0
	for _, c := range custs {
		var prof size.Profile
		found, _ := srv.sizeProfile(ctx, c.ID, &prof)
		pp := &prof
		if !found {
			pp = nil
		}
		read[c.ID] = pp
		for wi, w := range c.Wearers {
			cands := append(append([]int(nil), byGender[w.Gender]...), byGender["unisex"]...)
			if len(cands) == 0 {
				continue
			}
			for k := 0; k < 3; k++ {
				p := &prods[cands[rng.IntN(len(cands))]]
				m.RecommendProfile(pp, p, &rec)
				if rec.RecommendedSize == "" {
					continue
				}
				own, ok, err := world.ShopperSize(c.ID, wi, p.ProductID)
				if err != nil || !ok {
					continue
				}
				advised, ok, err := world.AdvisedSize(c.ID, wi, p.ProductID, rec.RecommendedSize, rec.Advice, rec.SizeSteps)
				if err != nil || !ok {
					continue
				}
				if !inStock(p, own) || !inStock(p, advised) {
					continue // the shopper substitutes or walks away (a different question)
				}
				eo, wo, _, err1 := world.SizeFit(c.ID, wi, p.ProductID, own)
				er, wr, _, err2 := world.SizeFit(c.ID, wi, p.ProductID, advised)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				key := rec.Basis + " " + p.SizeSystem + " " + p.Gender
				keys := []string{key, rec.Basis, "all", rec.Basis + " item verdict " + rec.ProductFit, rec.Basis + " advice " + rec.Advice}
				if os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && eo != 0 && er == eo {
					keys = append(keys, fmt.Sprintf("%s both wrong: true offset %+.1f, verdict %s", rec.Basis, truthOffset[p.ProductID], rec.ProductFit))
				}
				if own != advised {
					keys = append(keys, rec.Basis+" where they differ")
					if os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && eo == 0 {
						keys = append(keys, rec.Basis+" moved off right: "+noteKind(rec.FitNote), fmt.Sprintf("%s moved off right: true offset %+.1f", rec.Basis, truthOffset[p.ProductID]))
					}
					if os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && rec.Basis == "purchases" && eo == 0 && truthOffset[p.ProductID] == 0 && examples < 40 && when == "" {
						examples++
						t.Logf("example %s w%d %s %s %s brand %s model fit %+v; own %s rec %s (err %+.1f) %q; profile %+v; past %q",
							c.ID, wi, p.ProductID, p.SizeSystem, p.Gender, p.Brand, m.ProductFit(p.ProductID), own, advised, er, rec.FitNote, prof.Sizes, past[c.ID])
					}
				}
				// what a trusting shopper takes, whatever the basis: the advice when it is
				// personal or anchored on their own size (sim's sizeAdvice.taken), else their own pick
				{
					taken := own
					if rec.Basis == size.BasisPurchases || rec.Basis == size.BasisSurvey || rec.Advice == size.AdviceSizeUp || rec.Advice == size.AdviceSizeDown {
						taken = advised
					}
					et, wt, _, err := world.SizeFit(c.ID, wi, p.ProductID, taken)
					if err != nil {
						t.Fatal(err)
					}
					count(tallyOf(by, "what a trusting shopper takes"), eo, wo, et, wt)
					if len(c.Wearers) == 2 && w.Gender != "kids" && c.Wearers[1-wi].Gender != "kids" {
						// an account two adults buy on: does the profile tell them apart?
						sys, _ := size.ParseSystem(p.SizeSystem)
						count(tallyOf(by, fmt.Sprintf("what a trusting shopper takes: accounts of two adults, profile wearers %d", pp.Wearers(sys))), eo, wo, et, wt)
					}
					if bp, ok := before[c.ID]; ok && os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" {
						var then size.Recommendation
						m.RecommendProfile(bp, p, &then)
						if then.RecommendedSize != rec.RecommendedSize || then.Advice != rec.Advice || then.SizeSteps != rec.SizeSteps {
							takenThen := own
							if a, ok, err := world.AdvisedSize(c.ID, wi, p.ProductID, then.RecommendedSize, then.Advice, then.SizeSteps); err == nil && ok && inStock(p, a) &&
								(then.Basis == size.BasisPurchases || then.Basis == size.BasisSurvey || then.Advice == size.AdviceSizeUp || then.Advice == size.AdviceSizeDown) {
								takenThen = a
							}
							e0, w0, _, err := world.SizeFit(c.ID, wi, p.ProductID, takenThen)
							if err != nil {
								t.Fatal(err)
							}
							ch := usualChange(bp, pp, p.SizeSystem)
							for _, k := range []string{ch, fmt.Sprintf("%s: then %s %s, now %s %s, item %s", ch, then.Basis, then.Advice, rec.Basis, rec.Advice, rec.ProductFit)} {
								x := tallyOf(alt, "changed since training: "+k)
								x.n++
								x.own += pReturn(e0, w0)
								x.rec += pReturn(et, wt)
							}
						}
					}
				}
				// scoreAlternative tallies under key k the shopper's own pick against label
				scoreAlternative := func(k, label string) {
					eb, wb, _, err := world.SizeFit(c.ID, wi, p.ProductID, label)
					if err != nil {
						t.Fatal(err)
					}
					x := tallyOf(alt, k)
					x.n++
					x.own += pReturn(eo, wo)
					x.rec += pReturn(eb, wb)
				}
				{
					// the bound of advice anchored on the shopper's own size: the item's true
					// offset, applied as steps off it (per personal basis, and for every pair)
					scale := map[string]float64{"us_shoe": 1, "alpha": 1, "numeric": 2}[p.SizeSystem]
					step := map[string]float64{"us_shoe": 0.5, "alpha": 1, "numeric": 1}[p.SizeSystem]
					steps := int(math.Round(-truthOffset[p.ProductID] * scale / step))
					if lo, ok, err := world.AdvisedSize(c.ID, wi, p.ProductID, "", adviceFor(steps), steps); err == nil && ok && inStock(p, lo) {
						if rec.Basis == size.BasisPurchases || rec.Basis == size.BasisSurvey {
							scoreAlternative(rec.Basis+" advice knowing every item's true offset", lo)
						}
						scoreAlternative("every basis: advice knowing every item's true offset", lo)
						if os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" {
							// where the model falls short of that bound: what a trusting shopper
							// takes on the model's advice (own: their own pick) against it, by
							// the item's true steps and the model's move
							move := "own pick"
							taken := own
							switch {
							case rec.Advice == size.AdviceSizeUp || rec.Advice == size.AdviceSizeDown:
								move, taken = fmt.Sprintf("%+d", rec.SizeSteps), advised
							case rec.Advice == size.AdviceUsual:
								move, taken = "usual", advised
							case rec.Basis == size.BasisPurchases || rec.Basis == size.BasisSurvey:
								move, taken = "named", advised
							}
							em, wm, _, err := world.SizeFit(c.ID, wi, p.ProductID, taken)
							eb, wb, _, err2 := world.SizeFit(c.ID, wi, p.ProductID, lo)
							if err != nil || err2 != nil {
								t.Fatal(err, err2)
							}
							x := tallyOf(alt, fmt.Sprintf("gap: %s true steps %+d, model %s", p.SizeSystem, steps, move))
							x.n++
							x.own += pReturn(em, wm)
							x.rec += pReturn(eb, wb)
						}
					}
					// what a perfect learner of the history could know: the true offset of
					// each product bought in it (or only of those with a size return), of
					// its brand otherwise, or a step its way when its description says it
					// runs small or large
					for _, k := range []struct {
						name  string
						known func(productHistory) bool // what of a product's or brand's history tells its offset
						brand bool                      // every brand's offset is known, whatever its history
					}{
						{"bound of the history: true offsets of products and brands bought in it, else the description's", func(h productHistory) bool { return h.purchases > 0 }, false},
						{"bound of the history: true offsets of products and brands with a size return in it, else the description's", func(h productHistory) bool { return h.sizeReturns > 0 }, false},
						{"bound of brands: every brand's true offset, else the description's", func(productHistory) bool { return false }, true},
					} {
						var off float64
						switch {
						case k.known(bought[p.ProductID]):
							off = -truthOffset[p.ProductID]
						case k.brand || k.known(boughtBrand[p.Brand+"\x00"+p.SizeSystem]):
							off = -brandOffset[p.Brand][p.SizeSystem]
						}
						if d := size.DescribedFit(p.Description); off == 0 && (d == size.RunsSmall || d == size.RunsLarge) {
							off = map[string]float64{size.RunsSmall: step, size.RunsLarge: -step}[d] / scale
						}
						st := int(math.Round(off * scale / step))
						if lo, ok, err := world.AdvisedSize(c.ID, wi, p.ProductID, "", adviceFor(st), st); err == nil && ok && inStock(p, lo) {
							scoreAlternative(k.name, lo)
						}
					}
				}
				if sy, err := size.ParseSystem(p.SizeSystem); os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && err == nil && rec.Basis == size.BasisPurchases &&
					(rec.Advice == size.AdviceUsual || rec.Advice == size.AdviceSizeUp || rec.Advice == size.AdviceSizeDown) && pp.Wearers(sy) == 1 {
					// a personal correction: the wearer's true size as the model estimates it,
					// against the size they keep most often, added to the item's advice
					for _, e := range pp.Sizes {
						if e.System != sy || !e.HasUsual {
							continue
						}
						dev := float64(e.Mean-e.Usual) / sy.Step()
						if k := int(math.Round(dev)); k != 0 {
							steps := rec.SizeSteps + k
							if lo, ok, err := world.AdvisedSize(c.ID, wi, p.ProductID, "", adviceFor(steps), steps); err == nil && ok && inStock(p, lo) {
								scoreAlternative(fmt.Sprintf("personal correction %s dev %+.1f n %d sd %.2f", p.SizeSystem, math.Round(dev*4)/4, min(e.N, 6), math.Round(float64(e.SD)/sy.Step()*4)/4), lo)
								scoreAlternative(fmt.Sprintf("personal correction %s |dev| %.1f", p.SizeSystem, math.Round(math.Abs(dev)*4)/4), lo)
							}
						}
					}
				}
				if os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && rec.Advice == size.AdviceUsual {
					// what the model's own best size (highest P(fit) in stock), which the
					// anchor on the usual size overrides, would do instead
					bi, bp, up := -1, -1.0, -1.0
					for i, z := range rec.Sizes {
						if z.Size == advised {
							up = z.PFit
						}
						if z.InStock && z.PFit > bp {
							bi, bp = i, z.PFit
						}
					}
					if bi >= 0 && rec.Sizes[bi].Size != advised {
						scoreAlternative(fmt.Sprintf("%s usual vs model's best: verdict %s gap %.1f", rec.Basis, rec.ProductFit, math.Floor((bp-up)*10)/10), rec.Sizes[bi].Size)
					}
				}
				for _, k := range keys {
					x := tallyOf(by, k)
					count(x, eo, wo, er, wr)
					if own != advised {
						if x.diff == nil {
							x.diff = map[string]int{}
						}
						x.diff[fmt.Sprintf("own%+.1f/rec%+.1f", eo, er)]++
					}
				}
			}
		}
	}
	if os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && when == "" {
		// learned offsets against the truth: -truth (sim: negative runs small) vs the model's (positive runs small)
		conf := map[string]map[string]int{}
		for i := range prods {
			p := &prods[i]
			if p.SizeSystem == "" {
				continue
			}
			f := m.ProductFit(p.ProductID)
			k := fmt.Sprintf("%s truth %+.1f", p.SizeSystem, -truthOffset[p.ProductID])
			if conf[k] == nil {
				conf[k] = map[string]int{}
			}
			conf[k][fmt.Sprintf("%s(%+.1f) d%+d", f.Fit, math.Round(f.Offset*2)/2, max(-3, min(3, f.TooSmall-f.TooLarge)))]++
		}
		for _, k := range slices.Sorted(maps.Keys(conf)) {
			t.Logf("offsets %-22s model: %v", k, conf[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(alt)) {
		x := alt[k]
		t.Logf("%scounterfactual %-50s n=%5.0f  P(size return): own %.4f alternative %.4f (%+.1f%%)", when, k, x.n, x.own/x.n, x.rec/x.n, 100*(x.rec/x.own-1))
	}
	for _, k := range slices.Sorted(maps.Keys(by)) {
		x := by[k]
		t.Logf("%scounterfactual %-22s n=%5.0f  exact fit: own %.3f recommended %.3f;  P(size return): own %.4f recommended %.4f (%+.1f%%)",
			when, k, x.n, x.ownExact/x.n, x.recExact/x.n, x.own/x.n, x.rec/x.n, 100*(x.rec/x.own-1))
		if os.Getenv("BESPOKE_SIZE_AB_DIFF") != "" && len(x.diff) > 0 {
			t.Logf("    where they differ (size error own/recommended): %v", x.diff)
		}
	}
	return read
}

// usualChange words how the usual size of system sys moved from profile a to b.
func usualChange(a, b *size.Profile, sys string) string {
	entry := func(p *size.Profile) *size.TrueSize {
		if p == nil {
			return nil
		}
		for i := range p.Sizes {
			if p.Sizes[i].System.String() == sys {
				return &p.Sizes[i]
			}
		}
		return nil
	}
	ea, eb := entry(a), entry(b)
	switch {
	case ea == nil && eb == nil:
		return sys + " no entry"
	case ea == nil:
		return sys + " new entry"
	case eb == nil:
		return sys + " entry gone"
	case ea.HasUsual && !eb.HasUsual:
		return sys + " usual dropped"
	case !ea.HasUsual && eb.HasUsual:
		return sys + " usual gained"
	case ea.HasUsual && ea.Usual != eb.Usual:
		return fmt.Sprintf("%s usual moved %+.1f", sys, eb.Usual-ea.Usual)
	}
	return fmt.Sprintf("%s usual same, purchases %d -> %d", sys, ea.N, min(eb.N, ea.N+3))
}

// adviceFor is the advice anchored on the usual size that moves steps size steps off it.
func adviceFor(steps int) string {
	switch {
	case steps > 0:
		return size.AdviceSizeUp
	case steps < 0:
		return size.AdviceSizeDown
	}
	return size.AdviceUsual
}

func inStock(p *catalog.Product, label string) bool {
	for _, z := range p.Sizes {
		if z.Size == label {
			return z.InStock
		}
	}
	return false
}

// noteKind is a fit note with its sizes left out, to count recommendations by kind.
func noteKind(note string) string {
	var b []byte
	for _, w := range strings.Fields(note) {
		if w != "" && (w[0] >= '0' && w[0] <= '9' || strings.Trim(w, ",.;:()") == "XS" || strings.Trim(w, ",.;:()") == "S" || strings.Trim(w, ",.;:()") == "M" || strings.Trim(w, ",.;:()") == "L" || strings.HasSuffix(strings.Trim(w, ",.;:()"), "XL") || strings.HasSuffix(strings.Trim(w, ",.;:()"), "XS")) {
			w = "#"
		}
		b = append(append(b, w...), ' ')
	}
	return string(b)
}
