package model

// MaxSim is ColBERT's late-interaction score: the sum over the nq query
// vectors of the largest dot product with any of the nd document vectors.
// q is [nq, dim] and d is [nd, dim], row-major. This is the plain reference;
// the search package has the fast kernels, checked against this one, the
// project's only scalar MaxSim. Dot products and the sum are accumulated
// in float64, so it is the exact score up to the final rounding. An empty
// document scores 0.
func MaxSim(q []float32, nq int, d []float32, nd, dim int) float32 {
	if nd == 0 {
		return 0
	}
	var total float64
	for i := 0; i < nq; i++ {
		qi := q[i*dim : (i+1)*dim]
		var best float64
		for j := 0; j < nd; j++ {
			dj := d[j*dim : (j+1)*dim]
			var s float64
			for k, v := range qi {
				s += float64(v) * float64(dj[k])
			}
			if j == 0 || s > best {
				best = s
			}
		}
		total += best
	}
	return float32(total)
}
