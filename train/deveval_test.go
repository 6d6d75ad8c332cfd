package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/metrics"
)

// formerNDCGAt is the nDCG@k train computed with its own copy before it used
// metrics (issue 18), kept as the reference that the dev figures logged by
// earlier runs remain comparable with: run must be sorted by data.SortRun.
func formerNDCGAt(run []data.ScoredDoc, judged map[string]int, k int) float64 {
	var dcg float64
	for i, d := range run[:min(k, len(run))] {
		if g := judged[d.DocID]; g > 0 {
			dcg += float64(g) / math.Log2(float64(i+2))
		}
	}
	var gains []int
	for _, g := range judged {
		if g > 0 {
			gains = append(gains, g)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(gains)))
	var ideal float64
	for i, g := range gains[:min(k, len(gains))] {
		ideal += float64(g) / math.Log2(float64(i+2))
	}
	if ideal == 0 {
		return 0
	}
	return dcg / ideal
}

// TestDevNDCGMatchesFormerCopy: metrics' nDCG@10, which Evaluate now uses,
// gives bit for bit the value of train's former copy, on runs in any order
// with tied scores, graded, zero and negative grades and unjudged documents.
func TestDevNDCGMatchesFormerCopy(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 10))
	ndcg10 := metrics.Measure{Kind: metrics.NDCG, K: 10}
	for trial := 0; trial < 500; trial++ {
		n := 1 + r.IntN(40)
		run := make([]data.ScoredDoc, n)
		for i := range run {
			// Few distinct scores, so ties (broken by id, descending) are common.
			run[i] = data.ScoredDoc{DocID: fmt.Sprintf("d%d", r.IntN(1000)*100+i), Score: float64(r.IntN(5)) / 4}
		}
		judged := map[string]int{}
		for _, d := range run {
			if r.IntN(3) == 0 {
				judged[d.DocID] = r.IntN(5) - 1 // -1 … 3
			}
		}
		for i := r.IntN(4); i > 0; i-- {
			judged[fmt.Sprintf("unretrieved%d", i)] = 1 + r.IntN(3)
		}
		got, err := metrics.QueryValue(ndcg10, "q", run, judged)
		if err != nil {
			t.Fatal(err)
		}
		sorted := append([]data.ScoredDoc(nil), run...)
		data.SortRun(sorted)
		if want := formerNDCGAt(sorted, judged, 10); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("trial %d: metrics nDCG@10 %v, former copy %v (run %v, judged %v)", trial, got, want, run, judged)
		}
	}
}

// TestDevNDCGValues checks the measure Evaluate reports on hand-computed
// cases, and that a NaN score is an error rather than a silent value.
func TestDevNDCGValues(t *testing.T) {
	run := []data.ScoredDoc{{DocID: "c", Score: 1}, {DocID: "a", Score: 3}, {DocID: "b", Score: 2}}
	judged := map[string]int{"a": 1, "c": 2, "z": 0}
	at := func(k int) float64 {
		t.Helper()
		v, err := metrics.QueryValue(metrics.Measure{Kind: metrics.NDCG, K: k}, "q", run, judged)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// DCG = 1/log2(2) + 2/log2(4) = 2; IDCG = 2 + 1/log2(3).
	if got, want := at(10), 2/(2+1/math.Log2(3)); math.Abs(got-want) > 1e-12 {
		t.Errorf("nDCG@10 = %g, want %g", got, want)
	}
	if got := at(1); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("nDCG@1 = %g, want 0.5", got)
	}
	judged = map[string]int{"q": 0}
	if got := at(10); got != 0 {
		t.Errorf("no relevant documents: %g", got)
	}
	run[0].Score = math.NaN()
	if _, err := metrics.QueryValue(metrics.Measure{Kind: metrics.NDCG, K: 10}, "q", run, judged); err == nil {
		t.Error("NaN score accepted")
	}
}
