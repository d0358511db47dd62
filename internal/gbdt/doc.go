// Package gbdt is Bespoke's gradient-boosted decision trees: LambdaMART training
// (histogram-based regression trees fitted to LambdaRank gradients for NDCG), a
// compact flattened model for scoring candidates with no allocations, a versioned
// binary serialization for publishing a model to a key-value store, import of
// XGBoost JSON models, and the ranking metrics NDCG@k and MRR.
//
// Training (Train, TrainLambdaMART) takes row-major float32 features with NaN for
// missing values, graded labels and query-group sizes (Dataset); it bins each
// feature into at most 256 quantile bins (one of them for missing values), grows
// depth-limited trees level by level with per-node histograms and the subtraction
// trick, parallel over features (Params.NumThreads, 2 by default), learns a default
// direction for missing values at every split, and can stop early on a validation
// set's NDCG@k. The LambdaRank gradient follows LightGBM: |ΔNDCG|-weighted pairwise
// logistic gradients (gain 2^label-1), normalized per query group.
//
// Scoring (Model.Predict) walks every tree a fixed number of steps without
// data-dependent branches, four rows at a time; a Model is immutable and safe for
// concurrent use. MarshalBinary/UnmarshalModel round-trip a model bit for bit;
// ImportXGBoostJSON reproduces XGBoost's own predictions (checked against the
// xgboost command line in TestAgainstXGBoostCLI and in golden files).
//
// The package must never perform I/O beyond the io.Reader it is handed, never keep
// global mutable state, and never panic on any input: malformed datasets,
// parameters, serialized models and XGBoost JSON yield errors that say what is
// wrong.
package gbdt
