package gbdt

import (
	"math"
	"slices"
)

// NDCGAt returns NDCG@k of one ranked list: documents are ordered by descending
// score, DCG@k = Σ (2^label-1)/log2(position+1) over the top k, divided by the DCG@k
// of the ideal order. Ties in score are broken pessimistically (lower label first),
// so a constant scorer earns no credit for the input order. A list with no relevant
// document (all labels 0) returns 1, as LightGBM and XGBoost do; k ≤ 0 or a length
// mismatch returns 0.
func NDCGAt(scores, labels []float32, k int) float64 {
	if len(scores) != len(labels) || k <= 0 {
		return 0
	}
	v, ok := ndcgAt(scores, labels, k, make([]int32, len(scores)))
	if !ok {
		return 1
	}
	return v
}

// MRR returns the reciprocal rank of the first relevant document (label > 0) when
// documents are ordered by descending score (ties broken pessimistically), or 0 when
// no document is relevant or the lengths differ.
func MRR(scores, labels []float32) float64 {
	if len(scores) != len(labels) {
		return 0
	}
	v, _ := rr(scores, labels, make([]int32, len(scores)))
	return v
}

// MeanNDCGAt averages NDCG@k over query groups (consecutive sizes summing to
// len(scores)), skipping groups without any relevant document: they carry no
// information about ranking quality. It returns 0 when no group counts or the
// shapes do not match.
func MeanNDCGAt(scores, labels []float32, groups []int, k int) float64 {
	return meanOverGroups(scores, labels, groups, func(s, l []float32, buf []int32) (float64, bool) {
		return ndcgAt(s, l, k, buf)
	}, k > 0)
}

// MeanMRR averages MRR over query groups, skipping groups without any relevant
// document. It returns 0 when no group counts or the shapes do not match.
func MeanMRR(scores, labels []float32, groups []int) float64 {
	return meanOverGroups(scores, labels, groups, rr[float32], true)
}

func meanOverGroups(scores, labels []float32, groups []int, f func(s, l []float32, buf []int32) (float64, bool), okParams bool) float64 {
	if !okParams || len(scores) != len(labels) {
		return 0
	}
	maxG, total := 0, 0
	for _, g := range groups {
		if g < 0 {
			return 0
		}
		maxG = max(maxG, g)
		total += g
	}
	if total != len(scores) {
		return 0
	}
	buf := make([]int32, maxG)
	sum, cnt, off := 0.0, 0, 0
	for _, g := range groups {
		if v, ok := f(scores[off:off+g], labels[off:off+g], buf[:g]); ok {
			sum += v
			cnt++
		}
		off += g
	}
	if cnt == 0 {
		return 0
	}
	return sum / float64(cnt)
}

// rankOrder fills idx with 0..n-1 ordered by descending score, ties by ascending
// label then ascending index (deterministic and pessimistic).
func rankOrder[S float32 | float64](scores []S, labels []float32, idx []int32) {
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		sa, sb := scores[a], scores[b]
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		case labels[a] < labels[b]:
			return -1
		case labels[a] > labels[b]:
			return 1
		}
		return int(a - b)
	})
}

func gain(label float32) float64 { return math.Exp2(float64(label)) - 1 }

func discount(pos int) float64 { return 1 / math.Log2(float64(pos)+2) }

// ndcgAt returns NDCG@k and false when the list has no relevant document.
func ndcgAt[S float32 | float64](scores []S, labels []float32, k int, idx []int32) (float64, bool) {
	n := len(scores)
	idx = idx[:n]
	rankOrder(scores, labels, idx)
	dcg := 0.0
	top := min(k, n)
	for i := 0; i < top; i++ {
		dcg += gain(labels[idx[i]]) * discount(i)
	}
	ideal := idealDCGSelect(labels, top)
	if ideal <= 0 {
		return 0, false
	}
	return dcg / ideal, true
}

// idealDCGSelect computes the ideal DCG@top without allocating: repeated selection
// of the next largest label below the previous one, counting multiplicities.
func idealDCGSelect(labels []float32, top int) float64 {
	dcg := 0.0
	pos := 0
	prev := float32(math.Inf(1))
	for pos < top {
		best := float32(math.Inf(-1))
		for _, l := range labels {
			if l < prev && l > best {
				best = l
			}
		}
		if math.IsInf(float64(best), -1) || best <= 0 {
			break
		}
		cnt := 0
		for _, l := range labels {
			if l == best {
				cnt++
			}
		}
		g := gain(best)
		for c := 0; c < cnt && pos < top; c++ {
			dcg += g * discount(pos)
			pos++
		}
		prev = best
	}
	return dcg
}

// rr returns the reciprocal rank of the first relevant document and false when
// there is none.
func rr[S float32 | float64](scores []S, labels []float32, idx []int32) (float64, bool) {
	idx = idx[:len(scores)]
	rankOrder(scores, labels, idx)
	for i, j := range idx {
		if labels[j] > 0 {
			return 1 / float64(i+1), true
		}
	}
	return 0, false
}
