package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/colbert-go/colbert/model"
)

// The heads of the seed's other models (model.KindSPLADE, KindPolyEncoder,
// KindMVDPR; their definitions are in model/checkpoint.go). SPLADE's and
// MV-DPR's outputs are [B, n, d] sequences, so graph.MaxSim scores them
// (with n = 1 it is the dot product); the poly-encoder has its own score.

// SPLADE is the sparse lexical head: the MLM head's logits on every
// attended position (mask [B·L], 1 = attended), log(1 + ReLU), max over
// each sequence's positions: hidden [B,L,H] → [B,1,vocab]. Only attended
// positions go through the head (its cost is tokens·H·vocab).
func (g *Graph) SPLADE(hidden *G.Node, mask []float32) *G.Node {
	if g.err != nil {
		return nil
	}
	if hidden == nil || hidden.Dims() != 3 {
		return g.fail(fmt.Errorf("graph: splade: hidden states must be [B,L,H]"))
	}
	b, l := hidden.Shape()[0], hidden.Shape()[1]
	if len(mask) != b*l {
		return g.fail(fmt.Errorf("graph: splade: mask has %d values, want %d×%d", len(mask), b, l))
	}
	var pos []int
	seg := make([]int, b+1)
	for i := 0; i < b; i++ {
		for t := 0; t < l; t++ {
			if mask[i*l+t] != 0 {
				pos = append(pos, i*l+t)
			}
		}
		seg[i+1] = len(pos)
	}
	return g.apply(&spladePoolKernel{seg: seg}, g.MLMLogits(hidden, pos))
}

// FLOPS is SPLADE's regulariser (Paria et al.): Σ_v (mean_b w[b,v])² over
// a batch of sparse vectors [B,1,V] → scalar. It pushes down terms that are
// active in many texts, which is what makes posting lists short.
func (g *Graph) FLOPS(w *G.Node) *G.Node { return g.apply(&flopsKernel{}, w) }

// MVDPR is multi-vector DPR's head: k projections (mv_dpr.projection.weight,
// [k·dim, H], no bias) of the [CLS] state, each L2-normalised:
// [B,L,H] → [B,k,dim].
func (g *Graph) MVDPR(hidden *G.Node, k int) *G.Node {
	if g.err != nil {
		return nil
	}
	w := g.Param(model.MVProjection)
	if w == nil {
		return nil
	}
	if k <= 0 || w.Shape()[0]%k != 0 {
		return g.fail(fmt.Errorf("graph: mv-dpr: projection rows %d not a multiple of k = %d", w.Shape()[0], k))
	}
	x := g.apply(&linearKernel{dims: 3}, g.apply(&clsKernel{keep: true}, hidden), w)
	if g.err != nil {
		return nil
	}
	return g.apply(&l2Kernel{dims: 3}, g.Reshape(x, x.Shape()[0], k, w.Shape()[0]/k))
}

// PolyContext is the poly-encoder's query side: the m codes (poly.codes)
// attend over the attended positions (mask [B·L]) of hidden [B,L,H] →
// [B,m,H].
func (g *Graph) PolyContext(hidden *G.Node, mask []float32) *G.Node {
	return g.apply(&polyCodesKernel{mask: mask}, hidden, g.Param(model.PolyCodes))
}

// PolyScores scores query b's context vectors Y [B,m,H] against candidate
// vectors C [N,1,H] (a passage's [CLS] state, CLS with keep) for the
// candidates cand[b] → [B, nway] (model.PolyScore).
func (g *Graph) PolyScores(y, c *G.Node, cand [][]int) *G.Node {
	return g.apply(&polyScoreKernel{cand: cand}, y, c)
}

// PolyCandidates is the poly-encoder's passage side: the [CLS] state,
// [N,L,H] → [N,1,H].
func (g *Graph) PolyCandidates(hidden *G.Node) *G.Node {
	return g.apply(&clsKernel{keep: true}, hidden)
}

