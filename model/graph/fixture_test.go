package graph

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/model"
)

// fixtureDir holds the committed PyTorch parity fixture written by
// experiments/peers/make_parity_fixture.py, so training parity runs on every
// clone without ../shared assets.
const fixtureDir = "../testdata"

// TestFixtureParityKL builds the training graph of the tiny random
// checkpoint on the fixture's queries and documents and checks the student
// scores and KL loss (≤1e-4 absolute) and three gradients (≤1e-3 relative)
// against PyTorch.
func TestFixtureParityKL(t *testing.T) {
	ck, err := model.LoadCheckpoint(filepath.Join(fixtureDir, "tiny-colbert"))
	if err != nil {
		t.Fatal(err)
	}
	rf, err := safetensors.ReadFile(filepath.Join(fixtureDir, "tiny-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ref := reference{rf}
	qids, qs := ref.ints(t, "query_input_ids")
	dids, ds := ref.ints(t, "doc_input_ids")
	cand, cs := ref.ints(t, "kl_candidates")
	dvmask := ref.f32(t, "doc_vector_mask")

	g := New(ck.Config, ck.Params)
	qh := g.Encode(Tokens{B: qs[0], L: qs[1], IDs: qids, Mask: ref.f32(t, "query_attention_mask")})
	dh := g.Encode(Tokens{B: ds[0], L: ds[1], IDs: dids, Mask: ref.f32(t, "doc_attention_mask")})
	qv, dv := g.ColBERT(qh), g.ColBERT(dh)
	cands := make([][]int, cs[0])
	for i := range cands {
		cands[i] = cand[i*cs[1] : (i+1)*cs[1]]
	}
	scores := g.MaxSim(qv, dv, dvmask, cands)
	loss := g.KLLoss(scores, ref.f32(t, "kl_teacher_scores"), 1)
	res, err := g.Backward(loss)
	if err != nil {
		t.Fatal(err)
	}

	check := func(name string, got []float32) {
		t.Helper()
		want := ref.f32(t, name)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, reference %d", name, len(got), len(want))
		}
		d := maxAbsDiff(got, want)
		t.Logf("%s: max abs diff %.3g", name, d)
		if d > 1e-4 {
			t.Errorf("%s: max abs diff %g > 1e-4", name, d)
		}
	}
	sd, _, err := Values(scores)
	if err != nil {
		t.Fatal(err)
	}
	check("kl_student_scores", sd)
	check("kl_loss", []float32{res.Loss})

	// Doc vectors on kept positions (PyTorch zeroes the skipped ones).
	dvd, _, err := Values(dv)
	if err != nil {
		t.Fatal(err)
	}
	dim, want := ck.ColBERT.Dim, ref.f32(t, "doc_vectors")
	var got2, want2 []float32
	for r, k := range dvmask {
		if k != 0 {
			got2 = append(got2, dvd[r*dim:(r+1)*dim]...)
			want2 = append(want2, want[r*dim:(r+1)*dim]...)
		}
	}
	if d := maxAbsDiff(got2, want2); d > 1e-4 || len(got2) == 0 {
		t.Errorf("doc_vectors: max abs diff %g over %d values", d, len(got2))
	}

	for name, pname := range map[string]string{
		"kl_grad_linear_weight":               "linear.weight",
		"kl_grad_layer0_query_weight":         "encoder.layer.0.attention.self.query.weight",
		"kl_grad_embeddings_layernorm_weight": "embeddings.LayerNorm.weight",
	} {
		want := ref.f32(t, name)
		gt, ok := res.Grads[pname]
		if !ok || len(gt.Data) != len(want) {
			t.Fatalf("%s: gradient of %s missing or of the wrong size", name, pname)
		}
		norm := math.Sqrt(dot(want, want))
		if norm == 0 {
			t.Fatalf("%s: reference gradient is zero; the fixture cannot test it", name)
		}
		r := relDiff(gt.Data, want)
		t.Logf("%s: relative diff %.3g (|g| %.3g)", name, r, norm)
		if r > 1e-3 {
			t.Errorf("%s: relative diff %g > 1e-3", name, r)
		}
	}
}
