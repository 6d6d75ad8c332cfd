package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/colbert-go/colbert/model"
)

func TestGradGather(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	// Repeated position 4: its gradient is the sum of both picks.
	checkGrad(t, &gatherKernel{pos: []int{0, 4, 5, 4, 2}}, []fdata{fd(randData(r, 2*3*4, 1), 2, 3, 4)}, 1e-2)
	k := &gatherKernel{pos: []int{1, 5}}
	in := []fdata{fd(randData(r, 2*3*4, 1), 2, 3, 4)}
	out, err := k.forward(in)
	if err != nil {
		t.Fatal(err)
	}
	if maxAbsDiff(out[:4], in[0].d[4:8]) != 0 {
		t.Error("gather row 0 is not token 1 of sequence 0")
	}
	if maxAbsDiff(out[4:], in[0].d[20:24]) != 0 {
		t.Error("gather row 1 is not token 2 of sequence 1")
	}
	if _, err := (&gatherKernel{pos: []int{1, 6}}).outShape([]tensor.Shape{{2, 3, 4}}); err == nil {
		t.Error("position 6 of a 2×3 batch accepted")
	}
}

// tinyMLMModel is a random cross-encoder with an MLM head whose biases and
// LayerNorm are perturbed, so that no gradient is trivially structured.
func tinyMLMModel(t *testing.T) (model.BertConfig, model.Params) {
	t.Helper()
	cfg := model.BertConfig{VocabSize: 11, HiddenSize: 8, NumHiddenLayers: 1, NumAttentionHeads: 2,
		IntermediateSize: 16, HiddenAct: "gelu", MaxPositionEmbeddings: 8, TypeVocabSize: 2,
		LayerNormEps: 1e-12, InitializerRange: 0.02, ModelType: "bert"}
	p, err := model.InitParams(cfg, model.KindCrossEncoder, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(15, 16))
	for n, s := range model.MLMHeadShapes(cfg) {
		tn := &model.Tensor{Shape: s}
		tn.Data = randData(r, tn.Len(), 0.5)
		if n == model.MLMNormWeight {
			for i := range tn.Data {
				tn.Data[i]++
			}
		}
		p[n] = tn
	}
	// Larger embeddings than BERT's init, so the logits are not all alike.
	for i, v := range p["embeddings.word_embeddings.weight"].Data {
		p["embeddings.word_embeddings.weight"].Data[i] = v * 25
	}
	return cfg, p
}

// TestGraphGradMLMHead differentiates encoder → MLM head → CE through
// Gorgonia and checks every head tensor and the tied word embeddings (used
// by the lookup and by the decoder) against finite differences.
func TestGraphGradMLMHead(t *testing.T) {
	cfg, p := tinyMLMModel(t)
	tok := Tokens{B: 2, L: 4, IDs: []int{1, 5, 7, 2, 1, 9, 2, 0}, Types: []int{0, 0, 1, 1, 0, 1, 1, 0},
		Mask: []float32{1, 1, 1, 1, 1, 1, 1, 0}}
	pos, labels := []int{1, 2, 5}, []int{3, 7, 10}
	lossOf := func() (float32, *Result) {
		g := New(cfg, p)
		loss := g.CELoss(g.MLMLogits(g.Encode(tok), pos), labels, 1)
		res, err := g.Backward(loss)
		if err != nil {
			t.Fatal(err)
		}
		return res.Loss, res
	}
	_, res := lossOf()
	const eps = 1e-3
	r := rand.New(rand.NewPCG(17, 18))
	for _, name := range []string{model.MLMDenseWeight, model.MLMDenseBias, model.MLMNormWeight, model.MLMNormBias,
		model.MLMBias, "embeddings.word_embeddings.weight", "encoder.layer.0.output.dense.weight"} {
		d := p[name].Data
		g, ok := res.Grads[name]
		if !ok {
			t.Fatalf("no gradient for %s", name)
		}
		var num, den float64
		for c := 0; c < 24; c++ {
			j := r.IntN(len(d))
			if name == "embeddings.word_embeddings.weight" && c%2 == 0 {
				// Rows of ids only the decoder sees (4, 6, 8) and of ids in
				// the input: both uses must be summed.
				j = []int{4, 6, 8, 5, 7, 9}[c/2%6]*cfg.HiddenSize + r.IntN(cfg.HiddenSize)
			}
			old := d[j]
			d[j] = old + eps
			lp, _ := lossOf()
			d[j] = old - eps
			lm, _ := lossOf()
			d[j] = old
			f := (float64(lp) - float64(lm)) / (2 * eps)
			diff := f - float64(g.Data[j])
			num += diff * diff
			den += f * f
		}
		rel := math.Sqrt(num / math.Max(den, 1e-12))
		t.Logf("%s: relative error %.3g (fd norm %.3g)", name, rel, math.Sqrt(den))
		tol := 2e-2
		if name == "encoder.layer.0.output.dense.weight" {
			tol = 5e-2 // small gradient after two LayerNorms: float32 noise in the differences
		}
		if rel > tol || den == 0 {
			t.Errorf("%s: gradient relative error %.3g", name, rel)
		}
	}
}