// spladePoolKernel: logits [M,V] of the attended positions, rows seg[b] to
// seg[b+1] belonging to sequence b → [B,1,V], max of log(1+ReLU(x)). The
// gradient goes to the first arg-max row, and only where x > 0.
type spladePoolKernel struct {
	par
	seg []int
}

func (k *spladePoolKernel) name() string  { return "splade-pool" }
func (k *spladePoolKernel) inDims() []int { return []int{2} }
func (k *spladePoolKernel) outDims() int  { return 3 }
func (k *spladePoolKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in) != 1 || len(in[0]) != 2 || len(k.seg) < 2 || k.seg[len(k.seg)-1] != in[0][0] {
		return nil, shapeErr("splade-pool", fmt.Sprintf("[%d,V]", k.seg[len(k.seg)-1]), in)
	}
	return tensor.Shape{len(k.seg) - 1, 1, in[0][1]}, nil
}

// argmax returns, for sequence b and term v, the row of the largest
// positive logit (-1 when none is positive: the weight is 0).
func (k *spladePoolKernel) argmax(x fdata, b, v int) int {
	vs := x.s[1]
	best, bi := float32(0), -1
	for r := k.seg[b]; r < k.seg[b+1]; r++ {
		if z := x.d[r*vs+v]; z > best {
			best, bi = z, r
		}
	}
	return bi
}
func (k *spladePoolKernel) forward(in []fdata) ([]float32, error) {
	x := in[0]
	vs := x.s[1]
	out := make([]float32, (len(k.seg)-1)*vs)
	parallelFor(k.workers(), len(k.seg)-1, func(b int) {
		for v := 0; v < vs; v++ {
			if r := k.argmax(x, b, v); r >= 0 {
				out[b*vs+v] = float32(math.Log1p(float64(x.d[r*vs+v])))
			}
		}
	})
	return out, nil
}
func (k *spladePoolKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	x := in[0]
	vs := x.s[1]
	parallelFor(k.workers(), len(k.seg)-1, func(b int) { // rows of different b are disjoint
		for v := 0; v < vs; v++ {
			if r := k.argmax(x, b, v); r >= 0 {
				dst[0][r*vs+v] += grad[b*vs+v] / (1 + x.d[r*vs+v])
			}
		}
	})
	return nil
}

// flopsKernel: w [B,1,V] → Σ_v (Σ_b w[b,v] / B)².
type flopsKernel struct{}

func (k *flopsKernel) name() string  { return "flops" }
func (k *flopsKernel) inDims() []int { return []int{3} }
func (k *flopsKernel) outDims() int  { return 0 }
func (k *flopsKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in) != 1 || len(in[0]) != 3 || in[0][1] != 1 || in[0][0] == 0 {
		return nil, shapeErr("flops", "[B,1,V]", in)
	}
	return tensor.ScalarShape(), nil
}
func (k *flopsKernel) means(w fdata) []float64 {
	b, vs := w.s[0], w.s[2]
	m := make([]float64, vs)
	for i := 0; i < b; i++ {
		for v, x := range w.d[i*vs:][:vs] {
			m[v] += float64(x)
		}
	}
	for v := range m {
		m[v] /= float64(b)
	}
	return m
}
func (k *flopsKernel) forward(in []fdata) ([]float32, error) {
	var s float64
	for _, m := range k.means(in[0]) {
		s += m * m
	}
	return []float32{float32(s)}, nil
}
func (k *flopsKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	w := in[0]
	b, vs := w.s[0], w.s[2]
	m := k.means(w)
	for i := 0; i < b; i++ {
		d := dst[0][i*vs:][:vs]
		for v := range d {
			d[v] += float32(float64(grad[0]) * 2 * m[v] / float64(b))
		}
	}
	return nil
}

