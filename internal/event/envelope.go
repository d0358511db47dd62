package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/bespokesearch/bespoke/internal/jsonenc"
)

// An envelope is the unit written to the stream: the events of one or more accepted
// requests, one JSON object per line (each with its receivedAt). Packing many events
// into one durable write is what lets ingestion acknowledge tens of thousands of
// events per second with a sync per write (group commit).
//
// The codec is written by hand (appending bytes, scanning without reflection) because
// encoding/json's reflection, its re-validation of every raw field and its allocations
// were most of the ingestion CPU. It produces and accepts exactly what encoding/json
// does for Event (the same bytes, the same decoded values): anything the fast code does
// not handle (escaped strings, unusual keys, times outside years 0..9999, raw fields that
// are not compact valid JSON) goes through encoding/json. FuzzEnvelopeMatchesJSON
// checks both directions against encoding/json.

// AppendEnvelope appends the events to an envelope under construction in buf.
func AppendEnvelope(buf []byte, events []Event) ([]byte, error) {
	for i := range events {
		if b, ok := appendEventFast(buf, &events[i]); ok {
			buf = b
			continue
		}
		var err error
		if buf, err = appendEventJSON(buf, &events[i]); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// appendEventJSON is the encoding/json form of one envelope line.
func appendEventJSON(buf []byte, ev *Event) ([]byte, error) {
	w := bytes.NewBuffer(buf)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil { // Encode writes a trailing newline
		return buf, fmt.Errorf("cannot encode event %q: %w", ev.MessageID, err)
	}
	return w.Bytes(), nil
}

// appendEventFast appends the line encoding/json would write for ev, or reports false
// (buf unchanged in content up to its length) when it cannot.
func appendEventFast(buf []byte, ev *Event) ([]byte, bool) {
	start := len(buf)
	fail := func() ([]byte, bool) { return buf[:start], false }
	buf = append(buf, `{"type":`...)
	buf = jsonenc.AppendString(buf, ev.Type)
	if ev.Event != "" {
		buf = append(buf, `,"event":`...)
		buf = jsonenc.AppendString(buf, ev.Event)
	}
	if ev.Name != "" {
		buf = append(buf, `,"name":`...)
		buf = jsonenc.AppendString(buf, ev.Name)
	}
	if ev.UserID != "" {
		buf = append(buf, `,"userId":`...)
		buf = jsonenc.AppendString(buf, ev.UserID)
	}
	if ev.AnonymousID != "" {
		buf = append(buf, `,"anonymousId":`...)
		buf = jsonenc.AppendString(buf, ev.AnonymousID)
	}
	buf = append(buf, `,"messageId":`...)
	buf = jsonenc.AppendString(buf, ev.MessageID)
	buf = append(buf, `,"timestamp":`...)
	var ok bool
	if buf, ok = appendJSONTime(buf, ev.Timestamp); !ok {
		return fail()
	}
	if !ev.ReceivedAt.IsZero() {
		buf = append(buf, `,"receivedAt":`...)
		if buf, ok = appendJSONTime(buf, ev.ReceivedAt); !ok {
			return fail()
		}
	}
	for _, f := range [...]struct {
		key string
		raw json.RawMessage
	}{{`,"properties":`, ev.Properties}, {`,"traits":`, ev.Traits}, {`,"context":`, ev.Context}} {
		if len(f.raw) == 0 {
			continue
		}
		buf = append(buf, f.key...)
		if buf, ok = appendRaw(buf, f.raw); !ok {
			return fail()
		}
	}
	return append(buf, '}', '\n'), true
}

// appendRaw appends a raw JSON value compacted, as encoding/json writes a RawMessage;
// false when it is not one valid JSON value.
func appendRaw(buf, raw []byte) ([]byte, bool) {
	s := &scanner{b: raw, limit: 10000}
	s.skipSpace()
	if !s.skipValue() {
		return buf, false
	}
	s.skipSpace()
	if s.i != len(raw) {
		return buf, false
	}
	if s.ws || isSpace(raw[0]) || isSpace(raw[len(raw)-1]) {
		return appendCompact(buf, raw), true
	}
	return append(buf, raw...), true
}

// appendJSONTime appends t as time.Time.MarshalJSON does; false where that fails.
func appendJSONTime(buf []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return buf, false
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		return buf, false
	}
	buf = append(buf, '"')
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"'), true
}

// DecodeEnvelope calls fn for each event of an envelope, in order. A line that does not
// decode is passed to fn as a nil event with the error, so callers can dead-letter it
// instead of losing it; decoding goes on with the next line. The raw fields
// (Properties, Traits, Context) of the events may share memory with data: callers must
// not modify data while they use the events.
func DecodeEnvelope(data []byte, fn func(ev *Event, line []byte, err error) error) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ev := new(Event)
		if !decodeEventFast(line, ev) {
			*ev = Event{}
			if err := json.Unmarshal(line, ev); err != nil {
				if ferr := fn(nil, line, fmt.Errorf("cannot decode event from stream: %w", err)); ferr != nil {
					return ferr
				}
				continue
			}
		}
		if err := fn(ev, line, nil); err != nil {
			return err
		}
	}
	return nil
}

