// Package residual is ColBERTv2's residual compression: every vector is
// stored as the id of its nearest centroid (by dot product) plus its residual
// quantised to nbits ∈ {1, 2, 4} per dimension with one global bucket table.
//
// Bit layout of a packed residual (identical to Stanford ColBERT's
// ResidualCodec, so a vector's bytes match [SF] for the same buckets): with
// dim dimensions and b bits, bucket index q_d of dimension d contributes the
// b stream bits s[d·b+j] = (q_d >> j) & 1, j = 0…b−1 (least significant bit
// first per value); stream bit k is then stored in byte k/8 at bit position
// 7 − k%8 (most significant bit first within a byte, numpy.packbits order).
// A vector takes dim·b/8 bytes; vectors are concatenated.
package residual

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/colbert-go/colbert/codec/kmeans"
)

// Codec compresses and decompresses unit vectors against fixed centroids.
// It is immutable once built and safe for concurrent use.
type Codec struct {
	Dim, NBits int
	Centroids  []float32 // K×Dim, row-major, unit vectors
	Cutoffs    []float32 // 2^NBits − 1 increasing bucket boundaries
	Weights    []float32 // 2^NBits bucket values
	// AvgResidual is the mean absolute held-out residual per dimension (as
	// [SF]'s avg_residual); informational.
	AvgResidual []float32

	// lut[byte] holds the weights of the 8/NBits dimensions packed in that
	// byte value, in dimension order.
	lut [256][8]float32
}

// New checks the tables and builds the decompression lookup table.
func New(dim, nbits int, centroids, cutoffs, weights []float32) (*Codec, error) {
	if err := checkShape(dim, nbits); err != nil {
		return nil, err
	}
	if len(centroids) == 0 || len(centroids)%dim != 0 {
		return nil, fmt.Errorf("residual: %d centroid values are not K×%d", len(centroids), dim)
	}
	nb := 1 << nbits
	if len(cutoffs) != nb-1 || len(weights) != nb {
		return nil, fmt.Errorf("residual: %d bits need %d cutoffs and %d weights, got %d and %d", nbits, nb-1, nb, len(cutoffs), len(weights))
	}
	for i := 1; i < len(cutoffs); i++ {
		if !(cutoffs[i] >= cutoffs[i-1]) {
			return nil, fmt.Errorf("residual: bucket cutoffs not increasing at %d (%g after %g)", i, cutoffs[i], cutoffs[i-1])
		}
	}
	for _, w := range weights {
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
			return nil, fmt.Errorf("residual: non-finite bucket weight %g", w)
		}
	}
	c := &Codec{Dim: dim, NBits: nbits, Centroids: centroids, Cutoffs: cutoffs, Weights: weights}
	per := 8 / nbits
	for v := 0; v < 256; v++ {
		for j := 0; j < per; j++ {
			// Dimension j of this byte occupies stream bits j·b … j·b+b−1,
			// i.e. byte bits 7−j·b … 7−j·b−b+1, LSB of the value first.
			q := 0
			for t := 0; t < nbits; t++ {
				bit := (v >> (7 - (j*nbits + t))) & 1
				q |= bit << t
			}
			c.lut[v][j] = weights[q]
		}
	}
	return c, nil
}

// checkShape rejects the precisions and dimensions a packed residual
// cannot hold (whole bytes per vector, whole values per byte).
func checkShape(dim, nbits int) error {
	if nbits != 1 && nbits != 2 && nbits != 4 {
		return fmt.Errorf("residual: nbits must be 1, 2 or 4, got %d", nbits)
	}
	if dim <= 0 || dim%8 != 0 {
		return fmt.Errorf("residual: dim must be a positive multiple of 8, got %d", dim)
	}
	return nil
}

// Fit builds a codec whose bucket table comes from the residuals of the
// held-out vectors against their nearest centroids (ColBERTv2's procedure):
// the last step of Train, for centroids trained elsewhere.
func Fit(centroids []float32, dim, nbits int, heldout []float32, threads int) (*Codec, error) {
	return FitContext(context.Background(), centroids, dim, nbits, heldout, threads)
}

// FitContext is Fit that stops with ctx's error when ctx is done while the
// held-out vectors are assigned (up to 50 000 × K dot products: seconds to
// minutes for a large K).
func FitContext(ctx context.Context, centroids []float32, dim, nbits int, heldout []float32, threads int) (*Codec, error) {
	if len(heldout) == 0 || len(heldout)%dim != 0 {
		return nil, fmt.Errorf("residual: %d held-out values are not n×%d (n ≥ 1)", len(heldout), dim)
	}
	codes, err := kmeans.NearestDotContext(ctx, heldout, dim, centroids, threads, nil)
	if err != nil {
		return nil, err
	}
	res := make([]float32, len(heldout))
	avg := make([]float64, dim)
	for i, c := range codes {
		x := heldout[i*dim : (i+1)*dim]
		cen := centroids[int(c)*dim : (int(c)+1)*dim]
		r := res[i*dim : (i+1)*dim]
		for d := range r {
			r[d] = x[d] - cen[d]
			avg[d] += math.Abs(float64(r[d]))
		}
	}
	cut, w := Buckets(res, nbits)
	c, err := New(dim, nbits, centroids, cut, w)
	if err != nil {
		return nil, err
	}
	c.AvgResidual = make([]float32, dim)
	for d := range avg {
		c.AvgResidual[d] = float32(avg[d] / float64(len(codes)))
	}
	return c, nil
}

