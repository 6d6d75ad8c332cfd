package encode

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"

	"github.com/colbert-go/colbert/model"
)

// This file holds the heads of the other model kinds a checkpoint can hold
// (model.KindSPLADE, model.KindPolyEncoder, model.KindMVDPR), on the same
// BERT forward pass as the ColBERT head. Their exact definitions are the
// kinds' doc comments in model/checkpoint.go; the float64 PyTorch reference
// is experiments/peers/make_models_fixture.py.

// headTensor returns the data of ck's tensor name after checking its shape,
// so that a constructor fails on a malformed head instead of a later index
// panicking mid-batch.
func headTensor(ck *model.Checkpoint, name string, shape ...int) ([]float32, error) {
	t, ok := ck.Params[name]
	if !ok {
		return nil, fmt.Errorf("encode: %s checkpoint %s has no tensor %q (expected shape %v)", ck.Kind, ck.Dir, name, shape)
	}
	if !slices.Equal(t.Shape, shape) || len(t.Data) != t.Len() {
		return nil, fmt.Errorf("encode: %s checkpoint %s: tensor %q has shape %v (%d values), want %v", ck.Kind, ck.Dir, name, t.Shape, len(t.Data), shape)
	}
	return t.Data, nil
}

// checkKind refuses a checkpoint of another kind: the heads read tensors by
// name, and another kind's weights would give plausible-looking garbage.
func checkKind(ck *model.Checkpoint, want model.Kind) error {
	if ck.Kind != want {
		return fmt.Errorf("encode: checkpoint %s is a %s model, not %s", ck.Dir, ck.Kind, want)
	}
	return nil
}

// trimmedRows is each row of b cut after its last attended (or kept)
// position: trailing padding changes no attended state, so it is not encoded.
func trimmedRows(b Batch) []Seq {
	seqs := make([]Seq, b.N)
	for i := range seqs {
		seqs[i] = b.row(i, b.trimmed(i))
	}
	return seqs
}

// Sparse is a sparse vector over the vocabulary: Terms strictly increasing,
// Weights[i] > 0 the weight of Terms[i]. It has codec/sparse.Vector's
// fields in the same order, so a plain type conversion turns one into the
// other (model/encode cannot import codec: imports point downward only).
type Sparse struct {
	Terms   []int32
	Weights []float32
}

// SPLADE encodes texts into sparse vocabulary vectors as naver/splade-*
// models do: HF BertForMaskedLM's head on every attended token, then
// w = max over the tokens of log(1 + ReLU(logit)) per vocabulary id.
// Queries and documents are encoded alike; the score is the dot product.
type SPLADE struct {
	Bert             *Bert
	dw, db, lnw, lnb []float32 // MLM transform: dense [H, H], [H], LayerNorm [H], [H]
	bias             []float32 // decoder bias [V]; the decoder weight is the word embeddings
	vocab            int
	blockRows        int // rows per logits sgemm, bounding the [rows, V] buffer
	opt              Options
	pool             sync.Pool // *spladeScratch
}

// spladeScratch is one worker's buffers: the attended rows, their MLM
// transform, one block of logits and the current sequence's dense maxima.
type spladeScratch struct {
	x, t, logits, acc []float32
}

// spladeLogitFloats bounds one logits block to 16 MiB per worker: a batch
// of 4096 tokens times a 30522-word vocabulary would otherwise take 500 MB.
const spladeLogitFloats = 1 << 22

