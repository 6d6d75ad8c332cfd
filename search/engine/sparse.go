package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/colbert-go/colbert/codec/sparse"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	sparsesearch "github.com/colbert-go/colbert/search/sparse"
)

// CodecSparse names SPLADE's inverted index of quantised term impacts
// (codec/sparse), searched by dynamic pruning (search/sparse).
const CodecSparse = "sparse"

// openSparse opens a SPLADE index for m's queries.
func openSparse(m *colbert.Model, dir string, opt OpenOptions) (*Engine, error) {
	ix, err := sparse.Open(dir, sparse.OpenOptions{SkipVerify: opt.SkipVerify})
	if err != nil {
		return nil, err
	}
	mf := ix.Manifest()
	switch {
	case ix.VocabSize() != m.Dim():
		err = fmt.Errorf("%w: sparse index %s is over a vocabulary of %d terms, the checkpoint %s has %d",
			search.ErrDimMismatch, dir, ix.VocabSize(), m.Dir, m.Dim())
	case mf.Checkpoint != "" && !m.Matches(mf.Checkpoint):
		err = fmt.Errorf("%w: sparse index %s was built with encoder %s, but %s is %s: the weights, config or tokenizer differ",
			ErrCheckpointMismatch, dir, short(mf.Checkpoint), m.Dir, short(m.Key))
	}
	if err != nil {
		ix.Close()
		return nil, err
	}
	st := ix.Stats()
	return &Engine{model: m, sparse: ix, id: ix.ID, pid: ix.PID, deleted: ix.Deleted, close: ix.Close,
		stats: Stats{Codec: CodecSparse, Passages: ix.NumLive(), Generation: mf.Generation, Tokens: st.Postings,
			Bytes: st.Bytes, BytesPerToken: st.BytesPerPosting}}, nil
}

// searchSparse answers queries over the SPLADE index: dynamic pruning, or
// every posting scored when exhaustive (the reference it equals).
func (e *Engine) searchSparse(ctx context.Context, qs []data.Query, p search.Params, opt SearchOptions) (*Results, error) {
	if p.K <= 0 {
		return nil, fmt.Errorf("engine: k must be positive, got %d", p.K)
	}
	start := time.Now()
	f, unknown, err := e.filter(ctx, opt.Filter)
	if err != nil {
		return nil, err
	}
	filterTime := time.Since(start)
	start = time.Now()
	qv, err := e.model.EncodeSparseQueries(ctx, qs)
	if err != nil {
		return nil, err
	}
	out := &Results{Encode: time.Since(start), Filter: f, FilterTime: filterTime, UnknownIDs: unknown, PerQuery: make([]search.Result, len(qs))}
	start = time.Now()
	so := sparsesearch.Options{Filter: f}
	for i, v := range qv {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		r := &out.PerQuery[i]
		if opt.Exhaustive {
			r.Hits, err = sparsesearch.Exhaustive(e.sparse, sparse.Vector(v), p.K, so)
		} else {
			r.Hits, err = sparsesearch.Search(e.sparse, sparse.Vector(v), p.K, so)
		}
		if err != nil {
			return nil, fmt.Errorf("engine: query %q: %w", qs[i].ID, err)
		}
		r.Latency = time.Since(t0)
		r.Trace.Time.Encode = out.Encode / time.Duration(len(qs))
		opt.Bar.Add(1)
	}
	out.Search = time.Since(start)
	out.Run = make(data.Run, len(qs))
	for i, q := range qs {
		out.Run[q.ID] = e.Docs(out.PerQuery[i].Hits)
	}
	return out, nil
}

// sparseSource feeds codec/sparse.Build from a colbert.Source, encoding
// passages in batches and keeping the last batch (Build asks in order,
// apart from a few probes).
type sparseSource struct {
	ctx   context.Context
	src   *colbert.Source
	batch int
	lo    int
	vecs  []encode.Sparse
}

func (s *sparseSource) NumPassages() int { return s.src.Len() }
func (s *sparseSource) ID(i int) string  { return s.src.ID(i) }
func (s *sparseSource) Vector(i int) (sparse.Vector, error) {
	if s.vecs == nil || i < s.lo || i >= s.lo+len(s.vecs) {
		lo := i - i%s.batch
		v, err := s.src.EmbedSparse(s.ctx, lo, min(lo+s.batch, s.src.Len()))
		if err != nil {
			return sparse.Vector{}, err
		}
		s.lo, s.vecs = lo, v
	}
	return sparse.Vector(s.vecs[i-s.lo]), nil
}

// buildSparse encodes every passage of src with m (SPLADE) into a sparse
// index in dir (codec/sparse.Build: resumable by chunks, committed
// atomically).
func buildSparse(ctx context.Context, m *colbert.Model, dir string, src *colbert.Source, opt BuildOptions) error {
	bar := opt.bar("index", int64(src.Len()), "passages")
	defer bar.Finish()
	_, err := sparse.Build(ctx, dir, &sparseSource{ctx: ctx, src: src, batch: 128}, sparse.BuildOptions{
		VocabSize: m.Dim(), Checkpoint: m.Key, Overwrite: opt.Index.Overwrite}, bar)
	return err
}
