package vmath

// GELUScalar returns GELU(x) = x·Φ(x) and its derivative Φ(x) + x·φ(x),
// with Φ(x) = ½(1 + erf(x/√2)) from Abramowitz–Stegun 7.1.26 (|error| <
// 1.5e-7) and Exp32 — the same algorithm as the eight-lane GELU, so both
// paths agree to float32 rounding.
func GELUScalar(x float32) (y, d float32) {
	e := Exp32(-0.5 * x * x)
	ax := float64(x) * 0.70710678118654752
	if ax < 0 {
		ax = -ax
	}
	t := 1 / (1 + 0.3275911*ax)
	p := 1.061405429
	p = p*t - 1.453152027
	p = p*t + 1.421413741
	p = p*t - 0.284496736
	p = p*t + 0.254829592
	erf := float32(1 - p*t*float64(e))
	if x < 0 {
		erf = -erf
	}
	cdf := 0.5 + 0.5*erf
	return x * cdf, cdf + x*e*0.3989422804014327
}
