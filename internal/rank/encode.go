package rank

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/bespokesearch/bespoke/internal/binenc"
	"slices"
)

// Snapshot encoding: a compact little-endian binary format, versioned, with the learned
// model carried as opaque bytes tagged by kind (the caller supplies the decoder, so this
// package does not depend on any one model implementation).

// snapshotFormat 2 added the gender affinity feature and facet, 3 the width's. Older
// snapshots are refused (their learned models score fewer features than
// NumFeatures): retrain.
const snapshotFormat = 3

// ModelCodec turns a learned model into bytes and back.
type ModelCodec struct {
	Kind   byte // 0 is reserved for "no model"
	Encode func(Model) ([]byte, error)
	Decode func([]byte) (Model, error)
}

// MarshalSnapshot encodes s; codec encodes s.Model (ignored when s.Model is nil).
func MarshalSnapshot(s *Snapshot, codec *ModelCodec) ([]byte, error) {
	b := []byte{snapshotFormat}
	b = binenc.AppendString(b, s.Version)
	for _, w := range s.Linear {
		b = binenc.AppendF32(b, w)
	}
	b = binenc.AppendF32(b, s.PriorStrength)
	for fi := range s.Shares {
		b = binenc.AppendF32(b, s.DefaultShare[fi])
		b = appendU32Map(b, s.Shares[fi])
	}
	b = appendU32Map(b, s.ItemPopularity)
	keys := sortedKeys(s.QueryItem)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint64(b, k)
		b = binenc.AppendF32(b, s.QueryItem[k])
	}
	ckeys := sortedKeys(s.CoVisit)
	b = binary.AppendUvarint(b, uint64(len(ckeys)))
	for _, k := range ckeys {
		ns := s.CoVisit[k]
		b = binary.LittleEndian.AppendUint32(b, k)
		b = binary.AppendUvarint(b, uint64(len(ns)))
		for _, n := range ns {
			b = binary.LittleEndian.AppendUint32(b, n.Item)
			b = binenc.AppendF32(b, n.Weight)
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
	d := binenc.NewReader(b)
	switch v := d.Byte(); {
	case v == snapshotFormat:
	case v > 0 && v < snapshotFormat:
		return nil, fmt.Errorf("rank: snapshot format %d was written by an older Bespoke, whose ranking had fewer features; train a new model (bespoke train)", v)
	default:
		return nil, fmt.Errorf("rank: unknown snapshot format %d", v)
	}
	s := &Snapshot{}
	s.Version = d.String()
	for i := range s.Linear {
		s.Linear[i] = d.F32()
	}
	s.PriorStrength = d.F32()
	for fi := range s.Shares {
		s.DefaultShare[fi] = d.F32()
		s.Shares[fi] = u32Map(d)
	}
	s.ItemPopularity = u32Map(d)
	n := d.Count(12)
	s.QueryItem = make(map[uint64]float32, n)
	for range n {
		k := d.U64()
		s.QueryItem[k] = d.F32()
	}
	n = d.Count(5)
	s.CoVisit = make(map[uint32][]Neighbor, n)
	for range n {
		k := d.U32()
		m := d.Count(8)
		ns := make([]Neighbor, m)
		for j := range ns {
			ns[j] = Neighbor{d.U32(), d.F32()}
		}
		s.CoVisit[k] = ns
	}
	kind := d.Byte()
	if d.Err() != nil {
		return nil, ErrCorruptSnapshot
	}
	if kind != 0 {
		mb := d.Bytes(d.Count(1))
		if d.Err() != nil {
			return nil, ErrCorruptSnapshot
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
	if d.Len() != 0 {
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

func appendU32Map(b []byte, m map[uint32]float32) []byte {
	keys := sortedKeys(m)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint32(b, k)
		b = binenc.AppendF32(b, m[k])
	}
	return b
}

func u32Map(d *binenc.Reader) map[uint32]float32 {
	n := d.Count(8)
	m := make(map[uint32]float32, n)
	for range n {
		k := d.U32()
		m[k] = d.F32()
	}
	return m
}
