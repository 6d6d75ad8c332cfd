package graph

import (
	"context"
	"encoding/json"
	"github.com/colbert-go/colbert/model/encode"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
)

// loadHF reads an HF checkpoint directory into canonical names (the "bert."
// prefix stripped) without depending on model's loader.
func loadHF(t testing.TB, dir string) (model.BertConfig, model.Params) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg model.BertConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := model.Params{}
	for name, ten := range f.Tensors {
		p[strings.TrimPrefix(name, "bert.")] = &model.Tensor{Shape: ten.Shape, Data: ten.F32}
	}
	return cfg, p
}

type reference struct{ f *safetensors.File }

func (r reference) f32(t testing.TB, name string) []float32 {
	t.Helper()
	x, ok := r.f.Tensors[name]
	if !ok {
		t.Fatalf("reference has no %s", name)
	}
	if x.F32 != nil {
		return x.F32
	}
	o := make([]float32, len(x.I64))
	for i, v := range x.I64 {
		o[i] = float32(v)
	}
	return o
}

func (r reference) ints(t testing.TB, name string) ([]int, []int) {
	t.Helper()
	x, ok := r.f.Tensors[name]
	if !ok {
		t.Fatalf("reference has no %s", name)
	}
	o := make([]int, x.Len())
	for i := range o {
		if x.I64 != nil {
			o[i] = int(x.I64[i])
		} else {
			o[i] = int(x.F32[i])
		}
	}
	return o, x.Shape
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func relDiff(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

// TestParityKL builds the student on the reference inputs and checks the
// hidden states, vectors, KL scores, loss and gradients against PyTorch.
func TestParityKL(t *testing.T) {
	refPath := testassets.Path(t, "models/hf-tiny/reference.safetensors")
	cfg, params := loadHF(t, testassets.Path(t, "models/hf-tiny/colbert"))
	rf, err := safetensors.ReadFile(refPath)
	if err != nil {
		t.Fatal(err)
	}
	ref := reference{rf}
	qids, qs := ref.ints(t, "query_input_ids")
	dids, ds := ref.ints(t, "doc_input_ids")
	cand, cs := ref.ints(t, "kl_candidates")
	qmask := ref.f32(t, "query_attention_mask")
	dmask := ref.f32(t, "doc_attention_mask")
	dvmask := ref.f32(t, "doc_vector_mask")

	g := New(cfg, params)
	qh := g.Encode(Tokens{B: qs[0], L: qs[1], IDs: qids, Mask: qmask})
	dh := g.Encode(Tokens{B: ds[0], L: ds[1], IDs: dids, Mask: dmask})
	qv, dv := g.ColBERT(qh), g.ColBERT(dh)
	cands := make([][]int, cs[0])
	for i := range cands {
		cands[i] = cand[i*cs[1] : (i+1)*cs[1]]
	}
	scores := g.MaxSim(qv, dv, dvmask, cands)
	all := make([][]int, qs[0])
	for i := range all {
		for j := 0; j < ds[0]; j++ {
			all[i] = append(all[i], j)
		}
	}
	matrix := g.MaxSim(qv, dv, dvmask, all)
	loss := g.KLLoss(scores, ref.f32(t, "kl_teacher_scores"), 1)
	res, err := g.Backward(loss)
	if err != nil {
		t.Fatal(err)
	}

	check := func(name string, got []float32, keep []float32, width int, tol float64) {
		t.Helper()
		want := ref.f32(t, name)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, reference %d", name, len(got), len(want))
		}
		if keep != nil { // compare kept rows only
			var g2, w2 []float32
			for r, k := range keep {
				if k != 0 {
					g2 = append(g2, got[r*width:(r+1)*width]...)
					w2 = append(w2, want[r*width:(r+1)*width]...)
				}
			}
			got, want = g2, w2
		}
		d := maxAbsDiff(got, want)
		t.Logf("%s: max abs diff %.3g", name, d)
		if d > tol {
			t.Errorf("%s: max abs diff %g > %g", name, d, tol)
		}
	}
	qhd, _, _ := Values(qh)
	dhd, _, _ := Values(dh)
	qvd, _, _ := Values(qv)
	dvd, _, _ := Values(dv)
	sd, _, _ := Values(scores)
	md, _, err := Values(matrix)
	if err != nil {
		t.Fatal(err)
	}
	check("maxsim_scores", md, nil, 0, 1e-4)
	check("query_hidden", qhd, nil, 0, 1e-4)
	check("doc_hidden", dhd, dmask, cfg.HiddenSize, 1e-4)
	check("query_vectors", qvd, nil, 0, 1e-4)
	check("doc_vectors", dvd, dvmask, 128, 1e-4)
	check("kl_student_scores", sd, nil, 0, 1e-4)
	check("kl_loss", []float32{res.Loss}, nil, 0, 1e-4)
	for name, pname := range map[string]string{
		"kl_grad_linear_weight":               "linear.weight",
		"kl_grad_layer0_query_weight":         "encoder.layer.0.attention.self.query.weight",
		"kl_grad_embeddings_layernorm_weight": "embeddings.LayerNorm.weight",
	} {
		want := ref.f32(t, name)
		got := res.Grads[pname].Data
		r := relDiff(got, want)
		t.Logf("%s: relative diff %.3g (|g| %.3g)", name, r, math.Sqrt(dot(want, want)))
		if r > 1e-3 {
			t.Errorf("%s: relative diff %g > 1e-3", name, r)
		}
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestParityCrossEncoder checks BertForSequenceClassification logits (pooler +
// classifier, token types) on a few reference pairs, trimmed to their longest
// unpadded length.
func TestParityCrossEncoder(t *testing.T) {
	refPath := testassets.Path(t, "models/hf-tiny/reference.safetensors")
	cfg, params := loadHF(t, testassets.Path(t, "models/hf-tiny/cross-encoder"))
	rf, err := safetensors.ReadFile(refPath)
	if err != nil {
		t.Fatal(err)
	}
	ref := reference{rf}
	ids, s := ref.ints(t, "ce_input_ids")
	types, _ := ref.ints(t, "ce_token_type_ids")
	mask := ref.f32(t, "ce_attention_mask")
	logits := ref.f32(t, "ce_logits")
	const n = 4
	l := 0
	for i := 0; i < n; i++ {
		for j := 0; j < s[1]; j++ {
			if mask[i*s[1]+j] != 0 && j+1 > l {
				l = j + 1
			}
		}
	}
	var tk Tokens
	tk.B, tk.L = n, l
	for i := 0; i < n; i++ {
		tk.IDs = append(tk.IDs, ids[i*s[1]:i*s[1]+l]...)
		tk.Types = append(tk.Types, types[i*s[1]:i*s[1]+l]...)
		tk.Mask = append(tk.Mask, mask[i*s[1]:i*s[1]+l]...)
	}
	g := New(cfg, params)
	out := g.CrossEncoder(g.Encode(tk))
	if err := g.Forward(); err != nil {
		t.Fatal(err)
	}
	got, shape, err := Values(out)
	if err != nil {
		t.Fatal(err)
	}
	if shape[0] != n || shape[1] != 1 {
		t.Fatalf("logits shape %v", shape)
	}
	if d := maxAbsDiff(got, logits[:n]); d > 1e-4 {
		t.Errorf("cross-encoder logits differ by %g: %v vs %v", d, got, logits[:n])
	} else {
		t.Logf("cross-encoder logits (L=%d): max abs diff %.3g", l, d)
	}
}

// TestBiEncoderMatchesEncode compares the graph's single-vector scores with
// model/encode's bi-encoder (an independent forward pass) on the reference
// queries and documents: score = ⟨linear·CLS(q), linear·CLS(d)⟩.
func TestBiEncoderMatchesEncode(t *testing.T) {
	refPath := testassets.Path(t, "models/hf-tiny/reference.safetensors")
	cfg, params := loadHF(t, testassets.Path(t, "models/hf-tiny/colbert"))
	rf, err := safetensors.ReadFile(refPath)
	if err != nil {
		t.Fatal(err)
	}
	ref := reference{rf}
	qids, qs := ref.ints(t, "query_input_ids")
	qmask := ref.f32(t, "query_attention_mask")
	const n = 4
	L := qs[1]
	tk := Tokens{B: n, L: L, IDs: qids[:n*L], Mask: qmask[:n*L]}
	g := New(cfg, params)
	e := g.BiEncoder(g.Encode(tk))
	cand := [][]int{{0, 1, 2, 3}, {1, 2, 3, 0}, {2, 3, 0, 1}, {3, 0, 1, 2}}
	s := g.MaxSim(e, e, nil, cand)
	if err := g.Forward(); err != nil {
		t.Fatal(err)
	}
	got, _, _ := Values(s)

	ck := &model.Checkpoint{Kind: model.KindBiEncoder, Config: cfg, Params: params}
	be, err := encode.NewBiEncoder(ck, encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := encode.Batch{N: n, Len: L, IDs: make([]int32, n*L), AttentionMask: make([]int32, n*L), TokenTypeIDs: make([]int32, n*L)}
	for i := range b.IDs {
		b.IDs[i], b.AttentionMask[i] = int32(qids[i]), int32(qmask[i])
	}
	emb, err := be.Encode(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	dim := be.Dim()
	for i, c := range cand {
		for j, k := range c {
			want := float32(dot(emb[i*dim:(i+1)*dim], emb[k*dim:(k+1)*dim]))
			if d := math.Abs(float64(got[i*4+j] - want)); d > 1e-4*math.Max(1, math.Abs(float64(want))) {
				t.Errorf("score(%d,%d) = %g, encode gives %g", i, k, got[i*4+j], want)
			}
		}
	}
}
