// Package stream defines the durable event stream between the collector and its consumers
// (lake writer, profile updater): a narrow interface that JetStream (subpackage jetstream,
// embedded in the process or an external cluster) implements, and that a Kafka backend
// could implement later.
//
// A message is opaque bytes; Bespoke writes envelopes (internal/event: the events of one
// or more accepted requests, JSON lines), so one durable write carries many events
// (group commit).
//
// # Contract
//
//   - Publish returns nil only once the message is durable: fsynced on the local disk
//     (embedded) or acknowledged by the stream's replica quorum (cluster). Anything that
//     answers a client "stored" must wait for that nil.
//   - Publish with an id already published within the stream's dedup window stores
//     nothing new and returns nil: retrying a publish with the same id is always safe.
//   - Publish honours ctx: when the stream is unreachable it returns an error no later than
//     the ctx deadline (and at once when the backend knows it is disconnected).
//   - A consumer is durable and named: it survives restarts of the process and of the
//     stream, and redelivers every message that was delivered but not acknowledged
//     (after its AckWait, or at once after Nak). Acknowledged messages are never
//     redelivered to that consumer.
//   - Delivery order is the stream order for first deliveries; redeliveries may come later.
//   - All methods are safe for concurrent use. After Close, methods return ErrClosed.
//
// This package must never decide what a message means, never buffer messages in
// memory past a Publish call, and never acknowledge on a caller's behalf.
package stream
