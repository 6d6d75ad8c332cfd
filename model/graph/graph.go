// Package graph builds the trainable ColBERT student, cross-encoder and
// single-vector models as Gorgonia expression graphs: exact HF BERT (post-LN,
// erf GELU, LayerNorm eps from config) made of custom Ops with hand-written
// backward passes, differentiable MaxSim, and ColBERT's losses. Parameters
// are the tensors of a model.Params (canonical HF names); the graph's
// parameter nodes share their memory, so an optimiser that updates the
// Params in place is seen by the next graph.
//
// A Graph is built per batch (shapes vary with document lengths) and is not
// safe for concurrent use.
package graph

import (
	"fmt"
	"sort"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/colbert-go/colbert/model"

	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia panics at init on Go ≥1.21 without it
)

// Graph is one expression graph over a model's parameters.
type Graph struct {
	G   *G.ExprGraph
	Cfg model.BertConfig
	// Threads is how many goroutines each kernel splits its work over
	// (the projections' GEMMs, attention heads, LayerNorm, GELU, MaxSim);
	// 0 = GOMAXPROCS. Set it before building: nodes keep the value they
	// were built with.
	Threads int
	params  model.Params
	nodes   map[string]*G.Node
	seq     int
	err     error
}

// New starts a graph over params (canonical names, see package model).
func New(cfg model.BertConfig, params model.Params) *Graph {
	return &Graph{G: G.NewGraph(), Cfg: cfg, params: params, nodes: map[string]*G.Node{}}
}

// Err is the first error met while building; every builder method is a no-op
// returning nil after an error, so callers check once at the end.
func (g *Graph) Err() error { return g.err }

func (g *Graph) fail(err error) *G.Node {
	if g.err == nil {
		g.err = err
	}
	return nil
}

// Param returns the node of parameter name, bound to the Params tensor's memory.
func (g *Graph) Param(name string) *G.Node {
	if g.err != nil {
		return nil
	}
	if n, ok := g.nodes[name]; ok {
		return n
	}
	t, ok := g.params[name]
	if !ok {
		return g.fail(fmt.Errorf("graph: parameter %q missing from the model", name))
	}
	if t.Len() != len(t.Data) || len(t.Shape) == 0 {
		return g.fail(fmt.Errorf("graph: parameter %q: shape %v does not match %d values", name, t.Shape, len(t.Data)))
	}
	v := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(t.Data))
	n := G.NewTensor(g.G, tensor.Float32, len(t.Shape), G.WithShape(t.Shape...), G.WithName(name), G.WithValue(v))
	g.nodes[name] = n
	return n
}

