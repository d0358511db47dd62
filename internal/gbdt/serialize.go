package gbdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// Binary model format, little endian:
//
//	magic "BSPKGBDT" | version u32 (=1)
//	numFeatures u32 | base f32 bits | output u8
//	objective: len u32 + bytes | hasNames u8 | names: (len u32 + bytes)×numFeatures
//	numTrees u32 | per tree: numNodes u32 | per node:
//	    left i32 | right i32 | feature u32 | threshold f32 bits | value f32 bits |
//	    defaultLeft u8 | gain f64 bits
//	crc32 (IEEE) of everything before it
//
// Floats are stored as their bits, so a model loads back exactly.
const (
	modelMagic   = "BSPKGBDT"
	modelVersion = 1
	nodeBytes    = 4 + 4 + 4 + 4 + 4 + 1 + 8
)

// MarshalBinary encodes the model in Bespoke's versioned binary format.
func (m *Model) MarshalBinary() ([]byte, error) {
	size := len(modelMagic) + 4 + 4 + 4 + 1 + 4 + len(m.objective) + 1 + 4 + 4
	for _, n := range m.featureNames {
		size += 4 + len(n)
	}
	for _, t := range m.trees {
		size += 4 + len(t)*nodeBytes
	}
	b := make([]byte, 0, size)
	le := binary.LittleEndian
	b = append(b, modelMagic...)
	b = le.AppendUint32(b, modelVersion)
	b = le.AppendUint32(b, uint32(m.numFeatures))
	b = le.AppendUint32(b, math.Float32bits(m.base))
	b = append(b, byte(m.output))
	b = appendString(b, m.objective)
	if m.featureNames != nil {
		b = append(b, 1)
		for _, n := range m.featureNames {
			b = appendString(b, n)
		}
	} else {
		b = append(b, 0)
	}
	b = le.AppendUint32(b, uint32(len(m.trees)))
	for _, t := range m.trees {
		b = le.AppendUint32(b, uint32(len(t)))
		for _, nd := range t {
			b = le.AppendUint32(b, uint32(int32(nd.Left)))
			b = le.AppendUint32(b, uint32(int32(nd.Right)))
			b = le.AppendUint32(b, uint32(nd.Feature))
			b = le.AppendUint32(b, math.Float32bits(nd.Threshold))
			b = le.AppendUint32(b, math.Float32bits(nd.Value))
			dl := byte(0)
			if nd.DefaultLeft {
				dl = 1
			}
			b = append(b, dl)
			b = le.AppendUint64(b, math.Float64bits(nd.Gain))
		}
	}
	b = le.AppendUint32(b, crc32.ChecksumIEEE(b))
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// UnmarshalModel decodes a model written by MarshalBinary. It verifies the magic,
// version and checksum and validates every tree before returning.
func UnmarshalModel(data []byte) (*Model, error) {
	if len(data) < len(modelMagic)+8 || string(data[:len(modelMagic)]) != modelMagic {
		return nil, errors.New("cannot load gbdt model: not a Bespoke model (bad magic)")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("cannot load gbdt model: checksum mismatch (corrupt or truncated)")
	}
	r := reader{b: body[len(modelMagic):]}
	if v := r.u32(); v != modelVersion {
		if r.err != nil {
			return nil, r.fail()
		}
		return nil, fmt.Errorf("cannot load gbdt model: version %d, this build reads version %d", v, modelVersion)
	}
	numFeatures := r.u32()
	base := math.Float32frombits(r.u32())
	output := Output(r.u8())
	objective := r.str()
	var names []string
	if r.u8() == 1 {
		if uint64(numFeatures)*4 > uint64(len(r.b)) {
			return nil, errors.New("cannot load gbdt model: feature names run past the end")
		}
		names = make([]string, numFeatures)
		for i := range names {
			names[i] = r.str()
		}
	}
	numTrees := r.u32()
	if r.err != nil {
		return nil, r.fail()
	}
	if uint64(numTrees)*4 > uint64(len(r.b)) {
		return nil, fmt.Errorf("cannot load gbdt model: %d trees do not fit in %d bytes", numTrees, len(r.b))
	}
	trees := make([][]TreeNode, numTrees)
	for ti := range trees {
		nn := r.u32()
		if r.err != nil {
			return nil, r.fail()
		}
		if uint64(nn)*nodeBytes > uint64(len(r.b)) {
			return nil, fmt.Errorf("cannot load gbdt model: tree %d with %d nodes runs past the end", ti, nn)
		}
		t := make([]TreeNode, nn)
		for i := range t {
			t[i] = TreeNode{
				Left:      int(int32(r.u32())),
				Right:     int(int32(r.u32())),
				Feature:   int(r.u32()),
				Threshold: math.Float32frombits(r.u32()),
				Value:     math.Float32frombits(r.u32()),
			}
			t[i].DefaultLeft = r.u8() == 1
			t[i].Gain = math.Float64frombits(r.u64())
		}
		trees[ti] = t
	}
	if r.err != nil {
		return nil, r.fail()
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("cannot load gbdt model: %d unexpected bytes after the trees", len(r.b))
	}
	m, err := NewModel(int(numFeatures), base, output, objective, names, trees)
	if err != nil {
		return nil, fmt.Errorf("cannot load gbdt model: %w", err)
	}
	return m, nil
}

// reader decodes little-endian values and remembers the first overrun.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		if r.err == nil {
			r.err = errors.New("unexpected end of data")
		}
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (r *reader) str() string {
	n := r.u32()
	if r.err == nil && uint64(n) > uint64(len(r.b)) {
		r.err = fmt.Errorf("string of %d bytes runs past the end", n)
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) fail() error { return fmt.Errorf("cannot load gbdt model: %w", r.err) }