// polyCodesKernel: hidden [B,L,H], codes [m,H] → [B,m,H]; for every b,
// A = softmax over attended positions of codes·H_bᵀ, Y = A·H_b.
type polyCodesKernel struct {
	par
	mask []float32 // [B·L], 1 = attended
}

func (k *polyCodesKernel) name() string  { return "poly-codes" }
func (k *polyCodesKernel) inDims() []int { return []int{3, 2} }
func (k *polyCodesKernel) outDims() int  { return 3 }
func (k *polyCodesKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in) != 2 || len(in[0]) != 3 || len(in[1]) != 2 || in[0][2] != in[1][1] {
		return nil, shapeErr("poly-codes", "hidden [B,L,H], codes [m,H]", in)
	}
	if len(k.mask) != in[0][0]*in[0][1] {
		return nil, fmt.Errorf("graph: poly-codes: mask has %d values, want %d×%d", len(k.mask), in[0][0], in[0][1])
	}
	return tensor.Shape{in[0][0], in[1][0], in[0][2]}, nil
}

// attention writes A [m,L] for sequence b (masked positions 0).
func (k *polyCodesKernel) attention(h, codes fdata, b int, a []float32) {
	l, hs, m := h.s[1], h.s[2], codes.s[0]
	gemm(false, true, m, l, hs, 1, codes.d, hs, h.d[b*l*hs:], hs, 0, a, l)
	mask := k.mask[b*l:][:l]
	for i := 0; i < m; i++ {
		row := a[i*l:][:l]
		mx := float32(math.Inf(-1))
		for t, v := range row {
			if mask[t] != 0 && v > mx {
				mx = v
			}
		}
		var s float64
		for t, v := range row {
			if mask[t] == 0 {
				row[t] = 0
				continue
			}
			e := math.Exp(float64(v - mx))
			row[t] = float32(e)
			s += e
		}
		if s > 0 {
			inv := float32(1 / s)
			for t := range row {
				row[t] *= inv
			}
		}
	}
}
func (k *polyCodesKernel) forward(in []fdata) ([]float32, error) {
	h, codes := in[0], in[1]
	b, l, hs, m := h.s[0], h.s[1], h.s[2], codes.s[0]
	out := make([]float32, b*m*hs)
	parallelFor(k.workers(), b, func(i int) {
		a := make([]float32, m*l)
		k.attention(h, codes, i, a)
		gemm(false, false, m, hs, l, 1, a, l, h.d[i*l*hs:], hs, 0, out[i*m*hs:], hs)
	})
	return out, nil
}
func (k *polyCodesKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	h, codes := in[0], in[1]
	b, l, hs, m := h.s[0], h.s[1], h.s[2], codes.s[0]
	dcodes := make([][]float32, b) // per sequence, summed after: no shared writes
	parallelFor(k.workers(), b, func(i int) {
		a := make([]float32, m*l)
		k.attention(h, codes, i, a)
		hb, gy, dh := h.d[i*l*hs:][:l*hs], grad[i*m*hs:][:m*hs], dst[0][i*l*hs:][:l*hs]
		ga := make([]float32, m*l)
		gemm(false, true, m, l, hs, 1, gy, hs, hb, hs, 0, ga, l) // dA = dY·Hᵀ
		gemm(true, false, l, hs, m, 1, a, l, gy, hs, 1, dh, hs)  // dH += Aᵀ·dY
		for r := 0; r < m; r++ {                                 // dS = A ⊙ (dA − Σ_t dA·A)
			ar, gr := a[r*l:][:l], ga[r*l:][:l]
			var s float64
			for t := range ar {
				s += float64(ar[t]) * float64(gr[t])
			}
			for t := range ar {
				gr[t] = ar[t] * (gr[t] - float32(s))
			}
		}
		gemm(true, false, l, hs, m, 1, ga, l, codes.d, hs, 1, dh, hs) // dH += dSᵀ·codes
		dcodes[i] = make([]float32, m*hs)
		gemm(false, false, m, hs, l, 1, ga, l, hb, hs, 0, dcodes[i], hs) // dcodes = dS·H
	})
	for _, d := range dcodes {
		for j, v := range d {
			dst[1][j] += v
		}
	}
	return nil
}

