package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPrefixEnd(t *testing.T) {
	cases := []struct{ in, want []byte }{
		{[]byte("a"), []byte("b")},
		{[]byte("p/1/"), []byte("p/10")},
		{[]byte{'a', 0xff}, []byte("b")},
		{[]byte{0xff, 0xff}, nil},
		{[]byte{0x00}, []byte{0x01}},
	}
	for _, c := range cases {
		got := PrefixEnd(c.in)
		if !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	in := []byte("ab")
	_ = PrefixEnd(in)
	if string(in) != "ab" {
		t.Fatalf("PrefixEnd modified its input: %q", in)
	}
}

func TestCheckKey(t *testing.T) {
	if err := CheckKey(nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("CheckKey(nil) = %v, want ErrInvalidKey", err)
	}
	if err := CheckKey([]byte(strings.Repeat("k", MaxKeyLen+1))); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("CheckKey(too long) = %v, want ErrInvalidKey", err)
	}
	if err := CheckKey([]byte(strings.Repeat("k", MaxKeyLen))); err != nil {
		t.Errorf("CheckKey(max) = %v", err)
	}
	if err := CheckPrefix([]byte{}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("CheckPrefix(empty) = %v, want ErrInvalidKey", err)
	}
}

func TestDedupLastWins(t *testing.T) {
	in := []KV{{[]byte("a"), []byte("1")}, {[]byte("b"), []byte("2")}, {[]byte("a"), []byte("3")}}
	out := DedupLastWins(in)
	if len(out) != 2 || string(out[0].Key) != "a" || string(out[0].Value) != "3" || string(out[1].Key) != "b" || string(out[1].Value) != "2" {
		t.Fatalf("DedupLastWins = %q", out)
	}
	uniq := []KV{{[]byte("a"), nil}, {[]byte("b"), nil}}
	if got := DedupLastWins(uniq); &got[0] != &uniq[0] {
		t.Fatalf("DedupLastWins copied a batch without duplicates")
	}
}

// FuzzPrefixEnd checks that PrefixEnd bounds exactly the keys that start with the prefix.
func FuzzPrefixEnd(f *testing.F) {
	f.Add([]byte("p/1/"), []byte("p/1/alice"))
	f.Add([]byte{0xff}, []byte{0xff, 0x00})
	f.Add([]byte{'a', 0xff}, []byte("b"))
	f.Fuzz(func(t *testing.T, prefix, key []byte) {
		if len(prefix) == 0 {
			return
		}
		end := PrefixEnd(prefix)
		has := bytes.HasPrefix(key, prefix)
		inRange := bytes.Compare(key, prefix) >= 0 && (end == nil || bytes.Compare(key, end) < 0)
		if has != inRange {
			t.Fatalf("prefix %x end %x key %x: HasPrefix=%v but in [prefix,end)=%v", prefix, end, key, has, inRange)
		}
	})
}
