// Package event is Bespoke's event model: the wire format of the Segment-compatible
// HTTP Tracking API (CONTRACT §2), parsing of request bodies, and validation of each
// event against the names and required properties the models rely on.
//
// It is the single place that decides whether an event is acceptable. Everything
// downstream (collector, stream, lake, trainer, profile updater) receives events that
// passed Validate and may rely on their typed properties (Props).
//
// It must never perform I/O, never keep state between calls, and never panic on any
// input: every malformed body yields an error that names the event index, the field
// and the reason (see Errors).
package event
