package sparse

import (
	"math"
	"math/bits"
	"slices"
	"sync"

	"github.com/colbert-go/colbert/codec/sparse"
)

// Search returns the exact top k by term-at-a-time MaxScore with candidate
// refinement (Turtle & Flood 1995, the TAAT "max_score" strategy, as in
// Lucene's and PISA's accumulator-limiting TAAT scorers), with block-max
// bounds. The query terms are taken in prepare's canonical order, upper
// bound UB descending, into a dense float32 accumulator (one per pid,
// pooled):
//
//   - "OR mode": while what the terms not yet read can add to some passage
//     reaches θ, the k-th best score so far, a passage matching only those
//     terms could still enter the top k, so every posting of the term is
//     accumulated (Exhaustive's loop);
//   - "AND mode": once it cannot, no passage outside the accumulator can
//     enter the top k. The candidates are the accumulated passages whose
//     score plus that bound still reaches θ, in pid order; each remaining
//     term is looked up for the candidates only (galloping over its
//     block-max blocks, so blocks without a candidate are never read, and a
//     candidate whose block maximum cannot lift it to θ is dropped without
//     reading the block; when the candidates are dense in the list, reading
//     it whole is cheaper and it is accumulated), and the candidates that
//     can no longer reach θ are dropped after each term.
//
// "What the terms can add" is bounded per segment of 128 pids by the sum
// of the terms' block maxima there (bounds), not by the sum of their global
// maxima: a frequent term's largest impact is an outlier among its ~10⁵
// postings, and a sum of twenty such outliers would keep every passage a
// candidate. θ is the larger of two lower bounds of the final k-th score:
// the k-th best of a top-k heap of accumulated (partial) scores, updated
// whenever a score beats it (contributions are non-negative and float32
// rounding is monotone, so a partial score never exceeds the final one),
// and the k-th best of the exact scores of the heap's passages, looked up
// ahead when AND mode starts (estimate, threshold estimation).
//
// Why TAAT rather than the document-at-a-time variants (WAND, block-max
// MaxScore, the previous Search): SPLADE queries have tens of terms and
// the frequent ones have long lists; DAAT pays a cursor seek (a cache miss
// in a list of 10⁵ postings) per candidate and non-essential list, while
// here the high-bound lists are read by Exhaustive's tight loop and the
// long, low-bound lists are touched only at the candidates, whose number
// shrinks with every term.
//
// Exactness. Every passage's score is the float32 sum of the same
// contributions in the same (canonical) order as Exhaustive's, so a
// passage scored to the end has Exhaustive's score bit for bit. Pruning
// compares float64 bounds inflated by a margin that covers float32
// rounding, and drops a passage only when its bound is strictly below θ (a
// tie at θ could still win on the smaller pid). Tombstoned and filtered-out
// pids are never offered to the heap nor made candidates, so they never
// count towards θ and are never returned.
func Search(ix *sparse.Index, q sparse.Vector, k int, opt Options) ([]Hit, error) {
	terms, err := prepare(ix, q, k)
	if err != nil || k == 0 || len(terms) == 0 {
		return nil, err
	}
	n := ix.NumPassages()
	var total int
	for _, t := range terms {
		total += len(t.docs)
	}
	if total > denseQuery*n {
		// Every passage gets many contributions: scores are smooth, θ is
		// reached late and pruning skips little, so TAAT's plain loop is
		// faster (same hits: Exhaustive sums in the same order).
		return Exhaustive(ix, q, k, opt)
	}
	sc := getScratch(n)
	defer scratchPool.Put(sc)
	s := &searcher{ix: ix, opt: opt, sc: sc, acc: sc.acc[:n], bs: ix.BlockSize(),
		top: newHeapK(k, sc.hpos), est: newHeapK(k, nil)}
	// A float32 sum of n terms is within about n·u of the real sum
	// (u = 2^-24), and both the accumulated bound and the exact score are
	// such sums; 8u per term is a safe, still negligible, inflation.
	s.margin = 1 + float64(len(terms)+2)*math.Ldexp(1, -21)
	s.run(terms)
	if tr := opt.Trace; tr != nil {
		tr.Postings += s.postings
		tr.Candidates += s.cands
		tr.Scored += s.scored
		tr.Refined += s.refined
	}
	s.release()
	return s.top.sorted(), nil
}

// denseQuery is the postings-per-passage of a query's lists above which
// Search answers by Exhaustive. Measured: the demo's trained SPLADE
// (≈ 400-term expanded queries, 68 postings per passage) ran pruned at
// 1.4–4.7× Exhaustive's latency for k = 10…1000; the SPLADE-like synthetic
// queries (≈ 3 postings per passage) run pruned 1.2–3× faster.
const denseQuery = 16

