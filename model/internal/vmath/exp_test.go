package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpInPlaceMatchesExp32 checks the vector path (and the scalar tail)
// against Exp32 and math.Exp over the range the kernels use, including
// the underflow cut and the clamp.
func TestExpInPlaceMatchesExp32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := []float32{0, -1e-30, 1, -1, -87.2, -87.4, -100, 88, 88.6, -0.5}
	for len(x) < 1003 {
		x = append(x, float32(r.Float64()*170-90))
	}
	got := append([]float32(nil), x...)
	ExpInPlace(got)
	for i, v := range x {
		want := Exp32(v)
		if v > 88.7 {
			continue
		}
		rel := math.Abs(float64(got[i]-want)) / math.Max(float64(want), 1e-30)
		if want == 0 && got[i] != 0 || rel > 3e-7 {
			t.Fatalf("exp(%g): %g, Exp32 %g (math.Exp %g)", v, got[i], want, math.Exp(float64(v)))
		}
	}
}

func TestExp32(t *testing.T) {
	var worst float64
	for x := -87.0; x <= 88.0; x += 1e-3 {
		got := float64(Exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		if e := math.Abs(got-want) / want; e > worst {
			worst = e
		}
	}
	if worst > 3e-7 {
		t.Errorf("Exp32 worst relative error %.3g", worst)
	}
}

func BenchmarkExpInPlace(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = -float32(i%100) / 10
	}
	y := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for i := 0; i < b.N; i++ {
		copy(y, x)
		ExpInPlace(y)
	}
}

func BenchmarkExp32Scalar(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = -float32(i%100) / 10
	}
	y := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for i := 0; i < b.N; i++ {
		for j, v := range x {
			y[j] = Exp32(v)
		}
	}
}
