package maxsim

import (
	"math/rand/v2"
	"testing"
)

// The benchmark shape: a 32×128 query against a 180×128 document.
const benchNQ, benchN, benchDim = 32, 180, 128

func benchFlops() float64 { return 2 * benchNQ * benchN * benchDim }

func reportGFLOPS(b *testing.B) {
	b.ReportMetric(benchFlops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkMaxSim(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	q, d := randMat(r, benchNQ, benchDim), randMat(r, benchN, benchDim)
	for _, k := range Kernels() {
		b.Run(k.String(), func(b *testing.B) {
			pq, err := NewQueryKernel(k, q, benchNQ, benchDim)
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

// BenchmarkMaxSimBatch scores 1000 documents of ColBERT-like ragged lengths.
func BenchmarkMaxSimBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	offsets := []int{0}
	for i := 0; i < 1000; i++ {
		offsets = append(offsets, offsets[i]+20+r.IntN(161))
	}
	docs := randMat(r, offsets[len(offsets)-1], benchDim)
	q := randMat(r, benchNQ, benchDim)
	out := make([]float32, 1000)
	pq, _ := NewQuery(q, benchNQ, benchDim)
	for b.Loop() {
		if err := pq.ScoreBatch(docs, offsets, out); err != nil {
			b.Fatal(err)
		}
	}
	flops := 2 * float64(benchNQ*benchDim*offsets[len(offsets)-1])
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
