// Package sparse searches a SPLADE index (codec/sparse) for the exact top k
// passages by dot product, with dynamic pruning (Search) or by scoring every
// passage (Exhaustive, the reference). Both compute every passage's score
// as the same float32 sum, in the same order (the canonical term order of
// prepare: upper bound descending, then term id) of the same float32
// contributions (query weight × the index's dequantised impact), so their
// results are equal, not merely close.
//
// Hits are ordered as everywhere in the project (search/topk.go): score
// descending, ties by smaller pid. A passage is a hit only when its score
// is positive; tombstoned passages and, with a filter, passages outside it
// are never returned.
package sparse

import (
	"cmp"
	"fmt"
	"slices"

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
	// Postings is the number of postings read (accumulated, or looked up
	// for a candidate); Candidates the allowed passages Search kept as
	// candidates when AND mode started (every allowed passage with a
	// positive score, if it never did); Scored those whose every term was
	// added (the exact score); Refined the query terms Search looked up
	// for its candidates only (MaxScore's "AND mode"; the others were read
	// in full).
	Postings, Candidates, Scored, Refined int64
}

// qterm is one query term with postings: its lists and its contribution
// per impact, tab[q] = weight × Dequantise(q), computed once so that every
// scorer adds the very same float32 values.
type qterm struct {
	term int32
	docs []uint32
	imps []uint8
	last []uint32
	bmax []uint8
	ub   float32 // tab[TermMax]
	tab  [256]float32
}

// prepare validates the query and returns its terms with postings in the
// canonical order every scorer adds them in: upper bound (ub) descending,
// ties by term id. It is the order of term-at-a-time MaxScore (Search),
// which can then add each term's contributions as it goes and still sum
// every passage's score exactly as Exhaustive does. Terms outside the
// vocabulary have no postings and contribute nothing.
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
		terms = append(terms, qterm{term: t, docs: docs, imps: imps})
		qt := &terms[len(terms)-1]
		qt.last, qt.bmax = ix.Blocks(int(t))
		w := q.Weights[i]
		for v := range qt.tab {
			qt.tab[v] = w * ix.Dequantise(uint8(v))
		}
		qt.ub = qt.tab[ix.TermMax(int(t))]
	}
	slices.SortFunc(terms, func(a, b qterm) int {
		if c := cmp.Compare(b.ub, a.ub); c != 0 {
			return c
		}
		return cmp.Compare(a.term, b.term)
	})
	return terms, nil
}

// allowed reports whether pid may be returned.
func allowed(ix *sparse.Index, f *search.Filter, pid int) bool {
	return !ix.Deleted(pid) && f.Allows(pid)
}
