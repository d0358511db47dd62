// Package experiment assigns customers and visitors to the arms of the experiment
// (deterministically, by hash, with configurable shares: control, personalized, and
// interleaved), merges two rankings by team-draft interleaving (TeamDraft, Radlinski
// et al. 2008; seeded per customer and query), and computes the business metrics of
// each arm from the lake: search→click-through, the mean and median position of
// clicked and purchased items, the repeated-search rate, conversion and the
// size-related return rate, per arm and per UTC day, and the interleaving preference
// (wins/ties/losses of the personalized ranker's team, a sign test and a bootstrap CI).
// Whole-window CIs come from a bootstrap over customers (the unit of randomization, so
// clustered events are not treated as independent); daily ones from the delta method.
// A day with only returns of earlier orders counts in the totals and has no daily row.
// Each day's per-customer sums are cached (Cache) under a fingerprint of that day's
// lake files, so a report over a long window reads only the days that changed.
//
// Team-draft interleaving and the sign test are a few dozen lines each and have no
// well-kept Go library, so they are written here.
//
// It must never change what a customer sees beyond the arm it is assigned and the
// interleaved merge of two rankings it is given: it measures afterwards, and it never
// writes to the lake.
package experiment
