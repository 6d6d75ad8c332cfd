package sparse

import (
	"math"
	"math/bits"
	"slices"

	"github.com/colbert-go/colbert/codec/sparse"
)

// window is the pid range Search bounds and scores at a time. Small enough
// that the block maxima of a frequent term's list (a block spans about
// BlockSize·NumPassages/len pids) still say something about it, large
// enough that the per-window bookkeeping (one seek and bound per query
// term) is small against the postings read.
const window = 512

// Search returns the exact top k by MaxScore (Turtle & Flood 1995) over
// windows of pids with block-max bounds, as Lucene's MaxScore bulk scorer
// does. For each window of `window` pids in increasing order:
//
//   - each query term's bound in the window is its contribution at the
//     largest impact of its blocks overlapping the window (0 when it has no
//     posting there); a window whose bounds sum to at most the current k-th
//     score is skipped without reading a posting;
//   - the terms are sorted by bound; those whose bounds sum to at most the
//     k-th score are non-essential: a passage matching only them cannot
//     enter the top k. The essential terms' postings are accumulated term
//     at a time into the window (as Exhaustive does, but only these lists);
//   - a passage of the window is probed in the non-essential lists, largest
//     bound first, only while its partial score plus the remaining bounds
//     can beat the k-th score, and scored exactly if it survives.
//
// MaxScore rather than WAND because SPLADE queries are long (tens of
// terms): WAND's pivot selection re-sorts many cursors per candidate, while
// MaxScore's work per window is one sort of the terms and tight
// accumulation loops.
//
// Exactness. Pruning compares float64 bounds, inflated by a margin that
// covers the rounding of float32 sums, with the k-th score, so a passage is
// skipped only if its exact score cannot exceed it. Pids are visited in
// increasing order and a tie goes to the smaller pid, so a later passage
// enters a full top k only with a strictly larger score. A passage that
// survives is scored exactly as Exhaustive scores it (the same float32
// contributions added in the same order), so Search and Exhaustive return
// the same hits with the same float32 scores.
func Search(ix *sparse.Index, q sparse.Vector, k int, opt Options) ([]Hit, error) {
	terms, err := prepare(ix, q, k)
	if err != nil || k == 0 || len(terms) == 0 {
		return nil, err
	}
	s := newSearcher(ix, terms, k, opt)
	s.run()
	if tr := opt.Trace; tr != nil {
		tr.Postings += s.postings
		tr.Candidates += s.cands
		tr.Scored += s.scored
		tr.Windows += s.windows
	}
	return s.top.sorted(), nil
}

// cursor is a query term's position: pos is its first posting ≥ the
// current window's start, blk the block holding it, end its first posting
// ≥ the window's end, at the probe position (pos ≤ at ≤ end, forward only).
type cursor struct {
	*qterm
	pos, blk, end, at int
	bound             float32 // the term's bound in the current window
}

type searcher struct {
	ix     *sparse.Index
	opt    Options
	bs     int
	n      int
	cur    []cursor // by canon
	order  []int    // cur indexes by increasing window bound
	margin float64
	top    *topK
	theta  float32 // the k-th score once the top k is full

	acc  [window]float32
	seen [window / 64]uint64

	postings, cands, scored, windows int64
}

func newSearcher(ix *sparse.Index, terms []qterm, k int, opt Options) *searcher {
	s := &searcher{ix: ix, opt: opt, bs: ix.BlockSize(), n: ix.NumPassages(), top: newTopK(k)}
	for i := range terms {
		s.cur = append(s.cur, cursor{qterm: &terms[i]})
		s.order = append(s.order, i)
	}
	// A float32 sum of n terms is within about n·u of the real sum
	// (u = 2^-24), and both the accumulated bound and the exact score are
	// such sums; 8u per term is a safe, still negligible, inflation.
	s.margin = 1 + float64(len(terms)+2)*math.Ldexp(1, -21)
	return s
}

// beaten reports whether a passage whose score is at most bound can no
// longer enter the top k.
func (s *searcher) beaten(bound float64) bool {
	return s.top.full() && bound*s.margin <= float64(s.theta)
}

func (s *searcher) run() {
	for lo := 0; lo < s.n; lo += window {
		hi := min(s.n, lo+window)
		total, live := s.bound(uint32(lo), uint32(hi))
		if !live {
			return // every list is exhausted
		}
		if s.beaten(total) {
			continue
		}
		s.windows++
		s.scoreWindow(lo, hi)
	}
}

