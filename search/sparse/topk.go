package sparse

import (
	"container/heap"
	"slices"
)

// better is the project's hit order (search/topk.go): score descending,
// ties by smaller pid.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.PID < b.PID
}

// topK keeps the k best hits pushed into it; h[0] is the worst kept.
type topK struct {
	k int
	h minHeap
}

type minHeap []Hit

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newTopK(k int) *topK { return &topK{k: k, h: make(minHeap, 0, min(k, 1<<16))} }

func (t *topK) full() bool { return len(t.h) == t.k }

// push offers a hit.
func (t *topK) push(x Hit) {
	if len(t.h) < t.k {
		heap.Push(&t.h, x)
		return
	}
	if t.k > 0 && better(x, t.h[0]) {
		t.h[0] = x
		heap.Fix(&t.h, 0)
	}
}

// sorted returns the kept hits best first.
func (t *topK) sorted() []Hit {
	out := slices.Clone([]Hit(t.h))
	slices.SortFunc(out, func(a, b Hit) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return out
}
