package flat

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
)

func TestHalfRoundTripsEveryHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := FromHalf(uint16(h))
		if g := safetensors.HalfToFloat32(uint16(h)); math.Float32bits(f) != math.Float32bits(g) && !(f != f && g != g) {
			t.Fatalf("FromHalf(%#04x) = %g, safetensors says %g", h, f, g)
		}
		if f != f {
			if ToHalf(f)&0x7c00 != 0x7c00 || ToHalf(f)&0x3ff == 0 {
				t.Fatalf("NaN %#04x did not stay NaN", h)
			}
			continue
		}
		if back := ToHalf(f); back != uint16(h) {
			t.Fatalf("ToHalf(FromHalf(%#04x)) = %#04x", h, back)
		}
	}
}

// TestHalfRoundsToNearest checks ToHalf against a brute-force nearest search
// over all halves (ties to even mantissa).
func TestHalfRoundsToNearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	vals := []float32{65519.99, 65520, 1e-8, 2.98e-8, 5.96e-8, 6.1e-5, 1 + 1.0/2048, -0.333333}
	for i := 0; i < 400; i++ {
		vals = append(vals, float32(rng.NormFloat64()*math.Pow(2, float64(rng.IntN(40)-25))))
	}
	for _, v := range vals {
		got := FromHalf(ToHalf(v))
		best := math.Inf(1)
		for h := 0; h < 0x7c00; h++ {
			c := math.Copysign(float64(FromHalf(uint16(h))), float64(v))
			best = math.Min(best, math.Abs(c-float64(v)))
		}
		if v >= 65520 || v <= -65520 { // halfway to the next (absent) binade value
			if !math.IsInf(float64(got), 0) {
				t.Fatalf("%g should overflow, got %g", v, got)
			}
			continue
		}
		if d := math.Abs(float64(got) - float64(v)); d > best {
			t.Fatalf("ToHalf(%g) = %g is %g away; nearest half is %g away", v, got, d, best)
		}
	}
}

func TestFP32Exact(t *testing.T) {
	v := []float32{1, -2.5, float32(math.Pi), 0, float32(math.Inf(-1))}
	b := make([]byte, FP32{Dim: 5}.BytesPerVector())
	FP32{Dim: 5}.Encode(v, b)
	out := make([]float32, 5)
	FP32{Dim: 5}.Decode(b, out)
	for i := range v {
		if out[i] != v[i] {
			t.Fatalf("fp32 round trip %v -> %v", v, out)
		}
	}
}
