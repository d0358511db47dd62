package size

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseSize(t *testing.T) {
	good := []struct {
		sys   System
		label string
		pos   float64
		width int8
	}{
		{SystemUSShoe, "9", 9, WidthUnknown},
		{SystemUSShoe, " 9.5 ", 9.5, WidthUnknown},
		{SystemUSShoe, "9½", 9.5, WidthUnknown},
		{SystemUSShoe, "9 1/2", 9.5, WidthUnknown},
		{SystemUSShoe, "US 10", 10, WidthUnknown},
		{SystemUSShoe, "10W", 10, WidthWide},
		{SystemUSShoe, "10 Wide", 10, WidthWide},
		{SystemUSShoe, "8.5 (2E)", 8.5, WidthWide},
		{SystemUSShoe, "7 N", 7, WidthNarrow},
		{SystemUSShoe, "11 M", 11, WidthMedium},
		{SystemUSShoe, "11,5", 11.5, WidthUnknown},
		{SystemUSShoe, "4", 4, WidthUnknown},
		{SystemUSShoe, "15", 15, WidthUnknown},
		{SystemAlpha, "M", 3, 0},
		{SystemAlpha, "xs", 1, 0},
		{SystemAlpha, "X-Large", 5, 0},
		{SystemAlpha, "2XL", 6, 0},
		{SystemAlpha, "3xl", 7, 0},
		{SystemAlpha, "Small", 2, 0},
		{SystemAlpha, "S/M", 2.5, 0},
		{SystemAlpha, "L-XL", 4.5, 0},
		{SystemAlpha, "XXS", 0, 0},
		{SystemNumeric, "32", 32, 0},
		{SystemNumeric, "W32", 32, 0},
		{SystemNumeric, "32x30", 32, 0},
		{SystemNumeric, "32 / 34", 32, 0},
		{SystemNumeric, "W34 L32", 34, 0},
		{SystemNumeric, "30R", 30, 0},
		{SystemNumeric, "26", 26, 0},
		{SystemNumeric, "44", 44, 0},
		// men's sizes run to 18; a label that names the women's scale is converted
		{SystemUSShoe, "16", 16, WidthUnknown},
		{SystemUSShoe, "15.5", 15.5, WidthUnknown},
		{SystemUSShoe, "18", 18, WidthUnknown},
		{SystemUSShoe, "Women's 8", 6.5, WidthUnknown},
		{SystemUSShoe, "W8", 6.5, WidthUnknown},
		{SystemUSShoe, "womens 9.5 wide", 8, WidthWide},
		{SystemUSShoe, "M 9", 9, WidthUnknown},
		{SystemUSShoe, "Men's 10.5", 10.5, WidthUnknown},
		// dress sizes read as the waist they are cut for
		{SystemNumeric, "00", 23, 0},
		{SystemNumeric, "0", 24, 0},
		{SystemNumeric, "8", 28, 0},
		{SystemNumeric, "20", 37.5, 0},
		{SystemNumeric, "14W", 32, 0},
		{SystemNumeric, "Size 4P", 26, 0},
	}
	for _, c := range good {
		v, err := ParseSize(c.sys, c.label)
		if err != nil {
			t.Errorf("ParseSize(%s, %q): %v", c.sys, c.label, err)
			continue
		}
		if v.Pos != c.pos || v.Width != c.width {
			t.Errorf("ParseSize(%s, %q) = %+v; want pos %v width %d", c.sys, c.label, v, c.pos, c.width)
		}
	}
	bad := []struct {
		sys   System
		label string
	}{
		{SystemUSShoe, ""}, {SystemUSShoe, "9.25"}, {SystemUSShoe, "3.5"}, {SystemUSShoe, "18.5"}, {SystemUSShoe, "19"}, {SystemUSShoe, "nine"},
		{SystemUSShoe, "9 purple"}, {SystemUSShoe, "NaN"}, {SystemUSShoe, "1e1"}, {SystemUSShoe, strings.Repeat("9", 100)},
		{SystemAlpha, "XXXXL"}, {SystemAlpha, "S/L"}, {SystemAlpha, "one size"}, {SystemAlpha, "9"},
		{SystemNumeric, "21"}, {SystemNumeric, "23"}, {SystemNumeric, "26P"}, {SystemNumeric, "32x99"}, {SystemNumeric, "M"}, {SystemNumeric, "32 banana"},
		{SystemNone, "9"},
	}
	for _, c := range bad {
		if v, err := ParseSize(c.sys, c.label); err == nil {
			t.Errorf("ParseSize(%s, %q) = %+v; want an error", c.sys, c.label, v)
		} else if !strings.Contains(err.Error(), "size") {
			t.Errorf("error %q does not say what failed", err)
		}
	}
}

