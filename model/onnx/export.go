// Package onnx exports our BERT models (the cross-encoder teacher, the
// ColBERT student encoder, and the SPLADE, poly-encoder and multi-vector DPR
// heads of model.Kinds) as ONNX graphs (IR version 8, opset 17), so that
// ONNX Runtime — or any ONNX consumer — runs them exactly like PyTorch's
// BertForSequenceClassification, ColBERT's HF_ColBERT and model/encode.
//
// The protobuf wire format is written by hand (proto.go) with
// google.golang.org/protobuf/encoding/protowire; no generated code is needed.
// Inputs are int64 [batch, sequence] with dynamic axes: input_ids,
// attention_mask and token_type_ids for the cross-encoder and ColBERT (as
// their HF and torch.onnx exports have them); input_ids and attention_mask
// only for SPLADE, the poly-encoder and MV-DPR, which encode one text at a
// time (segment 0, as model/encode runs them).
package onnx

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/colbert-go/colbert/data/fsx"
	"github.com/colbert-go/colbert/model"
)

// Kind selects the head of the exported graph.
type Kind string

const (
	// CrossEncoder is BertForSequenceClassification with one label: pooler
	// (dense + tanh on [CLS]) then classifier; output logits [batch, 1].
	CrossEncoder Kind = "cross-encoder"
	// ColBERT is the student encoder: BERT → linear (no bias) → L2
	// normalisation per token; output vectors [batch, sequence, dim]. Padding
	// and punctuation are masked by the caller, as ColBERT does.
	ColBERT Kind = "colbert"
	// SPLADE is model.KindSPLADE: the MLM head (dense, erf GELU, LayerNorm,
	// decoder tied to the word embeddings, plus bias) on every token, then
	// log(1 + ReLU), zero at unattended positions, max over the sequence;
	// output sparse [batch, vocab] (dense in the graph; zeros are absent
	// terms).
	SPLADE Kind = "splade"
	// PolyEncoder is model.KindPolyEncoder: outputs query_context
	// [batch, m, hidden] (each code attends over the attended positions)
	// for the query side and cls [batch, hidden] for the passage side, so
	// one graph serves both; model.PolyScore scores a pair.
	PolyEncoder Kind = "poly-encoder"
	// MVDPR is model.KindMVDPR: [CLS] → projection (no bias) → k vectors
	// of dim, each L2-normalised; output vectors [batch, k, dim].
	MVDPR Kind = "mv-dpr"
	// BiEncoder is model.KindBiEncoder, the single-vector baseline: [CLS]
	// → linear (no bias) when the checkpoint has linear.weight, not
	// normalised (relevance is the dot product); output embedding
	// [batch, dim].
	BiEncoder Kind = "bi-encoder"
)

// Kinds lists the kinds Export accepts, for messages.
var Kinds = []Kind{CrossEncoder, ColBERT, SPLADE, PolyEncoder, MVDPR, BiEncoder}

// Output names of the exported graphs.
const (
	LogitsOutput       = "logits"        // cross-encoder [batch, 1]
	VectorsOutput      = "vectors"       // ColBERT [batch, sequence, dim]; MV-DPR [batch, k, dim]
	SparseOutput       = "sparse"        // SPLADE [batch, vocab]
	QueryContextOutput = "query_context" // poly-encoder [batch, m, hidden]
	CLSOutput          = "cls"           // poly-encoder [batch, hidden]
	EmbeddingOutput    = "embedding"     // bi-encoder [batch, dim]
)

// Options carries the head sizes that neither the BERT config nor the
// tensors' shapes settle. A zero field is inferred from the tensors where
// they allow it.
type Options struct {
	// PolyM is the poly-encoder's number of codes (0: poly.codes' rows).
	PolyM int
	// MVK and Dim split MV-DPR's projection [MVK·Dim, hidden] into MVK
	// vectors of Dim; one of them is enough (the other is the quotient).
	MVK, Dim int
}

// OptionsOf returns the head sizes a checkpoint records (poly_m, mv_k,
// dim of colbert_config.json).
func OptionsOf(ck *model.Checkpoint) Options {
	return Options{PolyM: ck.ColBERT.PolyM, MVK: ck.ColBERT.MVK, Dim: ck.ColBERT.Dim}
}

const (
	irVersion = 8
	opset     = 17
)

// ParseKind accepts one of Kinds.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("onnx: unknown model kind %q (want one of %v)", s, Kinds)
}

