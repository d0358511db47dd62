package binenc

import (
	"encoding/binary"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = append(b, 7)
	b = binary.LittleEndian.AppendUint32(b, 0xdeadbeef)
	b = binary.LittleEndian.AppendUint64(b, 1<<40)
	b = AppendF32(b, 1.5)
	b = AppendBF16(b, 9.5)
	b = binary.AppendVarint(b, -42)
	b = AppendString(b, "hello")
	r := NewReader(b)
	if r.Byte() != 7 || r.U32() != 0xdeadbeef || r.U64() != 1<<40 || r.F32() != 1.5 || r.BF16() != 9.5 || r.Varint() != -42 || r.String() != "hello" {
		t.Fatal("values differ after a round trip")
	}
	if r.Err() != nil || r.Len() != 0 {
		t.Fatalf("err %v, %d bytes left", r.Err(), r.Len())
	}
	r.Byte()
	if r.Err() != ErrCorrupt {
		t.Fatal("reading past the end must fail")
	}
}

func TestCountRefusesImpossibleLengths(t *testing.T) {
	r := NewReader(binary.AppendUvarint(nil, 1<<40))
	if n := r.Count(1); n != 0 || r.Err() == nil {
		t.Fatalf("a length larger than the input must be refused, got %d", n)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		for r.Err() == nil && r.Len() > 0 {
			_ = r.String()
			_ = r.Count(4)
			_ = r.BF16()
		}
	})
}