// Buckets returns the cutoffs (quantiles i/2^b, i = 1…2^b−1) and weights
// (quantiles (i+0.5)/2^b, i = 0…2^b−1) of the pooled values, with the linear
// interpolation of torch.quantile. The values are reordered in place by
// selection; nothing is sorted in full.
func Buckets(values []float32, nbits int) (cutoffs, weights []float32) {
	nb := 1 << nbits
	qs := make([]float64, 0, 2*nb-1)
	for i := 1; i < nb; i++ {
		qs = append(qs, float64(i)/float64(nb))
	}
	for i := 0; i < nb; i++ {
		qs = append(qs, (float64(i)+0.5)/float64(nb))
	}
	vals := Quantiles(values, qs)
	return vals[:nb-1], vals[nb-1:]
}

// Compress writes, for the n = len(vecs)/Dim vectors, their centroid ids
// into codes[:n] and their packed residuals into packed[:n·PackedSize()].
func (c *Codec) Compress(vecs []float32, threads int, codes []int32, packed []byte) {
	n := len(vecs) / c.Dim
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	kmeans.NearestDot(vecs, c.Dim, c.Centroids, threads, codes[:n])
	ps := c.PackedSize()
	parallel(n, threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			c.packOne(vecs[i*c.Dim:(i+1)*c.Dim], codes[i], packed[i*ps:(i+1)*ps])
		}
	})
}

// packOne quantises the residual of x against centroid code into out.
func (c *Codec) packOne(x []float32, code int32, out []byte) {
	cen := c.Centroids[int(code)*c.Dim : (int(code)+1)*c.Dim]
	clear(out)
	b := c.NBits
	for d, v := range x {
		q := c.bucket(v - cen[d])
		for t := 0; t < b; t++ {
			k := d*b + t
			out[k>>3] |= byte((q>>t)&1) << (7 - k&7)
		}
	}
}

// bucket is torch.bucketize(right=False): the number of cutoffs < r.
func (c *Codec) bucket(r float32) int {
	lo, hi := 0, len(c.Cutoffs)
	for lo < hi {
		m := (lo + hi) >> 1
		if c.Cutoffs[m] < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// PackedSize is the number of residual bytes per vector: Dim·NBits/8.
func (c *Codec) PackedSize() int { return c.Dim * c.NBits / 8 }

// NumCentroids is K.
func (c *Codec) NumCentroids() int { return len(c.Centroids) / c.Dim }

// DecompressOne reconstructs one vector: centroid + bucket weight per
// dimension, then L2-normalised. dst must hold Dim values.
func (c *Codec) DecompressOne(code int32, packed []byte, dst []float32) {
	dim := c.Dim
	cen := c.Centroids[int(code)*dim : (int(code)+1)*dim]
	per := 8 / c.NBits
	packed = packed[:c.PackedSize()]
	dst = dst[:dim]
	for i, by := range packed {
		w := &c.lut[by]
		base := i * per
		for j := 0; j < per; j++ {
			dst[base+j] = cen[base+j] + w[j]
		}
	}
	var s float32
	for _, v := range dst {
		s += v * v
	}
	if s > 0 {
		inv := float32(1 / math.Sqrt(float64(s)))
		for d := range dst {
			dst[d] *= inv
		}
	}
}

// Decompress reconstructs len(codes) vectors into dst (len(codes)×Dim).
func (c *Codec) Decompress(codes []int32, packed []byte, dst []float32) {
	ps := c.PackedSize()
	for i, code := range codes {
		c.DecompressOne(code, packed[i*ps:(i+1)*ps], dst[i*c.Dim:(i+1)*c.Dim])
	}
}

func parallel(n, threads int, f func(lo, hi int)) {
	if threads <= 1 || n < 256 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + threads - 1) / threads
	for w := 0; w < threads; w++ {
		lo, hi := w*per, min(n, (w+1)*per)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// Name implements compare.VectorCodec.
func (c *Codec) Name() string { return fmt.Sprintf("residual-%dbit", c.NBits) }

// BytesPerVector is the 4-byte code plus the packed residual.
func (c *Codec) BytesPerVector() int { return 4 + c.PackedSize() }

// Encode writes per vector its code (int32 little-endian) then its packed
// residual; the index stores the two in separate files instead.
func (c *Codec) Encode(vecs []float32, dst []byte) {
	n := len(vecs) / c.Dim
	codes := make([]int32, n)
	packed := make([]byte, n*c.PackedSize())
	c.Compress(vecs, 0, codes, packed)
	bpv, ps := c.BytesPerVector(), c.PackedSize()
	for i, code := range codes {
		binary.LittleEndian.PutUint32(dst[i*bpv:], uint32(code))
		copy(dst[i*bpv+4:(i+1)*bpv], packed[i*ps:(i+1)*ps])
	}
}

// Decode reverses Encode.
func (c *Codec) Decode(src []byte, dst []float32) {
	bpv := c.BytesPerVector()
	for i := 0; i < len(dst)/c.Dim; i++ {
		code := int32(binary.LittleEndian.Uint32(src[i*bpv:]))
		c.DecompressOne(code, src[i*bpv+4:(i+1)*bpv], dst[i*c.Dim:(i+1)*c.Dim])
	}
}
