package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
)

// TestPolyScoreByHand checks a case worked out on paper: ctx = [[1,0],[0,2]],
// cand = [1,1] gives s = (1, 2), w = (1, e)/(1+e), score = (1+2e)/(1+e).
func TestPolyScoreByHand(t *testing.T) {
	ctx := []float32{1, 0, 0, 2}
	got := PolyScore(ctx, 2, 2, []float32{1, 1})
	want := (1 + 2*math.E) / (1 + math.E)
	if math.Abs(float64(got)-want) > 1e-6 {
		t.Fatalf("PolyScore = %v, want %v", got, want)
	}
	// One context vector: plain dot product.
	if got := PolyScore([]float32{2, -3}, 1, 2, []float32{0.5, 1}); got != -2 {
		t.Fatalf("m = 1: PolyScore = %v, want -2", got)
	}
	// Large dot products must not overflow the softmax.
	if got := PolyScore([]float32{1000, 0, 0, 1000}, 2, 2, []float32{1, 1}); got != 1000 {
		t.Fatalf("large scores: PolyScore = %v, want 1000", got)
	}
	if got := PolyScore(nil, 0, 2, []float32{1, 1}); got != 0 {
		t.Fatalf("m = 0: PolyScore = %v, want 0", got)
	}
}

// TestPolyScoreFixture recomputes the PyTorch fixture's poly-encoder scores
// (experiments/peers/make_models_fixture.py, float64) from its own context
// and passage vectors for each query's n-way candidates.
func TestPolyScoreFixture(t *testing.T) {
	ref, err := safetensors.ReadFile(filepath.Join("testdata", "tiny-models-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := safetensors.ReadFile(filepath.Join("testdata", "tiny-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	q, d, want := ref.Tensors["poly_query"], ref.Tensors["poly_doc"], ref.Tensors["poly_scores"]
	cand := in.Tensors["kl_candidates"]
	if q == nil || d == nil || want == nil || cand == nil {
		t.Fatal("fixture lacks poly_query, poly_doc, poly_scores or kl_candidates")
	}
	nq, m, h := q.Shape[0], q.Shape[1], q.Shape[2]
	nc := cand.Shape[1]
	worst := 0.0
	for i := 0; i < nq; i++ {
		for j := 0; j < nc; j++ {
			di := int(cand.I64[i*nc+j])
			got := PolyScore(q.F32[i*m*h:(i+1)*m*h], m, h, d.F32[di*h:(di+1)*h])
			worst = math.Max(worst, math.Abs(float64(got-want.F32[i*nc+j])))
		}
	}
	t.Logf("poly_scores max abs diff %.3g over %d×%d", worst, nq, nc)
	if worst > 1e-5 {
		t.Fatalf("poly_scores max abs diff %g > 1e-5", worst)
	}
}

// TestPolyFromDotsIsPolyScore: finishing from the dot products gives
// PolyScore's value.
func TestPolyFromDotsIsPolyScore(t *testing.T) {
	ctx := []float32{1, 2, -1, 0.5, 3, -2}
	cand := []float32{0.3, -0.7}
	dots := []float32{1*0.3 + 2*-0.7, -1*0.3 + 0.5*-0.7, 3*0.3 + -2*-0.7}
	if a, b := PolyFromDots(dots), PolyScore(ctx, 3, 2, cand); math.Abs(float64(a-b)) > 1e-6 {
		t.Errorf("PolyFromDots %v, PolyScore %v", a, b)
	}
	if PolyFromDots(nil) != 0 {
		t.Error("no context vector must score 0")
	}
}
