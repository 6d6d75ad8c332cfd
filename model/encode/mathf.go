package encode

import "math"

// expf is exp in float32 precision.
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// gelu applies the exact GELU, x·Φ(x) = x/2·(1+erf(x/√2)), in place.
func gelu(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)*math.Sqrt2/2)))
	}
}
