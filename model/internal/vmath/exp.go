package vmath

import "math"

// Exp32 is e^x in float32 (Cephes expf: range reduction by ln 2 and a
// degree-6 polynomial, ~1 ulp), several times cheaper than math.Exp on the
// softmax's hot path. Inputs below -87.3 give 0.
func Exp32(x float32) float32 {
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
