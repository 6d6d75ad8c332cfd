package search

import (
	"fmt"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/search/maxsim"
)

// A poly-encoder's passages are one stored vector each (the [CLS] state)
// and its queries m context vectors; the score is model.PolyScore, which
// is not a sum of per-vector maxima, so PLAID's centroid pruning does not
// apply: it is searched exhaustively (every passage scored, which costs
// m·dim per passage) or reranks a first stage's candidates.

// PolyExhaustive scores every live passage f allows (nil: all) by the
// poly-encoder's score against the query's m = len(q)/dim context vectors
// and returns the top k. Each passage must hold exactly one vector. The
// m dot products of a block of passages are one SIMD similarity pass
// (maxsim.Query.Similarities, float32), each score then finished by
// model.PolyFromDots; the scores equal model.PolyScore's up to float32
// rounding of the dot products.
func (s *Searcher) PolyExhaustive(q []float32, dim, k int, f *Filter) ([]Hit, error) {
	m, err := checkQuery(q, dim, s.dim)
	if err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, fmt.Errorf("search: k must be positive, got %d", k)
	}
	pq, err := maxsim.NewQueryKernel(s.kernel, q, m, s.dim)
	if err != nil {
		return nil, err
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	sc.top.reset(k)
	const block = 256
	stride := pq.Stride()
	vecs := make([]float32, 0, block*s.dim)
	sims := make([]float32, block*stride)
	pids := make([]int, 0, block)
	flush := func() error {
		if len(pids) == 0 {
			return nil
		}
		if err := pq.Similarities(vecs, sims); err != nil {
			return err
		}
		for j, pid := range pids {
			sc.top.push(Hit{PID: pid, Score: model.PolyFromDots(sims[j*stride : j*stride+m])})
		}
		vecs, pids = vecs[:0], pids[:0]
		return nil
	}
	for pid := 0; pid < s.npass; pid++ {
		if s.deleted != nil && s.deleted(pid) || !f.Allows(pid) {
			continue
		}
		sc.buf, err = s.decompress(pid, sc.buf)
		if err != nil {
			return nil, fmt.Errorf("search: decompress pid %d: %w", pid, err)
		}
		if len(sc.buf) != s.dim {
			return nil, fmt.Errorf("search: poly-encoder passage %d holds %d values, want one %d-dimensional vector", pid, len(sc.buf), s.dim)
		}
		vecs = append(vecs, sc.buf...)
		if pids = append(pids, pid); len(pids) == block {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return sc.top.sorted(nil), nil
}

// Rescore scores the candidate pids exactly from their stored vectors —
// by MaxSim, or by model.PolyScore when poly — and returns the top k
// (deleted and out-of-range pids are skipped; duplicates count once): a
// reranker over a first stage (BM25, PLAID) that needs no encoding of
// passages at query time.
func (s *Searcher) Rescore(q []float32, dim int, pids []int, k int, poly bool) ([]Hit, error) {
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
	var sims []float32
	if poly {
		sims = make([]float32, pq.Stride())
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	sc.top.reset(k)
	seen := make(map[int]bool, len(pids))
	for _, pid := range pids {
		if pid < 0 || pid >= s.npass || seen[pid] || s.deleted != nil && s.deleted(pid) {
			continue
		}
		seen[pid] = true
		if sc.buf, err = s.decompress(pid, sc.buf); err != nil {
			return nil, fmt.Errorf("search: decompress pid %d: %w", pid, err)
		}
		var v float32
		if poly {
			if len(sc.buf) != s.dim {
				return nil, fmt.Errorf("search: poly-encoder passage %d holds %d values, want one %d-dimensional vector", pid, len(sc.buf), s.dim)
			}
			if err := pq.Similarities(sc.buf, sims); err != nil {
				return nil, err
			}
			v = model.PolyFromDots(sims[:nq])
		} else {
			v = pq.Score(sc.buf)
		}
		sc.top.push(Hit{PID: pid, Score: v})
	}
	return sc.top.sorted(nil), nil
}
