// Package sparse searches a SPLADE index (codec/sparse) for the exact top k
// passages by dot product, with dynamic pruning (Search) or by scoring every
// passage (Exhaustive, the reference). Both compute every passage's score
// as the same float32 sum, in the same order (query terms by increasing
// term id) of the same float32 contributions (query weight × the index's
// dequantised impact), so their results are equal, not merely close.
//
// Hits are ordered as everywhere in the project (search/topk.go): score
// descending, ties by smaller pid. A passage is a hit only when its score
// is positive; tombstoned passages and, with a filter, passages outside it
// are never returned.
package sparse

import (
	"fmt"

	"github.com/colbert-go/colbert/codec/sparse"
	"github.com/colbert-go/colbert/search"
)

// Hit is a scored passage (the project's one hit type).
type Hit = search.Hit

// Options configures a search.
type Options struct {
	// Filter, when non-nil, is the set of pids a query may return.
	Filter *search.Filter
	// Trace, when non-nil, receives the work done (for tests and
	// benchmarks).
	Trace *Trace
}

// Trace counts a search's work.
type Trace struct {
	// Postings is the number of postings read (scored, or stepped over
	// one at a time); Candidates the passages considered; Scored those
	// whose exact score was computed; Windows the pid windows Search
	// scored.
	Postings, Candidates, Scored, Windows int64
}

// qterm is one query term with postings: its lists and its contribution
// per impact, tab[q] = weight × Dequantise(q), computed once so that every
// scorer adds the very same float32 values.
type qterm struct {
	canon int // position among the query's terms with postings, by term id
	docs  []uint32
	imps  []uint8
	last  []uint32
	bmax  []uint8
	ub    float32 // tab[TermMax]
	tab   [256]float32
}

// prepare validates the query and returns its terms with postings, by
// increasing term id. Terms outside the vocabulary have no postings and
// contribute nothing.
func prepare(ix *sparse.Index, q sparse.Vector, k int) ([]qterm, error) {
	if k < 0 {
		return nil, fmt.Errorf("sparse: k %d negative", k)
	}
	if err := q.Validate(0); err != nil {
		return nil, fmt.Errorf("sparse: query: %w", err)
	}
	terms := make([]qterm, 0, len(q.Terms))
	for i, t := range q.Terms {
		docs, imps := ix.Postings(int(t))
		if len(docs) == 0 {
			continue
		}
		terms = append(terms, qterm{canon: len(terms), docs: docs, imps: imps})
		qt := &terms[len(terms)-1]
		qt.last, qt.bmax = ix.Blocks(int(t))
		w := q.Weights[i]
		for v := range qt.tab {
			qt.tab[v] = w * ix.Dequantise(uint8(v))
		}
		qt.ub = qt.tab[ix.TermMax(int(t))]
	}
	return terms, nil
}

// allowed reports whether pid may be returned.
func allowed(ix *sparse.Index, f *search.Filter, pid int) bool {
	return !ix.Deleted(pid) && f.Allows(pid)
}
