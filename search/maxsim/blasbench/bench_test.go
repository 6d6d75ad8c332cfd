package blasbench

import (
	"math/rand/v2"
	"testing"

	"github.com/colbert-go/colbert/search/maxsim"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The shape: a 32×128 query against a 180×128 document, one thread.
// Run the OpenBLAS case with OPENBLAS_NUM_THREADS=1 and -tags openblas.
const nq, n, dim = 32, 180, 128

func randMat(r *rand.Rand, rows int) []float32 {
	m := make([]float32, rows*dim)
	for i := range m {
		m[i] = float32(r.NormFloat64())
	}
	return m
}

func reportGFLOPS(b *testing.B) {
	b.ReportMetric(2*nq*n*dim*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkMaxSim(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	q, d := randMat(r, nq), randMat(r, n)
	for _, k := range maxsim.Kernels() {
		b.Run(k.String(), func(b *testing.B) {
			pq, err := maxsim.NewQueryKernel(k, q, nq, dim)
			if err != nil {
				b.Fatal(err)
			}
			var sink float32
			for b.Loop() {
				sink += pq.Score(d)
			}
			_ = sink
			reportGFLOPS(b)
		})
	}
}

// sgemmBench times C = Q·Dᵀ alone (no max): the GEMM a BLAS-based MaxSim does.
func sgemmBench(b *testing.B, impl blas.Float32Level3) {
	r := rand.New(rand.NewPCG(7, 8))
	q, d := randMat(r, nq), randMat(r, n)
	c := make([]float32, nq*n)
	for b.Loop() {
		impl.Sgemm(blas.NoTrans, blas.Trans, nq, n, dim, 1, q, dim, d, dim, 0, c, n)
	}
	reportGFLOPS(b)
}

func BenchmarkSgemmGonum(b *testing.B) { sgemmBench(b, gonum.Implementation{}) }
