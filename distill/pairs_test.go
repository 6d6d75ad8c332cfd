package distill

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// cutBatches covers the order exactly once, in order, within both caps
// (a lone over-long pair excepted).
func TestCutBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := r.IntN(60)
		ids := make([][]int32, n)
		order := make([]int, n)
		for i := range ids {
			ids[i] = make([]int32, 1+r.IntN(300))
			order[i] = i
		}
		if r.IntN(2) == 0 {
			slices.SortStableFunc(order, func(a, b int) int { return len(ids[a]) - len(ids[b]) })
		}
		bs, maxTok := 1+r.IntN(40), r.IntN(3000)
		var flat []int
		for _, b := range cutBatches(order, ids, bs, maxTok) {
			if len(b) == 0 || len(b) > bs {
				t.Fatalf("batch of %d with cap %d", len(b), bs)
			}
			longest := 0
			for _, i := range b {
				longest = max(longest, len(ids[i]))
			}
			if maxTok > 0 && len(b) > 1 && len(b)*longest > maxTok {
				t.Fatalf("batch %d×%d exceeds %d tokens", len(b), longest, maxTok)
			}
			flat = append(flat, b...)
		}
		if !slices.Equal(flat, order) {
			t.Fatalf("batches do not cover the order: %v vs %v", flat, order)
		}
	}
}
