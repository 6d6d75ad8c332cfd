package model

// MaxSim is ColBERT's late-interaction score: the sum over the nq query
// vectors of the largest dot product with any of the nd document vectors.
// q is [nq, dim] and d is [nd, dim], row-major. This is the plain reference;
// the search package has the fast kernel. An empty document scores 0.
func MaxSim(q []float32, nq int, d []float32, nd, dim int) float32 {
	if nd == 0 {
		return 0
	}
	var total float32
	for i := 0; i < nq; i++ {
		qi := q[i*dim : (i+1)*dim]
		best := float32(0)
		for j := 0; j < nd; j++ {
			dj := d[j*dim : (j+1)*dim]
			var s float32
			for k, v := range qi {
				s += v * dj[k]
			}
			if j == 0 || s > best {
				best = s
			}
		}
		total += best
	}
	return total
}
