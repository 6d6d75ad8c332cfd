package maxsim

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSimilaritiesMatchDotProducts(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 60; trial++ {
		dim := 1 + r.IntN(140)
		nq := 1 + r.IntN(70)
		n := r.IntN(40)
		q, d := randMat(r, nq, dim), randMat(r, n, dim)
		for _, k := range Kernels() {
			pq, _ := NewQueryKernel(k, q, nq, dim)
			stride := pq.Stride()
			out := make([]float32, n*stride)
			for i := range out {
				out[i] = float32(math.NaN()) // every entry must be written
			}
			if err := pq.Similarities(d, out); err != nil {
				t.Fatal(err)
			}
			for j := 0; j < n; j++ {
				for i := 0; i < stride; i++ {
					var want, scale float64
					if i < nq {
						for x := 0; x < dim; x++ {
							want += float64(q[i*dim+x] * d[j*dim+x])
							scale += math.Abs(float64(q[i*dim+x] * d[j*dim+x]))
						}
					}
					if got := out[j*stride+i]; !(math.Abs(float64(got)-want) <= 1e-5*math.Max(1, scale)) {
						t.Fatalf("%v nq=%d dim=%d row %d lane %d: got %v want %v", k, nq, dim, j, i, got, want)
					}
				}
			}
		}
	}
}

func TestSimilaritiesErrors(t *testing.T) {
	pq, _ := NewQuery(make([]float32, 8), 2, 4)
	if err := pq.Similarities(make([]float32, 7), make([]float32, 64)); err == nil {
		t.Error("ragged matrix accepted")
	}
	if err := pq.Similarities(make([]float32, 8), make([]float32, 63)); err == nil {
		t.Error("short output accepted")
	}
}

func TestMaxRows(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 50; trial++ {
		stride := Lanes * (1 + r.IntN(2))
		nrows := 1 + r.IntN(50)
		s := randMat(r, nrows, stride)
		rows := make([]int32, r.IntN(20))
		for i := range rows {
			rows[i] = int32(r.IntN(nrows))
		}
		want := make([]float32, stride)
		for i := range want {
			want[i] = -9999
			for _, row := range rows {
				want[i] = max(want[i], s[int(row)*stride+i])
			}
		}
		for _, k := range Kernels() {
			mx := make([]float32, stride)
			for i := range mx {
				mx[i] = -9999
			}
			MaxRows(k, s, stride, rows, mx)
			for i := range mx {
				if mx[i] != want[i] {
					t.Fatalf("%v stride %d rows %v lane %d: got %v want %v", k, stride, rows, i, mx[i], want[i])
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("out-of-range row did not panic")
		}
	}()
	MaxRows(Best(), make([]float32, 64), 32, []int32{2}, make([]float32, 32))
}
