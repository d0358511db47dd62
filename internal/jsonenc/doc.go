// Package jsonenc appends JSON values to byte slices exactly as encoding/json writes
// them, without reflection or allocation. It exists for the hot paths that encode JSON
// by hand (the ingestion envelope, the search and rerank answers), so they share one
// escaping routine that is fuzzed against encoding/json. It must never diverge from
// encoding/json's output (with HTML escaping off): callers promise byte-identical bytes.
package jsonenc
