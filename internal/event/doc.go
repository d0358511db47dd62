// Package event is Bespoke's event model: the wire format of the Segment-compatible
// HTTP Tracking API (CONTRACT §2), parsing of request bodies, and validation of each
// event against the names and required properties the models rely on.
//
// It is the single place that decides whether an event is acceptable. Everything
// downstream (collector, stream, lake, trainer, profile updater) receives events that
// passed Validate and may rely on their typed properties (Props).
//
// # Speed: a hand-written JSON fast path
//
// Ingestion parses every event once in the collector and decodes it again in each
// stream consumer (lake writer, profile updater). With encoding/json that was most of
// the server's CPU (a profile of `bespoke serve` under `bespoke bench ingest`: about 60%
// of the collector in decoding, re-validating raw fields and re-encoding the envelope).
// So ParseBatch, ParseSingle, Props, AppendEnvelope and DecodeEnvelope first try a
// single-pass scanner written here (scan.go: strict RFC 8259, no reflection, raw fields
// kept as the client sent them, ~10 times less CPU per event). It is written by hand
// because no JSON library gives validation, field extraction and the exact raw bytes of
// every value in one pass without a dependency; the fast code accepts only inputs it
// handles exactly like encoding/json and otherwise defers to encoding/json, which stays
// the reference: it produces every error message, and the fuzz tests
// FuzzFastParseMatchesSlow, FuzzFastPropsMatchesJSON and FuzzEnvelopeMatchesJSON check
// that both paths give the same events, properties and envelope bytes.
//
// It must never perform I/O, never keep state between calls, and never panic on any
// input: every malformed body yields an error that names the event index, the field
// and the reason (see Errors).
package event
