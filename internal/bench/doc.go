// Package bench is the open-loop load generator behind `bespoke bench ingest|search|rerank|size|freshness`
// (CONTRACT §1). Requests are sent at a constant arrival rate and each latency is measured
// from the moment the request was MEANT to be sent, so a slow server cannot hide its queueing
// by slowing the generator down (no coordinated omission). Requests are drawn from a simulated
// world (the output of `bespoke simulate`) or, without one, from the server's own catalog.
//
// The generator shares the machine with the server it measures, so it is kept lean:
//   - each request runs on its own goroutine (at most --concurrency at once; a request that
//     finds them all busy waits, and the wait counts in its latency);
//   - the dispatcher sleeps the last stretch before each send in nanosleep, because the Go
//     scheduler rounds sub-millisecond timer waits up to a millisecond when idle, which at
//     1,000 requests/s sent requests up to 1 ms late and counted that as server latency;
//   - requests go through a small HTTP/1.1 client written here (httpc.go): keep-alive
//     connections, the request written from one pooled buffer and the answer read on the
//     calling goroutine. net/http's client passes every request through two more goroutines
//     per connection and ~40 allocations, and cost more CPU per request than the search it
//     measured (about 0.5 ms against 0.4 ms), which no flag of it removes; fasthttp would
//     do but is a large dependency for one loop. The answer parser is fuzzed
//     (FuzzReadResponse) and tested against net/http's server.
//   - rerank item lists are built before the run, not while latency is measured.
//
// It also holds FillProfiles, which writes realistic customer profiles straight into an
// online store (for the "1M customer profiles" measurements), run before the server opens it.
//
// It must never adapt its sending rate to the server's answers, never count a request as
// OK unless the server answered 200, and never send anything to a host the caller did not name.
package bench