// scratch is one query's working memory, reused through scratchPool: acc
// (all zero between queries), the candidate bitset (all zero between
// queries) and the heap positions (never cleared: a position is trusted
// only when the heap slot holds that pid).
type scratch struct {
	acc     []float32
	hpos    []int32
	bits    []uint64
	cands   []uint32
	segRest []float64
}

// scratchPool holds the scratch of finished queries. It is a cache of
// memory, not state: any scratch serves any query of any index.
var scratchPool sync.Pool

func getScratch(n int) *scratch {
	sc, _ := scratchPool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if len(sc.acc) < n {
		sc.acc = make([]float32, n)
		sc.hpos = make([]int32, n)
		sc.bits = make([]uint64, (n+63)/64)
	}
	sc.cands = sc.cands[:0]
	return sc
}

type searcher struct {
	ix     *sparse.Index
	opt    Options
	sc     *scratch
	acc    []float32 // sc.acc[:NumPassages]
	bs     int
	margin float64
	top    *heapK
	// est holds the exact scores computed ahead (estimate).
	est *heapK
	// The bound on what terms[i:] can add to a passage of pid segment g
	// (pids g<<shift…) is constRest[i] + segRest[row[i]·nseg+g]: a row
	// sums, over the long terms among terms[i:], the largest block maximum
	// of the term's blocks overlapping the segment (rest).
	segRest   []float64
	row       []int     // row[i]: the segRest row of terms[i:]'s long terms
	constRest []float64 // constRest[i]: the bounds of terms[i:]'s short terms
	// accumulated are the terms read in full, accPostings their postings:
	// only their pids have non-zero scores.
	accumulated []*qterm
	accPostings int
	shift       uint
	nseg        int

	postings, cands, scored, refined int64
}

// theta is the pruning threshold: the larger of the heap's k-th (partial)
// score and est's k-th (exact) score, both lower bounds of the final k-th
// score; 0 until one of them holds k passages.
func (s *searcher) theta() float32 { return max(s.top.threshold(), s.est.threshold()) }

// reachable reports whether a passage whose score is at most bound can
// still enter the top k.
func (s *searcher) reachable(bound float64) bool {
	return bound*s.margin >= float64(s.theta())
}

func (s *searcher) run(terms []qterm) {
	maxRest := s.bounds(terms)
	i := 0
	for ; i < len(terms) && s.reachable(maxRest[i]); i++ {
		s.accumulate(&terms[i])
	}
	if i == len(terms) {
		s.cands = s.countAllowed()
		s.scored = s.cands
		return
	}
	if s.accPostings >= len(s.acc)/8 && s.worthEstimating(terms, i) {
		s.estimate(terms, i)
	}
	s.candidates(i)
	for ; i < len(terms) && len(s.sc.cands) > 0; i++ {
		s.refined++
		s.refine(&terms[i], i+1)
	}
	s.scored = int64(len(s.sc.cands))
}

// worthEstimating reports whether estimate's random lookups (one per
// top-k passage and remaining term, each a gallop costing about as much as
// reading estimateLookup postings in order) cost less than reading the
// remaining lists outright. With a large k and long expanded queries (a
// trained SPLADE's: ≈ 400 terms) they do not: on the demo's model at k =
// 1000, estimating made the search 6× slower than exhaustive TAAT.
func (s *searcher) worthEstimating(terms []qterm, i int) bool {
	var rest int
	for _, t := range terms[i:] {
		rest += len(t.docs)
	}
	return len(s.top.h)*(len(terms)-i)*estimateLookup < rest
}

// estimateLookup is the cost of one random lookup into a posting list in
// postings read sequentially (a cache miss or two against a streamed add).
const estimateLookup = 16

// estimate raises θ before the candidates are chosen (threshold
// estimation): the passages now in the top k are scored exactly by looking
// terms[i:] up (their scores through terms[:i] are final in acc; the
// lookups walk each list once, in pid order, adding term by term so each
// sum keeps the canonical order), and est keeps these exact scores. They
// are k distinct allowed passages, so est's k-th score is a lower bound of
// the final k-th one, usually well above the heap's k-th partial score.
// The lookups are random accesses (about k·len(terms[i:]) cache misses),
// so Search estimates only when the accumulator is dense, where a low θ
// would keep many candidates.
func (s *searcher) estimate(terms []qterm, i int) {
	pids := make([]uint32, 0, len(s.top.h))
	for _, h := range s.top.h {
		pids = append(pids, uint32(h.PID))
	}
	slices.Sort(pids)
	scores := make([]float32, len(pids))
	for x, d := range pids {
		scores[x] = s.acc[d]
	}
	for j := i; j < len(terms); j++ {
		t := &terms[j]
		blk, pos := 0, 0
		for x, d := range pids {
			if t.last[blk] < d {
				if blk = gallop(t.last, blk+1, len(t.last), d); blk == len(t.last) {
					break
				}
				pos = max(pos, blk*s.bs)
			}
			pos = gallop(t.docs, pos, min(len(t.docs), (blk+1)*s.bs), d)
			if t.docs[pos] == d {
				scores[x] += t.tab[t.imps[pos]]
			}
			s.postings++
		}
	}
	for x, d := range pids {
		s.est.offer(int(d), scores[x])
	}
}

