package graph

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/model"
)

func TestGradSPLADEPoolAndFLOPS(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	// 3 sequences of 2, 4 and 1 attended positions over a vocabulary of 9.
	checkGrad(t, &spladePoolKernel{seg: []int{0, 2, 6, 7}}, []fdata{fd(randData(r, 7*9, 1), 7, 9)}, 1e-2)
	w := randData(r, 3*9, 1)
	for i := range w {
		w[i] = float32(math.Abs(float64(w[i])))
	}
	checkGrad(t, &flopsKernel{}, []fdata{fd(w, 3, 1, 9)}, 1e-2)
	// A term with no positive logit weighs 0 and passes no gradient.
	k := &spladePoolKernel{seg: []int{0, 2}}
	out, _ := k.forward([]fdata{fd([]float32{-1, 2, -3, 0.5}, 2, 2)})
	if out[0] != 0 || math.Abs(float64(out[1])-math.Log1p(2)) > 1e-6 {
		t.Errorf("pool of [[-1 2] [-3 0.5]] = %v, want [0 log 3]", out)
	}
}

func TestGradPolyEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	b, l, h, m := 2, 5, 6, 3
	mask := []float32{1, 1, 1, 0, 0, 1, 1, 1, 1, 1}
	checkGrad(t, &polyCodesKernel{mask: mask}, []fdata{fd(randData(r, b*l*h, 1), b, l, h), fd(randData(r, m*h, 1), m, h)}, 1e-2)
	// Candidates repeat across queries (in-batch negatives do).
	checkGrad(t, &polyScoreKernel{cand: [][]int{{0, 2, 1}, {2, 3, 0}}}, []fdata{fd(randData(r, b*m*h, 1), b, m, h), fd(randData(r, 4*h, 1), 4, 1, h)}, 1e-2)
	// Masked positions do not reach the context vectors.
	k := &polyCodesKernel{mask: mask}
	in := []fdata{fd(randData(r, b*l*h, 1), b, l, h), fd(randData(r, m*h, 1), m, h)}
	o1, _ := k.forward(in)
	for j := 3 * h; j < 5*h; j++ {
		in[0].d[j] += 3
	}
	o2, _ := k.forward(in)
	if d := maxAbsDiff(o1, o2); d != 0 {
		t.Errorf("masked positions changed the context vectors by %g", d)
	}
}

// modelsFixture is the PyTorch reference of the other models
// (experiments/peers/make_models_fixture.py) over the inputs of the
// ColBERT fixture.
type modelsFixture struct {
	in, ref reference
	qids    []int
	qs, ds  []int
	dids    []int
	qm, dm  []float32
	cands   [][]int
	teacher []float32
}

