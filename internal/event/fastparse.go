package event

import (
	"strings"
	"time"
	"unicode/utf8"
)

// The fast path of ParseBatch and ParseSingle: one pass of the scanner over the body
// that validates the JSON, extracts every field and keeps properties, traits and context
// as the raw bytes the client sent (copied once into one buffer per request). It accepts
// only requests that parse without any error and without anything unusual (escaped
// strings in typed fields, keys that encoding/json would match case-insensitively,
// duplicate keys, nulls in typed fields): for every other body it reports false and
// ParseBatch runs the encoding/json path, which gives the same result or the detailed
// errors. FuzzFastParseMatchesSlow checks that both paths agree.

var wireEventKeys = []string{"type", "event", "name", "userId", "anonymousId", "messageId", "timestamp",
	"properties", "traits", "context", "writeKey", "sentAt"}

var wireBatchKeys = []string{"batch", "sentAt", "writeKey", "context"}

// fastEvent is an event as scanned, before its fields are checked.
type fastEvent struct {
	typ, name, pageName        []byte
	userID, anonID, messageID  []byte
	timestamp                  []byte
	props, traits, ctx         []byte
	propsWS, traitsWS, ctxWS   bool
	writeKey, sentAt           []byte
	hasType, hasEvent, hasName bool
	hasWriteKey, hasSentAt     bool
	hasTimestamp               bool
}

// scanEvent scans one event object at s's position.
func scanEvent(s *scanner, fe *fastEvent) bool {
	var seen uint16
	return s.obj(func(key []byte) bool {
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
		case "properties":
			k = 7
		case "traits":
			k = 8
		case "context":
			k = 9
		case "writeKey":
			k = 10
		case "sentAt":
			k = 11
		}
		if k < 0 {
			if foldsToAny(key, wireEventKeys) {
				return false
			}
			return s.skipValue()
		}
		if seen&(1<<k) != 0 {
			return false // duplicate key: let encoding/json decide
		}
		seen |= 1 << k
		if s.null() {
			return true // null leaves a pointer field nil and a raw field "null": both mean absent
		}
		var ok bool
		switch k {
		case 0:
			fe.typ, ok = s.plainString()
			fe.hasType = true
		case 1:
			fe.name, ok = s.plainString()
			fe.hasEvent = true
		case 2:
			fe.pageName, ok = s.plainString()
			fe.hasName = true
		case 3:
			fe.userID, ok = s.flex()
		case 4:
			fe.anonID, ok = s.flex()
		case 5:
			fe.messageID, ok = s.flex()
		case 6:
			fe.timestamp, ok = s.plainString()
			fe.hasTimestamp = true
		case 7, 8, 9:
			if s.peek() != '{' {
				return false
			}
			s.ws = false
			var raw []byte
			raw, ok = s.value()
			switch k {
			case 7:
				fe.props, fe.propsWS = raw, s.ws
			case 8:
				fe.traits, fe.traitsWS = raw, s.ws
			case 9:
				fe.ctx, fe.ctxWS = raw, s.ws
			}
		case 10:
			fe.writeKey, ok = s.plainString()
			fe.hasWriteKey = true
		case 11:
			fe.sentAt, ok = s.plainString()
			fe.hasSentAt = true
		}
		return ok
	})
}

// arena holds the raw JSON of a request's events: one allocation per request.
type arena struct{ buf []byte }

// keep copies raw (compacting it when it holds white space) and returns the copy.
func (a *arena) keep(raw []byte, ws bool) []byte {
	if len(a.buf)+len(raw) > cap(a.buf) {
		a.buf = make([]byte, 0, max(len(raw), 4096))
	}
	start := len(a.buf)
	if ws {
		a.buf = appendCompact(a.buf, raw)
	} else {
		a.buf = append(a.buf, raw...)
	}
	return a.buf[start:len(a.buf):len(a.buf)]
}

// appendCompact appends valid JSON without its insignificant white space.
func appendCompact(dst, raw []byte) []byte {
	inString, escaped := false, false
	for _, c := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			dst = append(dst, c)
			continue
		}
		if isSpace(c) {
			continue
		}
		if c == '"' {
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}

// build checks a scanned event like parseEvent does and returns it; false when
// parseEvent would report an error (or the fast path cannot tell).
func (fe *fastEvent) build(impliedType string, receivedAt time.Time, a *arena) (Event, bool) {
	var ev Event
	switch {
	case fe.hasType:
		ev.Type = internType(fe.typ)
	case impliedType != "":
		ev.Type = impliedType
	}
	if ev.Type != TypeTrack && ev.Type != TypeIdentify && ev.Type != TypePage {
		return ev, false
	}
	if impliedType != "" && ev.Type != impliedType {
		return ev, false
	}
	if fe.hasEvent {
		ev.Event = internName(fe.name)
	}
	if fe.hasName {
		ev.Name = string(fe.pageName)
	}
	if ev.Type == TypeTrack && (strings.TrimSpace(ev.Event) == "" || len(ev.Event) > MaxEventNameBytes) {
		return ev, false
	}
	if len(fe.userID) == 0 && len(fe.anonID) == 0 || len(fe.userID) > MaxIDBytes || len(fe.anonID) > MaxIDBytes || len(fe.messageID) > MaxIDBytes {
		return ev, false
	}
	ev.UserID = string(fe.userID)
	ev.AnonymousID = string(fe.anonID)
	if len(fe.messageID) > 0 {
		ev.MessageID = string(fe.messageID)
	} else {
		ev.MessageID = NewMessageID()
	}
	ev.ReceivedAt = receivedAt.UTC()
	if len(fe.timestamp) > 0 {
		t, err := parseTime(string(fe.timestamp))
		if err != nil {
			return ev, false
		}
		ev.Timestamp = t
	} else {
		ev.Timestamp = ev.ReceivedAt
	}
	if fe.props != nil {
		ev.Properties = a.keep(fe.props, fe.propsWS)
	}
	if fe.traits != nil {
		ev.Traits = a.keep(fe.traits, fe.traitsWS)
	}
	if fe.ctx != nil {
		ev.Context = a.keep(fe.ctx, fe.ctxWS)
	}
	if len(ev.validateProperties(0)) > 0 {
		return ev, false
	}
	return ev, true
}

