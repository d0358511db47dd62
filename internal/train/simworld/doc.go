// Package simworld turns a simulated store (package sim) into what training reads: it
// generates the world's files, writes its events into a Parquet lake through the real
// lake writer, loads its catalog, and answers ground-truth questions for evaluation —
// the simulated customer's attraction to each impressed product given the hidden
// intent of that search (truth.jsonl) — so rankers can be compared against the truth,
// not only against position-biased logged clicks.
//
// It is for tests, benchmarks and the demo. It must never be used by a serving path:
// the truth it reads is hidden from the system under evaluation.
package simworld
