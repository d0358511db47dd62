// Package train is the batch pipeline of `bespoke train` and POST /v1/admin/train:
// it streams the lake once in event-time order, builds learning-to-rank examples from
// search impressions joined to what followed (graded labels: kept purchase > purchase
// returned for size > add to cart > click > skipped), computes every feature strictly
// from the events before each search (the same feature code the server uses), trains
// the LambdaMART combiner with and without the personal features, evaluates every
// ranker on a later time window, and produces the snapshot that serving publishes.
//
// # Position bias
//
// Clicks in the logs depend on where the logging ranker put an item: lower positions
// are looked at less. Two corrections are applied.
//
//   - The examination probability of each position, θ_pos, is estimated by
//     expectation maximization on the position-based click model
//     P(click) = θ_pos·γ_(query,item) over the training window (Wang et al., WSDM
//     2018). The same (query, item) pair shown at different positions identifies θ;
//     raw click-through by position would not, because the logging ranker also puts
//     the more relevant items first (it confounds relevance with position).
//   - Training uses inverse propensity weighting of the positives: a positive's NDCG
//     gain 2^grade−1 is divided by θ of its logged position (clipped at 0.1, so no
//     weight exceeds 10), i.e. it gets the label log2(1 + (2^grade−1)/θ). LambdaMART's
//     pair gradients are proportional to |ΔNDCG|, hence to the gains, so this is the
//     IPS-weighted LambdaRank loss (the propensity-weighted DCG estimator of Agarwal
//     et al. 2019) without per-row weights in package gbdt. It was chosen over "the
//     logged position as a feature, fixed at serving": that trick needs a feature
//     that exists only in training and relies on trees to keep position separable
//     from relevance, which they do not guarantee.
//
// The query–item click-through features are already debiased the DESIGN.md way
// (clicks over position-expected clicks). A model trained without the weighting is
// also reported (personalized_no_debias) so the effect of the correction is visible.
//
// # Evaluation
//
// Every ranker is scored on the test window's lists with a click: NDCG@10 and MRR on
// the graded logged outcomes (the contract's fields), ips_ndcg@10 (the same NDCG with
// IPS-weighted gains) and click@5 / ips_click@5. Naive metrics on logged clicks favour
// the logging ranker ("logged"): its top positions were the ones examined. The
// IPS-weighted NDCG is the estimate to lead with when comparing learned rankers on
// logs. When a ground truth is available (Options.Relevance: a simulated world), every
// ranker is also scored against it — NDCG@10 with the true click probability given
// the searcher's hidden intent as the gain, and the expected clicks in the top 10
// under the true examination model — which is the least biased comparison there is;
// the oracle ranks by that truth, so its NDCG is 1, and "oracle_gap_closed" is the
// share of the gap between non-personalized learning to rank and the oracle that the
// personalized ensemble closes. Confidence intervals are paired bootstrap intervals
// over test lists.
//
// # Bounds
//
// Memory follows the number of kept examples, not the size of the lake: at most
// about Options.MaxLists training lists with a click (a uniform sample by search when
// there are more, decided up front from the lake's counts) keep their float32
// feature rows; lists that can no longer get a positive outcome are compacted away as
// the replay moves on; the other state is per customer, per item and per (query,
// item) pair.
//
// # Speed
//
// The replay is one goroutine (every feature depends on all earlier events), so it
// does as little per event as it can: the lake decodes the next hours in parallel
// while the replay reads the current one (lake.ScanOptions.Sorted); the `products`
// list of each impression is read by a hand-written parser (products.go: the lake
// writes these lists in one canonical JSON form, and encoding/json's reflection was
// the most expensive step per impression; anything outside that form still goes
// through encoding/json, and a fuzz test holds the two to the same results); text
// relevance is scored for the impressed items only when Options.TextFor is given;
// and the click features of (query, item) pairs are recomputed only for the lists
// whose features are kept, not at every impression.
//
// # Report files
//
// WriteReport writes the report as report.json, report.md and report.png (a bar
// chart of NDCG@10 and MRR per ranker with 95% confidence whiskers), which
// `bespoke train` puts in its report folder. The chart is drawn with the standard
// library's image and image/png; its labels use golang.org/x/image's basicfont, a
// fixed 7×13 bitmap font from the Go project, because the standard library has no
// text rendering and a hand-made glyph table would be more code to get wrong than
// the chart itself. No plotting library is used: a horizontal bar chart with
// whiskers is a few rectangles and lines.
//
// It must never read events from after a search to compute that search's features,
// and never hold the whole lake in memory.
package train