// ParamNames lists the parameters used so far, sorted.
func (g *Graph) ParamNames() []string {
	names := make([]string, 0, len(g.nodes))
	for k := range g.nodes {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (g *Graph) apply(k kernel, in ...*G.Node) *G.Node {
	if g.err != nil {
		return nil
	}
	for _, n := range in {
		if n == nil {
			return g.fail(fmt.Errorf("graph: %s: nil input", k.name()))
		}
	}
	g.seq++
	if p, ok := k.(interface{ setThreads(int) }); ok {
		p.setThreads(g.Threads)
	}
	n, err := G.ApplyOp(&fnOp{k: k, id: g.seq}, in...)
	if err != nil {
		return g.fail(fmt.Errorf("graph: %s: %w", k.name(), err))
	}
	return n
}

// Input adds a differentiable input node holding data (vectors computed
// outside the graph; gradient checks). Backward reports its gradient under
// name, like a parameter's.
func (g *Graph) Input(name string, data []float32, shape ...int) *G.Node {
	if g.err != nil {
		return nil
	}
	if _, ok := g.nodes[name]; ok {
		return g.fail(fmt.Errorf("graph: input %q already defined", name))
	}
	t := &model.Tensor{Shape: append([]int(nil), shape...), Data: data}
	if t.Len() != len(data) {
		return g.fail(fmt.Errorf("graph: input %q: shape %v does not match %d values", name, shape, len(data)))
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	n := G.NewTensor(g.G, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
	g.nodes[name] = n
	return n
}

// Tokens is a padded batch of token ids.
type Tokens struct {
	B, L  int
	IDs   []int     // [B·L]
	Types []int     // [B·L]; nil = all 0
	Mask  []float32 // [B·L] attention mask, 1 = attend; nil = all 1
}

// Encode runs BERT over a batch: → last hidden state [B, L, hidden].
func (g *Graph) Encode(t Tokens) *G.Node {
	if g.err != nil {
		return nil
	}
	n := t.B * t.L
	if len(t.IDs) != n || t.Types != nil && len(t.Types) != n || t.Mask != nil && len(t.Mask) != n {
		return g.fail(fmt.Errorf("graph: encode: ids/types/mask lengths %d/%d/%d, want %d×%d", len(t.IDs), len(t.Types), len(t.Mask), t.B, t.L))
	}
	types, mask := t.Types, t.Mask
	if types == nil {
		types = make([]int, n)
	}
	if mask == nil {
		mask = make([]float32, n)
		for i := range mask {
			mask[i] = 1
		}
	}
	c := g.Cfg
	if c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0 {
		return g.fail(fmt.Errorf("graph: hidden size %d not divisible by %d heads", c.HiddenSize, c.NumAttentionHeads))
	}
	if c.HiddenAct != "" && c.HiddenAct != "gelu" {
		return g.fail(fmt.Errorf("graph: hidden_act %q not supported (only exact \"gelu\")", c.HiddenAct))
	}
	eps := c.LayerNormEps
	if eps == 0 {
		eps = 1e-12
	}
	emb := g.apply(&embedKernel{ids: t.IDs, types: types, b: t.B, l: t.L},
		g.Param("embeddings.word_embeddings.weight"),
		g.Param("embeddings.position_embeddings.weight"),
		g.Param("embeddings.token_type_embeddings.weight"))
	x := g.apply(&lnKernel{dims: 3, eps: eps}, emb,
		g.Param("embeddings.LayerNorm.weight"), g.Param("embeddings.LayerNorm.bias"))
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		lin := func(in *G.Node, name string) *G.Node {
			return g.apply(&linearKernel{dims: 3, bias: true}, in, g.Param(p+name+".weight"), g.Param(p+name+".bias"))
		}
		q := lin(x, "attention.self.query")
		k := lin(x, "attention.self.key")
		v := lin(x, "attention.self.value")
		ctx := g.apply(&attnKernel{mask: mask, b: t.B, l: t.L, heads: c.NumAttentionHeads}, q, k, v)
		ao := lin(ctx, "attention.output.dense")
		x = g.apply(&lnKernel{dims: 3, res: true, eps: eps}, ao, x,
			g.Param(p+"attention.output.LayerNorm.weight"), g.Param(p+"attention.output.LayerNorm.bias"))
		inter := g.apply(&actKernel{dims: 3}, lin(x, "intermediate.dense"))
		out := lin(inter, "output.dense")
		x = g.apply(&lnKernel{dims: 3, res: true, eps: eps}, out, x,
			g.Param(p+"output.LayerNorm.weight"), g.Param(p+"output.LayerNorm.bias"))
	}
	return x
}

// ColBERT projects hidden states with linear.weight (no bias) and
// L2-normalises every token vector: [B,L,hidden] → [B,L,dim].
func (g *Graph) ColBERT(hidden *G.Node) *G.Node {
	return g.apply(&l2Kernel{dims: 3}, g.apply(&linearKernel{dims: 3}, hidden, g.Param("linear.weight")))
}

// CLS takes the [CLS] hidden state: [B,L,H] → [B,H] (the single-vector
// bi-encoder's embedding).
func (g *Graph) CLS(hidden *G.Node) *G.Node { return g.apply(&clsKernel{}, hidden) }

// BiEncoder is the single-vector baseline's embedding: [CLS] through
// linear.weight when the model has one (no bias, no normalisation), as a
// one-vector sequence [B,1,dim] so that MaxSim gives the dot product.
func (g *Graph) BiEncoder(hidden *G.Node) *G.Node {
	x := g.apply(&clsKernel{keep: true}, hidden)
	if _, ok := g.params["linear.weight"]; ok {
		x = g.apply(&linearKernel{dims: 3}, x, g.Param("linear.weight"))
	}
	return x
}

// CrossEncoder is BertForSequenceClassification's head: [CLS] → pooler
// dense + tanh → classifier: [B,L,H] → logits [B, num_labels].
func (g *Graph) CrossEncoder(hidden *G.Node) *G.Node {
	pooled := g.apply(&actKernel{dims: 2, tanh: true},
		g.apply(&linearKernel{dims: 2, bias: true}, g.CLS(hidden), g.Param("pooler.dense.weight"), g.Param("pooler.dense.bias")))
	return g.apply(&linearKernel{dims: 2, bias: true}, pooled, g.Param("classifier.weight"), g.Param("classifier.bias"))
}

// Reshape gives x a new shape with the same number of values.
func (g *Graph) Reshape(x *G.Node, shape ...int) *G.Node {
	if g.err != nil || x == nil {
		return g.apply(&reshapeKernel{}, x)
	}
	return g.apply(&reshapeKernel{inD: x.Dims(), shape: tensor.Shape(shape)}, x)
}

// MaxSim scores query b against documents cand[b][j] (indices into docs):
// Q [B,Lq,d], D [N,Ld,d], docMask [N·Ld] (1 = scored, nil = all) → [B, nway].
// With Lq = Ld = 1 it is the bi-encoder's dot product.
func (g *Graph) MaxSim(q, d *G.Node, docMask []float32, cand [][]int) *G.Node {
	return g.apply(&maxSimKernel{dmask: docMask, cand: cand}, q, d)
}

// KLLoss is ColBERT's distillation loss KL(softmax(α·T) ‖ softmax(S)),
// batch mean; teacher is [B·nway] aligned with scores.
func (g *Graph) KLLoss(scores *G.Node, teacher []float32, alpha float64) *G.Node {
	return g.apply(&klKernel{teacher: teacher, alpha: alpha}, scores)
}

// CELoss is the mean cross-entropy of softmax(scores/τ) with the given label
// per row (τ = 1: ColBERT's loss without teacher and its in-batch loss; τ =
// 0.01: the denoised contrastive baseline).
func (g *Graph) CELoss(scores *G.Node, labels []int, tau float64) *G.Node {
	if tau <= 0 {
		return g.fail(fmt.Errorf("graph: ce: temperature %g must be > 0", tau))
	}
	return g.apply(&ceKernel{labels: labels, scale: 1 / tau}, scores)
}

// Sum adds same-shaped nodes (e.g. loss terms) with the given weights.
func (g *Graph) Sum(weights []float32, nodes ...*G.Node) *G.Node {
	if g.err == nil && len(weights) != len(nodes) {
		return g.fail(fmt.Errorf("graph: sum: %d weights for %d nodes", len(weights), len(nodes)))
	}
	if len(nodes) == 0 {
		return g.fail(fmt.Errorf("graph: sum of nothing"))
	}
	return g.apply(&sumKernel{dims: nodes[0].Dims(), weights: weights}, nodes...)
}

// Result holds a forward/backward run.
type Result struct {
	Loss  float32
	Grads model.Params // gradient per used parameter, same shapes
}

// Backward differentiates the scalar cost with respect to every parameter
// used, runs the graph and returns the loss and gradients. Extra nodes are
// evaluated too so their values can be read afterwards (scores, vectors).
func (g *Graph) Backward(cost *G.Node) (*Result, error) {
	if g.err != nil {
		return nil, g.err
	}
	names := g.ParamNames()
	wrt := make(G.Nodes, len(names))
	for i, n := range names {
		wrt[i] = g.nodes[n]
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		return nil, fmt.Errorf("graph: differentiate: %w", err)
	}
	if err := g.run(); err != nil {
		return nil, err
	}
	res := &Result{Grads: model.Params{}}
	if res.Loss, err = Scalar(cost); err != nil {
		return nil, err
	}
	for i, n := range names {
		d, err := valueData(grads[i].Value())
		if err != nil {
			return nil, fmt.Errorf("graph: gradient of %s: %w", n, err)
		}
		res.Grads[n] = &model.Tensor{Shape: []int(d.s.Clone()), Data: d.d}
	}
	return res, nil
}

// Forward runs the graph without gradients.
func (g *Graph) Forward() error {
	if g.err != nil {
		return g.err
	}
	return g.run()
}

func (g *Graph) run() error {
	m := G.NewTapeMachine(g.G)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return fmt.Errorf("graph: run: %w", err)
	}
	return nil
}

// Values returns a node's computed data and shape after Forward/Backward.
func Values(n *G.Node) ([]float32, []int, error) {
	if n == nil || n.Value() == nil {
		return nil, nil, fmt.Errorf("graph: node has no value (not run?)")
	}
	d, err := valueData(n.Value())
	if err != nil {
		return nil, nil, err
	}
	return d.d, []int(d.s), nil
}

// Scalar returns a scalar node's value after a run.
func Scalar(n *G.Node) (float32, error) {
	d, _, err := Values(n)
	if err != nil {
		return 0, err
	}
	if len(d) != 1 {
		return 0, fmt.Errorf("graph: node holds %d values, not a scalar", len(d))
	}
	return d[0], nil
}
