package search_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/colbert-go/colbert/search"
)

// BenchmarkFilter compares, per query (single thread, fastest of
// COLBERT_BENCH_REPS), PLAID with the default parameters for k against the
// same search restricted to a random 10%, 1% and 0.1% of the passages,
// and checks the filtered answer against the exhaustive top k among them.
// The collection is loadBench's (sized by COLBERT_BENCH_TOKENS, cached in
// COLBERT_BENCH_INDEX). Reported: median ms of each, the fraction of
// queries whose filtered top k is exact, and the mean recall@k.
func BenchmarkFilter(b *testing.B) {
	d := loadBench(b)
	n := d.ix.NumPassages()
	reps := envInt("COLBERT_BENCH_REPS", 1)
	for _, sel := range []float64{0.1, 0.01, 0.001} {
		size := max(1, int(sel*float64(n)))
		pids := rand.New(rand.NewPCG(uint64(size), 1)).Perm(n)[:size]
		f, err := search.NewFilter(n, pids)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range []int{10, 100} {
			b.Run("sel="+strconv.FormatFloat(sel, 'g', -1, 64)+"/k="+strconv.Itoa(k), func(b *testing.B) {
				plain, filtered := make([]time.Duration, len(d.queries)), make([]time.Duration, len(d.queries))
				exact, recall := 0, 0.0
				for i := 0; i < b.N; i++ {
					for qi, q := range d.queries {
						var got []search.Hit
						for rep := 0; rep < reps; rep++ {
							t0 := time.Now()
							if _, err := d.s.Search(q, benchDim, search.Params{K: k}); err != nil {
								b.Fatal(err)
							}
							if el := time.Since(t0); rep == 0 || el < plain[qi] {
								plain[qi] = el
							}
							t0 = time.Now()
							if got, err = d.s.Search(q, benchDim, search.Params{K: k, Filter: f}); err != nil {
								b.Fatal(err)
							}
							if el := time.Since(t0); rep == 0 || el < filtered[qi] {
								filtered[qi] = el
							}
						}
						if i == 0 {
							want, err := d.s.ExhaustiveFilter(q, benchDim, k, f)
							if err != nil {
								b.Fatal(err)
							}
							if slices.Equal(got, want) {
								exact++
							}
							recall += recallAt(got, want)
						}
					}
				}
				b.ReportMetric(float64(median(plain))/1e6, "unfiltered-ms")
				b.ReportMetric(float64(median(filtered))/1e6, "filtered-ms")
				b.ReportMetric(float64(exact)/float64(len(d.queries)), "exact-frac")
				b.ReportMetric(recall/float64(len(d.queries)), "recall")
				b.ReportMetric(float64(size), "allowed")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