// maxSegments caps the segments of the bounds (their table has one row per
// long query term).
const maxSegments = 4096

// bounds fills the segment bounds from the terms' block maxima and returns,
// for each i, the largest bound of terms[i:] over all segments (AND mode
// may start at i once no segment's bound reaches θ). Only a long term,
// with at least one block per 8 segments, gets its own row: a short
// term's blocks span many segments each, so its global bound is about as
// tight and is added as a constant.
func (s *searcher) bounds(terms []qterm) []float64 {
	n := s.ix.NumPassages()
	s.shift = 7 // about a frequent term's block span
	for (n-1)>>s.shift >= maxSegments {
		s.shift++
	}
	s.nseg = (n-1)>>s.shift + 1
	long := 0
	for i := range terms {
		if len(terms[i].last)*8 >= s.nseg {
			long++
		}
	}
	size := (long + 1) * s.nseg
	if cap(s.sc.segRest) < size {
		s.sc.segRest = make([]float64, size)
	}
	s.segRest = s.sc.segRest[:size]
	s.row = make([]int, len(terms)+1)
	s.constRest = make([]float64, len(terms)+1)
	maxRest := make([]float64, len(terms)+1)
	clear(s.segRest[:s.nseg])
	r, rowMax := 0, 0.0
	for i := len(terms) - 1; i >= 0; i-- {
		t := &terms[i]
		s.constRest[i] = s.constRest[i+1]
		if len(t.last)*8 < s.nseg {
			s.constRest[i] += float64(t.ub)
		} else {
			r++
			row, next := s.segRest[r*s.nseg:(r+1)*s.nseg], s.segRest[(r-1)*s.nseg:r*s.nseg]
			clear(row)
			for b, l := range t.last {
				// A long term's block mostly lies within one or two
				// segments: set both ends, then any segments between
				// (a loop with a data-dependent trip count per block
				// costs a mispredicted branch per block).
				c := float64(t.tab[t.bmax[b]])
				g0, g1 := t.docs[b*s.bs]>>s.shift, l>>s.shift
				row[g0], row[g1] = max(row[g0], c), max(row[g1], c)
				for g := g0 + 1; g < g1; g++ {
					row[g] = max(row[g], c)
				}
			}
			rowMax = 0
			for g, x := range next {
				x += row[g]
				row[g] = x
				if x > rowMax {
					rowMax = x
				}
			}
		}
		s.row[i] = r
		maxRest[i] = s.constRest[i] + rowMax
	}
	return maxRest
}

// rest bounds what terms[i:] can add to pid d.
func (s *searcher) rest(i int, d uint32) float64 {
	return s.constRest[i] + s.segRest[s.row[i]*s.nseg+int(d>>s.shift)]
}

// release zeroes the accumulator for the next query: the pids of the
// terms read in full, or all of it when that is cheaper.
func (s *searcher) release() {
	if s.accPostings > len(s.acc)/4 {
		clear(s.acc)
		return
	}
	for _, t := range s.accumulated {
		for _, d := range t.docs {
			s.acc[d] = 0
		}
	}
}

// accumulate adds all of t's postings (OR mode), into every pid: the
// loop is Exhaustive's, plus one rarely taken branch that offers a score
// beating θ to the top k (tombstoned and filtered-out pids are accumulated
// too, but never offered nor made candidates).
func (s *searcher) accumulate(t *qterm) {
	acc, ix, f := s.acc, s.ix, s.opt.Filter
	imps := t.imps[:len(t.docs)]
	th := s.top.threshold()
	for j, d := range t.docs {
		a := acc[d] + t.tab[imps[j]]
		acc[d] = a
		if a >= th && a > 0 && !ix.Deleted(int(d)) && f.Allows(int(d)) {
			s.top.offer(int(d), a)
			th = s.top.threshold()
		}
	}
	s.postings += int64(len(t.docs))
	s.accumulated = append(s.accumulated, t)
	s.accPostings += len(t.docs)
}

// countAllowed counts the allowed pids with a positive score (the
// candidates of a search that never left OR mode).
func (s *searcher) countAllowed() int64 {
	var n int64
	for d, a := range s.acc {
		if a > 0 && !s.ix.Deleted(d) && s.opt.Filter.Allows(d) {
			n++
		}
	}
	return n
}

