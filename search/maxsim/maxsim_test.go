package maxsim

import (
	"errors"
	"github.com/colbert-go/colbert/model"
	"math"
	"math/rand/v2"
	"testing"
)

func randMat(r *rand.Rand, rows, dim int) []float32 {
	m := make([]float32, rows*dim)
	for i := range m {
		m[i] = float32(r.NormFloat64())
	}
	return m
}

// close reports agreement within 1e-5 relative to the magnitude of the
// summed terms (Σ_i max_j |q_i|·|d_j| bounds every partial sum).
func close(got, want float32, scale float64) bool {
	return math.Abs(float64(got-want)) <= 1e-5*math.Max(1, scale)
}

func absScale(q, d []float32, dim int) float64 {
	var s float64
	for i := 0; i < len(q)/dim; i++ {
		var best float64
		for j := 0; j < len(d)/dim; j++ {
			var t float64
			for k := 0; k < dim; k++ {
				t += math.Abs(float64(q[i*dim+k] * d[j*dim+k]))
			}
			best = math.Max(best, t)
		}
		s += best
	}
	return s
}

func TestKernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	t.Logf("kernels here: %v (best %v)", Kernels(), Best())
	dims := []int{1, 3, 7, 15, 16, 17, 31, 64, 96, 127, 128, 129}
	nqs := []int{1, 2, 15, 16, 17, 31, 32, 33, 64, 70}
	ns := []int{0, 1, 2, 5, 6, 7, 8, 9, 13, 16, 17, 180}
	for trial := 0; trial < 300; trial++ {
		dim := dims[r.IntN(len(dims))]
		nq := nqs[r.IntN(len(nqs))]
		n := ns[r.IntN(len(ns))]
		q, d := randMat(r, nq, dim), randMat(r, n, dim)
		want := model.MaxSim(q, len(q)/dim, d, len(d)/dim, dim)
		scale := absScale(q, d, dim)
		for _, k := range Kernels() {
			pq, err := NewQueryKernel(k, q, nq, dim)
			if err != nil {
				t.Fatal(err)
			}
			if got := pq.Score(d); !close(got, want, scale) {
				t.Errorf("%v nq=%d n=%d dim=%d: got %v want %v", k, nq, n, dim, got, want)
			}
		}
	}
}

func TestUnitVectorsAbsoluteTolerance(t *testing.T) {
	// ColBERT's case: L2-normalised 32×128 query vs ≤180×128 document.
	r := rand.New(rand.NewPCG(3, 4))
	norm := func(m []float32, dim int) {
		for i := 0; i < len(m); i += dim {
			var s float64
			for _, v := range m[i : i+dim] {
				s += float64(v * v)
			}
			for k := range m[i : i+dim] {
				m[i+k] /= float32(math.Sqrt(s))
			}
		}
	}
	for trial := 0; trial < 50; trial++ {
		n := r.IntN(181)
		q, d := randMat(r, 32, 128), randMat(r, n, 128)
		norm(q, 128)
		norm(d, 128)
		want := model.MaxSim(q, len(q)/128, d, len(d)/128, 128)
		for _, k := range Kernels() {
			pq, _ := NewQueryKernel(k, q, 32, 128)
			if got := pq.Score(d); math.Abs(float64(got-want)) > 1e-5 {
				t.Errorf("%v n=%d: got %v want %v (diff %g)", k, n, got, want, got-want)
			}
		}
	}
}

func TestMaxPicksBestTokenNotSum(t *testing.T) {
	// One query row, three document rows with known dot products 1, 5, -2.
	q := []float32{1, 0}
	d := []float32{1, 7, 5, -3, -2, 4}
	for _, k := range Kernels() {
		pq, _ := NewQueryKernel(k, q, 1, 2)
		if got := pq.Score(d); got != 5 {
			t.Errorf("%v: got %v want 5", k, got)
		}
		// all-negative similarities: the max is negative, not clamped at 0.
		if got := pq.Score([]float32{-1, 0, -3, 1}); got != -1 {
			t.Errorf("%v: got %v want -1", k, got)
		}
	}
}

func TestScoreBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const dim = 128
	lens := []int{3, 0, 180, 1, 47, 8, 9}
	offsets := []int{0}
	for _, l := range lens {
		offsets = append(offsets, offsets[len(offsets)-1]+l)
	}
	docs := randMat(r, offsets[len(offsets)-1], dim)
	q := randMat(r, 32, dim)
	for _, k := range Kernels() {
		pq, _ := NewQueryKernel(k, q, 32, dim)
		out := make([]float32, len(lens))
		if err := pq.ScoreBatch(docs, offsets, out); err != nil {
			t.Fatal(err)
		}
		for i := range lens {
			d := docs[offsets[i]*dim : offsets[i+1]*dim]
			if want := model.MaxSim(q, len(q)/dim, d, len(d)/dim, dim); !close(out[i], want, absScale(q, d, dim)) {
				t.Errorf("%v doc %d: got %v want %v", k, i, out[i], want)
			}
		}
		if err := pq.ScoreBatch(docs, offsets, out[:2]); err == nil {
			t.Error("wrong output length accepted")
		}
		bad := append([]int(nil), offsets...)
		bad[len(bad)-1]++
		if err := pq.ScoreBatch(docs, bad, out); err == nil {
			t.Error("offset past the end accepted")
		}
		bad = append([]int(nil), offsets...)
		bad[2] = bad[1] - 1
		if err := pq.ScoreBatch(docs, bad, out); err == nil {
			t.Error("decreasing offsets accepted")
		}
	}
}

func TestNewQueryErrors(t *testing.T) {
	if _, err := NewQuery(nil, 0, 128); !errors.Is(err, ErrEmptyQuery) {
		t.Errorf("empty query: %v", err)
	}
	if _, err := NewQuery(make([]float32, 10), 2, 4); err == nil {
		t.Error("size mismatch accepted")
	}
	if _, err := NewQuery(make([]float32, 0), 2, 0); err == nil {
		t.Error("dim 0 accepted")
	}
	if _, err := NewQueryKernel(Kernel(9), make([]float32, 4), 1, 4); err == nil {
		t.Error("unknown kernel accepted")
	}
}
