package size

import (
	"fmt"
	"math"
	"strconv"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// System is a size system as a small integer (the encodings use it).
type System uint8

// The size systems the model knows. SystemNone products have no size to recommend.
const (
	SystemNone    System = 0
	SystemUSShoe  System = 1
	SystemAlpha   System = 2
	SystemNumeric System = 3
	numSystems           = 4
)

// ParseSystem maps the catalog's size_system string (CONTRACT §3) to a System.
func ParseSystem(s string) (System, error) {
	switch s {
	case catalog.SizeUSShoe:
		return SystemUSShoe, nil
	case catalog.SizeAlpha:
		return SystemAlpha, nil
	case catalog.SizeNumeric:
		return SystemNumeric, nil
	case catalog.SizeNone, "":
		return SystemNone, nil
	}
	return SystemNone, fmt.Errorf("unknown size system %q: want us_shoe, alpha, numeric or none", s)
}

// String is the catalog name of the system.
func (s System) String() string {
	switch s {
	case SystemUSShoe:
		return catalog.SizeUSShoe
	case SystemAlpha:
		return catalog.SizeAlpha
	case SystemNumeric:
		return catalog.SizeNumeric
	}
	return catalog.SizeNone
}

// Step is the distance between two neighbouring sizes of the system on its scale:
// half a US shoe size, one letter, one waist inch.
func (s System) Step() float64 {
	if s == SystemUSShoe {
		return 0.5
	}
	return 1
}

// Shoe widths: the second dimension of us_shoe sizes.
const (
	WidthUnknown int8 = 0 // the label or survey does not say
	WidthNarrow  int8 = 1
	WidthMedium  int8 = 2
	WidthWide    int8 = 3
)

// Value is a parsed size label: its position on the system's ordinal scale (US shoe
// size 4..15 in halves, alpha index 0=XXS..7=XXXL with 2.5 for "S/M", waist inches)
// and, for shoes, the width if the label carries one.
type Value struct {
	Pos   float64
	Width int8
}

// Scale limits, inclusive.
const (
	shoeMin, shoeMax       = 4.0, 15.0
	numericMin, numericMax = 24.0, 50.0
)

// maxLabel bounds the labels the parsers look at; longer ones are refused.
const maxLabel = 40

// ParseSize parses a size label of system sys. It never panics; a label it does not
// recognise is an error naming it.
func ParseSize(sys System, label string) (Value, error) {
	v, ok := parseValue(sys, label)
	if ok {
		return v, nil
	}
	if len(label) > maxLabel {
		return Value{}, fmt.Errorf("size label of %d bytes is too long (max %d)", len(label), maxLabel)
	}
	switch sys {
	case SystemUSShoe:
		return Value{}, fmt.Errorf("%q is not a US shoe size (4 to 15 in half sizes, optional width N/M/W)", label)
	case SystemAlpha:
		return Value{}, fmt.Errorf("%q is not an alpha size (XXS to XXXL)", label)
	case SystemNumeric:
		return Value{}, fmt.Errorf("%q is not a numeric waist size (%g to %g)", label, numericMin, numericMax)
	}
	return Value{}, fmt.Errorf("size system %q has no sizes to parse (label %q)", sys.String(), label)
}

// parseValue is ParseSize without the error (and without allocating).
func parseValue(sys System, label string) (Value, bool) {
	var buf [maxLabel]byte
	b, ok := normalize(label, buf[:0])
	if !ok {
		return Value{}, false
	}
	switch sys {
	case SystemUSShoe:
		return parseShoe(b)
	case SystemAlpha:
		p, ok := parseAlpha(b)
		return Value{Pos: p}, ok
	case SystemNumeric:
		p, ok := parseNumeric(b)
		return Value{Pos: p}, ok
	}
	return Value{}, false
}

// GuessSystem infers the system of a lone label (a usual size in a survey): alpha if it
// reads as one, numeric at 24 and above, US shoe below.
func GuessSystem(label string) System {
	if _, ok := parseValue(SystemAlpha, label); ok {
		return SystemAlpha
	}
	if _, ok := parseValue(SystemNumeric, label); ok {
		return SystemNumeric
	}
	if _, ok := parseValue(SystemUSShoe, label); ok {
		return SystemUSShoe
	}
	return SystemNone
}

// normalize lower-cases ASCII, trims spaces and maps "½" to ".5", into dst (no allocation).
func normalize(s string, dst []byte) ([]byte, bool) {
	if len(s) > maxLabel {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0xC2 && i+1 < len(s) && s[i+1] == 0xBD { // "½"
			if len(dst) > 0 && dst[len(dst)-1] == ' ' {
				dst = dst[:len(dst)-1]
			}
			if len(dst)+2 > cap(dst) {
				return nil, false
			}
			dst = append(dst, '.', '5')
			i++
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == '\t' || c == '_' {
			c = ' '
		}
		if c == ' ' && (len(dst) == 0 || dst[len(dst)-1] == ' ') {
			continue
		}
		if len(dst) == cap(dst) {
			return nil, false
		}
		dst = append(dst, c)
	}
	for len(dst) > 0 && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst, len(dst) > 0
}

func trimPrefix(b []byte, p string) []byte {
	if len(b) >= len(p) && string(b[:len(p)]) == p {
		return trimSpace(b[len(p):])
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == ':' || b[0] == '-') {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// leadingNumber reads a decimal number at the start of b: digits, optional ".d" and an
// optional " 1/2". It returns the value and the rest.
func leadingNumber(b []byte) (float64, []byte, bool) {
	i := 0
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == '.' || b[i] == ',') {
		i++
	}
	if i == 0 || i > 8 {
		return 0, b, false
	}
	var nb [8]byte
	n := copy(nb[:], b[:i])
	for k := 0; k < n; k++ {
		if nb[k] == ',' {
			nb[k] = '.'
		}
	}
	v, err := strconv.ParseFloat(string(nb[:n]), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, b, false
	}
	rest := b[i:]
	r := trimSpace(rest)
	if len(r) >= 3 && string(r[:3]) == "1/2" {
		v += 0.5
		rest = r[3:]
	}
	return v, trimSpace(rest), true
}

func parseShoe(b []byte) (Value, bool) {
	b = trimPrefix(b, "size")
	b = trimPrefix(b, "us")
	b = trimPrefix(b, "men's")
	b = trimPrefix(b, "women's")
	b = trimPrefix(b, "m")
	b = trimPrefix(b, "w")
	v, rest, ok := leadingNumber(b)
	if !ok || v < shoeMin || v > shoeMax || v*2 != math.Trunc(v*2) {
		return Value{}, false
	}
	w, ok := parseWidth(rest)
	if !ok {
		return Value{}, false
	}
	return Value{Pos: v, Width: w}, true
}

func parseWidth(b []byte) (int8, bool) {
	b = trimSpace(b)
	if len(b) >= 2 && b[0] == '(' && b[len(b)-1] == ')' {
		b = trimSpace(b[1 : len(b)-1])
	}
	b = trimPrefix(b, "width")
	switch string(b) {
	case "":
		return WidthUnknown, true
	case "n", "narrow", "aa", "2a", "a":
		return WidthNarrow, true
	case "m", "medium", "regular", "standard", "d", "b", "r":
		return WidthMedium, true
	case "w", "wide", "e", "ee", "2e", "3e", "4e", "xw", "extra wide", "x-wide", "ww":
		return WidthWide, true
	}
	return WidthUnknown, false
}

func parseAlpha(b []byte) (float64, bool) {
	b = trimPrefix(b, "size")
	// "s/m", "m-l", "l / xl": halfway between two neighbours.
	for i := 1; i < len(b)-1; i++ {
		if b[i] == '/' || (b[i] == '-' && !isXPrefix(b[:i])) {
			a, ok1 := alphaWord(trimSpace(b[:i]))
			c, ok2 := alphaWord(trimSpace(b[i+1:]))
			if ok1 && ok2 && c == a+1 {
				return float64(a) + 0.5, true
			}
			return 0, false
		}
	}
	a, ok := alphaWord(b)
	return float64(a), ok
}

func isXPrefix(b []byte) bool {
	switch string(b) {
	case "x", "xx", "xxx", "extra", "2x", "3x":
		return true
	}
	return false
}

// alphaWord maps one alpha size word to its index in catalog.AlphaSizes.
func alphaWord(b []byte) (int, bool) {
	// drop spaces, dashes and dots: "x-large", "x large", "2 xl"
	var buf [maxLabel]byte
	n := 0
	for _, c := range b {
		if c == ' ' || c == '-' || c == '.' {
			continue
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "xxs", "2xs", "xxsmall", "extraextrasmall", "2xsmall":
		return 0, true
	case "xs", "xsmall", "extrasmall":
		return 1, true
	case "s", "small", "sm":
		return 2, true
	case "m", "medium", "med", "md":
		return 3, true
	case "l", "large", "lg":
		return 4, true
	case "xl", "xlarge", "extralarge":
		return 5, true
	case "xxl", "2xl", "xxlarge", "2xlarge", "extraextralarge":
		return 6, true
	case "xxxl", "3xl", "xxxlarge", "3xlarge":
		return 7, true
	}
	return 0, false
}

func parseNumeric(b []byte) (float64, bool) {
	b = trimPrefix(b, "size")
	b = trimPrefix(b, "waist")
	b = trimPrefix(b, "w")
	v, rest, ok := leadingNumber(b)
	if !ok || v < numericMin || v > numericMax || v*2 != math.Trunc(v*2) {
		return 0, false
	}
	rest = trimPrefix(rest, "w")
	rest = trimPrefix(rest, "in")
	rest = trimPrefix(rest, "\"")
	if len(rest) == 0 {
		return v, true
	}
	// an inseam or fit after the waist: "32x30", "32/30", "32 l30", "32 x 30", "32r"
	switch rest[0] {
	case 'x', '/', 'l':
		l, tail, ok := leadingNumber(trimSpace(rest[1:]))
		if ok && l >= 20 && l <= 40 && len(tail) == 0 {
			return v, true
		}
		return 0, false
	}
	switch string(rest) {
	case "r", "s", "regular", "short", "long":
		return v, true
	}
	return 0, false
}

// Labels of the scale positions, used for notes and for rounding a latent size.
var (
	shoeLabels    [int((shoeMax-shoeMin)*2) + 1]string
	numericLabels [int(numericMax-numericMin) + 1]string
)

func init() {
	for i := range shoeLabels {
		shoeLabels[i] = strconv.FormatFloat(shoeMin+float64(i)/2, 'f', -1, 64)
	}
	for i := range numericLabels {
		numericLabels[i] = strconv.Itoa(int(numericMin) + i)
	}
}

// Label is the standard label nearest to position pos of system sys ("9.5", "M", "32").
func Label(sys System, pos float64) string {
	if math.IsNaN(pos) {
		return ""
	}
	switch sys {
	case SystemUSShoe:
		i := int(math.Round((clamp(pos, shoeMin, shoeMax) - shoeMin) * 2))
		return shoeLabels[i]
	case SystemAlpha:
		i := int(math.Round(clamp(pos, 0, float64(len(catalog.AlphaSizes)-1))))
		return catalog.AlphaSizes[i]
	case SystemNumeric:
		i := int(math.Round(clamp(pos, numericMin, numericMax) - numericMin))
		return numericLabels[i]
	}
	return ""
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// scaleRange is the range of positions of a system.
func scaleRange(sys System) (lo, hi float64) {
	switch sys {
	case SystemUSShoe:
		return shoeMin, shoeMax
	case SystemAlpha:
		return 0, float64(len(catalog.AlphaSizes) - 1)
	case SystemNumeric:
		return numericMin, numericMax
	}
	return 0, 0
}
