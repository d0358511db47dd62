package gbdt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// ProgressFunc is called after every boosting round with the 1-based round and the
// metric on the training and validation sets: NDCG@k for lambdarank, RMSE for
// regression, log loss for binary. validMetric is NaN without a validation set.
type ProgressFunc func(iter int, trainMetric, validMetric float64)

// TrainLambdaMART trains a LambdaMART ranker: Train with the lambdarank objective.
func TrainLambdaMART(train, valid *Dataset, p Params, progress ProgressFunc) (*Model, error) {
	p.Objective = ObjectiveLambdaRank
	return Train(context.Background(), train, valid, p, progress)
}

// Train fits a gradient-boosted tree ensemble to train. valid may be nil; when it
// is given the validation metric is reported to progress and, with
// EarlyStoppingRounds > 0, training stops once it has not improved for that many
// rounds and the model keeps the trees up to the best round. Training also stops
// when no split meets the requirements any more, and with ctx's error when ctx is
// done.
func Train(ctx context.Context, train, valid *Dataset, p Params, progress ProgressFunc) (*Model, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if err := train.Validate(p.Objective); err != nil {
		return nil, fmt.Errorf("invalid training set: %w", err)
	}
	if valid != nil {
		if err := valid.Validate(p.Objective); err != nil {
			return nil, fmt.Errorf("invalid validation set: %w", err)
		}
		if valid.NumFeatures != train.NumFeatures {
			return nil, fmt.Errorf("validation set has %d features, training set %d", valid.NumFeatures, train.NumFeatures)
		}
	}
	n := train.NumRows()

	var obj objective
	output := OutputIdentity
	switch p.Objective {
	case ObjectiveLambdaRank:
		obj = newLambdaRank(train, &p)
	case ObjectiveSquaredError:
		obj = squaredError{train.Labels}
	case ObjectiveLogistic:
		obj = logistic{train.Labels}
		output = OutputSigmoid
	}
	base := float32(obj.initScore(train))

	bm := newBinMapper(train, p.MaxBins-1, p.Seed, p.NumThreads)
	cols := bm.binColumns(train, p.NumThreads)
	gr := newGrower(&p, bm, cols, n)

	scores := make([]float64, n)
	for i := range scores {
		scores[i] = float64(base)
	}
	var validScores []float64
	if valid != nil {
		validScores = make([]float64, valid.NumRows())
		for i := range validScores {
			validScores[i] = float64(base)
		}
	}
	grad := make([]gradPair, n)
	var sample []int32
	var rng *rand.Rand
	if p.Subsample < 1 {
		rng = rand.New(rand.NewPCG(uint64(p.Seed), 0x2545f4914f6cdd1d))
		sample = make([]int32, 0, n)
	}
	ev := newEvaluator(&p)

	var trees [][]TreeNode
	bestIter, bestMetric := 0, math.Inf(-1)
	for iter := 0; iter < p.NumTrees; iter++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("training stopped after %d trees: %w", iter, err)
		}
		obj.gradients(scores, grad)
		var rowsSample []int32
		if rng != nil {
			sample = sample[:0]
			for i := 0; i < n; i++ {
				if rng.Float64() < p.Subsample {
					sample = append(sample, int32(i))
				}
			}
			if len(sample) == 0 {
				sample = append(sample, int32(rng.IntN(n)))
			}
			rowsSample = sample
		}
		gr.grow(grad, rowsSample)
		if len(gr.tree) == 1 && iter > 0 {
			break // no split meets the requirements any more
		}
		tree := append([]TreeNode(nil), gr.tree...)
		// Update training scores with the float32 leaf values the model will use.
		if rowsSample == nil {
			for _, l := range gr.leaves {
				v := float64(tree[l.node].Value)
				for _, r := range gr.rows[l.start:l.end] {
					scores[r] += v
				}
			}
		} else {
			for r := range scores {
				scores[r] += float64(tree[gr.predictBinned(int32(r))].Value)
			}
		}
		trees = append(trees, tree)
		if valid != nil {
			F := valid.NumFeatures
			for r := range validScores {
				validScores[r] += float64(predictTree(tree, valid.Features[r*F:(r+1)*F]))
			}
		}
		validMetric := math.NaN()
		if valid != nil {
			validMetric = ev.metric(validScores, valid)
			if ev.better(validMetric, bestMetric) {
				bestIter, bestMetric = iter+1, ev.key(validMetric)
			}
		}
		if progress != nil {
			progress(iter+1, ev.metric(scores, train), validMetric)
		}
		if valid != nil && p.EarlyStoppingRounds > 0 && iter+1-bestIter >= p.EarlyStoppingRounds {
			break
		}
	}
	if valid != nil && p.EarlyStoppingRounds > 0 && bestIter > 0 {
		trees = trees[:bestIter]
	}
	m, err := NewModel(train.NumFeatures, base, output, p.Objective, nil, trees)
	if err != nil {
		return nil, fmt.Errorf("training produced an invalid model: %w", err)
	}
	return m, nil
}

// predictTree returns the leaf value of one tree for one raw row.
func predictTree(t []TreeNode, row []float32) float32 {
	i := 0
	for {
		nd := &t[i]
		if nd.Left < 0 {
			return nd.Value
		}
		x := row[nd.Feature]
		switch {
		case x < nd.Threshold:
			i = nd.Left
		case x != x && nd.DefaultLeft:
			i = nd.Left
		default:
			i = nd.Right
		}
	}
}

// evaluator computes the progress and early-stopping metric.
type evaluator struct {
	objective string
	k         int
	idx       []int32
}

func newEvaluator(p *Params) *evaluator { return &evaluator{objective: p.Objective, k: p.NDCGAt} }

func (e *evaluator) metric(scores []float64, d *Dataset) float64 {
	switch e.objective {
	case ObjectiveLambdaRank:
		sum, cnt := 0.0, 0
		offs := groupOffsets(d.Groups, d.NumRows())
		for g := 0; g+1 < len(offs); g++ {
			s, l := scores[offs[g]:offs[g+1]], d.Labels[offs[g]:offs[g+1]]
			if cap(e.idx) < len(s) {
				e.idx = make([]int32, len(s))
			}
			if v, ok := ndcgAt(s, l, e.k, e.idx[:len(s)]); ok {
				sum += v
				cnt++
			}
		}
		if cnt == 0 {
			return 0
		}
		return sum / float64(cnt)
	case ObjectiveLogistic:
		ll := 0.0
		for i, s := range scores {
			p := 1 / (1 + math.Exp(-s))
			p = min(max(p, 1e-15), 1-1e-15)
			if d.Labels[i] > 0 {
				ll -= math.Log(p)
			} else {
				ll -= math.Log(1 - p)
			}
		}
		return ll / float64(len(scores))
	default:
		se := 0.0
		for i, s := range scores {
			e := s - float64(d.Labels[i])
			se += e * e
		}
		return math.Sqrt(se / float64(len(scores)))
	}
}

// key maps a metric to a value where larger is better.
func (e *evaluator) key(v float64) float64 {
	if e.objective == ObjectiveLambdaRank {
		return v
	}
	return -v
}

func (e *evaluator) better(v, bestKey float64) bool { return e.key(v) > bestKey+1e-12 }
