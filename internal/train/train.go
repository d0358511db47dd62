package train

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/gbdt"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/rank"
	"github.com/bespokesearch/bespoke/internal/size"
)

// Options configure a training run.
type Options struct {
	Lake     lake.Storage
	Products []catalog.Product
	// Text gives the text-relevance scores of the products a query retrieves (the
	// retrieval index's BM25); products it does not return score 0.
	Text func(query string) map[string]float32
	// TextFor, when set, is used instead of Text: it fills out with the text-relevance
	// score of each of the products ids (the items a logged list showed) for query.
	// Scoring only the impressed items is much cheaper than retrieving everything a
	// query matches, and needs no cache.
	TextFor func(query string, ids []string, out []float32)
	// TestFraction is the share of the lake's days, at the end, held out for evaluation (default 0.2).
	TestFraction float64
	// SizeReturnWindow is how long after a purchase a size return may still arrive
	// (default 14 days). The size evaluation holds out only purchases whose window closed
	// before the lake's end: a purchase still within it counts as kept, which would score
	// a wrong size as right.
	SizeReturnWindow time.Duration
	Params           gbdt.Params
	// Oracle, when set (a simulated world's ground truth), scores (customer, product)
	// pairs; it is evaluated as the "oracle" ranker.
	Oracle func(customerID, productID string) (float64, bool)
	// Relevance, when set (a simulated world's ground truth), gives the true
	// probability that the searcher clicks each listed product if they examine it, for
	// the search with that id (false: unknown search). Every ranker is then also
	// evaluated against it (Report.Truth), and the "oracle" ranker ranks by it.
	Relevance func(searchID string, productIDs []string, out []float64) bool
	// Examination is the true probability that position pos (from 1) is examined,
	// for the expected-clicks figure of the truth evaluation (default: the curve
	// estimated from the logs).
	Examination func(pos int) float64
	// SizeTruth, when set (a simulated world's ground truth), says whether a size fits
	// the wearer of a held-out purchase; the size report then also scores every size
	// predictor by whether its size truly fits (size.Metrics.TrueFit).
	SizeTruth size.FitTruth
	Version   string
	Progress  func(format string, args ...any)
	// MaxLists bounds the training lists (with a click) whose features are kept:
	// beyond it a uniform sample of lists is kept (default 150,000, about 3M rows).
	MaxLists int
}

// Report is the training report of CONTRACT §6.
type Report struct {
	ModelVersion string                   `json:"model_version"`
	TrainedAt    time.Time                `json:"trained_at"`
	Events       int                      `json:"events"`
	Examples     int                      `json:"examples"`
	Lists        map[string]int           `json:"lists"` // train, valid, test
	SplitAt      time.Time                `json:"split_at"`
	Rankers      []RankerScore            `json:"rankers"`
	Comparisons  []Comparison             `json:"comparisons"`
	Segments     map[string][]RankerScore `json:"segments"`
	Truth        []RankerScore            `json:"truth_rankers,omitempty"` // against the simulator's ground truth
	OracleGap    *float64                 `json:"oracle_gap_closed,omitempty"`
	Examination  []float64                `json:"examination"` // estimated P(examined) at positions 1..10
	Importance   []gbdt.Importance        `json:"feature_importance"`
	Trees        int                      `json:"trees"`
	Size         *size.Report             `json:"size,omitempty"`
	Seconds      map[string]float64       `json:"seconds"`
}

// Result is a finished training run.
type Result struct {
	Report   Report
	Snapshot *rank.Snapshot // the personalized ensemble, ready to publish
	Size     *size.Model
	Profiles map[string]*profile.Profile // subject ("u/ID", "a/ID") → profile at the end of the lake
}

// ErrNoData is returned when the lake holds no usable search impressions.
var ErrNoData = errors.New("the lake holds no search impressions (Product List Viewed) with clicks to learn from")

