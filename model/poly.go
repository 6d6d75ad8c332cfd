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