// Export encodes the model as ONNX bytes. A missing parameter or one whose
// shape disagrees with cfg is an error naming it and both shapes. An MV-DPR
// export needs its vector count: use ExportWith.
func Export(cfg model.BertConfig, p model.Params, kind Kind) ([]byte, error) {
	return ExportWith(cfg, p, kind, Options{})
}

// ExportWith is Export with the head sizes of opt (see OptionsOf).
func ExportWith(cfg model.BertConfig, p model.Params, kind Kind, opt Options) ([]byte, error) {
	m, err := build(cfg, p, kind, opt)
	if err != nil {
		return nil, err
	}
	return m.marshal(), nil
}

// build makes the model's protobuf structure; its initializers refer to
// p's tensors (no copies).
func build(cfg model.BertConfig, p model.Params, kind Kind, opt Options) (*modelProto, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if cfg.HiddenSize <= 0 || cfg.NumAttentionHeads <= 0 || cfg.HiddenSize%cfg.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("onnx: hidden size %d not divisible into %d heads", cfg.HiddenSize, cfg.NumAttentionHeads)
	}
	if cfg.HiddenAct != "" && cfg.HiddenAct != "gelu" {
		return nil, fmt.Errorf("onnx: hidden_act %q not supported (only exact gelu)", cfg.HiddenAct)
	}
	// Single-text encoders take no token_type_ids: every token is segment 0.
	withTypes := kind == CrossEncoder || kind == ColBERT
	b := &builder{params: p}
	b.bert(cfg, withTypes)
	out := func(name string, dims ...any) valueInfo {
		return valueInfo{name: name, dtype: dtFloat, dims: append([]any{"batch"}, dims...)}
	}
	var outs []valueInfo
	meta := [][2]string{{"kind", string(kind)}}
	switch kind {
	case CrossEncoder:
		b.crossEncoderHead(cfg)
		outs = []valueInfo{out(LogitsOutput, int64(1))}
	case ColBERT:
		dim := b.colbertHead(cfg)
		outs = []valueInfo{out(VectorsOutput, "sequence", int64(dim))}
	case SPLADE:
		b.spladeHead(cfg)
		outs = []valueInfo{out(SparseOutput, int64(cfg.VocabSize))}
	case PolyEncoder:
		m := b.polyHead(cfg, opt.PolyM)
		outs = []valueInfo{out(QueryContextOutput, int64(m), int64(cfg.HiddenSize)), out(CLSOutput, int64(cfg.HiddenSize))}
		meta = append(meta, [2]string{"poly_m", strconv.Itoa(m)})
	case MVDPR:
		k, dim := b.mvdprHead(cfg, opt.MVK, opt.Dim)
		outs = []valueInfo{out(VectorsOutput, int64(k), int64(dim))}
		meta = append(meta, [2]string{"mv_k", strconv.Itoa(k)}, [2]string{"dim", strconv.Itoa(dim)})
	case BiEncoder:
		dim := b.biEncoderHead(cfg)
		outs = []valueInfo{out(EmbeddingOutput, int64(dim))}
	}
	if b.err != nil {
		return nil, b.err
	}
	in := func(name string) valueInfo {
		return valueInfo{name: name, dtype: dtInt64, dims: []any{"batch", "sequence"}}
	}
	b.g.name = "colbert-go-" + string(kind)
	b.g.inputs = []valueInfo{in("input_ids"), in("attention_mask")}
	if withTypes {
		b.g.inputs = append(b.g.inputs, in("token_type_ids"))
	}
	b.g.outputs = outs
	return &modelProto{
		irVersion: irVersion, opset: opset,
		producerName: "colbert-go", producerVersion: "1",
		docString: "BERT " + string(kind) + " exported by colbert-go",
		graph:     b.g,
		metadata:  meta,
	}, nil
}

// WriteFile exports to path atomically and durably (fsx), so an ONNX
// Runtime session never loads a truncated model. The bytes are streamed:
// beyond the parameters it holds about a megabyte (a bert-base export would
// otherwise hold the weights three more times while encoding). An MV-DPR
// export needs its vector count: use WriteFileWith.
func WriteFile(path string, cfg model.BertConfig, p model.Params, kind Kind) error {
	return WriteFileWith(path, cfg, p, kind, Options{})
}

