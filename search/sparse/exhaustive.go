package sparse

import "github.com/colbert-go/colbert/codec/sparse"

// Exhaustive returns the exact top k by scoring every passage: term at a
// time over the query terms' full posting lists (in prepare's canonical
// order, the order Search also sums in) into one float32 accumulator per
// pid, then a selection over all pids. It is the reference Search is tested
// against, and its cost is the baseline of the pruning benchmark.
func Exhaustive(ix *sparse.Index, q sparse.Vector, k int, opt Options) ([]Hit, error) {
	terms, err := prepare(ix, q, k)
	if err != nil || k == 0 {
		return nil, err
	}
	acc := make([]float32, ix.NumPassages())
	var postings int64
	for i := range terms {
		t := &terms[i]
		imps := t.imps[:len(t.docs)]
		for j, d := range t.docs {
			acc[d] += t.tab[imps[j]]
		}
		postings += int64(len(t.docs))
	}
	top := newHeapK(k, nil)
	var cands int64
	for p, s := range acc {
		if s > 0 && allowed(ix, opt.Filter, p) {
			cands++
			top.offer(p, s)
		}
	}
	if tr := opt.Trace; tr != nil {
		tr.Postings += postings
		tr.Candidates += cands
		tr.Scored += cands
	}
	return top.sorted(), nil
}
