package model

import "math"

// PolyScore is the poly-encoder's score (Humeau et al.) of one candidate:
// ctx is the query's m context vectors [m, h] row-major, cand the
// candidate's vector [h]; with s_i = ctx_i · cand and w = softmax(s), the
// score is (Σ_i w_i ctx_i) · cand, computed as Σ_i w_i s_i (the same value,
// without forming the attended vector). This is the one scalar reference of
// the score, as MaxSim is ColBERT's: dot products, softmax and sum are in
// float64, so it is exact up to the final rounding. m = 0 scores 0.
func PolyScore(ctx []float32, m, h int, cand []float32) float32 {
	if m <= 0 {
		return 0
	}
	cand = cand[:h]
	s := make([]float64, m)
	mx := math.Inf(-1)
	for i := range s {
		var d float64
		for k, v := range ctx[i*h : (i+1)*h] {
			d += float64(v) * float64(cand[k])
		}
		s[i] = d
		mx = max(mx, d)
	}
	// Softmax shifted by the max so that large dot products do not overflow.
	var z, num float64
	for _, d := range s {
		e := math.Exp(d - mx)
		z += e
		num += e * d
	}
	return float32(num / z)
}

// PolyFromDots is PolyScore given the m dot products s_i = ctx_i · cand
// already computed (by a SIMD kernel, in float32): Σ_i softmax(s)_i s_i in
// float64. Searching many candidates computes the dot products in blocks
// and finishes each score here.
func PolyFromDots(s []float32) float32 {
	if len(s) == 0 {
		return 0
	}
	mx := float64(s[0])
	for _, d := range s[1:] {
		mx = max(mx, float64(d))
	}
	var z, num float64
	for _, d := range s {
		e := math.Exp(float64(d) - mx)
		z += e
		num += e * float64(d)
	}
	return float32(num / z)
}
