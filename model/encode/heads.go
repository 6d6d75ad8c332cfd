package encode

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"

	"github.com/colbert-go/colbert/model"
)

// Batch is a padded batch of token ids, row-major [N, Len], with the same
// fields as data/tokenize's Batch. TokenTypeIDs nil means all 0;
// VectorMask (documents) marks the positions whose vectors are kept.
type Batch struct {
	N, Len        int
	IDs           []int32
	AttentionMask []int32
	TokenTypeIDs  []int32
	VectorMask    []int32
}

func (b Batch) check() error {
	n := b.N * b.Len
	if b.N < 0 || b.Len < 0 || len(b.IDs) != n {
		return fmt.Errorf("encode: batch %d×%d has %d ids", b.N, b.Len, len(b.IDs))
	}
	if len(b.AttentionMask) != n {
		return fmt.Errorf("encode: batch %d×%d has %d attention mask values", b.N, b.Len, len(b.AttentionMask))
	}
	if b.TokenTypeIDs != nil && len(b.TokenTypeIDs) != n {
		return fmt.Errorf("encode: batch %d×%d has %d token type ids", b.N, b.Len, len(b.TokenTypeIDs))
	}
	if b.VectorMask != nil && len(b.VectorMask) != n {
		return fmt.Errorf("encode: batch %d×%d has %d vector mask values", b.N, b.Len, len(b.VectorMask))
	}
	return nil
}

// row returns sequence i, trimmed to the first `keep` positions.
func (b Batch) row(i, keep int) Seq {
	lo := i * b.Len
	s := Seq{IDs: b.IDs[lo : lo+keep], Mask: b.AttentionMask[lo : lo+keep]}
	if b.TokenTypeIDs != nil {
		s.TypeIDs = b.TokenTypeIDs[lo : lo+keep]
	}
	return s
}

// trimmed is the number of leading positions of row i that matter: up to
// the last attended position (and last kept vector, if a mask is given).
// Trailing padding only costs time: it does not change other rows.
func (b Batch) trimmed(i int) int {
	lo := i * b.Len
	last := 0
	for j := 0; j < b.Len; j++ {
		if b.AttentionMask[lo+j] != 0 || b.VectorMask != nil && b.VectorMask[lo+j] != 0 {
			last = j + 1
		}
	}
	return max(last, 1)
}

// ColBERT encodes queries and documents into normalised token vectors.
type ColBERT struct {
	Bert   *Bert
	Config model.ColBERTConfig
	linear []float32 // [dim, hidden]
	dim    int
	opt    Options
}

// NewColBERT prepares a ColBERT checkpoint for inference.
func NewColBERT(ck *model.Checkpoint, opt Options) (*ColBERT, error) {
	if ck.Kind != model.KindColBERT {
		return nil, fmt.Errorf("encode: checkpoint %s is a %s model, not colbert", ck.Dir, ck.Kind)
	}
	b, err := NewBert(ck.Config, ck.Params)
	if err != nil {
		return nil, err
	}
	w, ok := ck.Params["linear.weight"]
	if !ok || len(w.Shape) != 2 || w.Shape[1] != ck.Config.HiddenSize {
		return nil, fmt.Errorf("encode: colbert checkpoint needs linear.weight [dim, %d]", ck.Config.HiddenSize)
	}
	return &ColBERT{Bert: b, Config: ck.ColBERT, linear: w.Data, dim: w.Shape[0], opt: opt}, nil
}

// Dim is the vector size.
func (c *ColBERT) Dim() int { return c.dim }

// project writes normalise(x·Wᵀ) for x [rows, hidden] into sc.out [rows, dim].
func (c *ColBERT) project(sc *scratch, x []float32, rows int) []float32 {
	h := c.Bert.hidden
	sc.out = grow(sc.out, rows*c.dim)
	c.Bert.blas.Sgemm(blas.NoTrans, blas.Trans, rows, c.dim, h, 1, x, h, c.linear, h, 0, sc.out, c.dim)
	for r := 0; r < rows; r++ {
		normalize(sc.out[r*c.dim : (r+1)*c.dim])
	}
	return sc.out
}

// normalize divides v by max(‖v‖, 1e-12), as torch.nn.functional.normalize.
func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := math.Sqrt(s)
	if n < 1e-12 {
		n = 1e-12
	}
	inv := float32(1 / n)
	for i := range v {
		v[i] *= inv
	}
}