func loadModelsFixture(t *testing.T) *modelsFixture {
	t.Helper()
	in, err := safetensors.ReadFile(filepath.Join(fixtureDir, "tiny-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	rf, err := safetensors.ReadFile(filepath.Join(fixtureDir, "tiny-models-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	f := &modelsFixture{in: reference{in}, ref: reference{rf}}
	f.qids, f.qs = f.in.ints(t, "query_input_ids")
	f.dids, f.ds = f.in.ints(t, "doc_input_ids")
	f.qm, f.dm = f.in.f32(t, "query_attention_mask"), f.in.f32(t, "doc_attention_mask")
	cand, cs := f.in.ints(t, "kl_candidates")
	for i := 0; i < cs[0]; i++ {
		f.cands = append(f.cands, cand[i*cs[1]:(i+1)*cs[1]])
	}
	f.teacher = f.in.f32(t, "kl_teacher_scores")
	return f
}

func (f *modelsFixture) encode(g *Graph) (q, d *G.Node) {
	return g.Encode(Tokens{B: f.qs[0], L: f.qs[1], IDs: f.qids, Mask: f.qm}),
		g.Encode(Tokens{B: f.ds[0], L: f.ds[1], IDs: f.dids, Mask: f.dm})
}

// check compares values (≤ 1e-4 absolute) and gradients (≤ 1e-3 relative)
// with the reference.
func (f *modelsFixture) check(t *testing.T, res *Result, values map[string]*G.Node, grads map[string]string) {
	t.Helper()
	for name, n := range values {
		got, _, err := Values(n)
		if err != nil {
			t.Fatal(err)
		}
		want := f.ref.f32(t, name)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, reference %d", name, len(got), len(want))
		}
		d := maxAbsDiff(got, want)
		t.Logf("%s: max abs diff %.3g", name, d)
		if d > 1e-4*math.Max(1, math.Sqrt(dot(want, want)/float64(len(want)))) {
			t.Errorf("%s: max abs diff %g", name, d)
		}
	}
	for ref, param := range grads {
		want := f.ref.f32(t, ref)
		gt, ok := res.Grads[param]
		if !ok || len(gt.Data) != len(want) {
			t.Fatalf("%s: gradient of %s missing or of the wrong size", ref, param)
		}
		if dot(want, want) == 0 {
			t.Fatalf("%s: reference gradient is zero", ref)
		}
		r := relDiff(gt.Data, want)
		t.Logf("%s: relative diff %.3g", ref, r)
		if r > 1e-3 {
			t.Errorf("%s: relative diff %g > 1e-3", ref, r)
		}
	}
}

func loadKind(t *testing.T, dir string) *model.Checkpoint {
	t.Helper()
	ck, err := model.LoadCheckpoint(filepath.Join(fixtureDir, dir))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// TestFixtureParitySPLADE: sparse vectors, scores, KL + λ·FLOPS and the
// gradients of the MLM head, the tied word embeddings and layer 0 against
// PyTorch.
func TestFixtureParitySPLADE(t *testing.T) {
	f := loadModelsFixture(t)
	ck := loadKind(t, "tiny-splade")
	g := New(ck.Config, ck.Params)
	qh, dh := f.encode(g)
	qs, ds := g.SPLADE(qh, f.qm), g.SPLADE(dh, f.dm)
	scores := g.MaxSim(qs, ds, nil, f.cands)
	lam := f.ref.f32(t, "splade_lambda")
	fq, fdoc := g.FLOPS(qs), g.FLOPS(ds)
	loss := g.Sum([]float32{1, lam[0], lam[1]}, g.KLLoss(scores, f.teacher, 1), fq, fdoc)
	res, err := g.Backward(loss)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, res, map[string]*G.Node{"splade_query": qs, "splade_doc": ds, "splade_scores": scores,
		"splade_flops_q": fq, "splade_flops_d": fdoc, "splade_loss": loss}, map[string]string{
		"splade_grad_dense_weight": model.MLMDenseWeight, "splade_grad_word_embeddings": "embeddings.word_embeddings.weight",
		"splade_grad_layer0_query_weight": "encoder.layer.0.attention.self.query.weight", "splade_grad_mlm_bias": model.MLMBias})
}

func TestFixtureParityPolyEncoder(t *testing.T) {
	f := loadModelsFixture(t)
	ck := loadKind(t, "tiny-poly")
	g := New(ck.Config, ck.Params)
	qh, dh := f.encode(g)
	y, c := g.PolyContext(qh, f.qm), g.PolyCandidates(dh)
	scores := g.PolyScores(y, c, f.cands)
	loss := g.KLLoss(scores, f.teacher, 1)
	res, err := g.Backward(loss)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, res, map[string]*G.Node{"poly_query": y, "poly_doc": c, "poly_scores": scores, "poly_loss": loss},
		map[string]string{"poly_grad_codes": model.PolyCodes, "poly_grad_layer0_query_weight": "encoder.layer.0.attention.self.query.weight"})
}

func TestFixtureParityMVDPR(t *testing.T) {
	f := loadModelsFixture(t)
	ck := loadKind(t, "tiny-mvdpr")
	g := New(ck.Config, ck.Params)
	qh, dh := f.encode(g)
	qv, dv := g.MVDPR(qh, ck.ColBERT.MVK), g.MVDPR(dh, ck.ColBERT.MVK)
	scores := g.MaxSim(qv, dv, nil, f.cands)
	loss := g.KLLoss(scores, f.teacher, 1)
	res, err := g.Backward(loss)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, res, map[string]*G.Node{"mvdpr_query": qv, "mvdpr_doc": dv, "mvdpr_scores": scores, "mvdpr_loss": loss},
		map[string]string{"mvdpr_grad_projection": model.MVProjection, "mvdpr_grad_layer0_query_weight": "encoder.layer.0.attention.self.query.weight"})
}
