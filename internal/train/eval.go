package train

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/gbdt"
	"github.com/bespokesearch/bespoke/internal/rank"
)

// RankerScore is one ranker's offline quality on the test window.
type RankerScore struct {
	Name      string  `json:"name"`
	NDCG10    float64 `json:"ndcg@10"`
	NDCG10CI  float64 `json:"ndcg@10_ci95"` // half-width of the 95% confidence interval
	MRR       float64 `json:"mrr"`
	MRRCI     float64 `json:"mrr_ci95"`
	IPSNDCG10 float64 `json:"ips_ndcg@10,omitempty"` // NDCG@10 with each outcome's gain divided by P(examined at its logged position)
	IPSNDCGCI float64 `json:"ips_ndcg@10_ci95,omitempty"`
	Hit5      float64 `json:"click@5,omitempty"`         // share of lists with a clicked item in the top 5
	IPSHit5   float64 `json:"ips_click@5,omitempty"`     // share of clicks in the top 5, each weighted by 1/P(examined at its logged position)
	ExpClicks float64 `json:"expected_clicks,omitempty"` // truth: expected clicks in the top 10 under the true examination model
	N         int     `json:"n"`
}

// Comparison is the paired difference of two rankers on the same lists.
type Comparison struct {
	A, B   string     `json:"-"`
	Name   string     `json:"comparison"`
	Metric string     `json:"metric"`
	Diff   float64    `json:"diff"`
	CI95   [2]float64 `json:"ci95"`
	Rel    float64    `json:"relative"` // Diff / score of B
}

// group is one evaluated list: its items' features and labels.
type group struct {
	s     *search
	feats []float32
}

type scorer struct {
	name  string
	score func(g *group, out []float32)
}

// truthEval is the ground truth of the test lists: the true attraction of each
// impressed item (nil for lists the truth does not know).
type truthEval struct {
	rel   map[*search][]float32
	exam  func(pos int) float64
	index map[*search]int
}

func newTruthEval(gs []group, products []catalog.Product, relevance func(string, []string, []float64) bool, trueExam func(int) float64, est func(int) float32) *truthEval {
	t := &truthEval{rel: map[*search][]float32{}, exam: trueExam}
	if t.exam == nil {
		t.exam = func(p int) float64 { return float64(est(p)) }
	}
	var ids []string
	var out []float64
	for _, g := range gs {
		ids, out = ids[:0], out[:0]
		for _, ci := range g.s.items {
			id := ""
			if ci >= 0 {
				id = products[ci].ProductID
			}
			ids = append(ids, id)
			out = append(out, 0)
		}
		if g.s.id == "" || !relevance(g.s.id, ids, out) {
			continue
		}
		r := make([]float32, len(out))
		for i, v := range out {
			r[i] = float32(v)
		}
		t.rel[g.s] = r
	}
	return t
}

// oracle ranks by the true attraction.
func (t *truthEval) oracle(g *group, out []float32) {
	r := t.rel[g.s]
	for i := range out {
		out[i] = 0
		if r != nil {
			out[i] = r[i]
		}
	}
}

type evalResult struct {
	rankers, truth []RankerScore
	vals           map[string]map[string][]float64 // metric → ranker → per-list values
}

