package encode

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// TestScoreAllMatchesMaxSim compares the blocked sgemm scorer with the
// scalar reference on documents of mixed lengths (empty ones, and one longer
// than a block) across block boundaries.
func TestScoreAllMatchesMaxSim(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const dim, nq = 16, 5
	lens := []int{3, 0, 7, maxSimBlock + 10, 1, 0}
	for i := 0; i < 900; i++ {
		lens = append(lens, r.IntN(12))
	}
	lens = append(lens, 0)
	dv := &DocVectors{Dim: dim, Offsets: []int{0}}
	for _, n := range lens {
		for k := 0; k < n*dim; k++ {
			dv.Vectors = append(dv.Vectors, float32(r.NormFloat64()))
		}
		dv.Offsets = append(dv.Offsets, dv.Offsets[len(dv.Offsets)-1]+n)
	}
	q := make([]float32, nq*dim)
	for i := range q {
		q[i] = float32(r.NormFloat64())
	}
	got := make([]float32, len(lens))
	for i := range got {
		got[i] = float32(math.NaN())
	}
	dv.ScoreAll(q, nq, got)
	for i := range lens {
		want := model.MaxSim(q, nq, dv.Doc(i), dv.Len(i), dim)
		if d := math.Abs(float64(got[i] - want)); !(d <= 1e-4*math.Max(1, math.Abs(float64(want)))) {
			t.Fatalf("document %d (%d vectors): score %g, want %g", i, lens[i], got[i], want)
		}
	}
}
