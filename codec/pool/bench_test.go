package pool

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPool pools one passage of ColBERT's maximum length (180 tokens,
// dim 128) by 2 with Ward linkage: the per-passage cost pooling adds to an
// index build.
func BenchmarkPool(b *testing.B) {
	v := unitRows(rand.New(rand.NewPCG(1, 1)), 180, 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Pool(v, 128, 2, Ward); err != nil {
			b.Fatal(err)
		}
	}
}
