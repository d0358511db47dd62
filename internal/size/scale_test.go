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
		{SystemUSShoe, ""}, {SystemUSShoe, "9.25"}, {SystemUSShoe, "3.5"}, {SystemUSShoe, "16"}, {SystemUSShoe, "nine"},
		{SystemUSShoe, "9 purple"}, {SystemUSShoe, "NaN"}, {SystemUSShoe, "1e1"}, {SystemUSShoe, strings.Repeat("9", 100)},
		{SystemAlpha, "XXXXL"}, {SystemAlpha, "S/L"}, {SystemAlpha, "one size"}, {SystemAlpha, "9"},
		{SystemNumeric, "20"}, {SystemNumeric, "32x99"}, {SystemNumeric, "M"}, {SystemNumeric, "32 banana"},
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
			return
		}
		lo, hi := scaleRange(s)
		if v.Pos < lo || v.Pos > hi || v.Width < 0 || v.Width > 3 {
			t.Fatalf("ParseSize(%d, %q) = %+v out of range", s, label, v)
		}
		// the standard label nearest the position parses back to within half a size
		l := Label(s, v.Pos)
		if !utf8.ValidString(l) {
			t.Fatalf("label %q is not UTF-8", l)
		}
		if w, err := ParseSize(s, l); err != nil || math.Abs(w.Pos-v.Pos) > 0.5 {
			t.Fatalf("label %q of %v does not parse back: %+v %v", l, v.Pos, w, err)
		}
	})
}
