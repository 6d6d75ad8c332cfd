package bm25

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
)

// scratch is one searcher's dense score accumulator. Every matching
// document scores > 0 (idf > 0, tf > 0), so acc[d] == 0 means "untouched".
type scratch struct {
	acc     []float64
	touched []int32
}

// Search returns the k best passages for query, best first. Only passages
// sharing at least one term with the query are returned. Equal scores are
// ordered by collection position (earlier first), as Lucene orders equal
// scores by doc id, so results do not depend on map order or threads.
func (ix *Index) Search(query string, k int) []data.ScoredDoc {
	if k <= 0 || len(ix.ids) == 0 {
		return nil
	}
	// Query-term multiplicities, applied in sorted term order so that the
	// floating-point sums are reproducible.
	qtf := make(map[int32]float64)
	ix.params.Analyzer.each(query, func(tok string) {
		if t, ok := ix.terms[tok]; ok {
			qtf[t]++
		}
	})
	if len(qtf) == 0 {
		return nil
	}
	qterms := make([]int32, 0, len(qtf))
	for t := range qtf {
		qterms = append(qterms, t)
	}
	sort.Slice(qterms, func(i, j int) bool { return qterms[i] < qterms[j] })

	sc, _ := ix.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{acc: make([]float64, len(ix.ids))}
	}
	k1p1 := ix.params.K1 + 1
	for _, t := range qterms {
		w := qtf[t] * ix.idf[t]
		for _, p := range ix.post[t] {
			tf := float64(p.tf)
			if sc.acc[p.doc] == 0 {
				sc.touched = append(sc.touched, p.doc)
			}
			sc.acc[p.doc] += w * tf * k1p1 / (tf + ix.norm[p.doc])
		}
	}

	h := make(minHeap, 0, min(k, len(sc.touched)))
	for _, d := range sc.touched {
		c := cand{score: sc.acc[d], doc: d}
		sc.acc[d] = 0
		if len(h) < k {
			heap.Push(&h, c)
		} else if better(c, h[0]) {
			h[0] = c
			heap.Fix(&h, 0)
		}
	}
	sc.touched = sc.touched[:0]
	ix.pool.Put(sc)

	out := make([]data.ScoredDoc, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		c := heap.Pop(&h).(cand)
		out[i] = data.ScoredDoc{DocID: ix.ids[c.doc], Score: c.score}
	}
	return out
}

// SearchAll runs Search for every query with threads goroutines and returns
// the run (every query id present, possibly with an empty list). bar
// advances by one per query.
func (ix *Index) SearchAll(ctx context.Context, queries []data.Query, k, threads int, bar *progress.Bar) (data.Run, error) {
	if threads < 1 {
		threads = 1
	}
	res := make([][]data.ScoredDoc, len(queries))
	var next atomic.Int64
	var wg sync.WaitGroup
	var stop atomic.Bool
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(queries) || stop.Load() {
					return
				}
				if i%64 == 0 && ctx.Err() != nil {
					stop.Store(true)
					return
				}
				res[i] = ix.Search(queries[i].Text, k)
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bm25: search: %w", err)
	}
	run := make(data.Run, len(queries))
	for i, q := range queries {
		if _, dup := run[q.ID]; dup {
			return nil, fmt.Errorf("bm25: duplicate query id %q", q.ID)
		}
		if res[i] == nil {
			res[i] = []data.ScoredDoc{}
		}
		run[q.ID] = res[i]
	}
	return run, nil
}

type cand struct {
	score float64
	doc   int32
}

// better is the ranking order: higher score, then earlier document.
func better(a, b cand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.doc < b.doc
}

// minHeap keeps the worst kept candidate at the root.
type minHeap []cand

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(cand)) }
func (h *minHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
