// Package binenc reads the compact little-endian encodings that Bespoke stores in the
// online store (profiles, ranking snapshots): fixed-width numbers, varints, bfloat16s and
// length-prefixed bytes, with one sticky error instead of a check after every field.
//
// It exists because encoding/binary has no reader that bounds lengths by the bytes left;
// a corrupt length must never cause a huge allocation or a panic. It never allocates
// except in String.
package binenc

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrCorrupt is the sticky error of a Reader that ran out of bytes or met an impossible length.
var ErrCorrupt = errors.New("corrupt encoding")

// Reader decodes values from a byte slice; after the first error every read returns zero.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads from b (not copied).
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) }

func (r *Reader) need(n int) bool {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.err = ErrCorrupt
		return false
	}
	return true
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if !r.need(1) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// U32 reads a little-endian uint32.
func (r *Reader) U32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// U64 reads a little-endian uint64.
func (r *Reader) U64() uint64 {
	if !r.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// F32 reads a float32.
func (r *Reader) F32() float32 { return math.Float32frombits(r.U32()) }

// BF16 reads a bfloat16 (the upper half of a float32) written by AppendBF16.
func (r *Reader) BF16() float32 {
	if !r.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return math.Float32frombits(uint32(v) << 16)
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Count reads a length whose items take at least minBytes each and refuses lengths the
// remaining bytes cannot hold, so corrupt input never makes a huge allocation.
func (r *Reader) Count(minBytes int) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || minBytes < 1 || v > uint64(len(r.b)-n)/uint64(minBytes) {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

// Bytes reads n bytes (sharing the input's memory).
func (r *Reader) Bytes(n int) []byte {
	if !r.need(n) {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// String reads a string written by AppendString.
func (r *Reader) String() string { return string(r.Bytes(r.Count(1))) }

// AppendF32 appends float32s little-endian.
func AppendF32(b []byte, fs ...float32) []byte {
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

// AppendBF16 appends a float32 in 2 bytes (bfloat16: its upper half, rounded to
// nearest even), which keeps about 3 significant digits.
func AppendBF16(b []byte, f float32) []byte {
	bits := math.Float32bits(f)
	bits += 0x7fff + (bits>>16)&1
	return binary.LittleEndian.AppendUint16(b, uint16(bits>>16))
}

// AppendString appends a length-prefixed string.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// U16 reads a little-endian uint16.
func (r *Reader) U16() uint16 {
	if !r.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

// F64 reads a float64.
func (r *Reader) F64() float64 { return math.Float64frombits(r.U64()) }

// Fail makes err the Reader's sticky error (for checks of decoded values by the caller).
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// AppendF64 appends float64s little-endian.
func AppendF64(b []byte, fs ...float64) []byte {
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}
