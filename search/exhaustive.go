package search

import (
	"fmt"

	"github.com/colbert-go/colbert/search/maxsim"
)

// Exhaustive decompresses every passage and returns the top k by exact
// MaxSim: the reference PLAID's recall is measured against.
func (s *Searcher) Exhaustive(q []float32, dim, k int) ([]Hit, error) {
	nq, err := checkQuery(q, dim, s.dim)
	if err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, fmt.Errorf("search: k must be positive, got %d", k)
	}
	pq, err := maxsim.NewQueryKernel(s.kernel, q, nq, s.dim)
	if err != nil {
		return nil, err
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	sc.top.reset(k)
	for pid := 0; pid < s.npass; pid++ {
		if s.deleted != nil && s.deleted(pid) {
			continue
		}
		if sc.buf, err = s.decompress(pid, sc.buf); err != nil {
			return nil, fmt.Errorf("search: decompress pid %d: %w", pid, err)
		}
		sc.top.push(Hit{PID: pid, Score: pq.Score(sc.buf)})
	}
	return sc.top.sorted(nil), nil
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
