// Package synth makes reproducible synthetic embeddings for the codec tests
// and benchmarks: unit vectors scattered around random unit centres, the
// shape of ColBERT token embeddings without needing a model.
package synth

import (
	"math"
	"math/rand/v2"
)

// Clustered returns n unit vectors of dimension dim (row-major) drawn around
// k random unit centres with per-coordinate Gaussian noise of standard
// deviation spread/sqrt(dim), and the centre index of each vector.
func Clustered(n, dim, k int, spread float64, seed uint64) ([]float32, []int) {
	return Around(Random(k, dim, seed^0x9e3779b97f4a7c15), dim, n, spread, seed)
}

// Around draws n unit vectors around the given unit centres (k×dim) like
// Clustered, so several collections can share one geometry.
func Around(centres []float32, dim, n int, spread float64, seed uint64) ([]float32, []int) {
	k := len(centres) / dim
	rng := rand.New(rand.NewPCG(seed, 17))
	out := make([]float32, n*dim)
	labels := make([]int, n)
	sd := spread / math.Sqrt(float64(dim))
	for i := 0; i < n; i++ {
		c := rng.IntN(k)
		labels[i] = c
		row := out[i*dim : (i+1)*dim]
		for d := range row {
			row[d] = centres[c*dim+d] + float32(rng.NormFloat64()*sd)
		}
		Normalize(row)
	}
	return out, labels
}

// Random returns n uniformly random unit vectors of dimension dim.
func Random(n, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 29))
	out := make([]float32, n*dim)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < n; i++ {
		Normalize(out[i*dim : (i+1)*dim])
	}
	return out
}

// Normalize scales v to unit L2 norm in place.
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