func TestLabelRoundTrip(t *testing.T) {
	for _, sys := range []System{SystemUSShoe, SystemAlpha, SystemNumeric} {
		lo, hi := scaleRange(sys)
		lo = map[System]float64{SystemUSShoe: shoeMin, SystemAlpha: 0, SystemNumeric: numericMin}[sys] // the standard labels
		for p := lo; p <= hi; p += sys.Step() {
			l := Label(sys, p)
			v, err := ParseSize(sys, l)
			if err != nil || v.Pos != p {
				t.Errorf("Label(%s, %v) = %q parses to %+v, %v", sys, p, l, v, err)
			}
		}
		if Label(sys, hi+100) != Label(sys, hi) || Label(sys, lo-100) != Label(sys, lo) {
			t.Errorf("%s labels are not clamped", sys)
		}
	}
	if GuessSystem("M") != SystemAlpha || GuessSystem("32x30") != SystemNumeric || GuessSystem("9.5") != SystemUSShoe || GuessSystem("??") != SystemNone {
		t.Error("GuessSystem")
	}
	// a lone even number reads as a shoe size; only what no shoe size reads is a dress size
	if GuessSystem("8") != SystemUSShoe || GuessSystem("00") != SystemNumeric || GuessSystem("14W") != SystemUSShoe || GuessSystem("20") != SystemNumeric {
		t.Errorf("GuessSystem of dress sizes: 8 %v, 00 %v, 14W %v, 20 %v", GuessSystem("8"), GuessSystem("00"), GuessSystem("14W"), GuessSystem("20"))
	}
}

func TestParseSystemAndOutcome(t *testing.T) {
	for in, want := range map[string]System{"us_shoe": SystemUSShoe, "alpha": SystemAlpha, "numeric": SystemNumeric, "none": SystemNone, "": SystemNone} {
		if got, err := ParseSystem(in); err != nil || got != want {
			t.Errorf("ParseSystem(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSystem("eu_shoe"); err == nil {
		t.Error("unknown system accepted")
	}
	for in, want := range map[string]Outcome{"": OutcomeKept, "too_small": OutcomeTooSmall, "too_large": OutcomeTooLarge, "quality": OutcomeIgnored, "other": OutcomeIgnored} {
		if got := ParseOutcome(in); got != want {
			t.Errorf("ParseOutcome(%q) = %v", in, got)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"9", "9.5W", "9 1/2 (2E)", "M", "S/M", "X-Large", "32x30", "W34 L32", "½", "9½", "", "1/2", "..", "9,5", "xx-", "s/", "/m"} {
		for sys := System(0); sys < numSystems; sys++ {
			f.Add(uint8(sys), s)
		}
	}
	f.Fuzz(func(t *testing.T, sys uint8, label string) {
		s := System(sys % (numSystems + 1))
		v, err := ParseSize(s, label)
		if err != nil {
			if v != (Value{}) {
				t.Fatalf("error with a value: %+v", v)
			}
		}
		for sc := ScaleAuto; sc <= ScaleDress; sc++ {
			v, used, ok := parseLabelScale(s, sc, label)
			if w, err := ParseSizeIn(s, sc, label); ok != (err == nil) || ok && w != v {
				t.Fatalf("ParseSizeIn(%d, %s, %q) = %+v, %v; parseLabelScale %+v, %v", s, sc, label, w, err, v, ok)
			}
			if !ok {
				continue
			}
			lo, hi := scaleRange(s)
			if v.Pos < lo || v.Pos > hi || v.Width < 0 || v.Width > 3 {
				t.Fatalf("ParseSizeIn(%d, %s, %q) = %+v out of range", s, sc, label, v)
			}
			// the label of the scale it was read in, nearest the position, parses back to
			// within half a size (a dress step is up to two inches)
			l := LabelIn(s, used, v.Pos)
			if !utf8.ValidString(l) {
				t.Fatalf("label %q is not UTF-8", l)
			}
			tol := 0.5
			if used == ScaleDress {
				tol = 1
			}
			if w, ok := parseLabel(s, used, l); !ok || math.Abs(w.Pos-v.Pos) > tol {
				t.Fatalf("label %q (%s) of %v does not parse back: %+v %v", l, used, v.Pos, w, ok)
			}
		}
	})
}
