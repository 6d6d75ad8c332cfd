package residual

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/synth"
	"github.com/colbert-go/colbert/codec/kmeans"
)

// refQuantile sorts a copy: the obvious reference for Quantiles.
func refQuantile(v []float32, q float64) float32 {
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return float32(float64(s[lo]) + (pos-float64(lo))*(float64(s[hi])-float64(s[lo])))
}

func TestQuantilesMatchSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	qs := []float64{0, 0.0625, 0.1, 0.25, 0.5, 0.5, 0.75, 0.96875, 1}
	for _, n := range []int{1, 2, 3, 15, 17, 100, 1001, 50000} {
		for _, kind := range []string{"normal", "few-values", "sorted", "reversed"} {
			v := make([]float32, n)
			for i := range v {
				switch kind {
				case "normal":
					v[i] = float32(rng.NormFloat64())
				case "few-values":
					v[i] = float32(rng.IntN(3))
				case "sorted":
					v[i] = float32(i)
				case "reversed":
					v[i] = float32(n - i)
				}
			}
			orig := slices.Clone(v)
			got := Quantiles(v, qs)
			for i, q := range qs {
				if want := refQuantile(orig, q); got[i] != want {
					t.Fatalf("n=%d %s q=%g: got %g, want %g", n, kind, q, got[i], want)
				}
			}
			slices.Sort(v)
			slices.Sort(orig)
			if !slices.Equal(v, orig) {
				t.Fatalf("n=%d %s: Quantiles lost or changed values", n, kind)
			}
		}
	}
}

func TestPackLayoutByHand(t *testing.T) {
	// dim 8, 2 bits, centroid 0, weights = bucket index so values are readable.
	cut := []float32{0.5, 1.5, 2.5}
	w := []float32{0, 1, 2, 3}
	c, err := New(8, 2, make([]float32, 8), cut, w)
	if err != nil {
		t.Fatal(err)
	}
	// Bucket indices q = 1,2,3,0,0,0,0,1; 1.5 is exactly a cutoff → bucket 1
	// (torch.bucketize right=False puts ties in the lower bucket).
	x := []float32{1, 2, 3, 0, -7, 0.5, 0.2, 1.5}
	codes := []int32{0}
	packed := make([]byte, 2)
	c.packOne(x, 0, packed)
	// Stream bits, LSB first per value:
	// d0..d3 → 1,0, 0,1, 1,1, 0,0 → byte 0 (MSB first) = 1001 1100 = 0x9C.
	// d4..d7 (q = 0,0,0,1) → 0,0, 0,0, 0,0, 1,0 → byte 1 = 0000 0010 = 0x02.
	if packed[0] != 0x9C || packed[1] != 0x02 {
		t.Fatalf("packed % x, want 9c 02", packed)
	}
	dst := make([]float32, 8)
	c.lutCheck(t, packed, []int{1, 2, 3, 0, 0, 0, 0, 1})
	c.Decompress(codes, packed, dst)
	want := []float32{1, 2, 3, 0, 0, 0, 0, 1}
	synth.Normalize(want)
	for i := range want {
		if math.Abs(float64(dst[i]-want[i])) > 1e-6 {
			t.Fatalf("decompressed %v, want %v", dst, want)
		}
	}
}

// lutCheck decodes each dimension's bucket straight from the bit layout.
func (c *Codec) lutCheck(t *testing.T, packed []byte, q []int) {
	t.Helper()
	per := 8 / c.NBits
	for d, want := range q {
		if got := c.lut[packed[d/per]][d%per]; got != c.Weights[want] {
			t.Fatalf("dim %d: lut weight %g, want weight of bucket %d", d, got, want)
		}
	}
}

func TestNewRejectsBadTables(t *testing.T) {
	cen := make([]float32, 16)
	if _, err := New(8, 3, cen, make([]float32, 7), make([]float32, 8)); err == nil {
		t.Error("nbits 3 accepted")
	}
	if _, err := New(12, 1, make([]float32, 12), []float32{0}, []float32{-1, 1}); err == nil {
		t.Error("dim 12 accepted")
	}
	if _, err := New(8, 2, cen, []float32{1, 0, 2}, []float32{0, 1, 2, 3}); err == nil {
		t.Error("decreasing cutoffs accepted")
	}
	if _, err := New(8, 1, cen, []float32{0}, []float32{0, 1, 2}); err == nil {
		t.Error("wrong number of weights accepted")
	}
	if _, err := New(8, 1, cen[:5], []float32{0}, []float32{0, 1}); err == nil {
		t.Error("ragged centroids accepted")
	}
}

type roundTrip struct{ mse, maxsimRel float64 }

