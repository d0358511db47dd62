// Package rank is the ensemble that orders candidates for one customer: it turns a
// (query, customer profile, candidate product) triple into a feature vector — one
// feature per simple model of DESIGN.md: text relevance, position-debiased query–item
// popularity, customer affinities, co-visitation with recent items, size availability —
// and combines them with the learned ranker of the active snapshot, or with a
// hand-tuned linear combination until one is trained.
//
// A Snapshot is immutable once published; the serving path reads the active one
// through an atomic pointer (Active), so a request never sees a mix of versions.
//
// The package must never perform I/O or block: scoring is pure computation over
// what the caller passes in, with buffers the caller owns (zero allocations per request
// on the hot path).
package rank
