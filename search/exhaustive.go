package search

import (
	"fmt"
	"time"

	"github.com/colbert-go/colbert/search/maxsim"
)

// Exhaustive decompresses every passage and returns the top k by exact
// MaxSim: the reference PLAID's recall is measured against.
func (s *Searcher) Exhaustive(q []float32, dim, k int) ([]Hit, error) {
	return s.ExhaustiveFilter(q, dim, k, nil)
}

// ExhaustiveFilter is Exhaustive over the passages f allows (every passage
// when f is nil): the reference a filtered search is checked against.
func (s *Searcher) ExhaustiveFilter(q []float32, dim, k int, f *Filter) ([]Hit, error) {
	nq, err := checkQuery(q, dim, s.dim)
	if err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, fmt.Errorf("search: k must be positive, got %d", k)
	}
	hits, _, err := s.exhaustive(q, nq, k, f)
	return hits, err
}

// exhaustive scores exactly every live passage f allows and keeps the top
// k; it also returns how many it scored.
func (s *Searcher) exhaustive(q []float32, nq, k int, f *Filter) ([]Hit, int, error) {
	pq, err := maxsim.NewQueryKernel(s.kernel, q, nq, s.dim)
	if err != nil {
		return nil, 0, err
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	sc.top.reset(k)
	scored := 0
	score := func(pid int) error {
		if s.deleted != nil && s.deleted(pid) {
			return nil
		}
		if sc.buf, err = s.decompress(pid, sc.buf); err != nil {
			return fmt.Errorf("search: decompress pid %d: %w", pid, err)
		}
		sc.top.push(Hit{PID: pid, Score: pq.Score(sc.buf)})
		scored++
		return nil
	}
	if f == nil {
		for pid := 0; pid < s.npass; pid++ {
			if err := score(pid); err != nil {
				return nil, scored, err
			}
		}
	} else {
		for _, pid := range f.pids {
			if int(pid) >= s.npass {
				return nil, scored, fmt.Errorf("search: filter names pid %d of an index of %d passages", pid, s.npass)
			}
			if err := score(int(pid)); err != nil {
				return nil, scored, err
			}
		}
	}
	return sc.top.sorted(nil), scored, nil
}

// searchFilter answers a PLAID query whose filter is small enough to score
// every allowed passage exactly; the trace counts them as candidates and
// exactly scored, and their time as MaxSim.
func (s *Searcher) searchFilter(q []float32, nq int, p Params, tr Trace) ([]Hit, Trace, error) {
	start := time.Now()
	hits, n, err := s.exhaustive(q, nq, p.K, p.Filter)
	tr.Candidates, tr.Approx, tr.Exact = n, n, n
	tr.Time.MaxSim = time.Since(start)
	return hits, tr, err
}

// ScorePassages scores the given pids of idx exactly against the prepared
// query, decompressing one passage at a time into a reused buffer, and
// writes the scores to out (len(pids) entries).
func ScorePassages(idx Passages, q *maxsim.Query, pids []int, out []float32) error {
	if q.Dim() != idx.Dim() {
		return fmt.Errorf("%w: query %d, index %d", ErrDimMismatch, q.Dim(), idx.Dim())
	}
	if len(out) != len(pids) {
		return fmt.Errorf("search: %d outputs for %d pids", len(out), len(pids))
	}
	n := idx.NumPassages()
	var buf []float32
	var err error
	for i, pid := range pids {
		if pid < 0 || pid >= n {
			return fmt.Errorf("search: pid %d out of range [0,%d)", pid, n)
		}
		if buf, err = idx.Decompress(pid, buf); err != nil {
			return fmt.Errorf("search: decompress pid %d: %w", pid, err)
		}
		out[i] = q.Score(buf)
	}
	return nil
}