// candidates switches to AND mode before terms[i]: the allowed accumulated
// passages that can still reach θ with what terms[i:] can add, in pid
// order. A passage not accumulated yet cannot: no segment's bound reaches
// θ. Each score is compared with its segment's cut, the smallest score
// that can still reach θ (rounded down: a float32 cut that is too low only
// keeps a few more candidates). When the lists read so far are short, their
// pids are gathered into the (zero) bitset, which sorts them; otherwise the
// whole accumulator is scanned.
func (s *searcher) candidates(i int) {
	th := float64(s.theta()) / s.margin
	cuts := make([]float32, s.nseg)
	for g := range cuts {
		c := math.Nextafter32(float32(th-s.rest(i, uint32(g<<s.shift))), float32(math.Inf(-1)))
		cuts[g] = max(c, math.SmallestNonzeroFloat32)
	}
	acc, cands, ix, f := s.acc, s.sc.cands[:0], s.ix, s.opt.Filter
	if s.accPostings < len(acc)/8 {
		b := s.sc.bits
		for _, t := range s.accumulated {
			for _, d := range t.docs {
				if acc[d] >= cuts[d>>s.shift] {
					b[d>>6] |= 1 << (d & 63)
				}
			}
		}
		for w, word := range b[:(len(acc)+63)/64] {
			if word == 0 {
				continue
			}
			b[w] = 0
			for word != 0 {
				d := w<<6 + bits.TrailingZeros64(word)
				word &= word - 1
				if !ix.Deleted(d) && f.Allows(d) {
					cands = append(cands, uint32(d))
				}
			}
		}
	} else {
		seg := 1 << s.shift
		for g, cut := range cuts {
			lo := g * seg
			for o, a := range acc[lo:min(len(acc), lo+seg)] {
				if a >= cut {
					d := lo + o
					if !ix.Deleted(d) && f.Allows(d) {
						cands = append(cands, uint32(d))
					}
				}
			}
		}
	}
	s.sc.cands = cands
	s.cands = int64(len(cands))
}

// refine adds t's contributions to the candidates only (AND mode) and keeps
// those that can still reach θ with what terms[next:], the terms after t,
// can add.
func (s *searcher) refine(t *qterm, next int) {
	if len(s.sc.cands)*64 > len(t.docs) {
		s.merge(t, next)
		return
	}
	acc, cands := s.acc, s.sc.cands
	docs, imps, last, bmax := t.docs, t.imps[:len(t.docs)], t.last, t.bmax[:len(t.last)]
	bs, nb := s.bs, len(last)
	out := cands[:0]
	pos, blk := 0, 0
	var probes int64
	for ci, d := range cands {
		a := acc[d]
		if last[blk] < d {
			blk = gallop(last, blk+1, nb, d)
			if blk == nb { // t has no posting at or after d
				for _, d := range cands[ci:] {
					if s.reachable(float64(acc[d]) + s.rest(next, d)) {
						out = append(out, d)
					}
				}
				break
			}
			pos = max(pos, blk*bs)
		}
		rest := s.rest(next, d)
		if !s.reachable(float64(a) + float64(t.tab[bmax[blk]]) + rest) {
			continue // the block's largest impact cannot lift d to θ
		}
		probes++
		pos = gallop(docs, pos, min(len(docs), (blk+1)*bs), d)
		if docs[pos] == d {
			a += t.tab[imps[pos]]
			acc[d] = a
			if a >= s.top.threshold() {
				s.top.offer(int(d), a)
			}
		}
		if s.reachable(float64(a) + rest) {
			out = append(out, d)
		}
	}
	s.sc.cands = out
	s.postings += probes
}

// merge is refine for candidates dense in t's list (more than one per 64
// postings): a seek per candidate costs a cache miss or two, more than
// reading the postings in between, so all of t's postings are accumulated
// as in OR mode. A pid that is no longer a candidate gets a value nobody
// reads: it stays below θ (its bound did), so even when offered it never
// makes the final top k.
func (s *searcher) merge(t *qterm, next int) {
	s.accumulate(t)
	acc, out := s.acc, s.sc.cands[:0]
	for _, d := range s.sc.cands {
		if s.reachable(float64(acc[d]) + s.rest(next, d)) {
			out = append(out, d)
		}
	}
	s.sc.cands = out
}

// gallop is the first index i in [from, to) with xs[i] ≥ d, or to when
// none: exponential steps from from, then a binary search.
func gallop(xs []uint32, from, to int, d uint32) int {
	if from >= to || xs[from] >= d {
		return from
	}
	lo, step := from, 1 // xs[lo] < d
	for lo+step < to && xs[lo+step] < d {
		lo += step
		step <<= 1
	}
	hi := min(to, lo+step)
	lo++
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if xs[m] < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
