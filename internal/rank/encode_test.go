package rank

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

var linearCodec = &ModelCodec{
	Kind: 7,
	Encode: func(m Model) ([]byte, error) {
		var b []byte
		for _, w := range m.(constModel).w {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(w))
		}
		return b, nil
	},
	Decode: func(b []byte) (Model, error) {
		if len(b) != 4*NumFeatures {
			return nil, errors.New("bad model")
		}
		var m constModel
		for i := range m.w {
			m.w[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return m, nil
	},
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := NewDefaultSnapshot()
	s.Version = "v20261126-1"
	s.QueryItem = map[uint64]float32{PairKey(1, 2): 0.5, PairKey(3, 4): -1}
	s.ItemPopularity = map[uint32]float32{9: 2.5}
	s.CoVisit = map[uint32][]Neighbor{5: {{6, 1.5}, {7, 0.25}}}
	s.Shares[0] = map[uint32]float32{11: 0.1}
	var w [NumFeatures]float32
	w[FText] = 3
	s.Model = constModel{w}
	b, err := MarshalSnapshot(s, linearCodec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalSnapshot(b, linearCodec)
	if err != nil {
		t.Fatal(err)
	}
	for fi := 1; fi < len(got.Shares); fi++ {
		if len(got.Shares[fi]) == 0 {
			got.Shares[fi], s.Shares[fi] = nil, nil
		}
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip differs:\n%+v\n%+v", got, s)
	}
	if _, err := UnmarshalSnapshot(b); err == nil {
		t.Error("a model of unknown kind must be refused")
	}
	if _, err := UnmarshalSnapshot(b[:len(b)-3], linearCodec); err == nil {
		t.Error("truncated snapshot must be refused")
	}
	for v := byte(1); v < snapshotFormat; v++ {
		old := append([]byte{v}, b[1:]...)
		if _, err := UnmarshalSnapshot(old, linearCodec); err == nil || !strings.Contains(err.Error(), "older Bespoke") || !strings.Contains(err.Error(), "bespoke train") {
			t.Errorf("a format %d snapshot: %v; want a refusal that says to retrain", v, err)
		}
	}
}

func FuzzUnmarshalSnapshot(f *testing.F) {
	s := NewDefaultSnapshot()
	s.QueryItem = map[uint64]float32{1: 1}
	b, _ := MarshalSnapshot(s, nil)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = UnmarshalSnapshot(b, linearCodec)
	})
}
