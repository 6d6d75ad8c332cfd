package decode

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/colbert-go/colbert/codec/residual"
)

func unitRows(r *rand.Rand, n, dim int) []float32 {
	m := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		var s float64
		for k := 0; k < dim; k++ {
			v := r.NormFloat64()
			m[i*dim+k] = float32(v)
			s += v * v
		}
		for k := 0; k < dim; k++ {
			m[i*dim+k] /= float32(math.Sqrt(s))
		}
	}
	return m
}

func newCodec(t testing.TB, r *rand.Rand, dim, nbits, k int) *residual.Codec {
	cent := unitRows(r, k, dim)
	c, err := residual.Fit(cent, dim, nbits, unitRows(r, 500, dim), 1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDecodeMatchesCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	t.Logf("AVX-512 available: %v", hasAVX512)
	for _, dim := range []int{8, 16, 24, 64, 128} {
		for _, nbits := range []int{1, 2, 4} {
			if dim*nbits%8 != 0 {
				continue
			}
			c := newCodec(t, r, dim, nbits, 37)
			d, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{0, 1, 2, 17} {
				codes := make([]int32, n)
				for i := range codes {
					codes[i] = int32(r.IntN(37))
				}
				packed := make([]byte, n*c.PackedSize())
				for i := range packed {
					packed[i] = byte(r.UintN(256))
				}
				want := make([]float32, n*dim)
				c.Decompress(codes, packed, want)
				got, err := d.Decode(codes, packed, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-6 {
						t.Fatalf("dim %d nbits %d n %d: value %d = %v, codec %v", dim, nbits, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestDecodeZeroVectorAndErrors(t *testing.T) {
	// A residual that exactly cancels the centroid gives a zero vector,
	// which stays zero (no division by zero), like the codec.
	cent := []float32{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	c, err := residual.New(16, 2, cent, []float32{-0.5, 0, 0.5}, []float32{-1, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := New(c)
	// dim 0 → bucket 0 (weight −1), the other dims → bucket 1 (weight 0):
	// stream bits 2..3 of dim 1 etc.: value 1 = LSB set → bit 7−(2j) of byte.
	packed := make([]byte, 4)
	for j := 1; j < 16; j++ {
		k := 2 * j
		packed[k/8] |= 1 << (7 - k%8)
	}
	got, err := d.Decode([]int32{0}, packed, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 16)
	c.Decompress([]int32{0}, packed, want)
	for i := range got {
		if got[i] != 0 || want[i] != 0 {
			t.Fatalf("dim %d: decode %v codec %v, want 0", i, got[i], want[i])
		}
	}
	if _, err := d.Decode([]int32{1}, packed, nil); err == nil {
		t.Error("code out of range accepted")
	}
	if _, err := d.Decode([]int32{0}, packed[:3], nil); err == nil {
		t.Error("short residuals accepted")
	}
}

func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	c := newCodec(b, r, 128, 2, 1024)
	d, _ := New(c)
	const n = 4096
	codes := make([]int32, n)
	for i := range codes {
		codes[i] = int32(r.IntN(1024))
	}
	packed := make([]byte, n*c.PackedSize())
	for i := range packed {
		packed[i] = byte(r.UintN(256))
	}
	dst := make([]float32, n*128)
	b.Run("search-decode", func(b *testing.B) {
		for b.Loop() {
			d.Decode(codes, packed, dst)
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*n), "ns/token")
	})
	b.Run("codec-decompress", func(b *testing.B) {
		for b.Loop() {
			c.Decompress(codes, packed, dst)
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*n), "ns/token")
	})
}