// evaluate scores every group with every ranker and aggregates the metrics: on the
// logged outcomes (naive and inverse-propensity weighted), and against the truth.
func evaluate(groups []group, scorers []scorer, exam func(pos int) float32, truth *truthEval) evalResult {
	res := evalResult{vals: map[string]map[string][]float64{}}
	for _, m := range []string{"ndcg@10", "mrr", "ips_ndcg@10", "truth_ndcg@10", "truth_clicks"} {
		res.vals[m] = map[string][]float64{}
	}
	var scores, labels, ipsLabels, tl []float32
	for _, sc := range scorers {
		nd := make([]float64, 0, len(groups))
		mr := make([]float64, 0, len(groups))
		ip := make([]float64, 0, len(groups))
		var tn, tc []float64
		var hit, ipsNum, ipsDen float64
		for gi := range groups {
			g := &groups[gi]
			n := len(g.s.labels)
			scores = slices.Grow(scores[:0], n)[:n]
			sc.score(g, scores)
			labels = labels[:0]
			for _, l := range g.s.labels {
				labels = append(labels, float32(l))
			}
			ipsLabels = appendLabels(ipsLabels[:0], g.s, exam)
			nd = append(nd, gbdt.NDCGAt(scores, labels, 10))
			mr = append(mr, gbdt.MRR(scores, labels))
			ip = append(ip, gbdt.NDCGAt(scores, ipsLabels, 10))
			order := orderOf(scores)
			any := false
			for k := 0; k < min(5, n); k++ {
				i := order[k]
				if g.s.labels[i] >= labelClicked {
					any = true
					ipsNum += 1 / float64(exam(int(g.s.positions[i])))
				}
			}
			for i, l := range g.s.labels {
				if l >= labelClicked {
					ipsDen += 1 / float64(exam(int(g.s.positions[i])))
				}
			}
			if any {
				hit++
			}
			if truth != nil {
				if rel := truth.rel[g.s]; rel != nil {
					// Gain = the true attraction: label log2(1 + attraction).
					tl = tl[:0]
					for _, v := range rel {
						tl = append(tl, float32(math.Log2(1+float64(v))))
					}
					tn = append(tn, gbdt.NDCGAt(scores, tl, 10))
					var ec float64
					for k := 0; k < min(10, n); k++ {
						ec += truth.exam(k+1) * float64(rel[order[k]])
					}
					tc = append(tc, ec)
				}
			}
		}
		res.vals["ndcg@10"][sc.name], res.vals["mrr"][sc.name], res.vals["ips_ndcg@10"][sc.name] = nd, mr, ip
		rs := RankerScore{Name: sc.name, N: len(groups)}
		rs.NDCG10, rs.NDCG10CI = meanCI(nd)
		rs.MRR, rs.MRRCI = meanCI(mr)
		rs.IPSNDCG10, rs.IPSNDCGCI = meanCI(ip)
		if len(groups) > 0 {
			rs.Hit5 = round(hit / float64(len(groups)))
		}
		if ipsDen > 0 {
			rs.IPSHit5 = round(ipsNum / ipsDen)
		}
		res.rankers = append(res.rankers, rs)
		if truth != nil {
			res.vals["truth_ndcg@10"][sc.name], res.vals["truth_clicks"][sc.name] = tn, tc
			ts := RankerScore{Name: sc.name, N: len(tn)}
			ts.NDCG10, ts.NDCG10CI = meanCI(tn)
			ts.ExpClicks, _ = meanCI(tc)
			res.truth = append(res.truth, ts)
		}
	}
	return res
}

// orderOf is the ranking by score, best first; ties keep the list (retrieval) order.
func orderOf(scores []float32) []int {
	o := make([]int, len(scores))
	for i := range o {
		o[i] = i
	}
	slices.SortStableFunc(o, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return o
}

func meanCI(xs []float64) (mean, half float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	var s, s2 float64
	for _, x := range xs {
		s += x
	}
	mean = s / float64(len(xs))
	for _, x := range xs {
		s2 += (x - mean) * (x - mean)
	}
	if len(xs) > 1 {
		half = 1.96 * math.Sqrt(s2/float64(len(xs)-1)/float64(len(xs)))
	}
	return round(mean), round(half)
}

// pairedCI is the bootstrap 95% interval of mean(a − b) over the same groups.
func pairedCI(a, b []float64, seed uint64) (diff float64, ci [2]float64) {
	n := len(a)
	if n == 0 {
		return 0, ci
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = a[i] - b[i]
		diff += d[i]
	}
	diff /= float64(n)
	rng := rand.New(rand.NewPCG(seed, 7))
	const reps = 1000
	means := make([]float64, reps)
	for r := range means {
		var s float64
		for range n {
			s += d[rng.IntN(n)]
		}
		means[r] = s / float64(n)
	}
	sort.Float64s(means)
	return round(diff), [2]float64{round(means[reps*25/1000]), round(means[reps*975/1000])}
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// maskRows sets, in place, the customer-dependent features of rows to what an empty
// profile gives: the input of the non-personalized learning-to-rank baseline.
func maskRows(feats []float32) {
	for r := 0; r < len(feats)/rank.NumFeatures; r++ {
		row := feats[r*rank.NumFeatures : (r+1)*rank.NumFeatures]
		for _, f := range rank.PersonalFeatures {
			row[f] = 0
		}
		row[rank.FSizeInStock] = 0.5
	}
}

func linearScorer(name string, w map[int]float32) scorer {
	return scorer{name, func(g *group, out []float32) {
		for i := range out {
			row := g.feats[i*rank.NumFeatures : (i+1)*rank.NumFeatures]
			var s float32
			for f, wf := range w {
				s += wf * row[f]
			}
			out[i] = s
		}
	}}
}