// EncodeQueries returns all Len vectors of every query, [N, Len, dim]
// row-major, each normalised: positions with attention 0 (the [MASK]
// padding) are encoded and kept, as ColBERT's query augmentation does.
func (c *ColBERT) EncodeQueries(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	seqs := make([]Seq, b.N)
	for i := range seqs {
		seqs[i] = b.row(i, b.Len)
	}
	out := make([]float32, b.N*b.Len*c.dim)
	err := c.Bert.run(ctx, seqs, c.opt, func(sc *scratch, idx, offs []int, x []float32) error {
		v := c.project(sc, x, offs[len(idx)])
		for k, i := range idx {
			copy(out[i*b.Len*c.dim:(i+1)*b.Len*c.dim], v[offs[k]*c.dim:offs[k+1]*c.dim])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DocVectors holds the kept vectors of many documents back to back:
// document i is Vectors[Offsets[i]*Dim : Offsets[i+1]*Dim].
type DocVectors struct {
	Dim     int
	Vectors []float32
	Offsets []int // len N+1
}

// Doc returns document i's vectors, [n, Dim].
func (d *DocVectors) Doc(i int) []float32 {
	return d.Vectors[d.Offsets[i]*d.Dim : d.Offsets[i+1]*d.Dim]
}

// Len returns the number of kept vectors of document i.
func (d *DocVectors) Len(i int) int { return d.Offsets[i+1] - d.Offsets[i] }

// EncodeDocs returns each document's kept vectors (VectorMask 1; when
// VectorMask is nil, the attended positions), normalised.
func (c *ColBERT) EncodeDocs(ctx context.Context, b Batch) (*DocVectors, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	keep := b.VectorMask
	if keep == nil {
		keep = b.AttentionMask
	}
	dv := &DocVectors{Dim: c.dim, Offsets: make([]int, b.N+1)}
	for i := 0; i < b.N; i++ {
		n := 0
		for _, m := range keep[i*b.Len : (i+1)*b.Len] {
			if m != 0 {
				n++
			}
		}
		dv.Offsets[i+1] = dv.Offsets[i] + n
	}
	dv.Vectors = make([]float32, dv.Offsets[b.N]*c.dim)
	seqs := make([]Seq, b.N)
	for i := range seqs {
		seqs[i] = b.row(i, b.trimmed(i))
	}
	err := c.Bert.run(ctx, seqs, c.opt, func(sc *scratch, idx, offs []int, x []float32) error {
		v := c.project(sc, x, offs[len(idx)])
		for k, i := range idx {
			dst := dv.Offsets[i] * c.dim
			km := keep[i*b.Len:]
			for j := 0; j < offs[k+1]-offs[k]; j++ {
				if km[j] != 0 {
					copy(dv.Vectors[dst:dst+c.dim], v[(offs[k]+j)*c.dim:(offs[k]+j+1)*c.dim])
					dst += c.dim
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dv, nil
}

// CrossEncoder scores (query, passage) pairs as HF
// BertForSequenceClassification: [CLS] → pooler (dense + tanh) → classifier.
type CrossEncoder struct {
	Bert      *Bert
	pw, pb    []float32 // pooler [H, H], [H]
	cw, cb    []float32 // classifier [labels, H], [labels]
	numLabels int
	opt       Options
}

// NewCrossEncoder prepares a cross-encoder checkpoint for inference.
func NewCrossEncoder(ck *model.Checkpoint, opt Options) (*CrossEncoder, error) {
	if ck.Kind != model.KindCrossEncoder {
		return nil, fmt.Errorf("encode: checkpoint %s is a %s model, not a cross-encoder", ck.Dir, ck.Kind)
	}
	if err := ck.Validate(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	b, err := NewBert(ck.Config, ck.Params)
	if err != nil {
		return nil, err
	}
	p := ck.Params
	return &CrossEncoder{Bert: b, pw: p["pooler.dense.weight"].Data, pb: p["pooler.dense.bias"].Data,
		cw: p["classifier.weight"].Data, cb: p["classifier.bias"].Data, numLabels: ck.NumLabels, opt: opt}, nil
}

// NumLabels is the number of logits per pair.
func (ce *CrossEncoder) NumLabels() int { return ce.numLabels }

// Logits returns [N, NumLabels] logits.
func (ce *CrossEncoder) Logits(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	seqs := make([]Seq, b.N)
	for i := range seqs {
		seqs[i] = b.row(i, b.trimmed(i))
	}
	h, L := ce.Bert.hidden, ce.numLabels
	out := make([]float32, b.N*L)
	err := ce.Bert.run(ctx, seqs, ce.opt, func(sc *scratch, idx, offs []int, x []float32) error {
		pooled := make([]float32, h)
		for k, i := range idx {
			cls := x[offs[k]*h : offs[k]*h+h]
			for o := 0; o < h; o++ {
				pooled[o] = float32(math.Tanh(float64(dot(ce.pw[o*h:(o+1)*h], cls) + ce.pb[o])))
			}
			for l := 0; l < L; l++ {
				out[i*L+l] = dot(ce.cw[l*h:(l+1)*h], pooled) + ce.cb[l]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Score returns one relevance score per pair: the logit of a one-label
// model (the usual re-ranker), or the last label's logit otherwise.
func (ce *CrossEncoder) Score(ctx context.Context, b Batch) ([]float32, error) {
	lg, err := ce.Logits(ctx, b)
	if err != nil || ce.numLabels == 1 {
		return lg, err
	}
	s := make([]float32, b.N)
	for i := range s {
		s[i] = lg[i*ce.numLabels+ce.numLabels-1]
	}
	return s, nil
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// BiEncoder is the single-vector baseline: the [CLS] hidden state, through
// the optional linear projection; relevance is the dot product.
type BiEncoder struct {
	Bert   *Bert
	linear []float32 // [dim, hidden] or nil
	dim    int
	opt    Options
}

// NewBiEncoder prepares a bi-encoder (or any BERT checkpoint, for [CLS]
// pooling without projection).
func NewBiEncoder(ck *model.Checkpoint, opt Options) (*BiEncoder, error) {
	if ck.Kind != model.KindBiEncoder && ck.Kind != model.KindBert {
		return nil, fmt.Errorf("encode: checkpoint %s is a %s model, not a bi-encoder", ck.Dir, ck.Kind)
	}
	b, err := NewBert(ck.Config, ck.Params)
	if err != nil {
		return nil, err
	}
	be := &BiEncoder{Bert: b, dim: ck.Config.HiddenSize, opt: opt}
	if w, ok := ck.Params["linear.weight"]; ok {
		if len(w.Shape) != 2 || w.Shape[1] != ck.Config.HiddenSize {
			return nil, fmt.Errorf("encode: bi-encoder linear.weight has shape %v, want [dim, %d]", w.Shape, ck.Config.HiddenSize)
		}
		be.linear, be.dim = w.Data, w.Shape[0]
	}
	return be, nil
}

// Dim is the embedding size.
func (be *BiEncoder) Dim() int { return be.dim }

// Encode returns one embedding per sequence, [N, dim].
func (be *BiEncoder) Encode(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	seqs := make([]Seq, b.N)
	for i := range seqs {
		seqs[i] = b.row(i, b.trimmed(i))
	}
	h := be.Bert.hidden
	out := make([]float32, b.N*be.dim)
	err := be.Bert.run(ctx, seqs, be.opt, func(sc *scratch, idx, offs []int, x []float32) error {
		for k, i := range idx {
			cls := x[offs[k]*h : offs[k]*h+h]
			dst := out[i*be.dim : (i+1)*be.dim]
			if be.linear == nil {
				copy(dst, cls)
				continue
			}
			for o := range dst {
				dst[o] = dot(be.linear[o*h:(o+1)*h], cls)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxSimBlock is how many document vectors one sgemm of ScoreAll covers
// at most (unless one document alone has more).
const maxSimBlock = 4096

// ScoreAll writes into scores[i] the MaxSim of the query q ([nq, Dim]) with
// document i, as model.MaxSim computes it (a document without vectors
// scores 0), with one sgemm per block of consecutive documents: training's
// dev evaluation scores every query against every document.
func (d *DocVectors) ScoreAll(q []float32, nq int, scores []float32) {
	impl := newBLAS()
	n := len(d.Offsets) - 1
	var sims []float32
	for first := 0; first < n; {
		last := first + 1 // the block is documents [first, last)
		for last < n && d.Offsets[last+1]-d.Offsets[first] <= maxSimBlock {
			last++
		}
		v0, w := d.Offsets[first], d.Offsets[last]-d.Offsets[first]
		if w > 0 {
			if cap(sims) < nq*w {
				sims = make([]float32, nq*w)
			}
			impl.Sgemm(blas.NoTrans, blas.Trans, nq, w, d.Dim, 1, q, d.Dim, d.Vectors[v0*d.Dim:], d.Dim, 0, sims[:nq*w], w)
		}
		for i := first; i < last; i++ {
			lo, hi := d.Offsets[i]-v0, d.Offsets[i+1]-v0
			var tot float32
			for r := 0; r < nq && hi > lo; r++ {
				row := sims[r*w+lo : r*w+hi]
				best := row[0]
				for _, x := range row[1:] {
					if x > best {
						best = x
					}
				}
				tot += best
			}
			scores[i] = tot
		}
		first = last
	}
}