// Run replays the lake, trains, evaluates and returns the snapshot to publish.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.TestFraction <= 0 || o.TestFraction >= 1 {
		o.TestFraction = 0.2
	}
	if o.SizeReturnWindow <= 0 {
		o.SizeReturnWindow = 14 * 24 * time.Hour
	}
	if o.Params.NumTrees == 0 {
		o.Params = gbdt.DefaultParams()
		o.Params.EarlyStoppingRounds = 20
	}
	if o.MaxLists <= 0 {
		o.MaxLists = 150_000
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	text := o.TextFor
	if text == nil {
		m := func(string) map[string]float32 { return nil }
		if o.Text != nil {
			m = cachedText(o.Text)
		}
		text = func(q string, ids []string, out []float32) {
			scores := m(q)
			for i, id := range ids {
				out[i] = scores[id]
			}
		}
	}
	if o.Version == "" {
		o.Version = time.Now().UTC().Format("v20060102-150405")
	}
	secs := map[string]float64{}
	t0 := time.Now()
	stats, err := lake.Stats(ctx, o.Lake)
	if err != nil {
		return nil, fmt.Errorf("cannot read the lake: %w", err)
	}
	days := slices.Sorted(maps.Keys(stats.Days))
	if len(days) == 0 {
		return nil, ErrNoData
	}
	first, _ := time.Parse("2006-01-02", days[0])
	last, _ := time.Parse("2006-01-02", days[len(days)-1])
	last = last.Add(24 * time.Hour)
	split := first.Add(time.Duration(float64(last.Sub(first)) * (1 - o.TestFraction))).Truncate(time.Hour)
	o.Progress("replaying the lake: %d events over %d days, test window from %s", sum(stats.Events), len(days), split.Format(time.RFC3339))

	r := newReplay(o.Products, text, split)
	// Keep the features of at most about MaxLists training lists with a click (and a
	// third of that for testing): a uniform sample by search, decided up front from
	// the lake's counts, so memory and training time stay bounded at any lake size.
	lists := float64(stats.Events[event.ProductListViewed])
	clickShare := math.Min(1, math.Max(0.05, float64(stats.Events[event.ProductClicked])/math.Max(lists, 1)))
	r.keepTrain = math.Min(1, float64(o.MaxLists)/math.Max(1, lists*(1-o.TestFraction)*clickShare))
	r.keepTest = math.Min(1, float64(o.MaxLists)/3/math.Max(1, lists*o.TestFraction*clickShare))
	lastReport := time.Now()
	err = lake.Scan(ctx, o.Lake, lake.ScanOptions{Sorted: true}, func(row *lake.Row) error {
		r.add(row)
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			o.Progress("  %d events, %d lists kept, at %s", r.events, len(r.searches), row.Timestamp.Format("2006-01-02"))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot replay the lake: %w", err)
	}
	r.compact(math.MaxInt64 / 2)
	r.st.publishNeighbors(nil)
	r.st.refreshAll()
	secs["replay"] = since(t0)

	// The examination probability by position, by EM on the position-based model
	// (falling back on click-through by position when there are too few clicks).
	theta := r.prop.estimate(40)
	exam := examCurve(theta, r.st.examination)
	var curve []float64
	for p := 1; p <= 10; p++ {
		curve = append(curve, round(float64(exam(p))))
	}
	o.Progress("estimated examination by position 1..10: %v", curve)

	// Lists with at least one positive outcome are the examples.
	var trainG, testG []group
	for _, s := range r.searches {
		if s.row < 0 || slices.Max(s.labels) == 0 {
			continue
		}
		g := group{s: s, feats: r.feats[s.row*rank.NumFeatures : (s.row+len(s.labels))*rank.NumFeatures]}
		if s.at < split.Unix() {
			trainG = append(trainG, g)
		} else {
			testG = append(testG, g)
		}
	}
	if len(trainG) < 20 || len(testG) < 5 {
		return nil, fmt.Errorf("%w: %d training and %d test lists with a click", ErrNoData, len(trainG), len(testG))
	}
	nValid := max(len(trainG)/7, 1)
	validG := trainG[len(trainG)-nValid:]
	fitG := trainG[:len(trainG)-nValid]
	o.Progress("examples: %d lists to train, %d to validate, %d to test (kept %.3g of training lists, %.3g of test lists)", len(fitG), len(validG), len(testG), r.keepTrain, r.keepTest)

	t1 := time.Now()
	personal, err := fit(ctx, fitG, validG, o.Params, false, exam)
	if err != nil {
		return nil, err
	}
	nonPersonal, err := fit(ctx, fitG, validG, o.Params, true, exam)
	if err != nil {
		return nil, err
	}
	unweighted, err := fit(ctx, fitG, validG, o.Params, false, nil)
	if err != nil {
		return nil, err
	}
	secs["ltr"] = since(t1)
	o.Progress("trained 3 rankers in %.1f s", secs["ltr"])

	scorers := []scorer{
		{"logged", func(g *group, out []float32) {
			for i := range out {
				out[i] = -float32(g.s.positions[i])
			}
		}},
		linearScorer("bm25", map[int]float32{rank.FText: 1}),
		linearScorer("popularity", map[int]float32{rank.FQueryItemCTR: 1, rank.FItemPopularity: 0.5}),
		linearScorer("affinity", map[int]float32{rank.FBrandLift: 1, rank.FCategoryLift: 1, rank.FColorLift: 1, rank.FStyleLift: 1, rank.FGenderLift: 1, rank.FWidthLift: 1, rank.FPriceFit: 0.1}),
		linearScorer("covisitation", map[int]float32{rank.FCoVisit: 1, rank.FRecent: 0.5}),
		linearScorer("size_fit", map[int]float32{rank.FSizeInStock: 1}),
		linearScorer("default_linear", linearMap(rank.DefaultLinear)),
		{"ltr_non_personalized", modelScorer(nonPersonal, true)},
		{"personalized_no_debias", modelScorer(unweighted, false)},
		{"personalized", modelScorer(personal, false)},
	}
	var truth *truthEval
	if o.Relevance != nil {
		truth = newTruthEval(testG, o.Products, o.Relevance, o.Examination, exam)
		scorers = append(scorers, scorer{"oracle", truth.oracle})
	} else if o.Oracle != nil {
		scorers = append(scorers, scorer{"oracle", func(g *group, out []float32) {
			for i, ci := range g.s.items {
				out[i] = 0
				if ci >= 0 && g.s.customerID != "" {
					if u, ok := o.Oracle(g.s.customerID, o.Products[ci].ProductID); ok {
						out[i] = float32(u)
					}
				}
			}
		}})
	}
	t2 := time.Now()
	ev := evaluate(testG, scorers, exam, truth)
	rep := Report{
		ModelVersion: o.Version, TrainedAt: time.Now().UTC(), Events: r.events,
		Examples: len(r.feats) / rank.NumFeatures, SplitAt: split, Rankers: ev.rankers, Truth: ev.truth,
		Lists:    map[string]int{"train": len(fitG), "valid": len(validG), "test": len(testG)},
		Segments: map[string][]RankerScore{}, Importance: personal.FeatureImportance(), Trees: personal.NumTrees(),
		Examination: curve, Seconds: secs,
	}
	for _, b := range []string{"ltr_non_personalized", "popularity", "bm25", "logged", "default_linear", "personalized_no_debias"} {
		for _, m := range []string{"ndcg@10", "mrr", "ips_ndcg@10", "truth_ndcg@10"} {
			a, bv := ev.vals[m]["personalized"], ev.vals[m][b]
			if len(a) == 0 || len(bv) == 0 {
				continue
			}
			d, ci := pairedCI(a, bv, 42)
			c := Comparison{A: "personalized", B: b, Name: "personalized - " + b, Metric: m, Diff: d, CI95: ci}
			if base := mean(bv); base > 0 {
				c.Rel = round(d / base)
			}
			rep.Comparisons = append(rep.Comparisons, c)
		}
	}
	if t := ev.vals["truth_ndcg@10"]; len(t["oracle"]) > 0 {
		gap := mean(t["oracle"]) - mean(t["ltr_non_personalized"])
		if gap > 0 {
			v := round((mean(t["personalized"]) - mean(t["ltr_non_personalized"])) / gap)
			rep.OracleGap = &v
		}
	} else if len(ev.vals["ndcg@10"]["oracle"]) > 0 {
		n := ev.vals["ndcg@10"]
		if gap := mean(n["oracle"]) - mean(n["ltr_non_personalized"]); gap > 0 {
			v := round((mean(n["personalized"]) - mean(n["ltr_non_personalized"])) / gap)
			rep.OracleGap = &v
		}
	}
	var newG, retG []group
	for _, g := range testG {
		if g.s.newCustomer {
			newG = append(newG, g)
		} else {
			retG = append(retG, g)
		}
	}
	newEv, retEv := evaluate(newG, scorers, exam, truth), evaluate(retG, scorers, exam, truth)
	rep.Segments["new_customers"] = newEv.rankers
	rep.Segments["returning_customers"] = retEv.rankers
	if truth != nil {
		rep.Segments["truth_new_customers"] = newEv.truth
		rep.Segments["truth_returning_customers"] = retEv.truth
	}
	secs["evaluate"] = since(t2)

	// The size model: trained on purchases before the split, evaluated after it.
	t3 := time.Now()
	// One implausible survey or observation (a shoe size the size model does not
	// take, say) must not fail training: what the size trainer refuses is left out.
	r.sizes.settle(last, o.SizeReturnWindow)
	probe := size.NewTrainer(size.Options{})
	var surveys []size.Survey
	var obs []size.Observation
	for _, sv := range r.sizes.surveys {
		if probe.AddSurvey(sv) == nil {
			surveys = append(surveys, sv)
		}
	}
	for _, ob := range r.sizes.obs {
		if probe.AddObservation(ob) == nil {
			obs = append(obs, ob)
		}
	}
	if d := len(r.sizes.surveys) - len(surveys) + len(r.sizes.obs) - len(obs); d > 0 {
		o.Progress("size model: left out %d surveys and %d purchases it does not accept", len(r.sizes.surveys)-len(surveys), len(r.sizes.obs)-len(obs))
	}
	sizeFrom, sizeTo := sizeHoldOut(first, last, split, o.TestFraction, o.SizeReturnWindow)
	var sizeTrain, sizeTest []size.Observation
	for _, ob := range obs {
		switch {
		case ob.Time.Before(sizeFrom):
			sizeTrain = append(sizeTrain, ob)
		case ob.Time.Before(sizeTo):
			sizeTest = append(sizeTest, ob)
		}
	}
	var sizeModel *size.Model
	if len(sizeTrain) > 0 {
		byID := func(id string) *catalog.Product {
			if i, ok := r.byID[id]; ok {
				return &r.products[i]
			}
			return nil
		}
		srep, _, err := size.Compare(ctx, size.Options{}, sizeTrain, surveys, sizeTest, byID, o.SizeTruth)
		if err != nil {
			return nil, fmt.Errorf("cannot evaluate the size model: %w", err)
		}
		srep.HeldOutFrom, srep.HeldOutTo = sizeFrom, sizeTo
		srep.LeftOut = size.LeftOut{Purchases: r.sizes.skipped + len(r.sizes.obs) - len(obs),
			Surveys: len(r.sizes.surveys) - len(surveys), SurveyShoeSizes: r.sizes.skippedShoeSizes}
		rep.Size = &srep
		// The published size model learns from every purchase.
		tr := size.NewTrainer(size.Options{})
		for _, ob := range obs {
			_ = tr.AddObservation(ob)
		}
		for _, sv := range surveys {
			_ = tr.AddSurvey(sv)
		}
		if sizeModel, err = tr.Fit(ctx); err != nil {
			return nil, fmt.Errorf("cannot train the size model: %w", err)
		}
	}
	secs["size"] = since(t3)

	// The published ensemble learns from every list, test window included, with as
	// many trees as early stopping chose on the validation lists.
	t4 := time.Now()
	all := append(slices.Clone(fitG), testG...)
	fp := o.Params
	fp.NumTrees, fp.EarlyStoppingRounds = max(personal.NumTrees(), 1), 0
	final, err := fit(ctx, all, nil, fp, false, exam)
	if err != nil {
		return nil, err
	}
	secs["final_fit"] = since(t4)
	snap := r.st.snap
	snap.Version = o.Version
	snap.Model = Model{final}
	secs["total"] = since(t0)
	sort.SliceStable(rep.Importance, func(i, j int) bool { return rep.Importance[i].Gain > rep.Importance[j].Gain })
	return &Result{Report: rep, Snapshot: snap, Size: sizeModel, Profiles: r.st.profiles}, nil
}

// cachedText memoizes the text scores of queries, within a bounded number of entries.
func cachedText(f func(string) map[string]float32) func(string) map[string]float32 {
	const maxEntries = 4_000_000
	cache := map[string]map[string]float32{}
	entries := 0
	return func(q string) map[string]float32 {
		if m, ok := cache[q]; ok {
			return m
		}
		m := f(q)
		if entries+len(m) > maxEntries {
			clear(cache)
			entries = 0
		}
		cache[q] = m
		entries += len(m)
		return m
	}
}

func fit(ctx context.Context, fitG, validG []group, p gbdt.Params, mask bool, exam func(int) float32) (*gbdt.Model, error) {
	train := dataset(fitG, mask, exam)
	var valid *gbdt.Dataset
	if len(validG) > 0 {
		valid = dataset(validG, mask, exam)
	}
	m, err := gbdt.Train(ctx, train, valid, p, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot train the ranker: %w", err)
	}
	return m, nil
}

// dataset builds a training set. With exam, each positive's gain is divided by the
// probability that its logged position was examined (inverse propensity weighting):
// label' = log2(1 + (2^label − 1) / P(examined | position)), so LambdaMART's
// |ΔNDCG|-weighted pair gradients see the position-debiased gains.
func dataset(gs []group, mask bool, exam func(int) float32) *gbdt.Dataset {
	rows := 0
	for _, g := range gs {
		rows += len(g.s.labels)
	}
	d := &gbdt.Dataset{NumFeatures: rank.NumFeatures, Features: make([]float32, 0, rows*rank.NumFeatures),
		Labels: make([]float32, 0, rows), Groups: make([]int, 0, len(gs))}
	for _, g := range gs {
		start := len(d.Features)
		d.Features = append(d.Features, g.feats...)
		if mask {
			maskRows(d.Features[start:])
		}
		d.Labels = appendLabels(d.Labels, g.s, exam)
		d.Groups = append(d.Groups, len(g.s.labels))
	}
	return d
}

func appendLabels(dst []float32, s *search, exam func(int) float32) []float32 {
	for i, l := range s.labels {
		v := float32(l)
		if exam != nil && l > 0 {
			v = ipsLabel(l, exam(int(s.positions[i])))
		}
		dst = append(dst, v)
	}
	return dst
}

// ipsLabel is the grade whose NDCG gain is the grade's gain over the propensity.
func ipsLabel(grade uint8, propensity float32) float32 {
	g := (math.Exp2(float64(grade)) - 1) / float64(propensity)
	return float32(math.Min(31, math.Log2(1+g)))
}

func modelScorer(m *gbdt.Model, mask bool) func(g *group, out []float32) {
	var buf []float32
	return func(g *group, out []float32) {
		f := g.feats
		if mask {
			buf = append(buf[:0], f...)
			maskRows(buf)
			f = buf
		}
		_ = m.Predict(f, len(out), out)
	}
}

func linearMap(w [rank.NumFeatures]float32) map[int]float32 {
	m := map[int]float32{}
	for i, v := range w {
		if v != 0 {
			m[i] = v
		}
	}
	return m
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func sum(m map[string]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

func since(t time.Time) float64 { return round(time.Since(t).Seconds()) }

// Model adapts a LambdaMART ensemble to the ranking interface.
type Model struct{ *gbdt.Model }

// Predict scores n feature rows; rows always have rank.NumFeatures features here.
func (m Model) Predict(features []float32, n int, out []float32) {
	_ = m.Model.Predict(features, n, out)
}

// Codec stores LambdaMART ensembles in snapshots.
var Codec = &rank.ModelCodec{
	Kind: 1,
	Encode: func(m rank.Model) ([]byte, error) {
		gm, ok := m.(Model)
		if !ok {
			return nil, fmt.Errorf("model %T is not a LambdaMART ensemble", m)
		}
		return gm.MarshalBinary()
	},
	Decode: func(b []byte) (rank.Model, error) {
		m, err := gbdt.UnmarshalModel(b)
		if err != nil {
			return nil, err
		}
		if m.NumFeatures() != rank.NumFeatures {
			return nil, fmt.Errorf("model has %d features, ranking needs %d", m.NumFeatures(), rank.NumFeatures)
		}
		return Model{m}, nil
	},
}

// sizeHoldOut is the window of purchases the size evaluation holds out: the last
// testFraction of the purchases whose return window closed before the lake's end
// (last). When the lake is shorter than the window it falls back to the ranking split
// and the lake's end, where late returns are still missing (the report shows the window).
func sizeHoldOut(first, last, split time.Time, testFraction float64, window time.Duration) (from, to time.Time) {
	to = last.Add(-window)
	if !to.After(first) {
		return split, last
	}
	from = first.Add(time.Duration(float64(to.Sub(first)) * (1 - testFraction))).Truncate(time.Hour)
	return from, to
}