// WriteFileWith is WriteFile with the head sizes of opt (see OptionsOf).
func WriteFileWith(path string, cfg model.BertConfig, p model.Params, kind Kind, opt Options) error {
	m, err := build(cfg, p, kind, opt)
	if err != nil {
		return err
	}
	if err := fsx.WriteFile(path, 0o644, m.writeTo); err != nil {
		return fmt.Errorf("onnx: write %s: %w", path, err)
	}
	return nil
}

// builder accumulates nodes and initializers; the first error sticks.
type builder struct {
	params model.Params
	g      graphProto
	n      int
	err    error
	x      string // current hidden state [batch, seq, hidden]
	// maskF is attention_mask as float [batch, seq]; maskAdd is 0 where
	// attended and the float32 minimum where masked, [batch, seq]. The
	// heads that pool over positions reuse them.
	maskF, maskAdd string
}

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// op adds a node with one output and returns the output's name.
func (b *builder) op(opType string, inputs []string, attrs ...attribute) string {
	b.n++
	out := opType + "_" + strconv.Itoa(b.n)
	b.g.nodes = append(b.g.nodes, nodeProto{name: "n" + strconv.Itoa(b.n) + "_" + opType, opType: opType,
		inputs: inputs, outputs: []string{out}, attrs: attrs})
	return out
}

func (b *builder) constF(name string, dims []int64, data ...float32) string {
	b.g.initializers = append(b.g.initializers, tensorProto{name: name, dtype: dtFloat, dims: dims, f32: data})
	return name
}

func (b *builder) constI(name string, dims []int64, data ...int64) string {
	b.g.initializers = append(b.g.initializers, tensorProto{name: name, dtype: dtInt64, dims: dims, i64: data})
	return name
}

// param fetches a checkpoint tensor and checks its shape.
func (b *builder) param(name string, shape ...int) *model.Tensor {
	t, ok := b.params[name]
	if !ok {
		b.fail(fmt.Errorf("onnx: checkpoint has no tensor %q (want shape %v)", name, shape))
		return nil
	}
	if !slices.Equal(t.Shape, shape) || len(t.Data) != t.Len() {
		b.fail(fmt.Errorf("onnx: tensor %q has shape %v (%d values), config wants %v", name, t.Shape, len(t.Data), shape))
		return nil
	}
	return t
}

// weight adds a tensor as is.
func (b *builder) weight(name string, shape ...int) string {
	t := b.param(name, shape...)
	if t == nil {
		return name
	}
	return b.constF(name, toInt64(t.Shape), t.Data...)
}

// linearT adds the transpose [in, out] of an HF Linear weight [out, in], so
// that MatMul(x, W) computes x·Wᵀ as nn.Linear does.
func (b *builder) linearT(name string, out, in int) string {
	t := b.param(name, out, in)
	if t == nil {
		return name
	}
	// Transposed while written (tensorProto.trOut): no copy of the weights.
	b.g.initializers = append(b.g.initializers, tensorProto{name: name + ".T", dtype: dtFloat,
		dims: []int64{int64(in), int64(out)}, f32: t.Data, trOut: out})
	return name + ".T"
}

// linear is x·Wᵀ (+ bias when biasName is not empty).
func (b *builder) linear(x, weightName, biasName string, out, in int) string {
	y := b.op("MatMul", []string{x, b.linearT(weightName, out, in)})
	if biasName != "" {
		y = b.op("Add", []string{y, b.weight(biasName, out)})
	}
	return y
}

func (b *builder) layerNorm(x, prefix string, h int, eps float64) string {
	return b.op("LayerNormalization", []string{x, b.weight(prefix+".weight", h), b.weight(prefix+".bias", h)},
		attribute{name: "axis", typ: attrInt, i: -1}, attribute{name: "epsilon", typ: attrFloat, f: float32(eps)})
}

