package train

import (
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/bespokesearch/bespoke/internal/event"
)

// productRef is what the replay reads of one entry of a `products` list: an impressed
// item (id and position) or an order line (id and size).
type productRef struct {
	ID       string
	Position int
	Size     string
}

// errSlowPath makes parseProducts hand the list to encoding/json.
var errSlowPath = errors.New("not in the fast parser's subset")

// parseProducts decodes the `products` column of a lake row (a JSON array of
// event.ProductRef) into dst[:0], with exactly encoding/json's result: the lake
// writes these lists in one canonical form, which a hand-written scanner reads
// without reflection or allocation (the IDs are substrings of s); anything outside
// that form (escapes, unknown or differently-cased keys, non-integer positions,
// invalid UTF-8, …) goes through encoding/json instead. It is by far the most
// frequent parse of a training run: one per search impression.
func parseProducts(s string, dst []productRef) ([]productRef, error) {
	out, err := fastProducts(s, dst[:0])
	if err == nil {
		return out, nil
	}
	var refs []event.ProductRef
	if err := json.Unmarshal([]byte(s), &refs); err != nil {
		return dst[:0], err
	}
	out = dst[:0]
	for _, r := range refs {
		out = append(out, productRef{ID: string(r.ProductID), Position: r.Position, Size: string(r.Size)})
	}
	return out, nil
}

// fastProducts parses the canonical subset; errSlowPath for anything else.
func fastProducts(s string, out []productRef) ([]productRef, error) {
	p := scanner{s: s}
	p.ws()
	if !p.eat('[') {
		return nil, errSlowPath
	}
	p.ws()
	if p.eat(']') {
		return out, p.end()
	}
	for {
		p.ws()
		if p.literal("null") {
			// encoding/json leaves a null element as the zero value.
			out = append(out, productRef{})
		} else {
			ref, err := p.object()
			if err != nil {
				return nil, err
			}
			out = append(out, ref)
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return out, p.end()
		}
		return nil, errSlowPath
	}
}

type scanner struct {
	s string
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) literal(w string) bool {
	if len(p.s)-p.i >= len(w) && p.s[p.i:p.i+len(w)] == w {
		p.i += len(w)
		return true
	}
	return false
}

func (p *scanner) end() error {
	p.ws()
	if p.i != len(p.s) {
		return errSlowPath
	}
	return nil
}

// object reads {"product_id":…,"position":…,"size":…,"price":…,"quantity":…} in
// any order, each key at most once.
func (p *scanner) object() (productRef, error) {
	var ref productRef
	if !p.eat('{') {
		return ref, errSlowPath
	}
	p.ws()
	if p.eat('}') {
		return ref, nil
	}
	var seen uint8
	for {
		p.ws()
		key, ok := p.str()
		if !ok {
			return ref, errSlowPath
		}
		p.ws()
		if !p.eat(':') {
			return ref, errSlowPath
		}
		p.ws()
		var bit uint8
		switch key {
		case "product_id":
			bit = 1
			v, ok := p.flex()
			if !ok {
				return ref, errSlowPath
			}
			ref.ID = v
		case "position":
			bit = 2
			v, ok := p.integer()
			if !ok {
				return ref, errSlowPath
			}
			ref.Position = v
		case "size":
			bit = 4
			v, ok := p.flex()
			if !ok {
				return ref, errSlowPath
			}
			ref.Size = v
		case "price":
			bit = 8
			if !p.literal("null") && !p.number() {
				return ref, errSlowPath
			}
		case "quantity":
			bit = 16
			if _, ok := p.integer(); !ok {
				return ref, errSlowPath
			}
		default:
			return ref, errSlowPath
		}
		if seen&bit != 0 {
			return ref, errSlowPath // duplicate key: left to encoding/json's rules
		}
		seen |= bit
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return ref, nil
		}
		return ref, errSlowPath
	}
}

// str reads a string without escapes, control characters or invalid UTF-8.
func (p *scanner) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	ascii := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			v := p.s[start:p.i]
			p.i++
			if !ascii && !utf8.ValidString(v) {
				return "", false
			}
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		p.i++
	}
	return "", false
}

// flex reads an event.Flex: a string, a number (its literal text) or null ("").
func (p *scanner) flex() (string, bool) {
	if p.i >= len(p.s) {
		return "", false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		return p.str()
	case c == 'n':
		return "", p.literal("null")
	}
	start := p.i
	if !p.number() {
		return "", false
	}
	return p.s[start:p.i], true
}

// number reads a JSON number.
func (p *scanner) number() bool {
	p.eat('-')
	if p.eat('0') {
	} else if p.digits() == 0 {
		return false
	}
	if p.eat('.') && p.digits() == 0 {
		return false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if p.digits() == 0 {
			return false
		}
	}
	return true
}

func (p *scanner) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// integer reads null (0) or a JSON integer that fits easily in an int.
func (p *scanner) integer() (int, bool) {
	if p.literal("null") {
		return 0, true
	}
	neg := p.eat('-')
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.' || p.s[p.i] == 'e' || p.s[p.i] == 'E') {
			return 0, false
		}
		return 0, true
	}
	v, n := 0, 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
		n++
	}
	if n == 0 || n > 15 {
		return 0, false
	}
	if p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
