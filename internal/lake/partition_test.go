package lake

import (
	"strings"
	"testing"
	"time"
)

func TestPartitionLayoutAndEscaping(t *testing.T) {
	ts := time.Date(2026, 11, 20, 7, 59, 59, 0, time.FixedZone("x", 3600)) // 06:59:59 UTC
	cases := map[string]string{
		"Product Clicked": "events/event=Product%20Clicked/dt=2026-11-20/hour=06",
		"identify":        "events/event=identify/dt=2026-11-20/hour=06",
		"a/b=c%d?":        "events/event=a%2Fb%3Dc%25d%3F/dt=2026-11-20/hour=06",
		"ünï":             "events/event=%C3%BCn%C3%AF/dt=2026-11-20/hour=06",
	}
	for name, want := range cases {
		p := PartitionOf(name, ts)
		if got := p.Dir(); got != want {
			t.Errorf("Dir(%q) = %q, want %q", name, got, want)
		}
		fk, err := ParseEventKey(p.Dir() + "/x.parquet")
		if err != nil {
			t.Fatalf("ParseEventKey(%q): %v", p.Dir(), err)
		}
		if fk.Partition != p || fk.Name != "x.parquet" {
			t.Errorf("round trip of %q: got %+v, want %+v", name, fk.Partition, p)
		}
	}
	long := strings.Repeat("é", 150)
	esc := EscapeName(long)
	if len(esc) > maxEscapedName || !strings.Contains(esc, "~") {
		t.Errorf("long name escaped to %d bytes (%q), want ≤ %d with a hash suffix", len(esc), esc, maxEscapedName)
	}
	if EscapeName(long+"x") == esc {
		t.Error("two long names that differ escape to the same segment")
	}
	for _, bad := range []string{
		"events/event=a/dt=2026-11-20/hour=24/x.parquet",
		"events/event=a/dt=2026-13-20/hour=01/x.parquet",
		"events/event=a/dt=2026-11-20/hour=01/x.json",
		"events/event=a/dt=2026-11-20/hour=01/.x.parquet",
		"events/event=%zz/dt=2026-11-20/hour=01/x.parquet",
		"events/event=/dt=2026-11-20/hour=01/x.parquet",
		"events/event=a/dt=2026-11-20/x.parquet",
		"dead_letters/dt=2026-11-20/x.parquet",
	} {
		if _, err := ParseEventKey(bad); err == nil {
			t.Errorf("ParseEventKey(%q) accepted a bad key", bad)
		}
	}
}

func FuzzParseEventKey(f *testing.F) {
	f.Add("events/event=Product%20Clicked/dt=2026-11-20/hour=06/x.parquet")
	f.Add("events/event=%/dt=2026-11-20/hour=06/x.parquet")
	f.Add("events/event=a/dt=9999-12-31/hour=23/c-1.parquet")
	f.Fuzz(func(t *testing.T, key string) {
		fk, err := ParseEventKey(key)
		if err != nil {
			return
		}
		// a parsed key of an uncut name re-forms to the same folder
		if !strings.Contains(fk.Escaped, "~") || len(fk.Escaped) < maxEscapedName-17 {
			if got := fk.Partition.Dir() + "/" + fk.Name; EscapeName(fk.Partition.Event) == fk.Escaped && got != key {
				t.Fatalf("key %q re-formed as %q", key, got)
			}
		}
	})
}

func FuzzEscapeName(f *testing.F) {
	f.Add("Product Clicked")
	f.Add("a/b=c%d")
	f.Add("\xff\x00")
	f.Fuzz(func(t *testing.T, name string) {
		esc := EscapeName(name)
		if len(esc) > maxEscapedName {
			t.Fatalf("escaped %q is %d bytes", name, len(esc))
		}
		for i := 0; i < len(esc); i++ {
			if c := esc[i]; !isUnreserved(c) && c != '%' {
				t.Fatalf("escaped %q contains %q", name, c)
			}
		}
		if !strings.Contains(esc, "~") || len(name)*3 <= maxEscapedName {
			back, err := UnescapeName(esc)
			if err != nil || back != name {
				t.Fatalf("UnescapeName(EscapeName(%q)) = %q, %v", name, back, err)
			}
		}
	})
}
