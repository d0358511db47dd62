package rank

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Snapshot encoding: a compact little-endian binary format, versioned, with the learned
// model carried as opaque bytes tagged by kind (the caller supplies the decoder, so this
// package does not depend on any one model implementation).

const snapshotFormat = 1

// ModelCodec turns a learned model into bytes and back.
type ModelCodec struct {
	Kind   byte // 0 is reserved for "no model"
	Encode func(Model) ([]byte, error)
	Decode func([]byte) (Model, error)
}

// MarshalSnapshot encodes s; codec encodes s.Model (ignored when s.Model is nil).
func MarshalSnapshot(s *Snapshot, codec *ModelCodec) ([]byte, error) {
	b := []byte{snapshotFormat}
	b = appendString(b, s.Version)
	for _, w := range s.Linear {
		b = appendF32(b, w)
	}
	b = appendF32(b, s.PriorStrength)
	for fi := range s.Shares {
		b = appendF32(b, s.DefaultShare[fi])
		b = appendU32Map(b, s.Shares[fi])
	}
	b = appendU32Map(b, s.ItemPopularity)
	keys := sortedKeys(s.QueryItem)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint64(b, k)
		b = appendF32(b, s.QueryItem[k])
	}
	ckeys := sortedKeys(s.CoVisit)
	b = binary.AppendUvarint(b, uint64(len(ckeys)))
	for _, k := range ckeys {
		ns := s.CoVisit[k]
		b = binary.LittleEndian.AppendUint32(b, k)
		b = binary.AppendUvarint(b, uint64(len(ns)))
		for _, n := range ns {
			b = binary.LittleEndian.AppendUint32(b, n.Item)
			b = appendF32(b, n.Weight)
		}
	}
	if s.Model == nil || codec == nil {
		return append(b, 0), nil
	}
	mb, err := codec.Encode(s.Model)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the snapshot's model: %w", err)
	}
	b = append(b, codec.Kind)
	b = binary.AppendUvarint(b, uint64(len(mb)))
	return append(b, mb...), nil
}

// ErrCorruptSnapshot is returned for bytes that are not an encoded snapshot.
var ErrCorruptSnapshot = errors.New("rank: corrupt snapshot encoding")

// UnmarshalSnapshot decodes a snapshot; codecs decode its model by kind.
func UnmarshalSnapshot(b []byte, codecs ...*ModelCodec) (*Snapshot, error) {
	d := &dec{b: b}
	if v := d.byte(); v != snapshotFormat {
		return nil, fmt.Errorf("rank: unknown snapshot format %d", v)
	}
	s := &Snapshot{}
	s.Version = d.string()
	for i := range s.Linear {
		s.Linear[i] = d.f32()
	}
	s.PriorStrength = d.f32()
	for fi := range s.Shares {
		s.DefaultShare[fi] = d.f32()
		s.Shares[fi] = d.u32Map()
	}
	s.ItemPopularity = d.u32Map()
	n := d.count(12)
	s.QueryItem = make(map[uint64]float32, n)
	for range n {
		k := d.u64()
		s.QueryItem[k] = d.f32()
	}
	n = d.count(5)
	s.CoVisit = make(map[uint32][]Neighbor, n)
	for range n {
		k := d.u32()
		m := d.count(8)
		ns := make([]Neighbor, m)
		for j := range ns {
			ns[j] = Neighbor{d.u32(), d.f32()}
		}
		s.CoVisit[k] = ns
	}
	kind := d.byte()
	if d.err != nil {
		return nil, d.err
	}
	if kind != 0 {
		mb := d.bytes(d.count(1))
		if d.err != nil {
			return nil, d.err
		}
		for _, c := range codecs {
			if c.Kind == kind {
				m, err := c.Decode(mb)
				if err != nil {
					return nil, fmt.Errorf("cannot decode the snapshot's model: %w", err)
				}
				s.Model = m
			}
		}
		if s.Model == nil {
			return nil, fmt.Errorf("rank: snapshot model of unknown kind %d", kind)
		}
	}
	if len(d.b) != 0 {
		return nil, ErrCorruptSnapshot
	}
	return s, nil
}

func sortedKeys[K uint32 | uint64, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendF32(b []byte, f float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
}

func appendU32Map(b []byte, m map[uint32]float32) []byte {
	keys := sortedKeys(m)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint32(b, k)
		b = appendF32(b, m[k])
	}
	return b
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) need(n int) bool {
	if d.err != nil || n < 0 || len(d.b) < n {
		d.err = ErrCorruptSnapshot
		return false
	}
	return true
}
func (d *dec) byte() byte {
	if !d.need(1) {
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
func (d *dec) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}
func (d *dec) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
func (d *dec) f32() float32 { return math.Float32frombits(d.u32()) }

// count reads a length whose items take at least minBytes each, refusing lengths the
// remaining bytes cannot hold (so corrupt input never makes a huge allocation).
func (d *dec) count(minBytes int) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(len(d.b)-n)/uint64(minBytes) {
		d.err = ErrCorruptSnapshot
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}
func (d *dec) bytes(n int) []byte {
	if !d.need(n) {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
func (d *dec) string() string { return string(d.bytes(d.count(1))) }
func (d *dec) u32Map() map[uint32]float32 {
	n := d.count(8)
	m := make(map[uint32]float32, n)
	for range n {
		k := d.u32()
		m[k] = d.f32()
	}
	return m
}
