package size

import (
	"fmt"
	"math"
	"strconv"
	"strings"

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

// Label limits, inclusive: US shoe labels 4 to 18 (men's sizes run to 18; women's
// labels sit 1.5 above the men's of the same foot), waists 24 to 50 inches.
const (
	shoeMin, shoeMax       = 4.0, 18.0
	numericMin, numericMax = 24.0, 50.0
)

// Scale is how the labels of one product sit on its size system's latent scale. The
// model keeps a customer's true size in one scale per system — men's US shoe sizes,
// alpha letters, waist inches — and converts the labels of women's shoes and of dress
// sizes, so that one customer's purchases of men's and women's shoes, or of jeans and
// dresses, inform one true size.
type Scale uint8

// Scales. ScaleAuto decides from the product's gender (women's shoes) and the label
// (a numeric label below 24 is a dress size).
const (
	ScaleAuto       Scale = 0
	ScaleStandard   Scale = 1 // men's, unisex and kids' US shoe sizes, alpha, waist inches
	ScaleWomensShoe Scale = 2 // women's US shoe sizes: a women's 8 fits like a men's 6.5
	ScaleDress      Scale = 3 // US dress sizes 00–24 (numeric system), read as the waist they are cut for
)

// WomensShoeShift is how much larger a women's US shoe label is than the men's label
// for the same foot (the US convention: women's = men's + 1.5).
const WomensShoeShift = 1.5

// dressWaist is the waist (inches) each US misses dress size is cut for, after the
// common size charts (ASTM D5585 style; brands vary, which their offsets absorb).
var dressWaist = [...]struct {
	label string
	size  float64
	waist float64
}{
	{"00", -2, 23}, {"0", 0, 24}, {"2", 2, 25}, {"4", 4, 26}, {"6", 6, 27}, {"8", 8, 28}, {"10", 10, 29},
	{"12", 12, 30.5}, {"14", 14, 32}, {"16", 16, 33.5}, {"18", 18, 35.5}, {"20", 20, 37.5}, {"22", 22, 39.5},
	{"24", 24, 41.5},
}

// String names the scale.
func (sc Scale) String() string {
	switch sc {
	case ScaleStandard:
		return "standard"
	case ScaleWomensShoe:
		return "womens_shoe"
	case ScaleDress:
		return "dress"
	}
	return "auto"
}

// ProductScale is the scale of a catalog product's labels: women's US shoes by the
// product's gender; numeric products whose labels read as dress sizes (one below the
// waist range, none above 24); the standard scale otherwise.
func ProductScale(p *catalog.Product) Scale {
	if p == nil {
		return ScaleStandard
	}
	return productScale(systemOf(p), parseGenderFast(p.Gender), p)
}

func productScale(sys System, g uint8, p *catalog.Product) Scale {
	switch sys {
	case SystemUSShoe:
		if g == genderFemale {
			return ScaleWomensShoe
		}
	case SystemNumeric:
		dress := false
		for i := range p.Sizes {
			if _, ok := parseLabel(SystemNumeric, ScaleDress, p.Sizes[i].Size); !ok {
				return ScaleStandard
			}
			if _, ok := parseLabel(SystemNumeric, ScaleStandard, p.Sizes[i].Size); !ok {
				dress = true
			}
		}
		if dress {
			return ScaleDress
		}
	}
	return ScaleStandard
}

// wearerScale is productScale for a wearer of gender wg: a US shoe cut for no sex in
// particular (unisex, or the catalog does not say) is labelled in the scale of whoever
// wears it — a woman's 8 fits a woman who wears a women's 8 — as the catalog's
// gendered shoes are in their sex's scale.
func wearerScale(sys System, g uint8, p *catalog.Product, wg uint8) Scale {
	if sys == SystemUSShoe && g == genderUnknown && wg == genderFemale {
		return ScaleWomensShoe
	}
	return productScale(sys, g, p)
}

// obsScale is the scale of an observation's label: as given, else from the product's
// gender (shoes) and the label (numeric).
func obsScale(sys System, sc Scale, gender string) Scale {
	if sc != ScaleAuto {
		return sc
	}
	if sys == SystemUSShoe && parseGender(gender) == genderFemale {
		return ScaleWomensShoe
	}
	if sys == SystemNumeric {
		return ScaleAuto
	}
	return ScaleStandard
}

// ValidShoeSize reports whether v is a US shoe size a survey may give (4 to 18).
func ValidShoeSize(v float64) bool { return v >= shoeMin && v <= shoeMax }

// ParseSizeIn parses a size label of system sys read in scale sc onto the system's
// latent scale (men's US shoe sizes, alpha index, waist inches). A shoe label that
// names its scale ("women's 8", "W8", "men's 9", "M9") is read in it whatever sc says.
func ParseSizeIn(sys System, sc Scale, label string) (Value, error) {
	if v, ok := parseLabel(sys, sc, label); ok {
		return v, nil
	}
	_, err := ParseSize(sys, label)
	if err == nil {
		err = fmt.Errorf("%q is not a size of scale %s", label, sc)
	}
	return Value{}, err
}

// LabelIn is the label of scale sc nearest to latent position pos of system sys.
func LabelIn(sys System, sc Scale, pos float64) string {
	switch {
	case sys == SystemUSShoe && sc == ScaleWomensShoe:
		return Label(sys, pos+WomensShoeShift)
	case sys == SystemNumeric && sc == ScaleDress:
		if math.IsNaN(pos) {
			return ""
		}
		best, bd := 0, math.Inf(1)
		for i, d := range dressWaist {
			if x := math.Abs(d.waist - pos); x < bd {
				best, bd = i, x
			}
		}
		return dressWaist[best].label
	}
	return Label(sys, pos)
}

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
		return Value{}, fmt.Errorf("%q is not a US shoe size (4 to 18 in half sizes, optional width N/M/W)", label)
	case SystemAlpha:
		return Value{}, fmt.Errorf("%q is not an alpha size (XXS to XXXL)", label)
	case SystemNumeric:
		return Value{}, fmt.Errorf("%q is not a numeric size (a waist %g to %g, or a dress size 00 to 24)", label, numericMin, numericMax)
	}
	return Value{}, fmt.Errorf("size system %q has no sizes to parse (label %q)", sys.String(), label)
}

