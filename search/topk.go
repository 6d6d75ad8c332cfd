package search

import (
	"container/heap"
	"slices"
)

// Better is the project's hit order: score descending, ties by smaller pid
// (deterministic results). Every top k (PLAID, exhaustive, sparse) sorts by it.
func Better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.PID < b.PID
}

// topK keeps the k best hits pushed into it.
type topK struct {
	k int
	h minHeap
}

type minHeap []Hit

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return Better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (t *topK) reset(k int) {
	t.k = k
	t.h = t.h[:0]
}

func (t *topK) push(x Hit) {
	if len(t.h) < t.k {
		heap.Push(&t.h, x)
		return
	}
	if t.k > 0 && Better(x, t.h[0]) {
		t.h[0] = x
		heap.Fix(&t.h, 0)
	}
}

// sorted returns the kept hits best first, appended to dst.
func (t *topK) sorted(dst []Hit) []Hit {
	start := len(dst)
	dst = append(dst, t.h...)
	slices.SortFunc(dst[start:], func(a, b Hit) int {
		if Better(a, b) {
			return -1
		}
		if Better(b, a) {
			return 1
		}
		return 0
	})
	return dst
}
