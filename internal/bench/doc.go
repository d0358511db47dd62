// Package bench is the open-loop load generator behind `bespoke bench ingest|search|rerank|size|freshness`
// (CONTRACT §1). Requests are sent at a constant arrival rate and each latency is measured
// from the moment the request was MEANT to be sent, so a slow server cannot hide its queueing
// by slowing the generator down (no coordinated omission). Requests are drawn from a simulated
// world (the output of `bespoke simulate`) or, without one, from the server's own catalog.
//
// It also holds FillProfiles, which writes realistic customer profiles straight into an
// online store (for the "1M customer profiles" measurements), run before the server opens it.
//
// It must never adapt its sending rate to the server's answers, never count a request as
// OK unless the server answered 200, and never send anything to a host the caller did not name.
package bench
