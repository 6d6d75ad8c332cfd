package sparse

import (
	"slices"

	"github.com/colbert-go/colbert/search"
)

// heapK keeps the k best hits offered to it, a binary min-heap by search.Better
// (h[0] is the worst kept). With pos (a slot per pid), a pid already kept
// can be offered again with a larger score, as term-at-a-time scoring
// does, and its entry is moved instead of duplicated; pos needs no
// clearing, as a slot is trusted only when it holds that pid.
type heapK struct {
	k   int
	h   []Hit
	pos []int32
}

func newHeapK(k int, pos []int32) *heapK {
	return &heapK{k: k, h: make([]Hit, 0, min(k, 1<<16)), pos: pos}
}

func (t *heapK) full() bool { return len(t.h) == t.k }

// threshold is the score an offer must reach to be considered: the k-th
// best kept once full, 0 before.
func (t *heapK) threshold() float32 {
	if len(t.h) < t.k {
		return 0
	}
	return t.h[0].Score
}

// offer submits pid with score s (larger than any score it was offered
// with before, when pos is set).
func (t *heapK) offer(pid int, s float32) {
	if t.pos != nil {
		if i := int(t.pos[pid]); i >= 0 && i < len(t.h) && t.h[i].PID == pid {
			t.h[i].Score = s // better than before: it sinks towards the leaves
			t.down(i)
			return
		}
	}
	x := Hit{PID: pid, Score: s}
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return
	}
	if t.k > 0 && search.Better(x, t.h[0]) {
		t.h[0] = x
		t.down(0)
	}
}

func (t *heapK) set(i int, x Hit) {
	t.h[i] = x
	if t.pos != nil {
		t.pos[x.PID] = int32(i)
	}
}

func (t *heapK) up(i int) {
	x := t.h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !search.Better(t.h[p], x) {
			break
		}
		t.set(i, t.h[p])
		i = p
	}
	t.set(i, x)
}

func (t *heapK) down(i int) {
	x, n := t.h[i], len(t.h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && search.Better(t.h[c], t.h[c+1]) {
			c++
		}
		if !search.Better(x, t.h[c]) {
			break
		}
		t.set(i, t.h[c])
		i = c
	}
	t.set(i, x)
}

// sorted returns the kept hits best first.
func (t *heapK) sorted() []Hit {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b Hit) int {
		if search.Better(a, b) {
			return -1
		}
		if search.Better(b, a) {
			return 1
		}
		return 0
	})
	return out
}
