package colbert

import (
	"context"
	"fmt"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// The seed's other models through the same adapter (same loader, tokenizer
// mapping and encoder key as ColBERT):
//   - MV-DPR is a multi-vector encoder like ColBERT: k vectors per query
//     and per passage, scored by MaxSim, so it indexes into the residual
//     index and searches with PLAID as ColBERT does.
//   - The poly-encoder is one too as far as shapes go: m context vectors
//     per query, one [CLS] vector per passage (stored in a flat index); its
//     score is model.PolyScore, not MaxSim (search/engine applies it).
//   - The single-vector bi-encoder is the case of one vector per query and
//     per passage ([CLS], through its linear layer when it has one, not
//     normalised): MaxSim over one vector each is the dot product, so a
//     flat index searched exhaustively is its exact dense retrieval.
//   - SPLADE makes sparse vectors over the vocabulary (EncodeSparse*), for
//     codec/sparse's inverted index; it has no dense Encoder.

// Searchable reports whether this adapter encodes checkpoints of kind k.
func Searchable(k model.Kind) bool {
	switch k {
	case model.KindColBERT, model.KindMVDPR, model.KindPolyEncoder, model.KindSPLADE, model.KindBiEncoder:
		return true
	}
	return false
}

// fixedVectors is an encoder that makes the same number of vectors for
// every query and passage, whatever its length (MV-DPR, poly-encoder).
type fixedVectors interface {
	queryVectors() int
	passageVectors() int
}

// mvEncoder is MV-DPR as an Encoder.
type mvEncoder struct{ *encode.MVDPR }

func (mvEncoder) Close() error          { return nil }
func (e mvEncoder) queryVectors() int   { return e.K() }
func (e mvEncoder) passageVectors() int { return e.K() }
func (e mvEncoder) EncodeDocIDs(ctx context.Context, ids, _ [][]int32) (*encode.DocVectors, error) {
	return e.EncodeDocs(ctx, padded(ids))
}

// polyEncoder is the poly-encoder as an Encoder: EncodeQueries gives the m
// context vectors of each query, EncodeDocIDs each passage's [CLS] vector.
type polyEncoder struct{ *encode.PolyEncoder }

func (polyEncoder) Close() error          { return nil }
func (e polyEncoder) queryVectors() int   { return e.M() }
func (e polyEncoder) passageVectors() int { return 1 }
func (e polyEncoder) EncodeDocIDs(ctx context.Context, ids, _ [][]int32) (*encode.DocVectors, error) {
	v, err := e.EncodeDocs(ctx, padded(ids))
	if err != nil {
		return nil, err
	}
	return oneVectorEach(e.Dim(), v, len(ids)), nil
}

// biEncoder is the single-vector bi-encoder as an Encoder: one vector per
// query and per passage.
type biEncoder struct{ *encode.BiEncoder }

func (biEncoder) Close() error        { return nil }
func (biEncoder) queryVectors() int   { return 1 }
func (biEncoder) passageVectors() int { return 1 }
func (e biEncoder) EncodeQueries(ctx context.Context, b encode.Batch) ([]float32, error) {
	return e.Encode(ctx, b)
}
func (e biEncoder) EncodeDocIDs(ctx context.Context, ids, _ [][]int32) (*encode.DocVectors, error) {
	v, err := e.Encode(ctx, padded(ids))
	if err != nil {
		return nil, err
	}
	return oneVectorEach(e.Dim(), v, len(ids)), nil
}

// oneVectorEach wraps n vectors as one per passage.
func oneVectorEach(dim int, v []float32, n int) *encode.DocVectors {
	dv := &encode.DocVectors{Dim: dim, Vectors: v, Offsets: make([]int, n+1)}
	for i := range dv.Offsets {
		dv.Offsets[i] = i
	}
	return dv
}

// sparseOnly stands in for the dense Encoder of a SPLADE model: every dense
// call is an error naming the model's kind.
type sparseOnly struct{ vocab int }

func (s sparseOnly) Dim() int   { return s.vocab }
func (sparseOnly) Close() error { return nil }
func (sparseOnly) EncodeQueries(context.Context, encode.Batch) ([]float32, error) {
	return nil, errSparse
}
func (sparseOnly) EncodeDocIDs(context.Context, [][]int32, [][]int32) (*encode.DocVectors, error) {
	return nil, errSparse
}

var errSparse = fmt.Errorf("colbert: a splade model makes sparse vectors (an inverted index), not dense ones")

// padded packs unpadded token ids into a batch (PAD = 0, attention 1 on
// the tokens).
func padded(ids [][]int32) encode.Batch {
	l := 1
	for _, s := range ids {
		l = max(l, len(s))
	}
	b := encode.Batch{N: len(ids), Len: l, IDs: make([]int32, len(ids)*l), AttentionMask: make([]int32, len(ids)*l)}
	for i, s := range ids {
		copy(b.IDs[i*l:], s)
		for j := range s {
			b.AttentionMask[i*l+j] = 1
		}
	}
	return b
}

// newKindEncoder opens the Go encoder of a non-ColBERT kind.
func newKindEncoder(ck *model.Checkpoint, opt Options) (Encoder, *encode.SPLADE, error) {
	switch ck.Kind {
	case model.KindMVDPR:
		e, err := encode.NewMVDPR(ck, opt.Encode)
		return mvEncoder{e}, nil, err
	case model.KindPolyEncoder:
		e, err := encode.NewPolyEncoder(ck, opt.Encode)
		return polyEncoder{e}, nil, err
	case model.KindBiEncoder:
		e, err := encode.NewBiEncoder(ck, opt.Encode)
		return biEncoder{e}, nil, err
	case model.KindSPLADE:
		s, err := encode.NewSPLADE(ck, opt.Encode)
		if err != nil {
			return nil, nil, err
		}
		return sparseOnly{vocab: s.VocabSize()}, s, nil
	}
	return nil, nil, fmt.Errorf("colbert: checkpoint %s is a %s model: index and search take colbert, mv-dpr, poly-encoder, splade or bi-encoder", ck.Dir, ck.Kind)
}

// UnitVectors reports whether the model's passage vectors are
// L2-normalised (ColBERT's tokens, MV-DPR's projections), which the
// residual codec assumes: it normalises what it decompresses. The
// poly-encoder's and the bi-encoder's [CLS] vectors are scored by dot
// product at their own norm, so they are stored in a flat index.
func (m *Model) UnitVectors() bool {
	return m.Kind != model.KindPolyEncoder && m.Kind != model.KindBiEncoder && m.sparse == nil
}

// IsSparse reports whether the model makes sparse vectors (SPLADE).
func (m *Model) IsSparse() bool { return m.sparse != nil }

// EncodeSparseQueries encodes queries into SPLADE vectors (tokenised as
// ColBERT queries are; the [MASK] padding is not attended, so it adds no
// term). A query without any wordpiece is ErrNoTokens.
func (m *Model) EncodeSparseQueries(ctx context.Context, qs []data.Query) ([]encode.Sparse, error) {
	if m.sparse == nil {
		return nil, fmt.Errorf("colbert: %s is a %s model, not splade", m.Dir, m.Kind)
	}
	ids, err := m.queryIDs(qs)
	if err != nil {
		return nil, err
	}
	out := make([]encode.Sparse, 0, len(qs))
	const batch = 256
	for lo := 0; lo < len(qs); lo += batch {
		hi := min(len(qs), lo+batch)
		v, err := m.sparse.Encode(ctx, encode.FromTokenize(m.Tok.PackQueries(ids[lo:hi])))
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

// EncodeSparseDocIDs encodes unpadded documents (tokenize.ColBERT.PackDoc's
// ids; every token counts, punctuation included, as in SPLADE) into SPLADE
// vectors.
func (m *Model) EncodeSparseDocIDs(ctx context.Context, ids [][]int32) ([]encode.Sparse, error) {
	if m.sparse == nil {
		return nil, fmt.Errorf("colbert: %s is a %s model, not splade", m.Dir, m.Kind)
	}
	return m.sparse.Encode(ctx, padded(ids))
}

// EmbedSparse encodes passages start…end−1 into SPLADE vectors (the
// model must be a splade model).
func (s *Source) EmbedSparse(ctx context.Context, start, end int) ([]encode.Sparse, error) {
	if start < 0 || end > len(s.ids) || start > end {
		return nil, fmt.Errorf("colbert: embed passages %d…%d of %d", start, end, len(s.ids))
	}
	ids := make([][]int32, end-start)
	for i := range ids {
		ids[i], _ = s.m.Tok.PackDoc(s.toks[start+i])
	}
	v, err := s.m.EncodeSparseDocIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("colbert: encode passages: %w", err)
	}
	return v, nil
}
