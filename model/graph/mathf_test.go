package graph

import (
	"math"
	"testing"
)

// TestExp32 bounds the relative error of exp32 against math.Exp over the
// softmax's range and checks the edges.
func TestExp32(t *testing.T) {
	var worst float64
	for x := -87.0; x <= 88; x += 0.0137 {
		got := float64(exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 {
		t.Errorf("exp32 worst relative error %.3g", worst)
	}
	t.Logf("exp32 worst relative error %.3g", worst)
	if exp32(-100) != 0 || exp32(0) != 1 || !math.IsInf(float64(exp32(100)), 1) {
		t.Errorf("edges: exp32(-100)=%g exp32(0)=%g exp32(100)=%g", exp32(-100), exp32(0), exp32(100))
	}
}

func FuzzExp32(f *testing.F) {
	for _, x := range []float32{0, -1, 1, -87.2, 88.6, -0.5, 3.3} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float32) {
		if math.IsNaN(float64(x)) || x < -87 || x > 88 {
			return
		}
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if math.Abs(got-want)/want > 3e-7 {
			t.Errorf("exp32(%g) = %g, want %g", x, got, want)
		}
	})
}

// TestErf32 bounds erf32's absolute error against math.Erf over GELU's
// whole useful range.
func TestErf32(t *testing.T) {
	var worst, at float64
	for x := -6.0; x <= 6.0; x += 1e-4 {
		got := float64(erf32(float32(x)))
		if d := math.Abs(got - math.Erf(float64(float32(x)))); d > worst {
			worst, at = d, x
		}
	}
	if worst > 2.5e-7 {
		t.Errorf("erf32 worst absolute error %.3g at %g", worst, at)
	}
	t.Logf("erf32 worst absolute error %.3g at %g", worst, at)
	if erf32(0) != 0 || erf32(10) != 1 || erf32(-10) != -1 {
		t.Errorf("edges: erf32(0)=%g erf32(10)=%g erf32(-10)=%g", erf32(0), erf32(10), erf32(-10))
	}
}
