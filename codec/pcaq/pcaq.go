// Package pcaq is a PCA + int8 vector codec, a baseline for the compression
// experiments: vectors are centred, projected on the top principal
// components of a training sample, and each component is quantised to a
// signed byte with its own scale. Decoding projects back and L2-normalises.
package pcaq

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Codec is a fitted PCA + int8 codec; immutable and safe for concurrent use.
type Codec struct {
	Dim, Components int
	Mean            []float32 // Dim
	Basis           []float32 // Components×Dim, orthonormal rows
	Scale           []float32 // per component: value of int8 127
}

// Fit computes the principal components of sample (n×dim) and the int8
// scales (the largest |projection| per component in the sample).
func Fit(sample []float32, dim, components int) (*Codec, error) {
	if dim <= 0 || len(sample)%dim != 0 || len(sample) < 2*dim {
		return nil, fmt.Errorf("pcaq: need ≥ 2 sample vectors of dim %d, got %d values", dim, len(sample))
	}
	if components <= 0 || components > dim {
		return nil, fmt.Errorf("pcaq: components %d outside 1…%d", components, dim)
	}
	n := len(sample) / dim
	mean := make([]float64, dim)
	for i := 0; i < n; i++ {
		for d := 0; d < dim; d++ {
			mean[d] += float64(sample[i*dim+d])
		}
	}
	for d := range mean {
		mean[d] /= float64(n)
	}
	cov := mat.NewSymDense(dim, nil)
	row := make([]float64, dim)
	for i := 0; i < n; i++ {
		for d := 0; d < dim; d++ {
			row[d] = float64(sample[i*dim+d]) - mean[d]
		}
		cov.SymRankOne(cov, 1/float64(n-1), mat.NewVecDense(dim, row))
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, fmt.Errorf("pcaq: eigendecomposition failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, dim)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	c := &Codec{Dim: dim, Components: components, Mean: make([]float32, dim),
		Basis: make([]float32, components*dim), Scale: make([]float32, components)}
	for d := range mean {
		c.Mean[d] = float32(mean[d])
	}
	for j := 0; j < components; j++ {
		for d := 0; d < dim; d++ {
			c.Basis[j*dim+d] = float32(vecs.At(d, order[j]))
		}
	}
	y := make([]float32, components)
	for i := 0; i < n; i++ {
		c.project(sample[i*dim:(i+1)*dim], y)
		for j, v := range y {
			c.Scale[j] = max(c.Scale[j], float32(math.Abs(float64(v))))
		}
	}
	for j := range c.Scale {
		if c.Scale[j] == 0 {
			c.Scale[j] = 1
		}
	}
	return c, nil
}

func (c *Codec) project(x, y []float32) {
	for j := range y {
		b := c.Basis[j*c.Dim : (j+1)*c.Dim]
		var s float32
		for d, v := range x {
			s += (v - c.Mean[d]) * b[d]
		}
		y[j] = s
	}
}

// Name implements compare.VectorCodec.
func (c *Codec) Name() string { return fmt.Sprintf("pca%d-int8", c.Components) }

// BytesPerVector is one byte per component.
func (c *Codec) BytesPerVector() int { return c.Components }

// Encode writes one int8 per component per vector (clamped to ±127).
func (c *Codec) Encode(vecs []float32, dst []byte) {
	y := make([]float32, c.Components)
	for i := 0; i < len(vecs)/c.Dim; i++ {
		c.project(vecs[i*c.Dim:(i+1)*c.Dim], y)
		for j, v := range y {
			q := math.Round(float64(v / c.Scale[j] * 127))
			dst[i*c.Components+j] = byte(int8(max(-127, min(127, q))))
		}
	}
}

// Decode reconstructs unit vectors.
func (c *Codec) Decode(src []byte, dst []float32) {
	for i := 0; i < len(dst)/c.Dim; i++ {
		x := dst[i*c.Dim : (i+1)*c.Dim]
		copy(x, c.Mean)
		for j := 0; j < c.Components; j++ {
			w := float32(int8(src[i*c.Components+j])) * c.Scale[j] / 127
			b := c.Basis[j*c.Dim : (j+1)*c.Dim]
			for d := range x {
				x[d] += w * b[d]
			}
		}
		var s float32
		for _, v := range x {
			s += v * v
		}
		if s > 0 {
			inv := float32(1 / math.Sqrt(float64(s)))
			for d := range x {
				x[d] *= inv
			}
		}
	}
}
