package distill

import (
	"context"
	"fmt"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
)

// Rerank rescores the top depth documents of each query of run with the
// teacher and returns them ordered by teacher score (ties as trec_eval), as
// a reranking run for judging the teacher itself (e.g. nDCG@10 over BM25's
// top 100). Queries are processed one at a time to keep memory flat.
func Rerank(ctx context.Context, run data.Run, queries map[string]string, passages map[string]string, depth int,
	tok PairTokenizer, teacher Scorer, opt PairOptions, bar *progress.Bar) (data.Run, error) {
	out := make(data.Run, len(run))
	for _, qid := range data.SortedIDs(run) {
		q, ok := queries[qid]
		if !ok {
			return nil, fmt.Errorf("distill: rerank: query %q of the run is not in the queries file", qid)
		}
		docs := run[qid]
		if depth > 0 && len(docs) > depth {
			docs = docs[:depth]
		}
		qs := make([]string, len(docs))
		ps := make([]string, len(docs))
		for i, d := range docs {
			p, ok := passages[d.DocID]
			if !ok {
				return nil, fmt.Errorf("distill: rerank: document %q (query %q) is not in the collection", d.DocID, qid)
			}
			qs[i], ps[i] = q, p
		}
		scores, err := ScorePairs(ctx, qs, ps, tok, teacher, opt, bar)
		if err != nil {
			return nil, err
		}
		ranked := make([]data.ScoredDoc, len(docs))
		for i, d := range docs {
			ranked[i] = data.ScoredDoc{DocID: d.DocID, Score: float64(scores[i])}
		}
		data.SortRun(ranked)
		out[qid] = ranked
	}
	return out, nil
}
