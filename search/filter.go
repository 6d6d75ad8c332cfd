package search

import (
	"fmt"
	"math/bits"
	"slices"
)

// Filter is the set of passages a query may return (a bitset over pids, with
// the sorted pids for iterating), built per query from a metadata condition
// or an id list. Searches given one return only allowed pids; a nil *Filter
// allows every passage. Read-only once built, so one Filter serves many
// concurrent queries.
type Filter struct {
	bits []uint64
	pids []int32
}

// NewFilter builds the set of the given pids of an index of n passages;
// duplicates are ignored, a pid outside [0, n) is an error.
func NewFilter(n int, pids []int) (*Filter, error) {
	f := &Filter{bits: make([]uint64, (n+63)/64)}
	for _, p := range pids {
		if p < 0 || p >= n {
			return nil, fmt.Errorf("search: filter pid %d outside [0,%d)", p, n)
		}
		f.bits[p>>6] |= 1 << (p & 63)
	}
	f.pids = make([]int32, 0, f.count())
	for w, b := range f.bits {
		for b != 0 {
			f.pids = append(f.pids, int32(w<<6+bits.TrailingZeros64(b)))
			b &= b - 1
		}
	}
	return f, nil
}

func (f *Filter) count() int {
	n := 0
	for _, b := range f.bits {
		n += bits.OnesCount64(b)
	}
	return n
}

// Allows reports whether pid is in the set (always, for a nil Filter).
func (f *Filter) Allows(pid int) bool {
	if f == nil {
		return true
	}
	w := pid >> 6
	return pid >= 0 && w < len(f.bits) && f.bits[w]&(1<<(pid&63)) != 0
}

// Len is the number of allowed pids (-1 for a nil Filter: all).
func (f *Filter) Len() int {
	if f == nil {
		return -1
	}
	return len(f.pids)
}

// PIDs are the allowed pids, ascending (nil for a nil Filter). Do not
// modify.
func (f *Filter) PIDs() []int32 {
	if f == nil {
		return nil
	}
	return f.pids
}

// Equal reports whether two filters allow the same pids.
func (f *Filter) Equal(g *Filter) bool {
	if f == nil || g == nil {
		return f == g
	}
	return slices.Equal(f.pids, g.pids)
}
