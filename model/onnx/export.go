// Package onnx exports our BERT models (the cross-encoder teacher and the
// ColBERT student encoder) as ONNX graphs (IR version 8, opset 17), so that
// ONNX Runtime — or any ONNX consumer — runs them exactly like PyTorch's
// BertForSequenceClassification and ColBERT's HF_ColBERT.
//
// The protobuf wire format is written by hand (proto.go) with
// google.golang.org/protobuf/encoding/protowire; no generated code is needed.
// Inputs are input_ids, attention_mask and token_type_ids, int64
// [batch, sequence] with dynamic axes.
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
)

// Output names of the exported graphs.
const (
	LogitsOutput  = "logits"
	VectorsOutput = "vectors"
)

const (
	irVersion = 8
	opset     = 17
)

// ParseKind accepts "cross-encoder" or "colbert".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case CrossEncoder, ColBERT:
		return Kind(s), nil
	}
	return "", fmt.Errorf("onnx: unknown model kind %q (want %q or %q)", s, CrossEncoder, ColBERT)
}

// Export encodes the model as ONNX bytes. A missing parameter or one whose
// shape disagrees with cfg is an error naming it and both shapes.
func Export(cfg model.BertConfig, p model.Params, kind Kind) ([]byte, error) {
	m, err := build(cfg, p, kind)
	if err != nil {
		return nil, err
	}
	return m.marshal(), nil
}

// build makes the model's protobuf structure; its initializers refer to
// p's tensors (no copies).
func build(cfg model.BertConfig, p model.Params, kind Kind) (*modelProto, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if cfg.HiddenSize <= 0 || cfg.NumAttentionHeads <= 0 || cfg.HiddenSize%cfg.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("onnx: hidden size %d not divisible into %d heads", cfg.HiddenSize, cfg.NumAttentionHeads)
	}
	if cfg.HiddenAct != "" && cfg.HiddenAct != "gelu" {
		return nil, fmt.Errorf("onnx: hidden_act %q not supported (only exact gelu)", cfg.HiddenAct)
	}
	b := &builder{params: p}
	b.bert(cfg)
	var out valueInfo
	switch kind {
	case CrossEncoder:
		b.crossEncoderHead(cfg)
		out = valueInfo{name: LogitsOutput, dtype: dtFloat, dims: []any{"batch", int64(1)}}
	case ColBERT:
		dim := b.colbertHead(cfg)
		out = valueInfo{name: VectorsOutput, dtype: dtFloat, dims: []any{"batch", "sequence", int64(dim)}}
	}
	if b.err != nil {
		return nil, b.err
	}
	in := func(name string) valueInfo {
		return valueInfo{name: name, dtype: dtInt64, dims: []any{"batch", "sequence"}}
	}
	b.g.name = "colbert-go-" + string(kind)
	b.g.inputs = []valueInfo{in("input_ids"), in("attention_mask"), in("token_type_ids")}
	b.g.outputs = []valueInfo{out}
	return &modelProto{
		irVersion: irVersion, opset: opset,
		producerName: "colbert-go", producerVersion: "1",
		docString: "BERT " + string(kind) + " exported by colbert-go",
		graph:     b.g,
		metadata:  [][2]string{{"kind", string(kind)}},
	}, nil
}

// WriteFile exports to path atomically and durably (fsx), so an ONNX
// Runtime session never loads a truncated model. The bytes are streamed:
// beyond the parameters it holds about a megabyte (a bert-base export would
// otherwise hold the weights three more times while encoding).
func WriteFile(path string, cfg model.BertConfig, p model.Params, kind Kind) error {
	m, err := build(cfg, p, kind)
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

// bert builds embeddings and encoder layers from the three inputs, as HF's
// BertModel in eval mode.
func (b *builder) bert(cfg model.BertConfig) {
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
	typ := b.op("Gather", []string{b.weight("embeddings.token_type_embeddings.weight", typeVocab, h), "token_type_ids"})
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
	ext := b.op("Mul", []string{inv, b.constF("const_float_min", nil, -math.MaxFloat32)})
	ext = b.op("Unsqueeze", []string{ext, b.constI("const_axes_1_2", []int64{2}, 1, 2)})

	heads := b.constI("const_heads_shape", []int64{4}, 0, 0, int64(nh), int64(dh))
	merged := b.constI("const_hidden_shape", []int64{3}, 0, 0, int64(h))
	scale := b.constF("const_sqrt_head_dim", nil, float32(math.Sqrt(float64(dh))))
	half := b.constF("const_half", nil, 0.5)
	sqrt2 := b.constF("const_sqrt2", nil, float32(math.Sqrt2))
	one := "const_one"
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

		// FFN with exact GELU: x·0.5·(1 + erf(x/√2)).
		i := b.linear(a, pre+"intermediate.dense.weight", pre+"intermediate.dense.bias", cfg.IntermediateSize, h)
		erf := b.op("Erf", []string{b.op("Div", []string{i, sqrt2})})
		g := b.op("Mul", []string{b.op("Mul", []string{i, half}), b.op("Add", []string{one, erf})})
		o := b.linear(g, pre+"output.dense.weight", pre+"output.dense.bias", h, cfg.IntermediateSize)
		x = b.layerNorm(b.op("Add", []string{o, a}), pre+"output.LayerNorm", h, eps)
	}
	b.x = x
}

// crossEncoderHead: [CLS] → pooler dense + tanh → classifier → logits [B, 1].
func (b *builder) crossEncoderHead(cfg model.BertConfig) {
	h := cfg.HiddenSize
	cls := b.op("Gather", []string{b.x, b.constI("const_cls_index", nil, 0)}, attribute{name: "axis", typ: attrInt, i: 1})
	pooled := b.op("Tanh", []string{b.linear(cls, "pooler.dense.weight", "pooler.dense.bias", h, h)})
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
	norm := b.op("ReduceL2", []string{v}, attribute{name: "axes", typ: attrInts, ints: []int64{-1}},
		attribute{name: "keepdims", typ: attrInt, i: 1})
	norm = b.op("Max", []string{norm, b.constF("const_norm_eps", nil, 1e-12)})
	b.rename(b.op("Div", []string{v, norm}), VectorsOutput)
	return dim
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
