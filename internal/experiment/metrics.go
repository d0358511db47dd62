package experiment

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
)

// RepeatWindow: a new search by the same customer within this time, with no click in
// between, counts the earlier search as repeated (it did not satisfy them).
const RepeatWindow = 5 * time.Minute

// Estimate is a metric of one arm with its 95% confidence interval.
type Estimate struct {
	Value float64    `json:"value"`
	CI95  [2]float64 `json:"ci95"`
}

// ArmMetrics are the business metrics of one arm.
type ArmMetrics struct {
	Arm                 string   `json:"arm"`
	Customers           int      `json:"customers"`
	Searches            int      `json:"searches"`
	ClickThrough        Estimate `json:"click_through_rate"`
	MeanClickedPosition Estimate `json:"mean_position_clicked"`
	MeanBoughtPosition  Estimate `json:"mean_position_purchased"`
	RepeatedSearch      Estimate `json:"repeated_search_rate"`
	Conversion          Estimate `json:"conversion_rate"`
	SizeReturnRate      Estimate `json:"size_return_rate"`
}

// Change is the difference personalized − control of a metric, with its 95% CI.
type Change struct {
	Metric   string     `json:"metric"`
	Diff     float64    `json:"diff"`
	Relative float64    `json:"relative"`
	CI95     [2]float64 `json:"ci95"`
}

// Report holds every arm's metrics and the changes.
type Report struct {
	From    time.Time    `json:"from"`
	To      time.Time    `json:"to"`
	Arms    []ArmMetrics `json:"arms"`
	Changes []Change     `json:"changes"`
}

// per-customer sums: the bootstrap resamples customers.
type sums struct {
	arm                                string
	lists, clicked, clicks, posClicked float64
	bought, posBought                  float64
	searches, repeated                 float64
	orders                             float64
	lines, sizeReturns                 float64
}

type custState struct {
	sums
	lastSearch   time.Time
	clickedSince bool
	hasSearch    bool
	searchArm    map[string]string // search_id → arm
	clickedPos   map[string]int64  // product → position of the last click
	listClicked  map[string]bool   // search_id → clicked
}

