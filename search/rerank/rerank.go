// Package rerank scores a given run's candidates with a ColBERT checkpoint by
// exact MaxSim over freshly encoded passages (no index), and fuses the result
// with the first-stage scores (hybrid BM25 + ColBERT).
package rerank

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search/maxsim"
)

// Options configures Rerank.
type Options struct {
	// Depth reranks only each query's top Depth candidates (0 = all); the
	// rest are dropped from the output, as a reranker's depth does.
	Depth int
	// Hybrid is the weight of the first-stage scores in the output:
	// Hybrid·norm(first) + (1−Hybrid)·norm(ColBERT), per-query min-max
	// normalisation (see Fuse). 0 returns the raw MaxSim scores.
	Hybrid float64
	// DocBlock is the number of distinct passages encoded at a time
	// (bounds memory; 0 = 1024). Each passage is encoded once.
	DocBlock int
	// Threads scores pairs in parallel (0 = GOMAXPROCS); encoding uses the
	// model's own thread setting.
	Threads int
	// Bar is given the number of distinct passages as its total and
	// advances by one per encoded passage; nil is silent.
	Bar *progress.Bar
}

// pair is one (query, candidate) to score.
type pair struct{ q, pos int }

// Rerank scores every (query, candidate) pair of run (up to opt.Depth per
// query) by exact MaxSim between the query's query_maxlen vectors and the
// passage's kept vectors, and returns the reranked run, best first. queries
// and passages map ids to texts (passages: title + " " + text). A run naming a
// query or passage id missing from them is an error naming the id.
func Rerank(ctx context.Context, m *colbert.Model, queries map[string]string, passages map[string]string, run data.Run, opt Options) (data.Run, error) {
	if opt.Hybrid < 0 || opt.Hybrid > 1 || math.IsNaN(opt.Hybrid) {
		return nil, fmt.Errorf("rerank: hybrid weight %v outside [0, 1]", opt.Hybrid)
	}
	qids := data.SortedIDs(run)
	qs := make([]data.Query, 0, len(qids))
	cands := make([][]data.ScoredDoc, 0, len(qids))
	docIdx := map[string]int{}
	var docIDs []string
	var byDoc [][]pair
	for _, qid := range qids {
		text, ok := queries[qid]
		if !ok {
			return nil, fmt.Errorf("rerank: run names query %q, which is not among the queries", qid)
		}
		docs := run[qid]
		if opt.Depth > 0 && len(docs) > opt.Depth {
			docs = docs[:opt.Depth]
		}
		qi := len(qs)
		seen := make(map[string]bool, len(docs))
		for pos, d := range docs {
			if seen[d.DocID] {
				return nil, fmt.Errorf("rerank: run lists document %q twice for query %q", d.DocID, qid)
			}
			seen[d.DocID] = true
			di, ok := docIdx[d.DocID]
			if !ok {
				if _, known := passages[d.DocID]; !known {
					return nil, fmt.Errorf("rerank: run names document %q (query %q), which is not in the collection", d.DocID, qid)
				}
				di = len(docIDs)
				docIdx[d.DocID] = di
				docIDs = append(docIDs, d.DocID)
				byDoc = append(byDoc, nil)
			}
			byDoc[di] = append(byDoc[di], pair{qi, pos})
		}
		qs = append(qs, data.Query{ID: qid, Text: text})
		cands = append(cands, docs)
	}
	opt.Bar.SetTotal(int64(len(docIDs)))
	prepared, err := prepareQueries(ctx, m, qs)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	scores := make([][]float32, len(qs))
	for i, docs := range cands {
		scores[i] = make([]float32, len(docs))
	}
	block := opt.DocBlock
	if block <= 0 {
		block = 1024
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	for lo := 0; lo < len(docIDs); lo += block {
		hi := min(len(docIDs), lo+block)
		texts := make([]string, hi-lo)
		for i := range texts {
			texts[i] = passages[docIDs[lo+i]]
		}
		dv, err := m.EncodeDocTexts(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("rerank: encode passages: %w", err)
		}
		// Each pair is written by exactly one goroutine: docs are split
		// between workers and a (query, position) belongs to one doc.
		var wg sync.WaitGroup
		for w := 0; w < threads; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < hi-lo; i += threads {
					d := dv.Doc(i)
					for _, p := range byDoc[lo+i] {
						scores[p.q][p.pos] = prepared[p.q].Score(d)
					}
				}
			}(w)
		}
		wg.Wait()
		opt.Bar.Add(int64(hi - lo))
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	out := make(data.Run, len(qs))
	for i, q := range qs {
		docs := make([]data.ScoredDoc, len(cands[i]))
		for j, d := range cands[i] {
			docs[j] = data.ScoredDoc{DocID: d.DocID, Score: float64(scores[i][j])}
		}
		out[q.ID] = docs
	}
	if opt.Hybrid > 0 {
		first := make(data.Run, len(qs))
		for i, q := range qs {
			first[q.ID] = cands[i]
		}
		out = Fuse(first, out, opt.Hybrid)
	}
	for _, docs := range out {
		data.SortRun(docs)
	}
	return out, nil
}

