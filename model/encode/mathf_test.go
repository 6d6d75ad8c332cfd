package encode

import (
	"math"
	"testing"
)

// The float32 exp and GELU stay within float32 rounding of float64 math.
func TestMathAccuracy(t *testing.T) {
	worstExp, worstGelu := 0.0, 0.0
	for i := -200000; i <= 200000; i++ {
		x := float32(i) * 4.35e-4 // [-87, 87]
		want := math.Exp(float64(x))
		if rel := math.Abs(float64(expf(x))-want) / want; rel > worstExp {
			worstExp = rel
		}
		g := float32(i) * 1e-4 / 2 // [-10, 10]
		v := []float32{g}
		gelu(v)
		wantG := 0.5 * float64(g) * (1 + math.Erf(float64(g)/math.Sqrt2))
		if d := math.Abs(float64(v[0])-wantG) / math.Max(1, math.Abs(wantG)); d > worstGelu {
			worstGelu = d
		}
	}
	if worstExp > 5e-7 {
		t.Errorf("expf relative error %g", worstExp)
	}
	if worstGelu > 5e-7 {
		t.Errorf("gelu error %g", worstGelu)
	}
	t.Logf("expf max rel err %g, gelu max err %g", worstExp, worstGelu)
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Error("expf range ends")
	}
}
