package search

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/colbert-go/colbert/data/progress"
)

// BatchOptions configures SearchBatch.
type BatchOptions struct {
	Threads    int           // concurrent queries; 0 means GOMAXPROCS
	Exhaustive bool          // exact search over every passage instead of PLAID
	Bar        *progress.Bar // advanced by one per query; nil is silent
	// Poly scores by model.PolyScore (a poly-encoder: one stored vector
	// per passage, queries of m context vectors) instead of MaxSim, over
	// every passage (PolyExhaustive) or the Candidates.
	Poly bool
	// Candidates, when set, makes query i rescore Candidates[i] exactly
	// from the stored vectors (Rescore) instead of searching: reranking.
	Candidates [][]int
}

// Result is one query's answer in a batch.
type Result struct {
	Hits    []Hit
	Trace   Trace
	Latency time.Duration // wall time of this query alone
}

// SearchBatch answers queries (each row-major n×dim) in parallel, one
// query per worker at a time. The first error (by query order) cancels the
// rest and is returned naming the query.
func (s *Searcher) SearchBatch(ctx context.Context, queries [][]float32, dim int, p Params, opt BatchOptions) ([]Result, error) {
	if opt.Candidates != nil && len(opt.Candidates) != len(queries) {
		return nil, fmt.Errorf("search: %d candidate lists for %d queries", len(opt.Candidates), len(queries))
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]Result, len(queries))
	errs := make([]error, len(queries))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(threads, len(queries)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				var err error
				switch {
				case opt.Candidates != nil:
					out[i].Hits, err = s.Rescore(queries[i], dim, opt.Candidates[i], p.K, opt.Poly)
				case opt.Poly:
					out[i].Hits, err = s.PolyExhaustive(queries[i], dim, p.K, p.Filter)
				case opt.Exhaustive:
					out[i].Hits, err = s.ExhaustiveFilter(queries[i], dim, p.K, p.Filter)
				default:
					out[i].Hits, out[i].Trace, err = s.SearchTrace(queries[i], dim, p)
				}
				out[i].Latency = time.Since(t0)
				if err != nil {
					errs[i] = fmt.Errorf("query %d: %w", i, err)
					cancel()
				}
				opt.Bar.Add(1)
			}
		}()
	}
feed:
	for i := range queries {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Percentiles returns the given percentiles (0–100) of the latencies, by
// the nearest-rank method.
func Percentiles(rs []Result, ps ...float64) []time.Duration {
	lat := make([]time.Duration, len(rs))
	for i, r := range rs {
		lat[i] = r.Latency
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	out := make([]time.Duration, len(ps))
	if len(lat) == 0 {
		return out
	}
	for i, p := range ps {
		rank := int(p/100*float64(len(lat))+0.999999) - 1
		out[i] = lat[min(max(rank, 0), len(lat)-1)]
	}
	return out
}