// parseValue is ParseSize without the error (and without allocating).
func parseValue(sys System, label string) (Value, bool) {
	return parseLabel(sys, ScaleAuto, label)
}

// parseLabel is ParseSizeIn without the error (and without allocating).
func parseLabel(sys System, sc Scale, label string) (Value, bool) {
	v, _, ok := parseLabelScale(sys, sc, label)
	return v, ok
}

// parseLabelScale is parseLabel that also says which scale the label was read in.
func parseLabelScale(sys System, sc Scale, label string) (Value, Scale, bool) {
	var buf [maxLabel]byte
	b, ok := normalize(label, buf[:0])
	if !ok {
		return Value{}, sc, false
	}
	switch sys {
	case SystemUSShoe:
		v, named, ok := parseShoe(b)
		if named != ScaleAuto {
			sc = named
		}
		if sc != ScaleWomensShoe {
			sc = ScaleStandard
		}
		if ok && sc == ScaleWomensShoe {
			v.Pos -= WomensShoeShift
		}
		return v, sc, ok
	case SystemAlpha:
		p, ok := parseAlpha(b)
		return Value{Pos: p}, ScaleStandard, ok
	case SystemNumeric:
		if sc != ScaleDress {
			if p, ok := parseNumeric(b); ok {
				return Value{Pos: p}, ScaleStandard, true
			}
			if sc == ScaleStandard {
				return Value{}, sc, false
			}
		}
		p, ok := parseDress(b)
		return Value{Pos: p}, ScaleDress, ok
	}
	return Value{}, sc, false
}

// GuessSystem infers the system of a lone label (a usual size in a survey): alpha if it
// reads as one, numeric (waist) at 24 and above, US shoe below, and a dress size
// ("00", "14W") if nothing else reads it.
func GuessSystem(label string) System {
	if _, ok := parseValue(SystemAlpha, label); ok {
		return SystemAlpha
	}
	if _, ok := parseLabel(SystemNumeric, ScaleStandard, label); ok {
		return SystemNumeric
	}
	if _, ok := parseValue(SystemUSShoe, label); ok {
		return SystemUSShoe
	}
	if _, ok := parseValue(SystemNumeric, label); ok {
		return SystemNumeric
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

// parseShoe reads a US shoe label and the scale it names, if any ("women's 8", "W8":
// ScaleWomensShoe; "men's 9", "M9": ScaleStandard).
func parseShoe(b []byte) (Value, Scale, bool) {
	b = trimPrefix(b, "size")
	b = trimPrefix(b, "us")
	named := ScaleAuto
	for _, p := range []struct {
		prefix string
		sc     Scale
	}{{"women's", ScaleWomensShoe}, {"womens", ScaleWomensShoe}, {"wmns", ScaleWomensShoe}, {"men's", ScaleStandard},
		{"mens", ScaleStandard}, {"m", ScaleStandard}, {"w", ScaleWomensShoe}} {
		if len(b) > len(p.prefix) && string(b[:len(p.prefix)]) == p.prefix {
			b, named = trimSpace(b[len(p.prefix):]), p.sc
			break
		}
	}
	v, rest, ok := leadingNumber(b)
	if !ok || v < shoeMin || v > shoeMax || v*2 != math.Trunc(v*2) {
		return Value{}, named, false
	}
	w, ok := parseWidth(rest)
	if !ok {
		return Value{}, named, false
	}
	return Value{Pos: v, Width: w}, named, true
}

// parseDress reads a US dress size ("00", "0" … "24", with an optional petite "p" or
// women's plus "w" after it) as the waist it is cut for.
func parseDress(b []byte) (float64, bool) {
	b = trimPrefix(b, "size")
	b = trimPrefix(b, "us")
	if len(b) > 0 && (b[len(b)-1] == 'w' || b[len(b)-1] == 'p') {
		b = trimSpace(b[:len(b)-1])
	}
	for _, d := range dressWaist {
		if string(b) == d.label {
			return d.waist, true
		}
	}
	return 0, false
}

// WidthWord is a shoe width as one word — "narrow", "medium" or "wide" — however a
// survey or catalog writes it (N/M/W, 2A, D, 2E, "extra wide", …); "" when s names no
// width this package knows.
func WidthWord(s string) string {
	w, ok := parseWidth([]byte(strings.ToLower(s)))
	if !ok {
		return ""
	}
	return widthWords[w]
}

var widthWords = [...]string{WidthUnknown: "", WidthNarrow: "narrow", WidthMedium: "medium", WidthWide: "wide"}

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

// scaleRange is the range of latent positions of a system: women's shoe labels reach
// 1.5 below the men's, dress sizes a waist below the smallest waist label.
func scaleRange(sys System) (lo, hi float64) {
	switch sys {
	case SystemUSShoe:
		return shoeMin - WomensShoeShift, shoeMax
	case SystemAlpha:
		return 0, float64(len(catalog.AlphaSizes) - 1)
	case SystemNumeric:
		return dressWaist[0].waist, numericMax
	}
	return 0, 0
}
