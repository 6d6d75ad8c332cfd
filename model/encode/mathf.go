package encode

import "math"

// expf is e^x in float32: range reduction x = n·ln2 + r, |r| ≤ ln2/2, a
// degree-6 Taylor polynomial for e^r (truncation error 1.2e-7 relative), and
// 2^n put into the exponent bits. About 3× faster than math.Exp, which is
// most of softmax's cost. Below -87.3 the result is 0 (float32 underflow).
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125
		ln2lo = 1.42860682030941723212e-6
	)
	if x < -87.3 {
		return 0
	}
	if x > 88.7 {
		return float32(math.Inf(1))
	}
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	if n > 127 { // x in (88.03, 88.7]: 2^128 does not fit, scale in two steps
		return p * 2 * math.Float32frombits(uint32(int32(n)+126)<<23)
	}
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// erff is erf in float32 by Abramowitz & Stegun 7.1.26 (absolute error
// ≤ 1.5e-7, the size of float32 rounding near ±1), odd-extended.
func erff(x float32) float32 {
	const (
		p  = 0.3275911
		a1 = 0.254829592
		a2 = -0.284496736
		a3 = 1.421413741
		a4 = -1.453152027
		a5 = 1.061405429
	)
	s := float32(1)
	if x < 0 {
		s, x = -1, -x
	}
	if x > 6 {
		return s
	}
	t := 1 / (1 + p*x)
	y := 1 - t*(a1+t*(a2+t*(a3+t*(a4+t*a5))))*expf(-x*x)
	return s * y
}

// gelu applies the exact (erf) GELU, x·Φ(x) = x/2·(1+erf(x/√2)), in place,
// as HF's "gelu" activation.
func gelu(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + erff(v*(math.Sqrt2/2)))
	}
}
