package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/search"
)

// Rerank rescores each query's first-stage passages (first[q.ID], by
// passage id; ids the index does not hold are skipped) exactly from the
// index's stored vectors — MaxSim, or the poly-encoder's score for a
// poly-encoder model — and keeps the top k: the seed's poly-encoder
// reranker, and a reranker of any first stage (BM25, PLAID) that encodes
// no passage at query time. The first stage's time is not included.
func (e *Engine) Rerank(ctx context.Context, qs []data.Query, first data.Run, k int, opt SearchOptions) (*Results, error) {
	if k <= 0 {
		return nil, fmt.Errorf("engine: rerank: k must be positive, got %d", k)
	}
	if e.sparse != nil {
		return nil, fmt.Errorf("engine: rerank: a splade index is searched, not reranked")
	}
	cands := make([][]int, len(qs))
	for i, q := range qs {
		for _, d := range first[q.ID] {
			if pid, ok := e.pid(d.DocID); ok {
				cands[i] = append(cands[i], pid)
			}
		}
	}
	start := time.Now()
	qv, err := e.enc.EncodeQueries(ctx, qs)
	if err != nil {
		return nil, err
	}
	out := &Results{Encode: time.Since(start)}
	start = time.Now()
	poly := e.model != nil && e.model.Kind == model.KindPolyEncoder
	res, err := e.searcher.SearchBatch(ctx, qv, e.enc.Dim(), search.Params{K: k}, search.BatchOptions{Threads: opt.Threads, Poly: poly, Candidates: cands, Bar: opt.Bar})
	if err != nil {
		return nil, err
	}
	out.Search, out.PerQuery = time.Since(start), res
	out.Run = make(data.Run, len(qs))
	for i, q := range qs {
		res[i].Trace.Time.Encode = out.Encode / time.Duration(len(res))
		out.Run[q.ID] = e.Docs(res[i].Hits)
	}
	return out, nil
}