func internType(b []byte) string {
	switch string(b) {
	case TypeTrack:
		return TypeTrack
	case TypeIdentify:
		return TypeIdentify
	case TypePage:
		return TypePage
	}
	return string(b)
}

// internName returns the constant for the names Bespoke knows (no allocation).
func internName(b []byte) string {
	switch string(b) {
	case ProductsSearched:
		return ProductsSearched
	case ProductListViewed:
		return ProductListViewed
	case ProductClicked:
		return ProductClicked
	case ProductViewed:
		return ProductViewed
	case ProductAdded:
		return ProductAdded
	case OrderCompleted:
		return OrderCompleted
	case ProductReturned:
		return ProductReturned
	case FitSurveyCompleted:
		return FitSurveyCompleted
	case PersonalizationOut:
		return PersonalizationOut
	case PersonalizationIn:
		return PersonalizationIn
	}
	return string(b)
}

// fastParseBatch is ParseBatch's fast path; false means "use the encoding/json path".
func fastParseBatch(body []byte, receivedAt time.Time) (*Batch, bool) {
	if len(body) == 0 || len(body) > MaxRequestBytes || !utf8.Valid(body) {
		return nil, false
	}
	s := &scanner{b: body, limit: maxNestingDepth + 2}
	a := &arena{buf: make([]byte, 0, len(body))}
	b := &Batch{}
	var batchCtx []byte
	var batchCtxWS, hasBatch bool
	var seen uint8
	s.skipSpace()
	ok := s.obj(func(key []byte) bool {
		k := -1
		switch string(key) {
		case "batch":
			k = 0
		case "sentAt":
			k = 1
		case "writeKey":
			k = 2
		case "context":
			k = 3
		}
		if k < 0 {
			if foldsToAny(key, wireBatchKeys) {
				return false
			}
			return s.skipValue()
		}
		if seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		if s.null() {
			return true
		}
		switch k {
		case 0:
			hasBatch = true
			if s.peek() != '[' {
				return false
			}
			b.Events = make([]Event, 0, min(max(len(body)/256, 1), 1024)) // events are rarely under 256 bytes
			return s.arr(func() bool {
				start := s.i
				var fe fastEvent
				if !scanEvent(s, &fe) || s.i-start > MaxEventBytes {
					return false
				}
				ev, ok := fe.build("", receivedAt, a)
				if !ok {
					return false
				}
				b.Events = append(b.Events, ev)
				return true
			})
		case 1:
			v, ok := s.plainString()
			if !ok {
				return false
			}
			t, err := parseTime(string(v))
			if err != nil {
				return false
			}
			b.SentAt = t
			return true
		case 2:
			v, ok := s.plainString()
			b.WriteKey = string(v)
			return ok
		default:
			s.ws = false
			var ok bool
			batchCtx, ok = s.value()
			batchCtxWS = s.ws
			return ok
		}
	})
	s.skipSpace()
	if !ok || s.i != len(body) || !hasBatch || len(b.Events) == 0 {
		return nil, false
	}
	if batchCtx != nil {
		var kept []byte
		for i := range b.Events {
			if len(b.Events[i].Context) == 0 {
				if kept == nil {
					kept = a.keep(batchCtx, batchCtxWS)
				}
				b.Events[i].Context = kept
			}
		}
	}
	return b, true
}

// fastParseSingle is ParseSingle's fast path; false means "use the encoding/json path".
func fastParseSingle(body []byte, typ string, receivedAt time.Time) (*Batch, bool) {
	if len(body) == 0 || len(body) > MaxRequestBytes || len(body) > MaxEventBytes || !utf8.Valid(body) {
		return nil, false
	}
	s := &scanner{b: body, limit: maxNestingDepth}
	s.skipSpace()
	var fe fastEvent
	if !scanEvent(s, &fe) {
		return nil, false
	}
	s.skipSpace()
	if s.i != len(body) {
		return nil, false
	}
	a := &arena{buf: make([]byte, 0, len(body))}
	ev, ok := fe.build(typ, receivedAt, a)
	if !ok {
		return nil, false
	}
	b := &Batch{Events: []Event{ev}}
	if fe.hasWriteKey {
		b.WriteKey = string(fe.writeKey)
	}
	if fe.hasSentAt {
		b.SentAt, _ = parseTime(string(fe.sentAt))
	}
	return b, true
}
