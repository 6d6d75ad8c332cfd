package encode

import (
	"math"
	"sync"
)

// expNeg is expf for x ≤ 0 (softmax's shifted scores), without the range
// branches: x is clamped at -87 (e^-87 ≈ 1.6e-38, the float32 normal limit).
func expNeg(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125
		ln2lo = 1.42860682030941723212e-6
	)
	x = max(x, -87)
	ni := int32(x*log2e - 0.5)
	n := float32(ni)
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(ni+127)<<23)
}

// GELU by cubic Hermite interpolation of exact values: knots every 1/64 on
// [-geluLim, geluLim] hold GELU(x) and GELU'(x) computed in float64 with
// math.Erf. Interpolation error is h⁴/384·max|GELU⁗| < 1e-9, far below
// float32 rounding, and it costs a few multiply-adds instead of erf + exp.
// Outside the range GELU(x) is 0 (x < -geluLim, |GELU| < 1e-22) or x.
const (
	geluLim   = 10
	geluSteps = 64 // knots per unit
	geluKnots = 2*geluLim*geluSteps + 1
)

// geluPoly is GELU on one knot interval as a cubic in the offset s ∈ [0,1)
// from its left knot, c0 + s(c1 + s(c2 + s·c3)): the Hermite interpolant
// converted to power form in float64.
type geluPoly struct{ c0, c1, c2, c3 float32 }

var geluTable = sync.OnceValue(func() []geluPoly {
	h := 1.0 / geluSteps
	f := func(i int) (float64, float64) {
		x := -geluLim + float64(i)*h
		cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
		pdf := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
		return x * cdf, (cdf + x*pdf) * h
	}
	t := make([]geluPoly, geluKnots)
	for i := range t {
		f0, d0 := f(i)
		f1, d1 := f(i + 1)
		// Hermite: f0·h00 + d0·h10 + f1·h01 + d1·h11 in powers of s.
		t[i] = geluPoly{
			c0: float32(f0),
			c1: float32(d0),
			c2: float32(-3*f0 - 2*d0 + 3*f1 - d1),
			c3: float32(2*f0 + d0 - 2*f1 + d1),
		}
	}
	return t
})

// gelu applies the exact (erf) GELU, x·Φ(x) = x/2·(1+erf(x/√2)), in place,
// as HF's "gelu" activation, through the interval table.
func gelu(x []float32) { geluRow(x, nil, geluTable()) }

// biasGelu is gelu(x + bias) with bias broadcast over rows of len(bias).
func biasGelu(x, bias []float32) {
	t := geluTable()
	n := len(bias)
	for r := 0; r+n <= len(x); r += n {
		geluRow(x[r:r+n], bias, t)
	}
}

func geluRow(x, bias []float32, t []geluPoly) {
	if bias != nil {
		bias = bias[:len(x)]
	}
	for i, v := range x {
		if bias != nil {
			v += bias[i]
		}
		if v <= -geluLim {
			x[i] = 0
			continue
		}
		if v >= geluLim {
			x[i] = v
			continue
		}
		// The offset s comes from v·64 (exact), not (v+10)·64, which would
		// round away the low bits of small v; the index may be one too high
		// when u+640 rounds up, leaving s slightly negative, which the cubic
		// extrapolates exactly enough. No data-dependent branch.
		u := v * geluSteps
		k := int(u + geluLim*geluSteps)
		s := u - float32(k-geluLim*geluSteps)
		c := t[k]
		x[i] = c.c0 + s*(c.c1+s*(c.c2+s*c.c3))
	}
}
