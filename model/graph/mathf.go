package graph

import "github.com/colbert-go/colbert/model/internal/vmath"

// exp32 is vmath.Exp32: e^x in float32, several times cheaper than
// math.Exp on the softmax's and GELU's hot paths.
func exp32(x float32) float32 { return vmath.Exp32(x) }

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
	if ax < 1 || ax > 4 {
		return erfWithExp(x, 0)
	}
	return erfWithExp(x, exp32(float32(-ax*ax)))
}

// erfWithExp is erf32 given e = e^(−x²) (unused below |x| = 1 and above 4),
// so that GELU, which needs the same exponential for its derivative, pays
// for it once and computes it eight lanes at a time.
func erfWithExp(x, e float32) float32 {
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
	y := float32(1 - p*t*float64(e))
	if x < 0 {
		return -y
	}
	return y
}
