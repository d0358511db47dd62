// Package sim is Bespoke's world simulator: a shoe-and-apparel store with a
// catalog, customers with hidden preferences and true sizes, and their behaviour
// over simulated days (searches, impressions, clicks, carts, orders, returns, fit
// surveys, identify calls, opt-outs), as CONTRACT §2 events.
//
// Offline (Generate) it writes catalog.jsonl, events.jsonl and truth.jsonl, ranking
// with a built-in non-personalized ranker (text match + popularity) so the logs look
// like a store before personalization. Live (World.PlayLive / Live) the simulated
// customers rank with a running server's /v1/search and size with /v1/size, and their
// events go through /v1/batch.
//
// The same seed and config give byte-identical files: every random draw comes from a
// generator seeded by (seed, customer, day) and every id is a hash of such a tuple,
// so neither the number of worker goroutines nor scheduling changes the output.
// events.jsonl is ordered by timestamp (non-decreasing over the whole file; ties in
// a fixed order). Memory is O(catalog + customers + one simulated day of events):
// events are written day by day; returns wait in per-day buckets.
//
// Sizes: us_shoe products list US sizes 4–15 ("9.5"; half sizes up to 12) and carry
// their width in attributes.width (narrow, medium, wide); alpha sizes are XXS–XXXL;
// numeric sizes are waists 26–44 (every inch to 36, then even). A "size error" is in
// sizes of the product's system: one US size, one alpha size, or two waist inches.
//
// truth.jsonl is the hidden ground truth for evaluation only, one object per line with
// a "kind": config, brand (sizing offsets), product (quality, own and total offset),
// customer (preferences, personal strength, wearers with true and believed sizes),
// then in time order purchase (size error, source of the size, return and reason) and
// search (the hidden intent). NewWorld rebuilds the same world from a Config without
// generating events, which gives Go callers the oracle (World.Utility,
// World.OracleRanking).
//
// The package must never read the truth back into a serving path, never edit the
// event or catalog packages' types, never use network addresses other than the
// target it is given, and never panic on a bad config (LoadConfig and Validate
// return errors naming the field).
package sim
