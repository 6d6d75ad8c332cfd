package search

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/colbert-go/colbert/codec/residual"
	"github.com/colbert-go/colbert/search/decode"
	"github.com/colbert-go/colbert/search/maxsim"
)

// sentinel is the per-token score of a document none of whose codes
// survive pruning (ColBERT's filter_pids starts every token at -9999).
const sentinel = -9999

// Searcher runs queries against one index. It holds only read-only state
// and pooled scratch buffers, so one Searcher serves many goroutines.
type Searcher struct {
	store     Passages
	idx       Index // nil for a store without centroids: exhaustive only
	dim, k    int   // vector dim, number of centroids
	npass     int
	centroids []float32
	kernel    maxsim.Kernel
	deleted   func(pid int) bool // tombstones, or nil
	resid     ResidualIndex      // fast decompression path, or nil
	decoder   *decode.Decoder
	pool      sync.Pool
}

// ResidualIndex is implemented by indexes storing ColBERTv2 residuals
// (codec/index); the searcher then reconstructs vectors with its own SIMD
// decoder instead of calling Decompress.
type ResidualIndex interface {
	Codec() *residual.Codec
	Residuals(pid int) []byte
}

// Tombstoner is implemented by indexes that can delete passages without
// rebuilding (codec/index); deleted pids are never returned.
type Tombstoner interface {
	Deleted(pid int) bool
}

// NewSearcher checks the store's shape and prepares a searcher using the
// fastest MaxSim kernel of this CPU. A store that is an Index can be
// searched with PLAID and exhaustively; any other Passages (a flat index)
// exhaustively only.
func NewSearcher(store Passages) (*Searcher, error) {
	return NewSearcherKernel(store, maxsim.Best())
}

// NewSearcherKernel is NewSearcher with an explicit kernel.
func NewSearcherKernel(store Passages, kernel maxsim.Kernel) (*Searcher, error) {
	dim := store.Dim()
	if dim <= 0 {
		return nil, fmt.Errorf("search: index dim %d", dim)
	}
	if !kernel.Available() {
		return nil, fmt.Errorf("search: MaxSim kernel %v not available on this CPU", kernel)
	}
	s := &Searcher{store: store, dim: dim, npass: store.NumPassages(), kernel: kernel}
	if idx, ok := store.(Index); ok {
		cent := idx.Centroids()
		if len(cent) == 0 || len(cent)%dim != 0 {
			return nil, fmt.Errorf("search: index has %d centroid floats, not a positive multiple of dim %d", len(cent), dim)
		}
		s.idx, s.k, s.centroids = idx, len(cent)/dim, cent
	}
	if t, ok := store.(Tombstoner); ok {
		s.deleted = t.Deleted
	}
	// The SIMD decoder reads codes through Index, so only an Index takes it.
	if r, ok := store.(ResidualIndex); ok && s.idx != nil && r.Codec() != nil {
		d, err := decode.New(r.Codec())
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if d.Dim() != dim {
			return nil, fmt.Errorf("search: codec dim %d, index dim %d", d.Dim(), dim)
		}
		s.resid, s.decoder = r, d
	}
	s.pool.New = func() any { return &scratch{} }
	return s, nil
}

// Dim is the index's vector dimension.
func (s *Searcher) Dim() int { return s.dim }

// Trace reports how many passages each PLAID stage handled and how long
// each stage took.
type Trace struct {
	Cells      int // distinct centroids probed
	Candidates int // passages from the IVF lists (stage 1)
	Approx     int // passages kept by pruned centroid interaction (stage 2)
	Exact      int // passages decompressed and scored exactly (stage 4)
	// Time is the wall time of each stage of this query.
	Time StageTimes
}

// StageTimes are the durations of a query's stages. The clock is read at
// stage boundaries; stage 4's time is split between Decompress and MaxSim
// in the proportion measured on a sample of its passages.
type StageTimes struct {
	// Encode is the query's share of encoding its text; the searcher
	// leaves it zero (it gets vectors), search/engine sets it.
	Encode time.Duration
	// Candidates: query × centroid scores, the cells probed and the union
	// of their IVF lists (stage 1).
	Candidates time.Duration
	// Pruned and Full are centroid interaction with pruned centroid
	// scores (stage 2) and with all of them (stage 3).
	Pruned, Full time.Duration
	// Decompress reconstructs the vectors of the passages scored exactly,
	// MaxSim scores them (stage 4).
	Decompress, MaxSim time.Duration
}

// StageNames are the names of the stages, in query order, as Each and the
// search service's metrics call them.
var StageNames = [...]string{"encode", "candidates", "pruned_interaction", "full_interaction", "decompress", "maxsim"}

