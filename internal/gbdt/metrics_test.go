package gbdt

import (
	"math"
	"testing"
)

func TestNDCGAndMRRHandComputed(t *testing.T) {
	l2 := math.Log2
	cases := []struct {
		name           string
		scores, labels []float32
		k              int
		ndcg, mrr      float64
	}{
		{"reversed", []float32{3, 2, 1}, []float32{0, 1, 2}, 3,
			(1/l2(3) + 3/l2(4)) / (3 + 1/l2(3)), 0.5},
		{"reversed@1", []float32{3, 2, 1}, []float32{0, 1, 2}, 1, 0, 0.5},
		{"perfect", []float32{0.9, 0.5, 0.1}, []float32{4, 1, 0}, 10, 1, 1},
		{"duplicate grades", []float32{1, 3, 2}, []float32{2, 2, 0}, 3,
			(3 + 3/l2(4)) / (3 + 3/l2(3)), 1},
		{"ties are pessimistic", []float32{1, 1}, []float32{1, 0}, 1, 0, 0.5},
		{"no relevant", []float32{1, 2}, []float32{0, 0}, 5, 1, 0},
		{"k beyond length", []float32{2, 1}, []float32{0, 3}, 10, (7 / l2(3)) / 7, 0.5},
	}
	for _, c := range cases {
		if got := NDCGAt(c.scores, c.labels, c.k); math.Abs(got-c.ndcg) > 1e-12 {
			t.Errorf("%s: NDCG@%d = %.12f, want %.12f", c.name, c.k, got, c.ndcg)
		}
		if got := MRR(c.scores, c.labels); math.Abs(got-c.mrr) > 1e-12 {
			t.Errorf("%s: MRR = %.12f, want %.12f", c.name, got, c.mrr)
		}
	}
	// Means skip the group without relevant documents.
	scores := []float32{3, 2, 1, 1, 2, 0.9, 0.5, 0.1}
	labels := []float32{0, 1, 2, 0, 0, 4, 1, 0}
	groups := []int{3, 2, 3}
	want := ((1/l2(3)+3/l2(4))/(3+1/l2(3)) + 1) / 2
	if got := MeanNDCGAt(scores, labels, groups, 3); math.Abs(got-want) > 1e-12 {
		t.Errorf("MeanNDCGAt = %.12f, want %.12f", got, want)
	}
	if got := MeanMRR(scores, labels, groups); math.Abs(got-0.75) > 1e-12 {
		t.Errorf("MeanMRR = %v, want 0.75", got)
	}
	// Bad shapes give 0, not a panic.
	if MeanNDCGAt(scores, labels, []int{3, 3}, 3) != 0 || NDCGAt(scores, labels[:2], 3) != 0 || MRR(scores[:1], labels) != 0 {
		t.Error("bad shapes not reported as 0")
	}
}

func TestSortByScoreDesc(t *testing.T) {
	for _, n := range []int{0, 1, 7, 48, 49, 200} {
		scores := make([]float64, n)
		for i := range scores {
			scores[i] = float64((i * 7919) % 13) // many ties
		}
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(i)
		}
		sortByScoreDesc(idx, scores)
		for i := 1; i < n; i++ {
			a, b := idx[i-1], idx[i]
			if scores[a] < scores[b] || (scores[a] == scores[b] && a > b) {
				t.Fatalf("n=%d: not a stable descending order at %d", n, i)
			}
		}
	}
}