// NewSPLADE prepares a SPLADE checkpoint (model.KindSPLADE) for inference.
func NewSPLADE(ck *model.Checkpoint, opt Options) (*SPLADE, error) {
	if err := checkKind(ck, model.KindSPLADE); err != nil {
		return nil, err
	}
	b, err := NewBert(ck.Config, ck.Params)
	if err != nil {
		return nil, fmt.Errorf("encode: splade checkpoint %s: %w", ck.Dir, err)
	}
	h, v := ck.Config.HiddenSize, ck.Config.VocabSize
	s := &SPLADE{Bert: b, vocab: v, opt: opt, blockRows: max(1, spladeLogitFloats/v)}
	for _, p := range []struct {
		dst   *[]float32
		name  string
		shape []int
	}{
		{&s.dw, model.MLMDenseWeight, []int{h, h}}, {&s.db, model.MLMDenseBias, []int{h}},
		{&s.lnw, model.MLMNormWeight, []int{h}}, {&s.lnb, model.MLMNormBias, []int{h}},
		{&s.bias, model.MLMBias, []int{v}},
	} {
		if *p.dst, err = headTensor(ck, p.name, p.shape...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// VocabSize is the number of dimensions of the sparse vectors (the largest
// term is VocabSize()-1).
func (s *SPLADE) VocabSize() int { return s.vocab }

// Encode returns one sparse vector per sequence of b. Only attended
// positions (AttentionMask 1) contribute, [CLS] and [SEP] included as in
// SPLADE's training; VectorMask is not used. A sequence with no attended
// position, or whose logits are all ≤ 0, gets an empty vector.
func (s *SPLADE) Encode(ctx context.Context, b Batch) ([]Sparse, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	out := make([]Sparse, b.N)
	err := s.Bert.run(ctx, trimmedRows(b), s.opt, func(_ *scratch, idx, offs []int, x []float32) error {
		sc, _ := s.pool.Get().(*spladeScratch)
		if sc == nil {
			sc = &spladeScratch{}
		}
		defer s.pool.Put(sc)
		s.encodeBatch(sc, b, idx, offs, x, out)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("encode: splade: %w", err)
	}
	return out, nil
}

// encodeBatch turns one packed batch of hidden states into sparse vectors.
// The attended rows of all its sequences are gathered so that the MLM
// transform is one sgemm and the vocabulary logits one sgemm per block of
// rows; a sequence's maxima collect in sc.acc, which becomes its sparse
// vector when the next sequence's rows begin.
func (s *SPLADE) encodeBatch(sc *spladeScratch, b Batch, idx, offs []int, x []float32, out []Sparse) {
	h, V := s.Bert.hidden, s.vocab
	var owner []int // owner[r] = k: row r belongs to sequence idx[k]
	for k, i := range idx {
		for j := 0; j < offs[k+1]-offs[k]; j++ {
			if b.AttentionMask[i*b.Len+j] != 0 {
				owner = append(owner, k)
			}
		}
	}
	nAtt := len(owner)
	if nAtt == 0 {
		return // sequences without an attended row keep the empty Sparse
	}
	sc.x = grow(sc.x, nAtt*h)
	r := 0
	for k, i := range idx {
		for j := 0; j < offs[k+1]-offs[k]; j++ {
			if b.AttentionMask[i*b.Len+j] != 0 {
				copy(sc.x[r*h:(r+1)*h], x[(offs[k]+j)*h:(offs[k]+j+1)*h])
				r++
			}
		}
	}
	// MLM transform: dense + bias → erf GELU → LayerNorm (config eps).
	sc.t = grow(sc.t, nAtt*h)
	s.Bert.blas.Sgemm(blas.NoTrans, blas.Trans, nAtt, h, h, 1, sc.x, h, s.dw, h, 0, sc.t, h)
	biasGelu(sc.t, s.db)
	layerNorm(sc.t, h, s.lnw, s.lnb, s.Bert.eps)

	sc.acc = grow(sc.acc, V)
	clear(sc.acc)
	cur := owner[0]
	for r0 := 0; r0 < nAtt; r0 += s.blockRows {
		rows := min(s.blockRows, nAtt-r0)
		sc.logits = grow(sc.logits, rows*V)
		// Decoder tied to the word embeddings: logits = t · Eᵀ (+ bias below).
		s.Bert.blas.Sgemm(blas.NoTrans, blas.Trans, rows, V, h, 1, sc.t[r0*h:], h, s.Bert.word, h, 0, sc.logits, V)
		for r := 0; r < rows; r++ {
			if k := owner[r0+r]; k != cur {
				out[idx[cur]] = sparsify(sc.acc)
				clear(sc.acc)
				cur = k
			}
			// log(1 + ReLU(·)) is non-decreasing, so the max is taken on the
			// logits (acc starts at 0, which is the ReLU) and log1p applied
			// once per kept term.
			for v, z := range sc.logits[r*V : (r+1)*V] {
				if z += s.bias[v]; z > sc.acc[v] {
					sc.acc[v] = z
				}
			}
		}
	}
	out[idx[cur]] = sparsify(sc.acc)
}

// sparsify returns the positive entries of the maxima acc as a sparse
// vector, each weight log(1 + max logit) (acc starts at 0, which is ReLU).
func sparsify(acc []float32) Sparse {
	n := 0
	for _, z := range acc {
		if z > 0 {
			n++
		}
	}
	sp := Sparse{Terms: make([]int32, 0, n), Weights: make([]float32, 0, n)}
	for v, z := range acc {
		if z <= 0 {
			continue
		}
		w := float32(math.Log1p(float64(z)))
		if w <= 0 { // only for a subnormal z: keep "weights > 0" exact
			continue
		}
		sp.Terms = append(sp.Terms, int32(v))
		sp.Weights = append(sp.Weights, w)
	}
	return sp
}

// PolyEncoder is Humeau et al.'s poly-encoder: a query is m context
// vectors, the m learnt codes each attending over the query's token states;
// a passage is its [CLS] state; model.PolyScore scores the pair.
type PolyEncoder struct {
	Bert  *Bert
	codes []float32 // [m, H]
	m     int
	opt   Options
}

// NewPolyEncoder prepares a poly-encoder checkpoint (model.KindPolyEncoder).
func NewPolyEncoder(ck *model.Checkpoint, opt Options) (*PolyEncoder, error) {
	if err := checkKind(ck, model.KindPolyEncoder); err != nil {
		return nil, err
	}
	m := ck.ColBERT.PolyM
	if m <= 0 {
		return nil, fmt.Errorf("encode: poly-encoder checkpoint %s has poly_m = %d, must be > 0", ck.Dir, m)
	}
	b, err := NewBert(ck.Config, ck.Params)
	if err != nil {
		return nil, fmt.Errorf("encode: poly-encoder checkpoint %s: %w", ck.Dir, err)
	}
	codes, err := headTensor(ck, model.PolyCodes, m, ck.Config.HiddenSize)
	if err != nil {
		return nil, err
	}
	return &PolyEncoder{Bert: b, codes: codes, m: m, opt: opt}, nil
}

// M is the number of context vectors per query.
func (p *PolyEncoder) M() int { return p.m }

// Dim is the vector size, the hidden size.
func (p *PolyEncoder) Dim() int { return p.Bert.hidden }

// EncodeQueries returns each query's m context vectors, [N, m, hidden]:
// context i = Σ_j softmax_j(code_i · h_j) h_j over the query's attended
// positions j (no scaling, as the reference). A query with no attended
// position is refused: its softmax would be empty.
func (p *PolyEncoder) EncodeQueries(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	h, m := p.Bert.hidden, p.m
	for i := 0; i < b.N; i++ {
		if !slices.ContainsFunc(b.AttentionMask[i*b.Len:(i+1)*b.Len], func(v int32) bool { return v != 0 }) {
			return nil, fmt.Errorf("encode: poly-encoder: query %d has no attended position", i)
		}
	}
	out := make([]float32, b.N*m*h)
	err := p.Bert.run(ctx, trimmedRows(b), p.opt, func(sc *scratch, idx, offs []int, x []float32) error {
		for k, i := range idx {
			n := offs[k+1] - offs[k]
			xs := x[offs[k]*h : offs[k+1]*h]
			sc.scores = grow(sc.scores, m*n)
			att := sc.scores
			p.Bert.blas.Sgemm(blas.NoTrans, blas.Trans, m, n, h, 1, p.codes, h, xs, h, 0, att, n)
			mask := b.AttentionMask[i*b.Len : i*b.Len+n]
			for c := 0; c < m; c++ {
				softmaxMasked(att[c*n:(c+1)*n], mask)
			}
			p.Bert.blas.Sgemm(blas.NoTrans, blas.NoTrans, m, h, n, 1, att, n, xs, h, 0, out[i*m*h:(i+1)*m*h], h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("encode: poly-encoder queries: %w", err)
	}
	return out, nil
}

// EncodeDocs returns each passage's [CLS] state, [N, hidden].
func (p *PolyEncoder) EncodeDocs(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	h := p.Bert.hidden
	out := make([]float32, b.N*h)
	err := p.Bert.run(ctx, trimmedRows(b), p.opt, func(_ *scratch, idx, offs []int, x []float32) error {
		for k, i := range idx {
			copy(out[i*h:(i+1)*h], x[offs[k]*h:offs[k]*h+h])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("encode: poly-encoder docs: %w", err)
	}
	return out, nil
}

// MVDPR is multi-vector DPR: k projections (no bias) of the [CLS] state,
// each L2-normalised, for queries and passages alike; the score is MaxSim
// over the k×k dot products.
type MVDPR struct {
	Bert   *Bert
	proj   []float32 // [k·dim, H]
	k, dim int
	opt    Options
}

// NewMVDPR prepares a multi-vector DPR checkpoint (model.KindMVDPR).
func NewMVDPR(ck *model.Checkpoint, opt Options) (*MVDPR, error) {
	if err := checkKind(ck, model.KindMVDPR); err != nil {
		return nil, err
	}
	k, dim := ck.ColBERT.MVK, ck.ColBERT.Dim
	if k <= 0 || dim <= 0 {
		return nil, fmt.Errorf("encode: mv-dpr checkpoint %s has mv_k = %d, dim = %d: both must be > 0", ck.Dir, k, dim)
	}
	b, err := NewBert(ck.Config, ck.Params)
	if err != nil {
		return nil, fmt.Errorf("encode: mv-dpr checkpoint %s: %w", ck.Dir, err)
	}
	proj, err := headTensor(ck, model.MVProjection, k*dim, ck.Config.HiddenSize)
	if err != nil {
		return nil, err
	}
	return &MVDPR{Bert: b, proj: proj, k: k, dim: dim, opt: opt}, nil
}

// Dim is the size of each vector.
func (mv *MVDPR) Dim() int { return mv.dim }

// K is the number of vectors per text.
func (mv *MVDPR) K() int { return mv.k }

// encode returns the k normalised vectors of every sequence, [N, k, dim]:
// the batch's [CLS] states are gathered so the projection is one sgemm.
func (mv *MVDPR) encode(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	h, w := mv.Bert.hidden, mv.k*mv.dim
	out := make([]float32, b.N*w)
	err := mv.Bert.run(ctx, trimmedRows(b), mv.opt, func(sc *scratch, idx, offs []int, x []float32) error {
		n := len(idx)
		sc.tmp = grow(sc.tmp, n*h)
		for k := range idx {
			copy(sc.tmp[k*h:(k+1)*h], x[offs[k]*h:offs[k]*h+h])
		}
		sc.out = grow(sc.out, n*w)
		mv.Bert.blas.Sgemm(blas.NoTrans, blas.Trans, n, w, h, 1, sc.tmp, h, mv.proj, h, 0, sc.out, w)
		for k, i := range idx {
			dst := out[i*w : (i+1)*w]
			copy(dst, sc.out[k*w:(k+1)*w])
			for v := 0; v < mv.k; v++ {
				normalize(dst[v*mv.dim : (v+1)*mv.dim])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EncodeQueries returns each query's k vectors, [N, k, dim].
func (mv *MVDPR) EncodeQueries(ctx context.Context, b Batch) ([]float32, error) {
	out, err := mv.encode(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("encode: mv-dpr queries: %w", err)
	}
	return out, nil
}

// EncodeDocs returns exactly k vectors per passage, in the layout ColBERT's
// documents use so that the MaxSim scorers and indexes take them as they are.
func (mv *MVDPR) EncodeDocs(ctx context.Context, b Batch) (*DocVectors, error) {
	v, err := mv.encode(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("encode: mv-dpr docs: %w", err)
	}
	dv := &DocVectors{Dim: mv.dim, Vectors: v, Offsets: make([]int, b.N+1)}
	for i := range dv.Offsets {
		dv.Offsets[i] = i * mv.k
	}
	return dv, nil
}
