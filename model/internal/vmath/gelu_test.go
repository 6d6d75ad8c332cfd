package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGELU checks the eight-lane and scalar paths against float64's exact
// GELU (math.Erf) and its derivative over the range activations take.
func TestGELU(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := []float32{0, 1e-8, -1e-8, 1, -1, 4, -4, 10, -10, 40, -40, 0.5, -0.5}
	for len(x) < 4003 {
		x = append(x, float32(r.NormFloat64()*3))
	}
	y, d := make([]float32, len(x)), make([]float32, len(x))
	GELU(x, y, d)
	for i, v := range x {
		xf := float64(v)
		cdf := 0.5 * (1 + math.Erf(xf/math.Sqrt2))
		wantY := xf * cdf
		wantD := cdf + xf*math.Exp(-xf*xf/2)/math.Sqrt(2*math.Pi)
		tol := 4e-7 * math.Max(1, math.Abs(xf))
		if math.Abs(float64(y[i])-wantY) > tol || math.Abs(float64(d[i])-wantD) > tol {
			t.Fatalf("GELU(%g) = %g, %g; want %g, %g", v, y[i], d[i], wantY, wantD)
		}
		sy, sd := GELUScalar(v)
		if math.Abs(float64(sy-y[i])) > tol || math.Abs(float64(sd-d[i])) > tol {
			t.Fatalf("GELUScalar(%g) = %g, %g; vector path %g, %g", v, sy, sd, y[i], d[i])
		}
	}
}

func BenchmarkGELU(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)/25 - 4
	}
	y, d := make([]float32, len(x)), make([]float32, len(x))
	for i := 0; i < b.N; i++ {
		GELU(x, y, d)
	}
}
