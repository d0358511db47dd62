// Package server wires Bespoke's components into the all-in-one HTTP server of
// `bespoke serve`: the collector, the embedded stream, the lake writer, the profile
// updater, the catalog, retrieval, ranking and sizing behind the API of CONTRACT §2–§4.
//
// It holds wiring and HTTP handling only: every decision about events, ranking,
// profiles, sizes or storage belongs to the package that owns that concept. It must
// never answer 200 to an ingestion request before the events are durable, and never
// let a slow or failing backend turn a search into an error or a late answer: it falls
// back to the non-personalized ranking instead.
//
// Written by hand, because profiles under load showed the reflective encoding/json on
// the hot path: the search and rerank answers are appended into pooled buffers (byte
// for byte what encoding/json writes; tested and fuzzed against it), and the usual
// shape of a rerank body is decoded without reflection, anything else going to
// encoding/json (FuzzRerankParse checks the two agree whenever the fast path accepts).
package server
