package graph

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bucketRows is how many sequences share one length bucket: small enough
// that a bucket's sequences have nearly the same length (little padding),
// large enough that each projection is still one sizeable GEMM.
const bucketRows = 16

// EncodeBucketed is Encode for sequences whose trailing padding is never
// read: lens[i] is the number of leading positions of row i whose hidden
// states are needed, and every key at or after lens[i] must be masked.
// Rows are sorted by length and encoded in buckets of similar length, each
// padded only to its own longest row, so a batch of documents of mixed
// lengths costs what its tokens cost instead of B × L. The result has
// Encode's shape [B, L, H]; positions < lens[i] hold exactly what Encode
// computes (the masked keys beyond a bucket's length get probability 0 in
// both), positions ≥ the bucket's length hold 0 and receive no gradient.
// Used for documents (their padding is outside the vector mask) and for
// cross-encoder pairs (only [CLS] is read).
func (g *Graph) EncodeBucketed(t Tokens, lens []int) *G.Node {
	if g.err != nil {
		return nil
	}
	if len(lens) != t.B {
		return g.fail(fmt.Errorf("graph: encode bucketed: %d lengths for %d rows", len(lens), t.B))
	}
	for i, n := range lens {
		if n < 1 || n > t.L {
			return g.fail(fmt.Errorf("graph: encode bucketed: row %d length %d outside [1, %d]", i, n, t.L))
		}
		if t.Mask == nil && n < t.L {
			return g.fail(fmt.Errorf("graph: encode bucketed: row %d length %d < %d but no mask hides the rest", i, n, t.L))
		}
		if t.Mask != nil {
			for j := n; j < t.L; j++ {
				if t.Mask[i*t.L+j] != 0 {
					return g.fail(fmt.Errorf("graph: encode bucketed: row %d attends position %d beyond its length %d", i, j, n))
				}
			}
		}
	}
	buckets := lengthBuckets(lens, bucketRows)
	if len(buckets) == 1 && slices.Max(lens) == t.L {
		return g.Encode(t)
	}
	parts := make([]*G.Node, len(buckets))
	sk := &scatterKernel{b: t.B, l: t.L, rows: buckets, lens: make([]int, len(buckets))}
	for bi, rows := range buckets {
		lb := 0
		for _, r := range rows {
			lb = max(lb, lens[r])
		}
		sk.lens[bi] = lb
		sub := Tokens{B: len(rows), L: lb, IDs: make([]int, len(rows)*lb)}
		if t.Types != nil {
			sub.Types = make([]int, len(rows)*lb)
		}
		if t.Mask != nil {
			sub.Mask = make([]float32, len(rows)*lb)
		}
		for k, r := range rows {
			copy(sub.IDs[k*lb:][:lb], t.IDs[r*t.L:][:lb])
			if t.Types != nil {
				copy(sub.Types[k*lb:][:lb], t.Types[r*t.L:][:lb])
			}
			if t.Mask != nil {
				copy(sub.Mask[k*lb:][:lb], t.Mask[r*t.L:][:lb])
			}
		}
		parts[bi] = g.Encode(sub)
	}
	return g.apply(sk, parts...)
}

// lengthBuckets groups row indices into buckets of at most size rows of
// similar length (sorted by length, ties by index: deterministic).
func lengthBuckets(lens []int, size int) [][]int {
	idx := make([]int, len(lens))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return lens[a] - lens[b] })
	var out [][]int
	for len(idx) > 0 {
		n := min(size, len(idx))
		out = append(out, idx[:n:n])
		idx = idx[n:]
	}
	return out
}

// scatterKernel puts the hidden states of length buckets back into batch
// order: (bucket_i [n_i, L_i, H] …) → [B, L, H], zero beyond each bucket's
// length.
type scatterKernel struct {
	b, l int
	rows [][]int // rows[i][k]: the batch row of bucket i's k-th sequence
	lens []int   // L_i
}

func (k *scatterKernel) name() string { return "scatter-buckets" }
func (k *scatterKernel) inDims() []int {
	d := make([]int, len(k.rows))
	for i := range d {
		d[i] = 3
	}
	return d
}
func (k *scatterKernel) outDims() int { return 3 }
func (k *scatterKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	h := -1
	for i, s := range in {
		if len(s) != 3 || s[0] != len(k.rows[i]) || s[1] != k.lens[i] || s[1] > k.l || (h >= 0 && s[2] != h) {
			return nil, shapeErr("scatter-buckets", "bucket i [n_i, L_i ≤ L, H]", in)
		}
		h = s[2]
	}
	return tensor.Shape{k.b, k.l, h}, nil
}
func (k *scatterKernel) forward(in []fdata) ([]float32, error) {
	h := in[0].s[2]
	out := make([]float32, k.b*k.l*h)
	for i, rows := range k.rows {
		n := k.lens[i] * h
		for j, r := range rows {
			copy(out[r*k.l*h:][:n], in[i].d[j*n:][:n])
		}
	}
	return out, nil
}
func (k *scatterKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	h := in[0].s[2]
	for i, rows := range k.rows {
		n := k.lens[i] * h
		for j, r := range rows {
			copy(dst[i][j*n:][:n], grad[r*k.l*h:][:n])
		}
	}
	return nil
}

// SequenceLengths returns, per row of a [B·L] attention mask, one past the
// last attended position (at least 1): the lengths EncodeBucketed needs for
// right-padded sequences.
func SequenceLengths(mask []float32, b, l int) []int {
	lens := make([]int, b)
	for i := range lens {
		lens[i] = 1
		for j := l - 1; j >= 0; j-- {
			if mask[i*l+j] != 0 {
				lens[i] = j + 1
				break
			}
		}
	}
	return lens
}
