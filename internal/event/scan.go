package event

import (
	"bytes"
	"unicode/utf8"
)

// scanner is a strict, allocation-free JSON scanner (RFC 8259, exactly the syntax
// encoding/json accepts) used by the fast paths of this package: it walks objects key by
// key, hands out the raw bytes of values, and says whether a value holds insignificant
// white space (so a compact value can be kept as it is, without json.Compact).
//
// It is written by hand because the fast paths need three things no decoder gives
// together: validation and field extraction in one pass, the exact raw span of every
// value (stored verbatim), and a cheap "bail out" when anything is unusual (escaped keys,
// duplicate or case-folded keys, wrong types, nulls), in which case the caller runs the
// encoding/json path, which produces the same result or the error message.
type scanner struct {
	b     []byte
	i     int
	depth int
	limit int  // deepest nesting allowed (objects and arrays); deeper fails the scan
	ws    bool // white space seen inside a value since the caller last cleared it
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace skips white space between tokens.
func (s *scanner) skipSpace() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// spaceIn skips white space inside a value, noting it.
func (s *scanner) spaceIn() {
	if s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.ws = true
		s.skipSpace()
	}
}

// peek returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// value skips one value, validating it, and returns its raw bytes.
func (s *scanner) value() ([]byte, bool) {
	start := s.i
	if !s.skipValue() {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *scanner) skipValue() bool {
	switch c := s.peek(); {
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == '{':
		if s.depth++; s.depth > s.limit {
			return false
		}
		s.i++
		s.spaceIn()
		if s.peek() == '}' {
			s.i++
			s.depth--
			return true
		}
		for {
			if s.peek() != '"' {
				return false
			}
			if _, _, ok := s.str(); !ok {
				return false
			}
			s.spaceIn()
			if s.peek() != ':' {
				return false
			}
			s.i++
			s.spaceIn()
			if !s.skipValue() {
				return false
			}
			s.spaceIn()
			switch s.peek() {
			case ',':
				s.i++
				s.spaceIn()
			case '}':
				s.i++
				s.depth--
				return true
			default:
				return false
			}
		}
	case c == '[':
		if s.depth++; s.depth > s.limit {
			return false
		}
		s.i++
		s.spaceIn()
		if s.peek() == ']' {
			s.i++
			s.depth--
			return true
		}
		for {
			if !s.skipValue() {
				return false
			}
			s.spaceIn()
			switch s.peek() {
			case ',':
				s.i++
				s.spaceIn()
			case ']':
				s.i++
				s.depth--
				return true
			default:
				return false
			}
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, ok := s.num()
		return ok
	}
	return false
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// num scans a number and returns its literal.
func (s *scanner) num() ([]byte, bool) {
	start := s.i
	b := s.b
	if s.i < len(b) && b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(b) && b[s.i] == '0':
		s.i++
	case s.i < len(b) && b[s.i] >= '1' && b[s.i] <= '9':
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
	default:
		return nil, false
	}
	if s.i < len(b) && b[s.i] == '.' {
		s.i++
		if s.i >= len(b) || b[s.i] < '0' || b[s.i] > '9' {
			return nil, false
		}
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
	}
	if s.i < len(b) && (b[s.i] == 'e' || b[s.i] == 'E') {
		s.i++
		if s.i < len(b) && (b[s.i] == '+' || b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(b) || b[s.i] < '0' || b[s.i] > '9' {
			return nil, false
		}
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
	}
	return b[start:s.i], true
}

// str scans a string starting at '"' and returns its content (escapes not decoded)
// and whether it holds escapes.
func (s *scanner) str() (content []byte, escaped, ok bool) {
	b := s.b
	s.i++ // opening quote
	start := s.i
	for s.i < len(b) {
		c := b[s.i]
		if plainByte[c] {
			s.i++
			continue
		}
		switch {
		case c == '"':
			content = b[start:s.i]
			s.i++
			return content, escaped, true
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(b) {
				return nil, false, false
			}
			switch b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(b)-s.i < 5 {
					return nil, false, false
				}
				for _, h := range b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return nil, false, false
					}
				}
				s.i += 5
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		default:
			s.i++
		}
	}
	return nil, false, false
}

// plainByte marks the bytes that stand for themselves inside a JSON string.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// obj iterates over the members of an object starting at '{': fn gets each key (never
// escaped: an escaped key fails the scan, as the fast paths do not decode keys) and
// must consume the value. It returns false when the object is malformed or fn fails.
func (s *scanner) obj(fn func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	if s.depth++; s.depth > s.limit {
		return false
	}
	s.i++
	s.spaceIn()
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		key, esc, ok := s.str()
		if !ok || esc {
			return false
		}
		s.spaceIn()
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.spaceIn()
		if !fn(key) {
			return false
		}
		s.spaceIn()
		switch s.peek() {
		case ',':
			s.i++
			s.spaceIn()
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// arr iterates over the elements of an array starting at '['; fn must consume each.
func (s *scanner) arr(fn func() bool) bool {
	if s.peek() != '[' {
		return false
	}
	if s.depth++; s.depth > s.limit {
		return false
	}
	s.i++
	s.spaceIn()
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !fn() {
			return false
		}
		s.spaceIn()
		switch s.peek() {
		case ',':
			s.i++
			s.spaceIn()
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// plainString scans a string value without escapes and returns its content; anything
// else (another type, null, escapes) fails.
func (s *scanner) plainString() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	c, esc, ok := s.str()
	if !ok || esc {
		return nil, false
	}
	return c, true
}

// flex scans a Flex: a string without escapes or a number (kept as its literal).
func (s *scanner) flex() ([]byte, bool) {
	if s.peek() == '"' {
		return s.plainString()
	}
	c := s.peek()
	if c == '-' || (c >= '0' && c <= '9') {
		return s.num()
	}
	return nil, false
}

// null consumes a null if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' {
		return s.lit("null")
	}
	return false
}

// foldsToAny reports whether key matches one of names case-insensitively, as
// encoding/json would match a struct field (the fast paths give up on such keys).
func foldsToAny(key []byte, names []string) bool {
	ascii := true
	for _, c := range key {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for _, n := range names {
		if ascii && len(n) != len(key) {
			continue // only non-ASCII runes (K, ſ) fold to letters of another length
		}
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}