// Each calls f with every stage's name (StageNames) and duration, in order.
func (t StageTimes) Each(f func(name string, d time.Duration)) {
	for i, d := range [...]time.Duration{t.Encode, t.Candidates, t.Pruned, t.Full, t.Decompress, t.MaxSim} {
		f(StageNames[i], d)
	}
}

// Add returns the stage-wise sum of t and u.
func (t StageTimes) Add(u StageTimes) StageTimes {
	return StageTimes{Encode: t.Encode + u.Encode, Candidates: t.Candidates + u.Candidates, Pruned: t.Pruned + u.Pruned,
		Full: t.Full + u.Full, Decompress: t.Decompress + u.Decompress, MaxSim: t.MaxSim + u.MaxSim}
}

// scratch holds one query's buffers; reused through the pool.
type scratch struct {
	sim, pruned []float32 // K×stride centroid scores, and with pruned rows
	mark        []uint32  // mark[pid] == gen: already a candidate
	gen         uint32
	cells       []int32
	cands       []int32
	best        []float32 // nq×ncells best centroid scores per token
	bestID      []int32
	mx          []float32
	buf         []float32
	top         topK
	hits        []Hit
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Search runs PLAID for the row-major query matrix q (nq×dim) and returns
// the top p.K passages, best first (ties by smaller pid).
func (s *Searcher) Search(q []float32, dim int, p Params) ([]Hit, error) {
	hits, _, err := s.SearchTrace(q, dim, p)
	return hits, err
}

// SearchTrace is Search that also reports the per-stage counts.
func (s *Searcher) SearchTrace(q []float32, dim int, p Params) ([]Hit, Trace, error) {
	var tr Trace
	nq, err := checkQuery(q, dim, s.dim)
	if err != nil {
		return nil, tr, err
	}
	if p, err = p.Resolve(); err != nil {
		return nil, tr, err
	}
	if s.idx == nil {
		return nil, tr, ErrNoCentroids
	}
	if p.filterExhaustive() {
		// A small allowed set: score every allowed passage (exact).
		return s.searchFilter(q, nq, p, tr)
	}
	start := time.Now()
	pq, err := maxsim.NewQueryKernel(s.kernel, q, nq, s.dim)
	if err != nil {
		return nil, tr, err
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	stride := pq.Stride()

	// Query × centroid scores, then in one pass: per-token top cells and
	// the pruned copy used by stage 2.
	sc.sim = grow(sc.sim, s.k*stride)
	if err := pq.Similarities(s.centroids, sc.sim); err != nil {
		return nil, tr, err
	}
	ncells := min(p.filterCells(s.npass), s.k)
	s.topCells(sc, nq, stride, ncells, p)
	tr.Cells = len(sc.cells)

	// Stage 1: union of the IVF lists of the probed cells (allowed pids
	// only, under a filter).
	sc.mark = grow(sc.mark, s.npass)
	sc.gen++
	if sc.gen == 0 { // wrapped: marks from 2^32 queries ago look current
		clear(sc.mark)
		sc.gen = 1
	}
	sc.cands = sc.cands[:0]
	for _, c := range sc.cells {
		for _, pid := range s.idx.IVF(int(c)) {
			if int(pid) >= s.npass || pid < 0 {
				return nil, tr, fmt.Errorf("search: IVF list of centroid %d names pid %d of %d", c, pid, s.npass)
			}
			if sc.mark[pid] != sc.gen {
				sc.mark[pid] = sc.gen
				if (s.deleted == nil || !s.deleted(int(pid))) && p.Filter.Allows(int(pid)) {
					sc.cands = append(sc.cands, pid)
				}
			}
		}
	}
	tr.Candidates = len(sc.cands)
	now := time.Now()
	tr.Time.Candidates, start = now.Sub(start), now

	sc.mx = grow(sc.mx, stride)
	approx := func(table []float32, pid int32) float32 {
		for i := range sc.mx {
			sc.mx[i] = sentinel
		}
		maxsim.MaxRows(s.kernel, table, stride, s.idx.Codes(int(pid)), sc.mx)
		var sum float32
		for _, v := range sc.mx[:nq] {
			sum += v
		}
		return sum
	}

	// Stage 2: centroid interaction with pruning, keep NDocs. When every
	// candidate survives anyway the scores are not needed.
	hits := sc.hits[:0]
	if keep := max(p.NDocs, p.exactCount()); len(sc.cands) > keep {
		table := sc.sim
		if !p.NoPrune {
			table = sc.pruned
		}
		sc.top.reset(keep)
		for _, pid := range sc.cands {
			sc.top.push(Hit{PID: int(pid), Score: approx(table, pid)})
		}
		hits = sc.top.sorted(hits)
	} else {
		for _, pid := range sc.cands {
			hits = append(hits, Hit{PID: int(pid)})
		}
	}
	tr.Approx = len(hits)
	now = time.Now()
	tr.Time.Pruned, start = now.Sub(start), now

	// Stage 3: centroid interaction without pruning, keep NDocs/4.
	if n := p.exactCount(); len(hits) > n {
		sc.top.reset(n)
		for _, h := range hits {
			sc.top.push(Hit{PID: h.PID, Score: approx(sc.sim, int32(h.PID))})
		}
		hits = sc.top.sorted(hits[:0])
	}
	tr.Exact = len(hits)
	now = time.Now()
	tr.Time.Full, start = now.Sub(start), now

	// Stage 4: decompress and score exactly, one passage at a time (its
	// vectors are still in L1 when scored). The stage's wall time is split
	// between decompression and MaxSim by timing both on every
	// stage4Sample-th passage only, so the clock is read for few passages.
	sc.top.reset(p.K)
	var dec, score time.Duration // on the sampled passages
	for i, h := range hits {
		sampled := i%stage4Sample == 0
		var t0 time.Time
		if sampled {
			t0 = time.Now()
		}
		if sc.buf, err = s.decompress(h.PID, sc.buf); err != nil {
			return nil, tr, fmt.Errorf("search: decompress pid %d: %w", h.PID, err)
		}
		var t1 time.Time
		if sampled {
			t1 = time.Now()
			dec += t1.Sub(t0)
		}
		sc.top.push(Hit{PID: h.PID, Score: pq.Score(sc.buf)})
		if sampled {
			score += time.Since(t1)
		}
	}
	stage4 := time.Since(start)
	tr.Time.Decompress = stage4
	if dec+score > 0 {
		tr.Time.Decompress = time.Duration(float64(stage4) * float64(dec) / float64(dec+score))
	}
	tr.Time.MaxSim = stage4 - tr.Time.Decompress
	sc.hits = hits
	return sc.top.sorted(nil), tr, nil
}

// stage4Sample: stage 4 times decompression and MaxSim on one passage in
// this many. Decompressing a block of passages before scoring them, timed
// per block, cost up to 10% at k = 1000 (the vectors left L1).
const stage4Sample = 8

// decompress reconstructs pid's vectors into buf.
func (s *Searcher) decompress(pid int, buf []float32) ([]float32, error) {
	if s.decoder != nil {
		return s.decoder.Decode(s.idx.Codes(pid), s.resid.Residuals(pid), buf)
	}
	return s.store.Decompress(pid, buf)
}

// topCells fills sc.cells with the distinct centroids among the ncells best
// of every query token, and sc.pruned with sc.sim whose rows scoring below
// the threshold for every token are replaced by the sentinel.
func (s *Searcher) topCells(sc *scratch, nq, stride, ncells int, p Params) {
	sc.best = grow(sc.best, nq*ncells)
	sc.bestID = grow(sc.bestID, nq*ncells)
	for i := range sc.best {
		sc.best[i], sc.bestID[i] = -3e38, -1
	}
	prune, threshold := !p.NoPrune, *p.Threshold
	if prune {
		sc.pruned = grow(sc.pruned, len(sc.sim))
	}
	for c := 0; c < s.k; c++ {
		row := sc.sim[c*stride : c*stride+nq]
		rowMax := float32(-3e38)
		for i, v := range row {
			rowMax = max(rowMax, v)
			b := sc.best[i*ncells : (i+1)*ncells]
			if v <= b[ncells-1] {
				continue
			}
			id := sc.bestID[i*ncells : (i+1)*ncells]
			j := ncells - 1
			for j > 0 && v > b[j-1] {
				b[j], id[j] = b[j-1], id[j-1]
				j--
			}
			b[j], id[j] = v, int32(c)
		}
		if prune {
			dst := sc.pruned[c*stride : (c+1)*stride]
			if rowMax >= threshold {
				copy(dst, sc.sim[c*stride:(c+1)*stride])
			} else {
				for i := range dst {
					dst[i] = sentinel
				}
			}
		}
	}
	sc.cells = sc.cells[:0]
	for _, c := range sc.bestID {
		if c >= 0 {
			sc.cells = append(sc.cells, c)
		}
	}
	sc.cells = uniqueSorted(sc.cells)
}

func uniqueSorted(a []int32) []int32 {
	slices.Sort(a)
	out := a[:0]
	for i, v := range a {
		if i == 0 || v != a[i-1] {
			out = append(out, v)
		}
	}
	return out
}