// Fuse combines two runs as w·norm(a) + (1−w)·norm(b), where norm is per-query
// min-max normalisation to [0, 1] over the documents of that query's list in
// that run. Min-max (rather than z-scores or rank fusion) keeps the score
// scale of each run's top and bottom and matches the seed's hybrid mode; it
// needs no tuning.
//
// Explicit edge cases: a list whose scores are all equal (or a single
// document) normalises every score to 1, so that component does not reorder
// anything; a document missing from one run's list (or a query missing from
// one run) gets 0 from that run — the floor of what the run retrieved, since
// it ranked below everything the run kept. The output holds every query and
// document of either run, sorted as data.SortRun (trec_eval's order).
func Fuse(a, b data.Run, w float64) data.Run {
	out := make(data.Run, max(len(a), len(b)))
	qids := map[string]bool{}
	for q := range a {
		qids[q] = true
	}
	for q := range b {
		qids[q] = true
	}
	for q := range qids {
		na, nb := MinMax(a[q]), MinMax(b[q])
		ids := make([]string, 0, len(na)+len(nb))
		for id := range na {
			ids = append(ids, id)
		}
		for id := range nb {
			if _, ok := na[id]; !ok {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		docs := make([]data.ScoredDoc, len(ids))
		for i, id := range ids {
			docs[i] = data.ScoredDoc{DocID: id, Score: w*na[id] + (1-w)*nb[id]}
		}
		data.SortRun(docs)
		out[q] = docs
	}
	return out
}

// MinMax maps each document's score to (s − min)/(max − min) within the list;
// when max = min every score maps to 1.
func MinMax(docs []data.ScoredDoc) map[string]float64 {
	out := make(map[string]float64, len(docs))
	if len(docs) == 0 {
		return out
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, d := range docs {
		lo, hi = math.Min(lo, d.Score), math.Max(hi, d.Score)
	}
	for _, d := range docs {
		if hi > lo {
			out[d.DocID] = (d.Score - lo) / (hi - lo)
		} else {
			out[d.DocID] = 1
		}
	}
	return out
}

// prepareQueries encodes queries and prepares each matrix for the MaxSim
// kernel, which then scores many passages against it.
func prepareQueries(ctx context.Context, m *colbert.Model, qs []data.Query) ([]*maxsim.Query, error) {
	vs, err := m.EncodeQueries(ctx, qs)
	if err != nil {
		return nil, err
	}
	out := make([]*maxsim.Query, len(vs))
	for i, v := range vs {
		if out[i], err = maxsim.NewQuery(v, m.QueryLen(), m.Dim()); err != nil {
			return nil, fmt.Errorf("query %q: %w", qs[i].ID, err)
		}
	}
	return out, nil
}
