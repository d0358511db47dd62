package gbdt

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestTrainLambdaMARTLearns(t *testing.T) {
	all := synthLTR(300, 20, 10, 1)
	train, valid := splitGroups(all, 0, 200), splitGroups(all, 200, 300)
	p := DefaultParams()
	p.NumTrees = 40
	var first, last float64
	m, err := TrainLambdaMART(train, valid, p, func(iter int, tr, va float64) {
		if iter == 1 {
			first = va
		}
		last = va
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, valid.NumRows())
	if err := m.Predict(valid.Features, valid.NumRows(), out); err != nil {
		t.Fatal(err)
	}
	got := MeanNDCGAt(out, valid.Labels, valid.Groups, 10)
	if math.Abs(got-last) > 1e-4 {
		t.Errorf("NDCG@10 from Predict %.5f differs from the training loop's %.5f", got, last)
	}
	if last < first+0.05 {
		t.Errorf("validation NDCG@10 went from %.4f to %.4f: not learning", first, last)
	}
	t.Logf("valid NDCG@10 %.4f; importance %+v", got, m.FeatureImportance()[:3])
}

func TestEarlyStoppingKeepsBestPrefix(t *testing.T) {
	all := synthLTR(200, 20, 10, 3)
	train, valid := splitGroups(all, 0, 80), splitGroups(all, 80, 200)
	p := DefaultParams()
	p.NumTrees = 300
	p.LearningRate = 0.5
	p.MinDataInLeaf = 2
	p.EarlyStoppingRounds = 5
	var history []float64
	m, err := TrainLambdaMART(train, valid, p, func(_ int, _, va float64) { history = append(history, va) })
	if err != nil {
		t.Fatal(err)
	}
	if len(history) >= p.NumTrees {
		t.Fatalf("did not stop early: %d rounds", len(history))
	}
	best := 0
	for i, v := range history {
		if v > history[best]+1e-12 {
			best = i
		}
	}
	if m.NumTrees() != best+1 || len(history) != best+1+p.EarlyStoppingRounds {
		t.Fatalf("kept %d trees after %d rounds; best round %d", m.NumTrees(), len(history), best+1)
	}
	out := make([]float32, valid.NumRows())
	if err := m.Predict(valid.Features, valid.NumRows(), out); err != nil {
		t.Fatal(err)
	}
	if got := MeanNDCGAt(out, valid.Labels, valid.Groups, 10); math.Abs(got-history[best]) > 1e-4 {
		t.Errorf("kept model scores %.5f on validation, best round had %.5f", got, history[best])
	}
}

func TestTrainDeterministic(t *testing.T) {
	all := synthLTR(100, 20, 8, 9)
	p := DefaultParams()
	p.NumTrees = 10
	p.Subsample = 0.7
	var bs [2][]byte
	for i := range bs {
		m, err := TrainLambdaMART(all, nil, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bs[i], err = m.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	if string(bs[0]) != string(bs[1]) {
		t.Error("two trainings with the same seed differ")
	}
}

func TestFeatureImportanceFindsSignal(t *testing.T) {
	all := synthLTR(200, 20, 10, 4)
	p := DefaultParams()
	p.NumTrees = 20
	m, err := TrainLambdaMART(all, nil, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	imp := m.FeatureImportance()
	rank := map[int]int{}
	for i, f := range imp {
		rank[f.Feature] = i
	}
	// Features 0..4 and 9 carry the signal, 5..8 are noise.
	for _, f := range []int{0, 1, 2, 3} {
		if rank[f] > 5 {
			t.Errorf("signal feature %d ranked %d: %+v", f, rank[f], imp)
		}
	}
	total := 0.0
	for _, f := range imp {
		total += f.Gain
	}
	for _, f := range []int{5, 6, 7, 8} {
		if imp[rank[f]].Gain > 0.05*total {
			t.Errorf("noise feature %d has %.1f%% of the gain", f, 100*imp[rank[f]].Gain/total)
		}
	}
}

func TestRegressionAndMissingValues(t *testing.T) {
	// y depends on x0 and on whether x1 is missing.
	const n, F = 4000, 3
	rng := rand.New(rand.NewPCG(1, 2))
	d := &Dataset{Features: make([]float32, n*F), NumFeatures: F, Labels: make([]float32, n)}
	for i := 0; i < n; i++ {
		x := d.Features[i*F : (i+1)*F]
		for f := range x {
			x[f] = float32(rng.Float64()*2 - 1)
		}
		y := math.Sin(3 * float64(x[0]))
		if rng.IntN(4) == 0 {
			x[1] = float32(math.NaN())
			y += 2
		}
		d.Labels[i] = float32(y + rng.NormFloat64()*0.05)
	}
	p := DefaultParams()
	p.Objective = ObjectiveSquaredError
	p.NumTrees = 80
	p.LearningRate = 0.3
	m, err := Train(context.Background(), d, nil, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, n)
	if err := m.Predict(d.Features, n, out); err != nil {
		t.Fatal(err)
	}
	se := 0.0
	for i := range out {
		e := float64(out[i] - d.Labels[i])
		se += e * e
	}
	if rmse := math.Sqrt(se / n); rmse > 0.15 {
		t.Errorf("RMSE %.3f, want < 0.15 (labels have std ~1.1)", rmse)
	}
	a, _ := m.PredictRow([]float32{0.5, float32(math.NaN()), 0})
	b, _ := m.PredictRow([]float32{0.5, 0.2, 0})
	if math.Abs(float64(a-b)-2) > 0.3 {
		t.Errorf("missing x1 should add ~2: %v vs %v", a, b)
	}
}

func TestLogisticObjective(t *testing.T) {
	all := synthLTR(100, 20, 8, 6)
	for i, y := range all.Labels {
		all.Labels[i] = 0
		if y >= 2 {
			all.Labels[i] = 1
		}
	}
	all.Groups = nil
	p := DefaultParams()
	p.Objective = ObjectiveLogistic
	p.NumTrees = 30
	var first, last float64
	m, err := Train(context.Background(), all, all, p, func(it int, tr, _ float64) {
		if it == 1 {
			first = tr
		}
		last = tr
	})
	if err != nil {
		t.Fatal(err)
	}
	if !(last < first*0.8) {
		t.Errorf("log loss %.4f → %.4f: not learning", first, last)
	}
	out := make([]float32, all.NumRows())
	if err := m.Predict(all.Features, all.NumRows(), out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if !(v > 0 && v < 1) {
			t.Fatalf("row %d: probability %v", i, v)
		}
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	good := synthLTR(5, 4, 6, 1)
	if _, err := TrainLambdaMART(good, nil, Params{}, nil); err == nil || !strings.Contains(err.Error(), "NumTrees") {
		t.Errorf("zero Params: %v", err)
	}
	p := DefaultParams()
	p.NumTrees = 2
	for name, d := range map[string]*Dataset{
		"nil":        nil,
		"no rows":    {NumFeatures: 2},
		"shape":      {Features: make([]float32, 5), NumFeatures: 2, Labels: make([]float32, 3), Groups: []int{3}},
		"groups sum": {Features: make([]float32, 6), NumFeatures: 2, Labels: make([]float32, 3), Groups: []int{2}},
		"no groups":  {Features: make([]float32, 6), NumFeatures: 2, Labels: make([]float32, 3)},
		"label":      {Features: make([]float32, 2), NumFeatures: 2, Labels: []float32{40}, Groups: []int{1}},
		"nan label":  {Features: make([]float32, 2), NumFeatures: 2, Labels: []float32{float32(math.NaN())}, Groups: []int{1}},
	} {
		if _, err := TrainLambdaMART(d, nil, p, nil); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	other := synthLTR(5, 4, 7, 1)
	if _, err := TrainLambdaMART(good, other, p, nil); err == nil {
		t.Error("validation set with another feature count accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, good, nil, p, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// BenchmarkTrain200k trains 100 trees of depth 6 on 200,000 rows × 20 features
// (10,000 queries of 20 documents). Run it alone:
//
//	go test -run XXX -bench Train200k -benchtime 1x -v ./internal/gbdt/
func BenchmarkTrain200k(b *testing.B) {
	d := synthLTR(10_000, 20, 20, 1)
	p := DefaultParams()
	b.ReportAllocs()
	for b.Loop() {
		start, cpu0 := time.Now(), cpuTime()
		m, err := TrainLambdaMART(d, nil, p, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d rows × %d features, %d trees depth %d, %d threads: %v wall, %v CPU (user+sys)",
			d.NumRows(), d.NumFeatures, m.NumTrees(), p.MaxDepth, p.NumThreads,
			time.Since(start).Round(time.Millisecond), (cpuTime() - cpu0).Round(time.Millisecond))
	}
}
