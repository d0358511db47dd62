// Package gbdt is Bespoke's gradient-boosted decision trees: LambdaMART training
// (histogram-based regression trees fitted to LambdaRank gradients for NDCG), a
// compact flattened model for scoring candidates with no allocations, a versioned
// binary serialization for publishing a model to a key-value store, import of
// XGBoost JSON models, and the ranking metrics NDCG@k and MRR.
//
// Training (Train, TrainLambdaMART) takes row-major float32 features with NaN for
// missing values, graded labels and query-group sizes; it bins each feature into at
// most 256 quantile bins, grows depth-limited trees level by level with per-node
// histograms and the subtraction trick, parallel over features, and stops early on a
// validation set's NDCG@k.
//
// Scoring (Model.Predict) is safe for concurrent use: a Model is immutable once built.
//
// The package must never perform I/O beyond the io.Reader it is handed, never keep
// global mutable state, and never panic on any input: malformed datasets, parameters,
// serialized models and XGBoost JSON yield errors that say what is wrong.
package gbdt
