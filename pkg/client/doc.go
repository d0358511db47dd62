// Package client sends events to a Bespoke collector (CONTRACT §2, the Segment HTTP Tracking
// API) from server-side Go programs: `bespoke events import`, `bespoke simulate --target`,
// storefront back ends.
//
// Events are queued in memory and sent by one background sender as gzip-compressed
// POST /v1/batch requests with HTTP Basic auth (write key as user name): when BatchSize events
// are waiting (default 100), when the oldest has waited FlushInterval (default 5 s), or when the
// next event would take the body past MaxBodyBytes (default 500 KiB uncompressed, under the
// collector's 512 KiB limit). Network errors, 408, 429 and 5xx are retried with full-jitter
// exponential backoff that honours Retry-After; a retry re-sends the same messageIds, which the
// collector stores once. Other 4xx are not retried: a 413 splits the batch, a 400 naming invalid
// events drops exactly those and sends the rest, anything else fails the batch.
//
// What it must never do: lose an event silently. Every accepted event is either acknowledged by
// a 2xx or reported as a Failure, through the error handler and in the *DeliveryError that the
// next Flush or Close returns. A full queue is an error (ErrQueueFull) or, with BlockWhenFull,
// a wait bounded by the caller's context, never an unbounded buffer. It must not panic on bad
// input (events are validated when enqueued: type, ids, the 32 KiB event limit) and it never
// talks to anything but the endpoint it was given.
package client
