package event

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError says why one event (Index, from 0; -1 for the request as a whole) was refused.
type FieldError struct {
	Index  int    `json:"index"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Errors is every reason a request was refused. It is the "details" of a 400 answer.
type Errors []FieldError

func (es Errors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	var b strings.Builder
	for i, e := range es {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(es)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if e.Index >= 0 {
			fmt.Fprintf(&b, "event %d: ", e.Index)
		}
		fmt.Fprintf(&b, "%s: %s", e.Field, e.Reason)
	}
	return b.String()
}

// Batch is a parsed request: its events in order, and what came with them.
type Batch struct {
	Events   []Event
	SentAt   time.Time
	WriteKey string // write key sent in the body (sendBeacon cannot set headers)
}

// wireEvent is an event as received, before its fields are checked.
type wireEvent struct {
	Type        *string         `json:"type"`
	Event       *string         `json:"event"`
	Name        *string         `json:"name"`
	UserID      *Flex           `json:"userId"`
	AnonymousID *Flex           `json:"anonymousId"`
	MessageID   *Flex           `json:"messageId"`
	Timestamp   *string         `json:"timestamp"`
	Properties  json.RawMessage `json:"properties"`
	Traits      json.RawMessage `json:"traits"`
	Context     json.RawMessage `json:"context"`
	WriteKey    *string         `json:"writeKey"`
	SentAt      *string         `json:"sentAt"`
}

type wireBatch struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   *string           `json:"sentAt"`
	WriteKey *string           `json:"writeKey"`
	Context  json.RawMessage   `json:"context"`
}

// ParseBatch parses a /v1/batch body. receivedAt is stamped on every event; events
// without a messageId get one, events without a timestamp get receivedAt.
// Any invalid event makes the whole batch invalid: the error is Errors listing
// every problem found.
//
// Properties, traits and context are kept as the client sent them (compacted). Common
// bodies take a single-pass fast path (fastparse.go); the rest, and every invalid body,
// go through encoding/json, which decides the errors.
func ParseBatch(body []byte, receivedAt time.Time) (*Batch, error) {
	if b, ok := fastParseBatch(body, receivedAt); ok {
		return b, nil
	}
	return parseBatchJSON(body, receivedAt)
}

// parseBatchJSON is ParseBatch through encoding/json.
func parseBatchJSON(body []byte, receivedAt time.Time) (*Batch, error) {
	if err := checkBody(body); err != nil {
		return nil, err
	}
	var wb wireBatch
	if err := json.Unmarshal(body, &wb); err != nil {
		return nil, Errors{{Index: -1, Field: "body", Reason: describeJSONError(err)}}
	}
	if wb.Batch == nil {
		return nil, Errors{{Index: -1, Field: "batch", Reason: "is required: an array of events"}}
	}
	if len(wb.Batch) == 0 {
		return nil, Errors{{Index: -1, Field: "batch", Reason: "is empty"}}
	}
	b := &Batch{Events: make([]Event, 0, len(wb.Batch))}
	var errs Errors
	if wb.SentAt != nil {
		t, err := parseTime(*wb.SentAt)
		if err != nil {
			errs = append(errs, FieldError{Index: -1, Field: "sentAt", Reason: err.Error()})
		}
		b.SentAt = t
	}
	if wb.WriteKey != nil {
		b.WriteKey = *wb.WriteKey
	}
	for i, raw := range wb.Batch {
		ev, fe := parseEvent(i, raw, "", receivedAt)
		if len(fe) > 0 {
			errs = append(errs, fe...)
			continue
		}
		if len(ev.Context) == 0 && len(wb.Context) > 0 && !isNull(wb.Context) {
			ev.Context = wb.Context
		}
		b.Events = append(b.Events, ev)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return b, nil
}

// ParseSingle parses the body of /v1/track, /v1/identify or /v1/page: one event whose
// type is implied by the endpoint (a "type" in the body must agree).
func ParseSingle(body []byte, typ string, receivedAt time.Time) (*Batch, error) {
	if b, ok := fastParseSingle(body, typ, receivedAt); ok {
		return b, nil
	}
	return parseSingleJSON(body, typ, receivedAt)
}

// parseSingleJSON is ParseSingle through encoding/json.
func parseSingleJSON(body []byte, typ string, receivedAt time.Time) (*Batch, error) {
	if err := checkBody(body); err != nil {
		return nil, err
	}
	ev, fe := parseEvent(0, body, typ, receivedAt)
	if len(fe) > 0 {
		return nil, Errors(fe)
	}
	var w struct {
		WriteKey *string `json:"writeKey"`
		SentAt   *string `json:"sentAt"`
	}
	_ = json.Unmarshal(body, &w) // already parsed once by parseEvent: cannot fail here
	b := &Batch{Events: []Event{ev}}
	if w.WriteKey != nil {
		b.WriteKey = *w.WriteKey
	}
	if w.SentAt != nil {
		b.SentAt, _ = parseTime(*w.SentAt)
	}
	return b, nil
}

func checkBody(body []byte) error {
	if len(body) == 0 {
		return Errors{{Index: -1, Field: "body", Reason: "is empty"}}
	}
	if len(body) > MaxRequestBytes {
		return Errors{{Index: -1, Field: "body", Reason: fmt.Sprintf("is %d bytes, over the limit of %d", len(body), MaxRequestBytes)}}
	}
	if !utf8.Valid(body) {
		return Errors{{Index: -1, Field: "body", Reason: "is not valid UTF-8"}}
	}
	if d := jsonDepth(body); d > maxNestingDepth+2 {
		return Errors{{Index: -1, Field: "body", Reason: fmt.Sprintf("nests %d levels deep, over the limit of %d", d, maxNestingDepth+2)}}
	}
	return nil
}

func parseEvent(i int, raw json.RawMessage, impliedType string, receivedAt time.Time) (Event, []FieldError) {
	var ev Event
	fail := func(field, reason string) (Event, []FieldError) {
		return ev, []FieldError{{Index: i, Field: field, Reason: reason}}
	}
	if len(raw) > MaxEventBytes {
		return fail("event", fmt.Sprintf("is %d bytes, over the limit of %d", len(raw), MaxEventBytes))
	}
	if d := jsonDepth(raw); d > maxNestingDepth {
		return fail("event", fmt.Sprintf("nests %d levels deep, over the limit of %d", d, maxNestingDepth))
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fail("event", "must be a JSON object")
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return fail(fieldOfJSONError(err), describeJSONError(err))
	}
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{Index: i, Field: field, Reason: reason}) }

	switch {
	case w.Type != nil:
		ev.Type = *w.Type
	case impliedType != "":
		ev.Type = impliedType
	}
	switch {
	case ev.Type == "":
		add("type", `is required: "track", "identify" or "page"`)
	case ev.Type != TypeTrack && ev.Type != TypeIdentify && ev.Type != TypePage:
		add("type", fmt.Sprintf(`is %q; must be "track", "identify" or "page"`, truncate(ev.Type)))
	case impliedType != "" && ev.Type != impliedType:
		add("type", fmt.Sprintf("is %q but this endpoint takes %q events", truncate(ev.Type), impliedType))
	}
	if w.Event != nil {
		ev.Event = *w.Event
	}
	if w.Name != nil {
		ev.Name = *w.Name
	}
	if ev.Type == TypeTrack {
		switch {
		case strings.TrimSpace(ev.Event) == "":
			add("event", "is required for track events: the event name")
		case len(ev.Event) > MaxEventNameBytes:
			add("event", fmt.Sprintf("is longer than %d bytes", MaxEventNameBytes))
		}
	}
	if w.UserID != nil {
		ev.UserID = string(*w.UserID)
	}
	if w.AnonymousID != nil {
		ev.AnonymousID = string(*w.AnonymousID)
	}
	if ev.UserID == "" && ev.AnonymousID == "" {
		add("userId", "one of userId or anonymousId is required")
	}
	if len(ev.UserID) > MaxIDBytes {
		add("userId", fmt.Sprintf("is longer than %d bytes", MaxIDBytes))
	}
	if len(ev.AnonymousID) > MaxIDBytes {
		add("anonymousId", fmt.Sprintf("is longer than %d bytes", MaxIDBytes))
	}
	if w.MessageID != nil && *w.MessageID != "" {
		ev.MessageID = string(*w.MessageID)
		if len(ev.MessageID) > MaxIDBytes {
			add("messageId", fmt.Sprintf("is longer than %d bytes", MaxIDBytes))
		}
	} else {
		ev.MessageID = NewMessageID()
	}
	ev.ReceivedAt = receivedAt.UTC()
	if w.Timestamp != nil && *w.Timestamp != "" {
		t, err := parseTime(*w.Timestamp)
		if err != nil {
			add("timestamp", err.Error())
		}
		ev.Timestamp = t
	} else {
		ev.Timestamp = ev.ReceivedAt
	}
	for _, o := range []struct {
		name string
		raw  json.RawMessage
		dst  *json.RawMessage
	}{{"properties", w.Properties, &ev.Properties}, {"traits", w.Traits, &ev.Traits}, {"context", w.Context, &ev.Context}} {
		if len(o.raw) == 0 || isNull(o.raw) {
			continue
		}
		if o.raw[0] != '{' {
			add(o.name, "must be a JSON object")
			continue
		}
		*o.dst = compact(o.raw)
	}
	if len(errs) > 0 {
		return ev, errs
	}
	return ev, ev.validateProperties(i)
}

// compact removes insignificant white space so stored events are as small as possible.
func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("is %q, not an RFC 3339 time such as 2026-11-20T14:03:07Z", truncate(s))
	}
	if y := t.Year(); y < 1970 || y > 2200 {
		return time.Time{}, fmt.Errorf("is %q, outside the years 1970 to 2200", truncate(s))
	}
	return t.UTC(), nil
}

func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// jsonDepth is the deepest nesting of objects and arrays in b (strings are skipped).
func jsonDepth(b []byte) int {
	depth, max := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				max = depth
			}
		case '}', ']':
			depth--
		}
	}
	return max
}

func describeJSONError(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("is not valid JSON at byte %d: %s", e.Offset, e.Error())
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("has the wrong type: got JSON %s, want %s", e.Value, goTypeName(e.Type.String()))
	}
	return "is not valid JSON: " + err.Error()
}

func fieldOfJSONError(err error) string {
	if e, ok := err.(*json.UnmarshalTypeError); ok && e.Field != "" {
		return e.Field
	}
	return "event"
}

func goTypeName(t string) string {
	switch {
	case strings.Contains(t, "Flex"):
		return "a string or a number"
	case strings.Contains(t, "string"):
		return "a string"
	case strings.Contains(t, "int"), strings.Contains(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.Contains(t, "map"), strings.Contains(t, "struct"):
		return "an object"
	}
	return t
}

// NewMessageID returns a random 128-bit id in hex, for events sent without one.
func NewMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