// measure compresses docs with nbits and returns the mean squared
// reconstruction error and the mean relative MaxSim error over queries.
func measure(c *Codec, docs, queries []float32, dim, docLen, qLen int) roundTrip {
	n := len(docs) / dim
	codes := make([]int32, n)
	packed := make([]byte, n*c.PackedSize())
	c.Compress(docs, 2, codes, packed)
	rec := make([]float32, len(docs))
	c.Decompress(codes, packed, rec)
	var se float64
	for i := range docs {
		d := float64(docs[i] - rec[i])
		se += d * d
	}
	var rel float64
	nq, nd := len(queries)/(dim*qLen), n/docLen
	for q := 0; q < nq; q++ {
		qv := queries[q*qLen*dim : (q+1)*qLen*dim]
		for d := 0; d < nd; d++ {
			exact := maxSim(qv, docs[d*docLen*dim:(d+1)*docLen*dim], dim)
			approx := maxSim(qv, rec[d*docLen*dim:(d+1)*docLen*dim], dim)
			rel += math.Abs(exact-approx) / math.Abs(exact)
		}
	}
	return roundTrip{se / float64(n), rel / float64(nq*nd)}
}

func maxSim(q, d []float32, dim int) float64 {
	var s float64
	for i := 0; i < len(q)/dim; i++ {
		best := math.Inf(-1)
		for j := 0; j < len(d)/dim; j++ {
			var dot float64
			for t := 0; t < dim; t++ {
				dot += float64(q[i*dim+t]) * float64(d[j*dim+t])
			}
			best = max(best, dot)
		}
		s += best
	}
	return s
}

func TestRoundTripErrorShrinksWithBits(t *testing.T) {
	const dim, docLen, qLen = 128, 40, 32
	all, _ := synth.Clustered(12000, dim, 64, 0.8, 21)
	sample, docs := all[:9000*dim], all[9000*dim:]
	queries, _ := synth.Clustered(4*qLen, dim, 64, 0.8, 21) // same centres, new draws
	var prev roundTrip
	var cent []float32
	for i, nb := range []int{1, 2, 4} {
		c, _, err := Train(context.Background(), slices.Clone(sample), dim, TrainOptions{NBits: nb, K: 128, Iters: 8, Threads: 2, Seed: 123})
		if err != nil {
			t.Fatal(err)
		}
		// The bits only change the buckets: every precision is compared
		// on the same centroids.
		if cent == nil {
			cent = c.Centroids
		} else if !slices.Equal(c.Centroids, cent) {
			t.Fatalf("nbits %d trained other centroids than nbits 1", nb)
		}
		// Baseline: the centroid alone (no residual), the error residuals must beat.
		codes := kmeans.NearestDot(docs, dim, cent, 2, nil)
		var base float64
		for i, code := range codes {
			for t := 0; t < dim; t++ {
				d := float64(docs[i*dim+t] - cent[int(code)*dim+t])
				base += d * d
			}
		}
		base /= float64(len(codes))
		rt := measure(c, docs, queries, dim, docLen, qLen)
		t.Logf("nbits %d: mse %.5f (centroid only %.5f), MaxSim rel err %.5f", nb, rt.mse, base, rt.maxsimRel)
		if rt.mse >= base {
			t.Errorf("nbits %d: reconstruction error %g not below centroid-only %g", nb, rt.mse, base)
		}
		if i > 0 && (rt.mse >= prev.mse || rt.maxsimRel >= prev.maxsimRel) {
			t.Errorf("nbits %d not better than %d bits fewer: %+v vs %+v", nb, nb/2, rt, prev)
		}
		prev = rt
	}
	// Absolute bound for 4 bits: ≤ 16 levels per dim leave < 5% relative
	// energy error on unit vectors in this geometry (centroid-only ≈ 44%).
	if prev.mse > 0.05 {
		t.Errorf("4-bit mse %g > 0.05", prev.mse)
	}
}

func TestBucketsAreQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	v := make([]float32, 100001)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	orig := slices.Clone(v)
	for _, nb := range []int{1, 2, 4} {
		cut, w := Buckets(slices.Clone(orig), nb)
		for i := range cut {
			if want := refQuantile(orig, float64(i+1)/float64(int(1)<<nb)); cut[i] != want {
				t.Fatalf("%d bits cutoff %d: %g want %g", nb, i, cut[i], want)
			}
		}
		for i := range w {
			if want := refQuantile(orig, (float64(i)+0.5)/float64(int(1)<<nb)); w[i] != want {
				t.Fatalf("%d bits weight %d: %g want %g", nb, i, w[i], want)
			}
			// Each weight lies inside its bucket.
			if (i > 0 && w[i] < cut[i-1]) || (i < len(cut) && w[i] > cut[i]) {
				t.Fatalf("%d bits weight %d = %g outside its bucket %v", nb, i, w[i], cut)
			}
		}
	}
}
