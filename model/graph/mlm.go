package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/colbert-go/colbert/model"
)

// MLMLogits is HF BertForMaskedLM's prediction head on the hidden states at
// the given flat positions (row-major indices b·L+t into hidden [B,L,H]):
// dense H→H → exact GELU → LayerNorm → decoder tied to the word embeddings
// plus cls.predictions.bias, giving logits [len(positions), vocab]. Only the
// masked positions go through the head, so its cost is M·H·V, not B·L·H·V.
// The tied weight is the very node of the embedding lookup, so its
// gradient is the sum of both uses.
func (g *Graph) MLMLogits(hidden *G.Node, positions []int) *G.Node {
	if g.err != nil {
		return nil
	}
	if len(positions) == 0 {
		return g.fail(fmt.Errorf("graph: mlm: no masked position"))
	}
	eps := g.Cfg.LayerNormEps
	if eps == 0 {
		eps = 1e-12
	}
	x := g.apply(&gatherKernel{pos: positions}, hidden)
	x = g.apply(&linearKernel{dims: 2, bias: true}, x, g.Param(model.MLMDenseWeight), g.Param(model.MLMDenseBias))
	x = g.apply(&actKernel{dims: 2}, x)
	x = g.apply(&lnKernel{dims: 2, eps: eps}, x, g.Param(model.MLMNormWeight), g.Param(model.MLMNormBias))
	return g.apply(&linearKernel{dims: 2, bias: true}, x,
		g.Param("embeddings.word_embeddings.weight"), g.Param(model.MLMBias))
}

// gatherKernel picks rows of a [B,L,H] tensor at flat positions b·L+t:
// → [M,H]. Its gradient scatter-adds back (a position may repeat).
type gatherKernel struct{ pos []int }

func (k *gatherKernel) name() string  { return "gather" }
func (k *gatherKernel) inDims() []int { return []int{3} }
func (k *gatherKernel) outDims() int  { return 2 }
func (k *gatherKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in) != 1 || len(in[0]) != 3 {
		return nil, shapeErr("gather", "[B,L,H]", in)
	}
	n := in[0][0] * in[0][1]
	for i, p := range k.pos {
		if p < 0 || p >= n {
			return nil, fmt.Errorf("graph: gather: position %d (#%d) outside %d×%d tokens", p, i, in[0][0], in[0][1])
		}
	}
	return tensor.Shape{len(k.pos), in[0][2]}, nil
}
func (k *gatherKernel) forward(in []fdata) ([]float32, error) {
	h := in[0].s[2]
	out := make([]float32, len(k.pos)*h)
	for i, p := range k.pos {
		copy(out[i*h:][:h], in[0].d[p*h:][:h])
	}
	return out, nil
}
func (k *gatherKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	h := in[0].s[2]
	for i, p := range k.pos {
		d := dst[0][p*h:][:h]
		for j, v := range grad[i*h:][:h] {
			d[j] += v
		}
	}
	return nil
}