// polyScoreKernel: Y [B,m,H], C [N,1,H] → [B,nway]: with s_i = Y[b,i]·c,
// score = Σ_i softmax(s)_i s_i (= (Σ_i w_i Y[b,i])·c), whose derivative in
// s_i is w_i (1 + s_i − score).
type polyScoreKernel struct {
	par
	cand [][]int
}

func (k *polyScoreKernel) name() string  { return "poly-score" }
func (k *polyScoreKernel) inDims() []int { return []int{3, 3} }
func (k *polyScoreKernel) outDims() int  { return 2 }
func (k *polyScoreKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	y, c := in[0], in[1]
	if len(y) != 3 || len(c) != 3 || c[1] != 1 || y[2] != c[2] || len(k.cand) != y[0] || len(k.cand) == 0 {
		return nil, shapeErr("poly-score", fmt.Sprintf("Y [%d,m,H], C [N,1,H]", len(k.cand)), in)
	}
	n := len(k.cand[0])
	for b, cs := range k.cand {
		if len(cs) != n {
			return nil, fmt.Errorf("graph: poly-score: query %d has %d candidates, query 0 has %d", b, len(cs), n)
		}
		for _, x := range cs {
			if x < 0 || x >= c[0] {
				return nil, fmt.Errorf("graph: poly-score: candidate %d of query %d outside %d passages", x, b, c[0])
			}
		}
	}
	return tensor.Shape{y[0], n}, nil
}

// pair returns the score of query b with candidate n and writes the
// softmax weights into w and the dot products into s.
func pair(y, c fdata, b, n int, s, w []float64) float64 {
	m, hs := y.s[1], y.s[2]
	cv := c.d[n*hs:][:hs]
	mx := math.Inf(-1)
	for i := 0; i < m; i++ {
		var d float64
		for x, v := range y.d[(b*m+i)*hs:][:hs] {
			d += float64(v) * float64(cv[x])
		}
		s[i] = d
		mx = math.Max(mx, d)
	}
	var z float64
	for i := range w {
		w[i] = math.Exp(s[i] - mx)
		z += w[i]
	}
	var score float64
	for i := range w {
		w[i] /= z
		score += w[i] * s[i]
	}
	return score
}
func (k *polyScoreKernel) forward(in []fdata) ([]float32, error) {
	y, c := in[0], in[1]
	nway, m := len(k.cand[0]), y.s[1]
	out := make([]float32, len(k.cand)*nway)
	parallelFor(k.workers(), len(k.cand), func(b int) {
		s, w := make([]float64, m), make([]float64, m)
		for j, n := range k.cand[b] {
			out[b*nway+j] = float32(pair(y, c, b, n, s, w))
		}
	})
	return out, nil
}
func (k *polyScoreKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	y, c := in[0], in[1]
	nway, m, hs := len(k.cand[0]), y.s[1], y.s[2]
	s, w := make([]float64, m), make([]float64, m)
	for b, cs := range k.cand { // candidates repeat across queries: serial
		for j, n := range cs {
			g := float64(grad[b*nway+j])
			score := pair(y, c, b, n, s, w)
			cv, dc := c.d[n*hs:][:hs], dst[1][n*hs:][:hs]
			for i := 0; i < m; i++ {
				ds := float32(g * w[i] * (1 + s[i] - score))
				yv, dy := y.d[(b*m+i)*hs:][:hs], dst[0][(b*m+i)*hs:][:hs]
				for x := range yv {
					dy[x] += ds * cv[x]
					dc[x] += ds * yv[x]
				}
			}
		}
	}
	return nil
}
