package gbdt

import (
	"fmt"
	"math"
)

// Objectives understood by Train.
const (
	// ObjectiveLambdaRank is LambdaMART: pairwise LambdaRank gradients weighted by
	// |ΔNDCG| (gain 2^label-1), normalized per query group as LightGBM does.
	ObjectiveLambdaRank = "lambdarank"
	// ObjectiveSquaredError is least-squares regression.
	ObjectiveSquaredError = "regression"
	// ObjectiveLogistic is binary classification (labels 0/1); Predict returns
	// probabilities.
	ObjectiveLogistic = "binary"
)

// Params configures training. Start from DefaultParams and change what you need:
// zero values are taken literally (Lambda 0 means no L2 regularization), and
// invalid values are reported by Train.
type Params struct {
	Objective      string  // ObjectiveLambdaRank (default), ObjectiveSquaredError or ObjectiveLogistic
	NumTrees       int     // maximum number of boosting rounds
	MaxDepth       int     // maximum tree depth (1..30)
	MaxBins        int     // bins per feature including the missing-value bin (2..256)
	LearningRate   float64 // shrinkage applied to every leaf value
	Lambda         float64 // L2 regularization on leaf values
	MinChildWeight float64 // minimum sum of hessians in a child
	MinDataInLeaf  int     // minimum number of rows in a child
	MinSplitGain   float64 // minimum loss reduction to make a split
	Subsample      float64 // fraction of rows sampled per tree (1 = all rows)

	// EarlyStoppingRounds stops training when the validation metric has not improved
	// for this many rounds and keeps the best prefix of trees; 0 disables it.
	EarlyStoppingRounds int
	// NDCGAt is k of the NDCG@k used for progress and early stopping (lambdarank).
	NDCGAt int

	// Sigmoid is σ of the LambdaRank pairwise logistic loss.
	Sigmoid float64
	// TruncationLevel: LambdaRank pairs are formed only with documents ranked within
	// the top TruncationLevel positions by the current scores.
	TruncationLevel int

	NumThreads int   // goroutines used for gradients, histograms and split finding
	Seed       int64 // seed for row subsampling and bin sampling
}

// DefaultParams returns parameters that suit learning to rank on a few hundred
// thousand rows: 100 trees of depth 6, learning rate 0.1, 256 bins, 2 threads.
func DefaultParams() Params {
	return Params{
		Objective:           ObjectiveLambdaRank,
		NumTrees:            100,
		MaxDepth:            6,
		MaxBins:             256,
		LearningRate:        0.1,
		Lambda:              1,
		MinChildWeight:      1e-3,
		MinDataInLeaf:       20,
		MinSplitGain:        0,
		Subsample:           1,
		EarlyStoppingRounds: 0,
		NDCGAt:              10,
		Sigmoid:             1,
		TruncationLevel:     30,
		NumThreads:          2,
		Seed:                1,
	}
}

func (p *Params) validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("invalid gbdt parameter %s=%v: must be %s", name, v, want)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch p.Objective {
	case ObjectiveLambdaRank, ObjectiveSquaredError, ObjectiveLogistic:
	default:
		return bad("Objective", p.Objective, fmt.Sprintf("%q, %q or %q", ObjectiveLambdaRank, ObjectiveSquaredError, ObjectiveLogistic))
	}
	switch {
	case p.NumTrees < 1 || p.NumTrees > 1_000_000:
		return bad("NumTrees", p.NumTrees, "in 1..1000000")
	case p.MaxDepth < 1 || p.MaxDepth > 30:
		return bad("MaxDepth", p.MaxDepth, "in 1..30")
	case p.MaxBins < 2 || p.MaxBins > 256:
		return bad("MaxBins", p.MaxBins, "in 2..256")
	case !finite(p.LearningRate) || p.LearningRate <= 0:
		return bad("LearningRate", p.LearningRate, "a positive number")
	case !finite(p.Lambda) || p.Lambda < 0:
		return bad("Lambda", p.Lambda, "≥ 0")
	case !finite(p.MinChildWeight) || p.MinChildWeight < 0:
		return bad("MinChildWeight", p.MinChildWeight, "≥ 0")
	case p.MinDataInLeaf < 1:
		return bad("MinDataInLeaf", p.MinDataInLeaf, "≥ 1")
	case !finite(p.MinSplitGain) || p.MinSplitGain < 0:
		return bad("MinSplitGain", p.MinSplitGain, "≥ 0")
	case !(p.Subsample > 0 && p.Subsample <= 1):
		return bad("Subsample", p.Subsample, "in (0, 1]")
	case p.EarlyStoppingRounds < 0:
		return bad("EarlyStoppingRounds", p.EarlyStoppingRounds, "≥ 0")
	case p.NDCGAt < 1:
		return bad("NDCGAt", p.NDCGAt, "≥ 1")
	case !finite(p.Sigmoid) || p.Sigmoid <= 0:
		return bad("Sigmoid", p.Sigmoid, "a positive number")
	case p.TruncationLevel < 1:
		return bad("TruncationLevel", p.TruncationLevel, "≥ 1")
	case p.NumThreads < 1 || p.NumThreads > 256:
		return bad("NumThreads", p.NumThreads, "in 1..256")
	}
	if p.Lambda == 0 && p.MinChildWeight == 0 {
		return fmt.Errorf("invalid gbdt parameters: Lambda and MinChildWeight cannot both be 0 (leaf weights would divide by a zero hessian)")
	}
	return nil
}