// Compute reads the lake events of [from, to) and computes the metrics per arm. armOf
// gives the arm of a customer for events that do not carry one (orders, returns).
func Compute(ctx context.Context, st lake.Storage, from, to time.Time, armOf func(subject string) string) (*Report, error) {
	cs := map[string]*custState{}
	get := func(subject string) *custState {
		c := cs[subject]
		if c == nil {
			c = &custState{searchArm: map[string]string{}, clickedPos: map[string]int64{}, listClicked: map[string]bool{}}
			c.arm = armOf(subject)
			cs[subject] = c
		}
		return c
	}
	names := []string{event.ProductsSearched, event.ProductListViewed, event.ProductClicked, event.OrderCompleted, event.ProductReturned}
	err := lake.Scan(ctx, st, lake.ScanOptions{Events: names, From: from, To: to, Sorted: true}, func(r *lake.Row) error {
		subject := r.UserID
		if subject == "" {
			subject = r.AnonymousID
		}
		c := get(subject)
		switch r.Event {
		case event.ProductsSearched:
			if c.hasSearch && !c.clickedSince && r.Timestamp.Sub(c.lastSearch) <= RepeatWindow {
				c.repeated++
			}
			c.searches++
			c.hasSearch, c.lastSearch, c.clickedSince = true, r.Timestamp, false
		case event.ProductListViewed:
			if r.Arm != "" {
				c.arm = r.Arm
			}
			c.lists++
			c.searchArm[r.SearchID] = c.arm
		case event.ProductClicked:
			c.clickedSince = true
			c.clicks++
			c.posClicked += float64(r.Position)
			c.clickedPos[r.ProductID] = r.Position
			if r.SearchID != "" && !c.listClicked[r.SearchID] {
				c.listClicked[r.SearchID] = true
				c.clicked++
			}
		case event.OrderCompleted:
			c.orders++
			var lines []event.ProductRef
			if json.Unmarshal([]byte(r.Products), &lines) == nil {
				for _, l := range lines {
					c.lines++
					if pos, ok := c.clickedPos[string(l.ProductID)]; ok {
						c.bought++
						c.posBought += float64(pos)
					}
				}
			}
		case event.ProductReturned:
			if r.Reason == "too_small" || r.Reason == "too_large" {
				c.sizeReturns++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byArm := map[string][]sums{}
	for _, c := range cs {
		if c.lists == 0 && c.orders == 0 {
			continue
		}
		byArm[c.arm] = append(byArm[c.arm], c.sums)
	}
	rep := &Report{From: from, To: to}
	metrics := []struct {
		name string
		f    func(s *sums) (num, den float64)
	}{
		{"click-through rate", func(s *sums) (float64, float64) { return s.clicked, s.lists }},
		{"mean position of clicked item", func(s *sums) (float64, float64) { return s.posClicked, s.clicks }},
		{"mean position of purchased item", func(s *sums) (float64, float64) { return s.posBought, s.bought }},
		{"repeated-search rate", func(s *sums) (float64, float64) { return s.repeated, s.searches }},
		{"conversion rate", func(s *sums) (float64, float64) { return s.orders, s.searches }},
		{"size-related return rate", func(s *sums) (float64, float64) { return s.sizeReturns, s.lines }},
	}
	arms := []string{Control, Personalized}
	boots := map[string][][]float64{} // arm → metric → bootstrap replicates
	for _, arm := range arms {
		xs := byArm[arm]
		am := ArmMetrics{Arm: arm, Customers: len(xs)}
		var ests []Estimate
		var reps [][]float64
		for mi, m := range metrics {
			v, ci, rp := ratioBootstrap(xs, m.f, uint64(mi)+1)
			ests = append(ests, Estimate{round(v), [2]float64{round(ci[0]), round(ci[1])}})
			reps = append(reps, rp)
		}
		for _, s := range xs {
			am.Searches += int(s.searches)
		}
		am.ClickThrough, am.MeanClickedPosition, am.MeanBoughtPosition = ests[0], ests[1], ests[2]
		am.RepeatedSearch, am.Conversion, am.SizeReturnRate = ests[3], ests[4], ests[5]
		rep.Arms = append(rep.Arms, am)
		boots[arm] = reps
	}
	for mi, m := range metrics {
		c, t := boots[Control][mi], boots[Personalized][mi]
		vc, _, _ := ratioBootstrap(byArm[Control], m.f, 0)
		vt, _, _ := ratioBootstrap(byArm[Personalized], m.f, 0)
		diffs := make([]float64, len(c))
		for i := range diffs {
			diffs[i] = t[i] - c[i]
		}
		sort.Float64s(diffs)
		ch := Change{Metric: m.name, Diff: round(vt - vc)}
		if len(diffs) > 0 {
			ch.CI95 = [2]float64{round(diffs[len(diffs)*25/1000]), round(diffs[len(diffs)*975/1000])}
		}
		if vc != 0 {
			ch.Relative = round((vt - vc) / vc)
		}
		rep.Changes = append(rep.Changes, ch)
	}
	return rep, nil
}

const replicates = 1000

// ratioBootstrap is Σnum/Σden over customers with a bootstrap 95% CI resampling customers.
func ratioBootstrap(xs []sums, f func(*sums) (float64, float64), seed uint64) (float64, [2]float64, []float64) {
	var n, d float64
	for i := range xs {
		a, b := f(&xs[i])
		n, d = n+a, d+b
	}
	if d == 0 || len(xs) == 0 {
		return 0, [2]float64{}, make([]float64, replicates)
	}
	v := n / d
	if seed == 0 {
		return v, [2]float64{}, nil
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	reps := make([]float64, replicates)
	for r := range reps {
		var rn, rd float64
		for range xs {
			a, b := f(&xs[rng.IntN(len(xs))])
			rn, rd = rn+a, rd+b
		}
		if rd > 0 {
			reps[r] = rn / rd
		} else {
			reps[r] = v
		}
	}
	sorted := slices.Clone(reps)
	sort.Float64s(sorted)
	return v, [2]float64{sorted[replicates*25/1000], sorted[replicates*975/1000]}, reps
}

func round(x float64) float64 { return math.Round(x*1e5) / 1e5 }
