package client

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxEventBytes is the collector's limit for one encoded event (CONTRACT §2: 32 KiB).
const MaxEventBytes = 32 << 10

// Event is one event in the wire format of CONTRACT §2.
type Event struct {
	Type        string         `json:"type"` // "track", "identify" or "page"
	Event       string         `json:"event,omitempty"`
	UserID      string         `json:"userId,omitempty"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	MessageID   string         `json:"messageId"`
	Timestamp   time.Time      `json:"timestamp"`
	Properties  map[string]any `json:"properties,omitempty"`
	Traits      map[string]any `json:"traits,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
}

var (
	// ErrInvalidEvent is wrapped by every validation error of Enqueue and EnqueueJSON.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrEventTooLarge is wrapped when an encoded event exceeds MaxEventBytes.
	ErrEventTooLarge = errors.New("event too large")
	// ErrQueueFull is wrapped when the queue has no room for an event.
	ErrQueueFull = errors.New("event queue full")
	// ErrClosed is returned by Enqueue after Close.
	ErrClosed = errors.New("client closed")
)

// item is a validated, encoded event waiting to be sent.
type item struct {
	seq  uint64
	id   string // messageId
	name string // event name or type, for error messages
	raw  []byte // the encoded event
	at   time.Time
}

var library = map[string]any{"name": "bespoke-go", "version": Version}

// Version is this package's version, sent as context.library.version.
const Version = "0.1.0"

// newMessageID returns a random UUID v4.
func newMessageID() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error since Go 1.24 (it crashes the program instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// encodeEvent validates e, fills messageId, timestamp and context.library, and encodes it.
// It does not modify e or its maps.
func encodeEvent(e Event, now time.Time) (item, error) {
	name := e.Event
	switch e.Type {
	case "track":
		if e.Event == "" {
			return item{}, fmt.Errorf("%w: a track event needs an event name", ErrInvalidEvent)
		}
	case "identify", "page":
		name = e.Type
	case "":
		return item{}, fmt.Errorf("%w: type is missing (track, identify or page)", ErrInvalidEvent)
	default:
		return item{}, fmt.Errorf("%w: type %q is not track, identify or page", ErrInvalidEvent, e.Type)
	}
	if e.UserID == "" && e.AnonymousID == "" {
		return item{}, fmt.Errorf("%w: %q needs a userId or an anonymousId", ErrInvalidEvent, name)
	}
	if e.MessageID == "" {
		e.MessageID = newMessageID()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now
	}
	if _, ok := e.Context["library"]; !ok {
		ctx := make(map[string]any, len(e.Context)+1)
		for k, v := range e.Context {
			ctx[k] = v
		}
		ctx["library"] = library
		e.Context = ctx
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return item{}, fmt.Errorf("%w: cannot encode %q (messageId %s): %v", ErrInvalidEvent, name, e.MessageID, err)
	}
	if len(raw) > MaxEventBytes {
		return item{}, fmt.Errorf("%w: %q (messageId %s) is %d bytes encoded, the limit is %d",
			ErrEventTooLarge, name, e.MessageID, len(raw), MaxEventBytes)
	}
	return item{id: e.MessageID, name: name, raw: raw, at: now}, nil
}

// decodeEvent validates one JSON event as it is on the wire (a line of events.jsonl), keeps
// every field it has (known or not), and adds messageId and timestamp when they are missing.
func decodeEvent(raw []byte, now time.Time) (item, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return item{}, fmt.Errorf("%w: not a JSON object: %v", ErrInvalidEvent, err)
	}
	if m == nil {
		return item{}, fmt.Errorf("%w: not a JSON object: null", ErrInvalidEvent)
	}
	if dec.More() {
		return item{}, fmt.Errorf("%w: more than one JSON value", ErrInvalidEvent)
	}
	str := func(k string) (string, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%w: field %q must be a string, not %T", ErrInvalidEvent, k, v)
		}
		return s, nil
	}
	var f [5]string
	for i, k := range [...]string{"type", "event", "userId", "anonymousId", "messageId"} {
		s, err := str(k)
		if err != nil {
			return item{}, err
		}
		f[i] = s
	}
	typ, event, user, anon, id := f[0], f[1], f[2], f[3], f[4]
	// Validate through the same rules as Enqueue.
	if _, err := encodeEvent(Event{Type: typ, Event: event, UserID: user, AnonymousID: anon, MessageID: "x"}, now); err != nil {
		return item{}, err
	}
	name := event
	if typ != "track" {
		name = typ
	}
	if ts, ok := m["timestamp"]; ok && ts != nil {
		s, ok := ts.(string)
		if !ok {
			return item{}, fmt.Errorf("%w: %q: timestamp must be an RFC 3339 string, not %T", ErrInvalidEvent, name, ts)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return item{}, fmt.Errorf("%w: %q: timestamp %q is not RFC 3339", ErrInvalidEvent, name, s)
		}
	} else {
		m["timestamp"] = now.Format(time.RFC3339Nano)
	}
	for _, k := range [...]string{"properties", "traits", "context"} {
		if v, ok := m[k]; ok && v != nil {
			if _, ok := v.(map[string]any); !ok {
				return item{}, fmt.Errorf("%w: %q: %s must be an object, not %T", ErrInvalidEvent, name, k, v)
			}
		}
	}
	if id == "" {
		id = newMessageID()
		m["messageId"] = id
	}
	out, err := json.Marshal(m)
	if err != nil {
		return item{}, fmt.Errorf("%w: %q: cannot encode: %v", ErrInvalidEvent, name, err)
	}
	if len(out) > MaxEventBytes {
		return item{}, fmt.Errorf("%w: %q (messageId %s) is %d bytes encoded, the limit is %d",
			ErrEventTooLarge, name, id, len(out), MaxEventBytes)
	}
	return item{id: id, name: name, raw: out, at: now}, nil
}