var eventKeys = []string{"type", "event", "name", "userId", "anonymousId", "messageId", "timestamp",
	"receivedAt", "properties", "traits", "context"}

// decodeEventFast decodes one envelope line as json.Unmarshal would, or reports false.
func decodeEventFast(line []byte, ev *Event) bool {
	if !utf8.Valid(line) {
		return false
	}
	s := &scanner{b: line, limit: 10000}
	s.skipSpace()
	var seen uint16
	ok := s.obj(func(key []byte) bool {
		k := -1
		switch string(key) {
		case "type":
			k = 0
		case "event":
			k = 1
		case "name":
			k = 2
		case "userId":
			k = 3
		case "anonymousId":
			k = 4
		case "messageId":
			k = 5
		case "timestamp":
			k = 6
		case "receivedAt":
			k = 7
		case "properties":
			k = 8
		case "traits":
			k = 9
		case "context":
			k = 10
		}
		if k < 0 {
			if foldsToAny(key, eventKeys) {
				return false
			}
			return s.skipValue()
		}
		if seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		switch k {
		case 0:
			ev.Type, k = internStr(s, internType)
		case 1:
			ev.Event, k = internStr(s, internName)
		case 2:
			return s.nullOrStr(&ev.Name)
		case 3:
			return s.nullOrStr(&ev.UserID)
		case 4:
			return s.nullOrStr(&ev.AnonymousID)
		case 5:
			return s.nullOrStr(&ev.MessageID)
		case 6, 7:
			if s.peek() != '"' {
				return false // null and other types: let encoding/json decide
			}
			raw, ok := s.value()
			if !ok {
				return false
			}
			dst := &ev.Timestamp
			if k == 7 {
				dst = &ev.ReceivedAt
			}
			return dst.UnmarshalJSON(raw) == nil
		default:
			if s.null() {
				return false // json.RawMessage keeps "null"
			}
			raw, ok := s.value()
			if !ok {
				return false
			}
			raw = raw[:len(raw):len(raw)]
			switch k {
			case 8:
				ev.Properties = raw
			case 9:
				ev.Traits = raw
			default:
				ev.Context = raw
			}
			return true
		}
		return k >= 0
	})
	s.skipSpace()
	return ok && s.i == len(line)
}

// internStr scans a string (or null) for a field whose common values are constants;
// the int is -1 on failure.
func internStr(s *scanner, intern func([]byte) string) (string, int) {
	if s.null() {
		return "", 0
	}
	v, ok := s.plainString()
	if !ok {
		return "", -1
	}
	return intern(v), 0
}

func (s *scanner) nullOrStr(dst *string) bool {
	if s.null() {
		return true
	}
	return s.str2(dst)
}
