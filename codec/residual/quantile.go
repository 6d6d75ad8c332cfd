package residual

import (
	"math"
	"sort"
)

// Quantiles returns the quantiles qs (each in [0, 1]) of values with linear
// interpolation between order statistics (torch.quantile / numpy "linear"):
// position q·(n−1). It reorders values in place with a multi-rank
// quickselect, O(n·log(#ranks)) expected, instead of sorting everything.
func Quantiles(values []float32, qs []float64) []float32 {
	n := len(values)
	out := make([]float32, len(qs))
	if n == 0 {
		for i := range out {
			out[i] = float32(math.NaN())
		}
		return out
	}
	var ranks []int
	for _, q := range qs {
		pos := q * float64(n-1)
		lo := int(math.Floor(pos))
		ranks = append(ranks, max(0, min(n-1, lo)), max(0, min(n-1, lo+1)))
	}
	sort.Ints(ranks)
	uniq := ranks[:0]
	for i, r := range ranks {
		if i == 0 || r != ranks[i-1] {
			uniq = append(uniq, r)
		}
	}
	multiSelect(values, 0, uniq)
	for i, q := range qs {
		pos := q * float64(n-1)
		lo := max(0, min(n-1, int(math.Floor(pos))))
		hi := min(n-1, lo+1)
		frac := pos - float64(lo)
		a, b := float64(values[lo]), float64(values[hi])
		out[i] = float32(a + frac*(b-a))
	}
	return out
}

// multiSelect rearranges a so that a[r−off] holds the (r)-th smallest value
// of the whole array for every rank r in ranks (sorted, all within
// [off, off+len(a))), with smaller values before and larger after.
func multiSelect(a []float32, off int, ranks []int) {
	for len(ranks) > 0 && len(a) > 1 {
		if len(a) <= 16 {
			insertion(a)
			return
		}
		p := pivot(a)
		// Three-way partition: [0,lt) < p, [lt,gt) == p, [gt,n) > p.
		lt, i, gt := 0, 0, len(a)
		for i < gt {
			switch v := a[i]; {
			case v < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case v > p:
				gt--
				a[gt], a[i] = a[i], a[gt]
			default:
				i++
			}
		}
		// Split the ranks: left of lt, inside the pivot run (done), right.
		li := sort.SearchInts(ranks, off+lt)
		ri := sort.SearchInts(ranks, off+gt)
		left, right := ranks[:li], ranks[ri:]
		// Recurse on the smaller side, loop on the larger.
		if lt < len(a)-gt {
			multiSelect(a[:lt], off, left)
			a, off, ranks = a[gt:], off+gt, right
		} else {
			multiSelect(a[gt:], off+gt, right)
			a, ranks = a[:lt], left
		}
	}
}

// pivot is the median of nine spread samples (Tukey's ninther).
func pivot(a []float32) float32 {
	n := len(a)
	s := n / 8
	m3 := func(i, j, k int) float32 {
		x, y, z := a[i], a[j], a[k]
		if x > y {
			x, y = y, x
		}
		if y > z {
			y = z
		}
		if x > y {
			return x
		}
		return y
	}
	h := n / 2
	x := m3(0, s, 2*s)
	y := m3(h-s, h, h+s)
	z := m3(n-1-2*s, n-1-s, n-1)
	if x > y {
		x, y = y, x
	}
	if y > z {
		y = z
	}
	if x > y {
		return x
	}
	return y
}

func insertion(a []float32) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
