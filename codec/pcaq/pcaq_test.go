package pcaq

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Vectors in a 6-dimensional subspace of R^32 are reconstructed almost
// exactly from 6 components, and the basis is orthonormal.
func TestSubspaceIsRecovered(t *testing.T) {
	const dim, sub, n = 32, 6, 2000
	rng := rand.New(rand.NewPCG(1, 2))
	basis := make([][]float64, sub)
	for i := range basis {
		basis[i] = make([]float64, dim)
		for d := range basis[i] {
			basis[i][d] = rng.NormFloat64()
		}
	}
	data := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		var norm float64
		row := make([]float64, dim)
		for _, b := range basis {
			w := rng.NormFloat64()
			for d := range row {
				row[d] += w * b[d]
			}
		}
		for _, v := range row {
			norm += v * v
		}
		for d, v := range row {
			data[i*dim+d] = float32(v / math.Sqrt(norm))
		}
	}
	c, err := Fit(data, dim, sub)
	if err != nil {
		t.Fatal(err)
	}
	for a := 0; a < sub; a++ {
		for b := 0; b < sub; b++ {
			var dot float64
			for d := 0; d < dim; d++ {
				dot += float64(c.Basis[a*dim+d]) * float64(c.Basis[b*dim+d])
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(dot-want) > 1e-4 {
				t.Fatalf("basis rows %d·%d = %g", a, b, dot)
			}
		}
	}
	enc := make([]byte, n*c.BytesPerVector())
	c.Encode(data, enc)
	dec := make([]float32, len(data))
	c.Decode(enc, dec)
	var worst float64
	for i := 0; i < n; i++ {
		var dot float64
		for d := 0; d < dim; d++ {
			dot += float64(data[i*dim+d]) * float64(dec[i*dim+d])
		}
		worst = math.Max(worst, 1-dot)
	}
	// int8 steps of scale/127 on 6 components: cosine loss ≪ 1e-3.
	if worst > 1e-3 {
		t.Fatalf("worst 1−cos %g for data inside the PCA subspace", worst)
	}
	if _, err := Fit(data, dim, dim+1); err == nil {
		t.Fatal("too many components accepted")
	}
	if _, err := Fit(data[:dim], dim, 2); err == nil {
		t.Fatal("one sample vector accepted")
	}
}
