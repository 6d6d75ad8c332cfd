package graph

import "math"

// exp32 is e^x in float32 (Cephes expf: range reduction by ln 2 and a
// degree-6 polynomial, ~1 ulp), several times cheaper than math.Exp on the
// softmax's hot path. Inputs below -87.3 give 0.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	if x < -87.3 {
		return 0
	}
	if x > 88.7 {
		return float32(math.Inf(1))
	}
	// Round x·log2(e) to the nearest integer without math.Floor's call:
	// int32 conversion truncates toward zero, so shift by ½ away from it.
	t := x * log2e
	if t >= 0 {
		t += 0.5
	} else {
		t -= 0.5
	}
	n := float32(int32(t))
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	e := int32(n)
	if e < -126 { // subnormal result: scale in two steps
		return y * math.Float32frombits(uint32(e+126+127)<<23) * math.Float32frombits(1<<23)
	}
	return math.Float32frombits(math.Float32bits(y) + uint32(e)<<23)
}

// erf32 is the error function for GELU's hot path: its Maclaurin series
// below |x| = 1 (eleven terms, error < 1e-9) and Abramowitz–Stegun 7.1.26
// above (absolute error < 1.5e-7) with exp32, evaluated in float64 — GELU's
// forward then differs from math.Erf's by < 2e-7·|x|, far inside the 1e-4
// parity tolerance, at a fraction of math.Erf's cost.
func erf32(x float32) float32 {
	ax := float64(x)
	if ax < 0 {
		ax = -ax
	}
	if ax < 1 {
		x2 := ax * ax
		// Σ (-1)^n x^(2n+1) / (n! (2n+1)), n = 0 … 10, Horner in x².
		p := -1.0 / (3628800 * 21)
		p = p*x2 + 1.0/(362880*19)
		p = p*x2 - 1.0/(40320*17)
		p = p*x2 + 1.0/(5040*15)
		p = p*x2 - 1.0/(720*13)
		p = p*x2 + 1.0/(120*11)
		p = p*x2 - 1.0/(24*9)
		p = p*x2 + 1.0/(6*7)
		p = p*x2 - 1.0/(2*5)
		p = p*x2 + 1.0/3
		p = p*x2 - 1
		// p = −Σ_n (-1)^n x^(2n) / (n! (2n+1)).
		return float32(-1.1283791670955126 * float64(x) * p)
	}
	if ax > 4 {
		if x < 0 {
			return -1
		}
		return 1
	}
	t := 1 / (1 + 0.3275911*ax)
	p := 1.061405429
	p = p*t - 1.453152027
	p = p*t + 1.421413741
	p = p*t - 0.284496736
	p = p*t + 0.254829592
	y := float32(1 - p*t*float64(exp32(float32(-ax*ax))))
	if x < 0 {
		return -y
	}
	return y
}