// bert builds embeddings and encoder layers from the inputs, as HF's
// BertModel in eval mode. Without withTypes there is no token_type_ids
// input and every token gets token type 0's embedding.
func (b *builder) bert(cfg model.BertConfig, withTypes bool) {
	h, nh := cfg.HiddenSize, cfg.NumAttentionHeads
	dh := h / nh
	eps := cfg.LayerNormEps
	if eps == 0 {
		eps = 1e-12
	}
	typeVocab := cfg.TypeVocabSize
	if typeVocab == 0 {
		typeVocab = 2
	}

	// Embeddings: word + token type, then + positions 0..S-1, then LayerNorm.
	word := b.op("Gather", []string{b.weight("embeddings.word_embeddings.weight", cfg.VocabSize, h), "input_ids"})
	types := b.weight("embeddings.token_type_embeddings.weight", typeVocab, h)
	var typ string
	if withTypes {
		typ = b.op("Gather", []string{types, "token_type_ids"})
	} else {
		// Row 0, [hidden], broadcast over batch and sequence.
		typ = b.op("Gather", []string{types, b.constI("const_type_zero", nil, 0)})
	}
	seqLen := b.op("Shape", []string{"input_ids"}, attribute{name: "start", typ: attrInt, i: 1}, attribute{name: "end", typ: attrInt, i: 2})
	zero := b.constI("const_zero_1d", []int64{1}, 0)
	pos := b.op("Slice", []string{b.weight("embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, h), zero, seqLen, zero})
	x := b.op("Add", []string{word, typ})
	x = b.op("Add", []string{x, pos})
	x = b.layerNorm(x, "embeddings.LayerNorm", h, eps)

	// Additive attention mask [batch, 1, 1, seq]: 0 where attended, the
	// float32 minimum where masked (HF's extended attention mask).
	maskF := b.op("Cast", []string{"attention_mask"}, attribute{name: "to", typ: attrInt, i: dtFloat})
	inv := b.op("Sub", []string{b.constF("const_one", nil, 1), maskF})
	add := b.op("Mul", []string{inv, b.constF("const_float_min", nil, -math.MaxFloat32)})
	ext := b.op("Unsqueeze", []string{add, b.constI("const_axes_1_2", []int64{2}, 1, 2)})
	b.maskF, b.maskAdd = maskF, add

	heads := b.constI("const_heads_shape", []int64{4}, 0, 0, int64(nh), int64(dh))
	merged := b.constI("const_hidden_shape", []int64{3}, 0, 0, int64(h))
	scale := b.constF("const_sqrt_head_dim", nil, float32(math.Sqrt(float64(dh))))
	b.constF("const_half", nil, 0.5)                  // for gelu
	b.constF("const_sqrt2", nil, float32(math.Sqrt2)) // for gelu
	perm := func(p ...int64) attribute { return attribute{name: "perm", typ: attrInts, ints: p} }

	for l := 0; l < cfg.NumHiddenLayers; l++ {
		pre := fmt.Sprintf("encoder.layer.%d.", l)
		split := func(name string, p attribute) string {
			y := b.linear(x, pre+"attention.self."+name+".weight", pre+"attention.self."+name+".bias", h, h)
			return b.op("Transpose", []string{b.op("Reshape", []string{y, heads})}, p)
		}
		q := split("query", perm(0, 2, 1, 3)) // [B, nh, S, dh]
		k := split("key", perm(0, 2, 3, 1))   // [B, nh, dh, S]
		v := split("value", perm(0, 2, 1, 3)) // [B, nh, S, dh]
		s := b.op("Div", []string{b.op("MatMul", []string{q, k}), scale})
		s = b.op("Add", []string{s, ext})
		pr := b.op("Softmax", []string{s}, attribute{name: "axis", typ: attrInt, i: -1})
		c := b.op("Transpose", []string{b.op("MatMul", []string{pr, v})}, perm(0, 2, 1, 3))
		c = b.op("Reshape", []string{c, merged})
		a := b.linear(c, pre+"attention.output.dense.weight", pre+"attention.output.dense.bias", h, h)
		a = b.layerNorm(b.op("Add", []string{a, x}), pre+"attention.output.LayerNorm", h, eps)

		// FFN with exact GELU.
		i := b.linear(a, pre+"intermediate.dense.weight", pre+"intermediate.dense.bias", cfg.IntermediateSize, h)
		g := b.gelu(i)
		o := b.linear(g, pre+"output.dense.weight", pre+"output.dense.bias", h, cfg.IntermediateSize)
		x = b.layerNorm(b.op("Add", []string{o, a}), pre+"output.LayerNorm", h, eps)
	}
	b.x = x
}

// crossEncoderHead: [CLS] → pooler dense + tanh → classifier → logits [B, 1].
func (b *builder) crossEncoderHead(cfg model.BertConfig) {
	h := cfg.HiddenSize
	pooled := b.op("Tanh", []string{b.linear(b.cls(), "pooler.dense.weight", "pooler.dense.bias", h, h)})
	logits := b.linear(pooled, "classifier.weight", "classifier.bias", 1, h)
	b.rename(logits, LogitsOutput)
}

// colbertHead: linear projection (no bias) and L2 normalisation per token,
// x / max(‖x‖, 1e-12) as torch.nn.functional.normalize. Returns dim.
func (b *builder) colbertHead(cfg model.BertConfig) int {
	t, ok := b.params["linear.weight"]
	if !ok || len(t.Shape) != 2 {
		b.fail(fmt.Errorf("onnx: ColBERT checkpoint needs tensor \"linear.weight\" [dim, %d]", cfg.HiddenSize))
		return 0
	}
	dim := t.Shape[0]
	v := b.linear(b.x, "linear.weight", "", dim, cfg.HiddenSize)
	b.rename(b.l2Normalize(v), VectorsOutput)
	return dim
}

// biEncoderHead: [CLS] → linear.weight (no bias) when present, else the
// [CLS] state itself; not normalised, as model/encode.BiEncoder. Returns
// the embedding's size.
func (b *builder) biEncoderHead(cfg model.BertConfig) int {
	h := cfg.HiddenSize
	t, ok := b.params["linear.weight"]
	if !ok {
		b.rename(b.cls(), EmbeddingOutput)
		return h
	}
	if len(t.Shape) != 2 || t.Shape[1] != h {
		b.fail(fmt.Errorf("onnx: bi-encoder tensor \"linear.weight\" has shape %v, want [dim, %d]", t.Shape, h))
		return 0
	}
	b.rename(b.linear(b.cls(), "linear.weight", "", t.Shape[0], h), EmbeddingOutput)
	return t.Shape[0]
}

// gelu is the exact GELU, x·0.5·(1 + erf(x/√2)), as HF's "gelu" and
// model/encode compute it (not the tanh approximation).
func (b *builder) gelu(x string) string {
	erf := b.op("Erf", []string{b.op("Div", []string{x, "const_sqrt2"})})
	return b.op("Mul", []string{b.op("Mul", []string{x, "const_half"}), b.op("Add", []string{"const_one", erf})})
}

// cls is the [CLS] (first) state of every sequence, [batch, hidden].
func (b *builder) cls() string {
	return b.op("Gather", []string{b.x, b.constI("const_cls_index", nil, 0)}, attribute{name: "axis", typ: attrInt, i: 1})
}

// l2Normalize divides x by max(‖x‖, 1e-12) along the last axis, as
// torch.nn.functional.normalize and model/encode's normalize do.
func (b *builder) l2Normalize(x string) string {
	norm := b.op("ReduceL2", []string{x}, attribute{name: "axes", typ: attrInts, ints: []int64{-1}},
		attribute{name: "keepdims", typ: attrInt, i: 1})
	norm = b.op("Max", []string{norm, b.constF("const_norm_eps", nil, 1e-12)})
	return b.op("Div", []string{x, norm})
}

// spladeHead: HF BertForMaskedLM's head on every position, then
// w[v] = log(1 + max over attended positions of ReLU(logit[v])), the
// sparse vector as model/encode.SPLADE computes it (dense here).
func (b *builder) spladeHead(cfg model.BertConfig) {
	h, v := cfg.HiddenSize, cfg.VocabSize
	eps := cfg.LayerNormEps
	if eps == 0 {
		eps = 1e-12
	}
	t := b.gelu(b.linear(b.x, model.MLMDenseWeight, model.MLMDenseBias, h, h))
	t = b.op("LayerNormalization", []string{t, b.weight(model.MLMNormWeight, h), b.weight(model.MLMNormBias, h)},
		attribute{name: "axis", typ: attrInt, i: -1}, attribute{name: "epsilon", typ: attrFloat, f: float32(eps)})
	// The decoder is tied to the word embeddings (already an initializer):
	// a Transpose node, which ORT folds once at load, rather than a second,
	// transposed copy of the largest tensor in the file.
	dec := b.op("Transpose", []string{"embeddings.word_embeddings.weight"}, attribute{name: "perm", typ: attrInts, ints: []int64{1, 0}})
	logits := b.op("Add", []string{b.op("MatMul", []string{t, dec}), b.weight(model.MLMBias, v)})
	// ReLU then zero at masked positions: every value is ≥ 0, so a masked
	// position cannot win the max, and a text with no positive logit gets
	// 0 (an absent term), as the Go encoder's maxima start at 0. log1p is
	// non-decreasing, so it is applied after the max, on [batch, vocab].
	r := b.op("Relu", []string{logits})
	mask := b.op("Unsqueeze", []string{b.maskF, b.constI("const_axes_2", []int64{1}, 2)})
	r = b.op("Mul", []string{r, mask})
	mx := b.op("ReduceMax", []string{r}, attribute{name: "axes", typ: attrInts, ints: []int64{1}},
		attribute{name: "keepdims", typ: attrInt, i: 0})
	b.rename(b.op("Log", []string{b.op("Add", []string{mx, "const_one"})}), SparseOutput)
}

// polyHead: the m codes attend over each query's attended token states
// (softmax of code·state, no scaling, masked positions at the float32
// minimum so they get weight 0) → query_context [batch, m, hidden]; and
// the [CLS] state → cls [batch, hidden], the passage side. m = 0 takes
// poly.codes' rows. Returns m. A row with no attended position, which
// model/encode refuses, gets equal weights here: the caller must not feed
// one.
func (b *builder) polyHead(cfg model.BertConfig, m int) int {
	h := cfg.HiddenSize
	if m == 0 {
		if t, ok := b.params[model.PolyCodes]; ok && len(t.Shape) == 2 {
			m = t.Shape[0]
		}
	}
	if m <= 0 {
		b.fail(fmt.Errorf("onnx: poly-encoder needs tensor %q [poly_m, %d] and poly_m > 0 (poly_m %d)", model.PolyCodes, h, m))
		return 0
	}
	codes := b.weight(model.PolyCodes, m, h)
	xT := b.op("Transpose", []string{b.x}, attribute{name: "perm", typ: attrInts, ints: []int64{0, 2, 1}})
	s := b.op("MatMul", []string{codes, xT}) // [m, H] · [B, H, S] → [B, m, S]
	s = b.op("Add", []string{s, b.op("Unsqueeze", []string{b.maskAdd, b.constI("const_axes_1", []int64{1}, 1)})})
	pr := b.op("Softmax", []string{s}, attribute{name: "axis", typ: attrInt, i: -1})
	ctx := b.op("MatMul", []string{pr, b.x}) // [B, m, S] · [B, S, H] → [B, m, H]
	b.rename(ctx, QueryContextOutput)
	b.rename(b.cls(), CLSOutput)
	return m
}

// mvdprHead: [CLS] → projection (no bias) [k·dim] → [k, dim] → each vector
// L2-normalised → vectors [batch, k, dim]. One of k, dim may be 0: the
// projection's rows give the other. Returns k and dim.
func (b *builder) mvdprHead(cfg model.BertConfig, k, dim int) (int, int) {
	h := cfg.HiddenSize
	t, ok := b.params[model.MVProjection]
	if !ok || len(t.Shape) != 2 {
		b.fail(fmt.Errorf("onnx: mv-dpr checkpoint needs tensor %q [mv_k·dim, %d]", model.MVProjection, h))
		return 0, 0
	}
	rows := t.Shape[0]
	switch {
	case k > 0 && dim == 0 && rows%k == 0:
		dim = rows / k
	case dim > 0 && k == 0 && rows%dim == 0:
		k = rows / dim
	}
	if k <= 0 || dim <= 0 || k*dim != rows {
		b.fail(fmt.Errorf("onnx: mv-dpr needs mv_k and dim with mv_k·dim = %d rows of %q (got mv_k %d, dim %d; pass them in Options)",
			rows, model.MVProjection, k, dim))
		return 0, 0
	}
	v := b.linear(b.cls(), model.MVProjection, "", k*dim, h)
	v = b.op("Reshape", []string{v, b.constI("const_mv_shape", []int64{3}, 0, int64(k), int64(dim))})
	b.rename(b.l2Normalize(v), VectorsOutput)
	return k, dim
}

// rename makes the last node's output the graph output name.
func (b *builder) rename(from, to string) {
	last := &b.g.nodes[len(b.g.nodes)-1]
	if last.outputs[0] != from {
		b.fail(fmt.Errorf("onnx: internal: %s is not the last node's output", from))
		return
	}
	last.outputs[0] = to
}

func toInt64(s []int) []int64 {
	r := make([]int64, len(s))
	for i, v := range s {
		r[i] = int64(v)
	}
	return r
}
