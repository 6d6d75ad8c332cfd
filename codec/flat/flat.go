// Package flat holds the uncompressed baselines of the compression
// experiments ("naive index"): float32 and float16 vectors.
package flat

import (
	"encoding/binary"
	"math"
)

// FP32 stores vectors as little-endian float32 (4·dim bytes).
type FP32 struct{ Dim int }

// Name implements compare.VectorCodec.
func (c FP32) Name() string { return "fp32" }

// BytesPerVector is 4·Dim.
func (c FP32) BytesPerVector() int { return 4 * c.Dim }

// Encode writes the vectors' bits.
func (c FP32) Encode(vecs []float32, dst []byte) {
	for i, v := range vecs {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// Decode reads them back exactly.
func (c FP32) Decode(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// FP16 stores vectors as little-endian IEEE binary16 (2·dim bytes), rounded
// to nearest even, as PyTorch's .half().
type FP16 struct{ Dim int }

// Name implements compare.VectorCodec.
func (c FP16) Name() string { return "fp16" }

// BytesPerVector is 2·Dim.
func (c FP16) BytesPerVector() int { return 2 * c.Dim }

// Encode converts to half precision.
func (c FP16) Encode(vecs []float32, dst []byte) {
	for i, v := range vecs {
		binary.LittleEndian.PutUint16(dst[2*i:], ToHalf(v))
	}
}

// Decode converts back to float32.
func (c FP16) Decode(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = FromHalf(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// ToHalf rounds a float32 to the nearest binary16 (ties to even), with
// overflow to ±Inf, gradual underflow to subnormals, and NaN kept NaN.
func ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflow
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e <= 0 {
		// Subnormal half (or zero): value = m·2^-24 with the implicit bit.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint(14 - e) // 13 + (1 − e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, up to Inf: correct
	}
	return sign | uint16(h)
}

// FromHalf converts binary16 to float32 exactly.
func FromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
