package encode

import (
	"math"
	"testing"
)

// GELU from the table stays within float32 rounding of float64 math.Erf.
func TestGelu(t *testing.T) {
	worst := 0.0
	for i := -300000; i <= 300000; i++ {
		g := float32(i) * 4e-5 // [-12, 12]
		v := []float32{g}
		gelu(v)
		want := 0.5 * float64(g) * (1 + math.Erf(float64(g)/math.Sqrt2))
		if d := math.Abs(float64(v[0])-want) / math.Max(1, math.Abs(want)); d > worst {
			worst = d
		}
	}
	if worst > 3e-7 {
		t.Errorf("gelu error %g", worst)
	}
	for _, x := range []float32{-1e30, -10, 10, 1e30} {
		v := []float32{x}
		gelu(v)
		if want := max(x, 0); v[0] != want {
			t.Errorf("gelu(%g) = %g, want %g", x, v[0], want)
		}
	}
}

func TestExpNeg(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 400000; i++ {
		x := -float32(i) * 2.1e-4 // [-84, 0]
		want := math.Exp(float64(x))
		if rel := math.Abs(float64(expNeg(x))-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 5e-7 {
		t.Errorf("expNeg relative error %g", worst)
	}
	if v := expNeg(-1000); v < 0 || v > 1e-37 {
		t.Errorf("expNeg(-1000) = %g", v)
	}
}

func BenchmarkExpNeg(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = -float32(i%300) * 0.05
	}
	var s float32
	for i := 0; i < b.N; i++ {
		for _, v := range x {
			s += expNeg(v)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/exp")
	_ = s
}

func BenchmarkGelu(b *testing.B) {
	x := make([]float32, 4096)
	y := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%300)*0.03 - 4.5
	}
	for i := 0; i < b.N; i++ {
		copy(y, x)
		gelu(y)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/gelu")
}
