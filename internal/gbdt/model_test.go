package gbdt

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomModel builds `trees` complete trees of the given depth over F features
// with thresholds in [-1, 1), random default directions and leaf values.
func randomModel(t testing.TB, trees, depth, F int, seed uint64) *Model {
	rng := rand.New(rand.NewPCG(seed, 1))
	ts := make([][]TreeNode, trees)
	for i := range ts {
		n := 1<<(depth+1) - 1
		tree := make([]TreeNode, n)
		for j := range tree {
			if l := 2*j + 1; l < n {
				tree[j] = TreeNode{Feature: rng.IntN(F), Threshold: float32(rng.Float64()*2 - 1), Left: l, Right: l + 1, DefaultLeft: rng.IntN(2) == 0, Gain: rng.Float64()}
			} else {
				tree[j] = TreeNode{Left: -1, Right: -1, Value: float32(rng.NormFloat64() * 0.1)}
			}
		}
		ts[i] = tree
	}
	m, err := NewModel(F, 0.5, OutputIdentity, "test", nil, ts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomRows(n, F int, nanRate float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n*F)
	for i := range x {
		if rng.Float64() < nanRate {
			x[i] = float32(math.NaN())
		} else {
			x[i] = float32(rng.Float64()*2 - 1)
		}
	}
	return x
}

// TestPredictMatchesReference checks the flattened, 4-rows-at-a-time predictor
// against a plain walk of the portable trees, with missing values.
func TestPredictMatchesReference(t *testing.T) {
	const F = 7
	m := randomModel(t, 30, 5, F, 3)
	for _, c := range []struct {
		n       int
		nanRate float64
	}{{0, 0}, {1, 0}, {1, 1}, {3, 0.2}, {4, 0}, {5, 0.2}, {101, 0.2}, {101, 0}} {
		n := c.n
		x := randomRows(n, F, c.nanRate, uint64(n))
		out := make([]float32, n)
		if err := m.Predict(x, n, out); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			want := m.BaseScore()
			for _, tree := range m.trees {
				want += predictTree(tree, x[i*F:(i+1)*F])
			}
			if out[i] != want {
				t.Fatalf("n=%d row %d: Predict %v, reference %v", n, i, out[i], want)
			}
		}
	}
}

func TestPredictErrors(t *testing.T) {
	m := randomModel(t, 2, 2, 3, 1)
	if err := m.Predict(make([]float32, 5), 2, make([]float32, 2)); err == nil {
		t.Error("short features accepted")
	}
	if err := m.Predict(make([]float32, 6), 2, make([]float32, 1)); err == nil {
		t.Error("short out accepted")
	}
	if err := m.Predict(nil, -1, nil); err == nil {
		t.Error("negative n accepted")
	}
}

func TestNewModelRejectsBadTrees(t *testing.T) {
	leaf := TreeNode{Left: -1, Right: -1}
	for name, trees := range map[string][][]TreeNode{
		"empty tree":  {{}},
		"one child":   {{{Left: 1, Right: -1}, leaf}},
		"bad feature": {{{Feature: 5, Left: 1, Right: 2}, leaf, leaf}},
		"self loop":   {{{Left: 0, Right: 1}, leaf}},
		"shared":      {{{Left: 1, Right: 1}, leaf}},
		"nan leaf":    {{{Left: -1, Right: -1, Value: float32(math.NaN())}}},
		"nan thr":     {{{Threshold: float32(math.NaN()), Left: 1, Right: 2}, leaf, leaf}},
	} {
		if _, err := NewModel(2, 0, OutputIdentity, "", nil, trees); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSerializationRoundTrip(t *testing.T) {
	all := synthLTR(120, 15, 8, 5)
	p := DefaultParams()
	p.NumTrees = 15
	m, err := TrainLambdaMART(all, nil, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.featureNames = []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := m2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatal("model does not round-trip to the same bytes")
	}
	n := all.NumRows()
	o1, o2 := make([]float32, n), make([]float32, n)
	if err := m.Predict(all.Features, n, o1); err != nil {
		t.Fatal(err)
	}
	if err := m2.Predict(all.Features, n, o2); err != nil {
		t.Fatal(err)
	}
	for i := range o1 {
		if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) {
			t.Fatalf("row %d: %v before, %v after loading", i, o1[i], o2[i])
		}
	}
	if got := m2.FeatureNames(); len(got) != 8 || got[7] != "h" || m2.Objective() != ObjectiveLambdaRank {
		t.Errorf("metadata lost: names %v objective %q", got, m2.Objective())
	}
	// Corruption anywhere is detected.
	for _, i := range []int{0, 9, 20, len(b) / 2, len(b) - 1} {
		c := bytes.Clone(b)
		c[i] ^= 0x40
		if _, err := UnmarshalModel(c); err == nil {
			t.Errorf("flipped byte %d: accepted", i)
		}
	}
	if _, err := UnmarshalModel(b[:len(b)-7]); err == nil {
		t.Error("truncated model accepted")
	}
	// A future version is refused with a clear message.
	v := bytes.Clone(b[:len(b)-4])
	v[8] = 2
	if _, err := UnmarshalModel(appendCRC(v)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version 2: %v", err)
	}
}

func FuzzUnmarshalModel(f *testing.F) {
	m := randomModel(f, 3, 3, 4, 9)
	b, err := m.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("BSPKGBDT"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Make the checksum right half of the time so the fuzzer reaches the decoder.
		if len(data) > 12 && data[len(data)-1]&1 == 0 {
			data = appendCRC(data[:len(data)-4])
		}
		m, err := UnmarshalModel(data)
		if err != nil {
			return
		}
		row := make([]float32, m.NumFeatures())
		if _, err := m.PredictRow(row); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkPredict100Trees scores 100 candidates × 20 features with 100 complete
// trees of depth 6, without missing values and with 10% NaN.
func BenchmarkPredict100Trees(b *testing.B) {
	const F, n = 20, 100
	m := randomModel(b, 100, 6, F, 1)
	for _, c := range []struct {
		name    string
		nanRate float64
	}{{"dense", 0}, {"nan10pct", 0.1}} {
		b.Run(c.name, func(b *testing.B) {
			x := randomRows(n, F, c.nanRate, 5)
			out := make([]float32, n)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if err := m.Predict(x, n, out); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time per call: wall time is meaningless on a busy shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
