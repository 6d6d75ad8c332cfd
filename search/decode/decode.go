// Package decode reconstructs ColBERTv2 residual-compressed vectors
// (codec/residual's format) on the search path: centroid + bucket weight per
// dimension, then L2-normalised. It gives the same vectors as
// residual.Codec.Decompress, with an AVX-512 kernel for the default 2 bits
// (the reconstruction dominates exact scoring otherwise).
package decode

import (
	"fmt"

	"github.com/colbert-go/colbert/codec/residual"
)

// Decoder is immutable and safe for concurrent use.
type Decoder struct {
	dim, nbits int
	centroids  []float32
	codec      *residual.Codec // decodes when the SIMD path does not apply
	lut2       [256][4]float32 // weights of the 4 two-bit dims packed in a byte
	simd       bool
}

// New builds a decoder from a codec's tables.
func New(c *residual.Codec) (*Decoder, error) {
	if c.NBits != 1 && c.NBits != 2 && c.NBits != 4 {
		return nil, fmt.Errorf("decode: nbits %d", c.NBits)
	}
	if c.Dim <= 0 || c.Dim%8 != 0 || len(c.Centroids)%c.Dim != 0 || len(c.Weights) != 1<<c.NBits {
		return nil, fmt.Errorf("decode: inconsistent codec (dim %d, %d centroid floats, %d weights)", c.Dim, len(c.Centroids), len(c.Weights))
	}
	d := &Decoder{dim: c.Dim, nbits: c.NBits, centroids: c.Centroids, codec: c}
	if c.NBits == 2 {
		// Stream bit k of a packed vector is bit 7−k%8 of byte k/8; dimension
		// j of a byte holds stream bits 2j, 2j+1, least significant first
		// (the layout of package residual).
		for v := 0; v < 256; v++ {
			for j := 0; j < 4; j++ {
				q := (v>>(7-2*j))&1 | (v>>(6-2*j)&1)<<1
				d.lut2[v][j] = c.Weights[q]
			}
		}
	}
	d.simd = hasAVX512 && c.NBits == 2 && c.Dim%16 == 0
	return d, nil
}

// Dim is the vector dimension.
func (d *Decoder) Dim() int { return d.dim }

// PackedSize is the residual bytes per vector.
func (d *Decoder) PackedSize() int { return d.dim * d.nbits / 8 }

// Decode reconstructs len(codes) vectors from their codes and packed
// residuals into dst (grown if needed) and returns it.
func (d *Decoder) Decode(codes []int32, packed []byte, dst []float32) ([]float32, error) {
	n, ps := len(codes), d.PackedSize()
	if len(packed) != n*ps {
		return dst, fmt.Errorf("decode: %d residual bytes for %d vectors of %d bytes", len(packed), n, ps)
	}
	k := int32(len(d.centroids) / d.dim)
	for i, c := range codes {
		if c < 0 || c >= k {
			return dst, fmt.Errorf("decode: vector %d has code %d outside [0,%d)", i, c, k)
		}
	}
	if cap(dst) < n*d.dim {
		dst = make([]float32, n*d.dim)
	}
	dst = dst[:n*d.dim]
	if n == 0 {
		return dst, nil
	}
	if d.simd {
		decode2AVX512(&d.centroids[0], &codes[0], n, &packed[0], &d.lut2, &dst[0], d.dim)
		return dst, nil
	}
	for i, c := range codes {
		d.codec.DecompressOne(c, packed[i*ps:(i+1)*ps], dst[i*d.dim:(i+1)*d.dim])
	}
	return dst, nil
}