// bound moves every cursor to the window [lo, hi) and sets its bound
// there; it returns their sum and whether any list has postings left.
func (s *searcher) bound(lo, hi uint32) (float64, bool) {
	total, live := 0.0, false
	for i := range s.cur {
		c := &s.cur[i]
		c.bound = 0
		for c.blk < len(c.last) && c.last[c.blk] < lo {
			c.blk++
		}
		if c.blk == len(c.last) {
			c.pos, c.end, c.at = len(c.docs), len(c.docs), len(c.docs)
			continue
		}
		live = true
		c.pos = c.seek(max(c.pos, c.blk*s.bs), lo)
		c.at = c.pos
		if c.docs[c.pos] >= hi {
			c.end = c.pos
			continue
		}
		var m uint8
		b := c.blk
		for ; b < len(c.last) && c.docs[b*s.bs] < hi; b++ {
			m = max(m, c.bmax[b])
		}
		// The window ends in block b−1: its end position is found there.
		c.end = c.seek(max(c.pos, (b-1)*s.bs), hi)
		c.bound = c.tab[m]
		total += float64(c.bound)
	}
	return total, live
}

// seek is the first posting at or after from whose pid is ≥ d (len when
// none), by galloping then binary search.
func (c *cursor) seek(from int, d uint32) int {
	n := len(c.docs)
	if from >= n || c.docs[from] >= d {
		return from
	}
	lo, step := from, 1 // docs[lo] < d
	for lo+step < n && c.docs[lo+step] < d {
		lo += step
		step <<= 1
	}
	hi := min(n, lo+step)
	lo++
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.docs[m] < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// scoreWindow accumulates the window's essential lists and scores exactly
// the passages that can still enter the top k.
func (s *searcher) scoreWindow(lo, hi int) {
	slices.SortFunc(s.order, func(a, b int) int {
		ba, bb := s.cur[a].bound, s.cur[b].bound
		switch {
		case ba < bb:
			return -1
		case ba > bb:
			return 1
		}
		return a - b
	})
	rest, ne := 0.0, 0 // s.order[:ne] are non-essential, their bounds sum to rest
	for ne < len(s.order) {
		next := rest + float64(s.cur[s.order[ne]].bound)
		if !s.beaten(next) {
			break
		}
		rest, ne = next, ne+1
	}
	base := uint32(lo)
	for _, i := range s.order[ne:] {
		c := &s.cur[i]
		docs, imps := c.docs[c.pos:c.end], c.imps[c.pos:c.end]
		for j, d := range docs {
			o := d - base
			s.acc[o] += c.tab[imps[j]]
			s.seen[o>>6] |= 1 << (o & 63)
		}
		s.postings += int64(len(docs))
	}
	for w, word := range s.seen {
		for word != 0 {
			o := w<<6 + bits.TrailingZeros64(word)
			word &= word - 1
			d := lo + o
			s.cands++
			if s.beaten(float64(s.acc[o])+rest) || !allowed(s.ix, s.opt.Filter, d) ||
				!s.probe(uint32(d), float64(s.acc[o]), rest, ne) {
				continue
			}
			s.score(uint32(d))
		}
		s.seen[w] = 0
	}
	clear(s.acc[:hi-lo])
}

// probe adds the non-essential terms' contributions to candidate d's
// accumulated score sum, from the largest bound down, and reports false as
// soon as d cannot enter the top k; rest is the sum of their bounds.
func (s *searcher) probe(d uint32, sum, rest float64, ne int) bool {
	for k := ne - 1; k >= 0; k-- {
		c := &s.cur[s.order[k]]
		rest -= float64(c.bound)
		if c.at < c.end {
			c.at = c.seek(c.at, d)
			s.postings++
			if c.at < c.end && c.docs[c.at] == d {
				sum += float64(c.tab[c.imps[c.at]])
			}
		}
		if s.beaten(sum + rest) {
			return false
		}
	}
	return true
}

// score computes d's exact score as Exhaustive does (contributions added
// by increasing term id) and offers it to the top k.
func (s *searcher) score(d uint32) {
	s.scored++
	var score float32
	for i := range s.cur {
		c := &s.cur[i]
		if c.at == c.end {
			continue
		}
		c.at = c.seek(c.at, d)
		if c.at < c.end && c.docs[c.at] == d {
			score += c.tab[c.imps[c.at]]
		}
		s.postings++
	}
	if !(score > 0) || (s.top.full() && !(score > s.theta)) {
		return
	}
	s.top.push(Hit{PID: int(d), Score: score})
	if s.top.full() {
		s.theta = s.top.h[0].Score
	}
}