// TestMLMLogitsMatchDirect recomputes the head's logits for one position
// from its definition (dense, erf GELU, LayerNorm, tied decoder + bias).
func TestMLMLogitsMatchDirect(t *testing.T) {
	cfg, p := tinyMLMModel(t)
	h := cfg.HiddenSize
	r := rand.New(rand.NewPCG(19, 20))
	hid := randData(r, 2*3*h, 1)
	g := New(cfg, p)
	logits := g.MLMLogits(g.Input("h", hid, 2, 3, h), []int{4})
	if err := g.Forward(); err != nil {
		t.Fatal(err)
	}
	got, shape, err := Values(logits)
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 || shape[0] != 1 || shape[1] != cfg.VocabSize {
		t.Fatalf("logits shape %v, want [1 %d]", shape, cfg.VocabSize)
	}
	x := hid[4*h : 5*h]
	y := make([]float64, h)
	for o := range y {
		s := float64(p[model.MLMDenseBias].Data[o])
		for i, v := range x {
			s += float64(p[model.MLMDenseWeight].Data[o*h+i]) * float64(v)
		}
		y[o] = 0.5 * s * (1 + math.Erf(s/math.Sqrt2))
	}
	var mean, vr float64
	for _, v := range y {
		mean += v / float64(h)
	}
	for _, v := range y {
		vr += (v - mean) * (v - mean) / float64(h)
	}
	for o := range y {
		y[o] = (y[o]-mean)/math.Sqrt(vr+cfg.LayerNormEps)*float64(p[model.MLMNormWeight].Data[o]) + float64(p[model.MLMNormBias].Data[o])
	}
	w := p["embeddings.word_embeddings.weight"].Data
	for v := 0; v < cfg.VocabSize; v++ {
		want := float64(p[model.MLMBias].Data[v])
		for j := range y {
			want += y[j] * float64(w[v*h+j])
		}
		if math.Abs(float64(got[v])-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("logit %d = %g, direct %g", v, got[v], want)
		}
	}
	g2 := New(cfg, p)
	g2.MLMLogits(g2.Input("h", hid, 2, 3, h), nil)
	if g2.Err() == nil {
		t.Error("no masked position accepted")
	}
}

// BenchmarkMLMHead is the head's share of an MLM step on the demo teacher:
// 64 pairs × 128 tokens, hidden 128, 15 % of the tokens masked (1 228
// positions), vocabulary 4 825, forward and backward through the CE loss.
func BenchmarkMLMHead(b *testing.B) {
	const n, l, v = 64, 128, 4825
	cfg := model.SmallConfig(v)
	p, err := model.InitParams(cfg, model.KindCrossEncoder, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for name, s := range model.MLMHeadShapes(cfg) {
		t := &model.Tensor{Shape: s}
		t.Data = randData(r, t.Len(), 0.02)
		p[name] = t
	}
	hid := randData(r, n*l*cfg.HiddenSize, 1)
	var pos, labels []int
	for i := 0; i < n*l; i++ {
		if r.Float64() < 0.15 {
			pos, labels = append(pos, i), append(labels, r.IntN(v))
		}
	}
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		g := New(cfg, p)
		if _, err := g.Backward(g.CELoss(g.MLMLogits(g.Input("h", hid, n, l, cfg.HiddenSize), pos), labels, 1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pos)), "positions")
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
}

// TestCELossManyRows covers the CE kernel's parallel path (≥ ceRows rows,
// as the MLM loss has): value against a direct evaluation, and gradients.
func TestCELossManyRows(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	const b, n = 3 * ceRows, 9
	s := randData(r, b*n, 3)
	labels := make([]int, b)
	var want float64
	for i := range labels {
		labels[i] = r.IntN(n)
		var z float64
		for _, v := range s[i*n : (i+1)*n] {
			z += math.Exp(float64(v))
		}
		want += (math.Log(z) - float64(s[i*n+labels[i]])) / b
	}
	k := &ceKernel{labels: labels, scale: 1}
	out, err := k.forward([]fdata{fd(s, b, n)})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(out[0])-want) > 1e-5 {
		t.Errorf("CE over %d rows = %g, direct %g", b, out[0], want)
	}
	// Gradient: (softmax − one-hot)/B per row (finite differences of a
	// mean over 192 rows drown in float32 rounding).
	grad := make([]float32, b*n)
	if err := k.backward([]fdata{fd(s, b, n)}, out, []float32{1}, [][]float32{grad}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < b; i++ {
		var z float64
		for _, v := range s[i*n : (i+1)*n] {
			z += math.Exp(float64(v))
		}
		for j, v := range s[i*n : (i+1)*n] {
			g := math.Exp(float64(v)) / z
			if j == labels[i] {
				g--
			}
			if d := math.Abs(float64(grad[i*n+j]) - g/b); d > 1e-8 {
				t.Fatalf("row %d class %d: gradient %g, direct %g", i, j, grad[i*n+j], g/b)
			}
		}
	}
}
