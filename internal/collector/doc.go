// Package collector is Bespoke's event ingestion HTTP API (CONTRACT §2, Segment HTTP
// Tracking API compatible): POST /v1/batch, /v1/track, /v1/identify and /v1/page.
//
// A request is authenticated (write key by HTTP Basic user, Bearer token, or "writeKey"
// in the body for sendBeacon), read with its size limit applied after decompression
// (a gzip body is never inflated past 512 KiB), validated all-or-nothing by package
// event, encoded as JSON lines and handed to a single committer goroutine. The committer
// packs the events of every request that arrives within CommitDelay (or until
// CommitBytes) into one envelope, publishes it to the stream — one durable write for many
// requests (group commit) — and then releases every request of that envelope with its
// outcome. A request is answered 200 {"success":true} only after the stream confirmed
// the envelope holding all its events durable.
//
// Backpressure is bounded everywhere: a request slot semaphore, parsing slots (CPU work
// is admitted FIFO, 2 per core, so overload is shed with a fast 429 instead of slowing
// every request past its deadline) and an in-flight byte budget answer 429 when full; a request whose events are not durable within AckTimeout
// (80 ms) gets 503, and a circuit breaker that trips on a failed or timed-out publish
// answers 503 at once (probing the stream again every ProbeInterval to recover by
// itself). 429 and 503 carry Retry-After.
//
// Envelope buffers are reused once the stream acknowledged them (never after a failed
// publish, which the client library might still be sending).
//
// CORS: Options.AllowedOrigins (serve --cors-origins) lists the browser origins that get
// Access-Control-Allow-Origin on preflights and answers; "*" (the default) allows all.
//
// Dedup: messageId dedup (CONTRACT §2, 7 days) is done where events are stored, by the
// lake writer. The collector does not keep ids in memory: a retried request is a new
// envelope and the lake stores each messageId once. Envelope ids (Nats-Msg-Id) only make
// the committer's own publish retries idempotent.
//
// It must never answer 200 before Stream.Publish returned nil for every envelope holding
// the request's events, never queue without bound, and never store part of a batch that
// failed validation.
package collector
