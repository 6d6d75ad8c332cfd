package search_test

import (
	"math"
	"testing"

	"github.com/colbert-go/colbert/search"
)

// handIndex is an index whose passages are made of centroids themselves,
// so every stage-2 score is a known sum of centroid scores.
type handIndex struct {
	dim   int
	cent  []float32
	codes [][]int32
}

func (h *handIndex) Dim() int             { return h.dim }
func (h *handIndex) NumPassages() int     { return len(h.codes) }
func (h *handIndex) Centroids() []float32 { return h.cent }
func (h *handIndex) Codes(pid int) []int32 {
	return h.codes[pid]
}
func (h *handIndex) IVF(c int) []int32 {
	var out []int32
	for pid, cs := range h.codes {
		for _, x := range cs {
			if int(x) == c {
				out = append(out, int32(pid))
				break
			}
		}
	}
	return out
}
func (h *handIndex) Decompress(pid int, dst []float32) ([]float32, error) {
	dst = dst[:0]
	for _, c := range h.codes[pid] {
		dst = append(dst, h.cent[int(c)*h.dim:(int(c)+1)*h.dim]...)
	}
	return dst, nil
}

// TestThresholdZeroIsAThreshold checks that a centroid score threshold of
// exactly 0 reaches stage 2 as 0: a centroid whose best score is negative
// is pruned, one whose best score is exactly 0 is kept (≥), while an unset
// threshold still means the default for K (0.5 at K = 1).
func TestThresholdZeroIsAThreshold(t *testing.T) {
	const d = 16
	vec := func(q1, q2, rest float32) []float32 {
		v := make([]float32, d)
		v[0], v[1], v[2] = q1, q2, rest
		return v
	}
	// Scores against the query tokens e1, e2 (best score in brackets):
	// M (.6, -.5) [.6], N (-.1, -.2) [-.1], Z (0, 0) [exactly 0], W (.3, -.25) [.3].
	var cent []float32
	for _, v := range [][]float32{vec(.6, -.5, .6), vec(-.1, -.2, .9), vec(0, 0, 1), vec(.3, -.25, .9)} {
		cent = append(cent, v...)
	}
	const M, N, Z, W = 0, 1, 2, 3
	// Stage 2 keeps one of the two candidates. pid 0 = {M, N} scores .4
	// unpruned and .1 once N is pruned; pid 1 = {Z, W} scores .3 while Z is
	// kept, .05 once Z is pruned, and far below zero once W is too.
	idx := &handIndex{dim: d, cent: cent, codes: [][]int32{{M, N}, {Z, W}}}
	s, err := search.NewSearcher(idx)
	if err != nil {
		t.Fatal(err)
	}
	q := append(vec(1, 0, 0), vec(0, 1, 0)...)
	for _, c := range []struct {
		name  string
		thr   *float32
		prune bool
		want  int
	}{
		{"threshold 0", new(float32(0)), true, 1},
		{"threshold just above 0", new(float32(1e-6)), true, 0},
		{"threshold -1", new(float32(-1)), true, 0},
		{"unset (default 0.5 for k 1)", nil, true, 0},
		{"no pruning", nil, false, 0},
	} {
		p := search.Params{K: 1, NCells: 4, NDocs: 1, Threshold: c.thr, NoPrune: !c.prune}
		hits, tr, err := s.SearchTrace(q, d, p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if tr.Candidates != 2 || tr.Approx != 1 {
			t.Fatalf("%s: trace %+v, want 2 candidates cut to 1 by stage 2", c.name, tr)
		}
		if len(hits) != 1 || hits[0].PID != c.want {
			t.Errorf("%s: hits %v, want pid %d", c.name, hits, c.want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, k := range []int{1, 10, 11, 100, 101, 5000} {
		def := search.DefaultParams(k)
		got, err := search.Params{K: k}.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		if got.Threshold == nil || *got.Threshold != *def.Threshold || got.NCells != def.NCells || got.NDocs != def.NDocs {
			t.Errorf("k %d: unset params resolve to %+v, want the defaults %+v", k, got, def)
		}
		if e := (search.Params{K: k}).EffectiveThreshold(); e != *def.Threshold {
			t.Errorf("k %d: unset EffectiveThreshold %g, want %g", k, e, *def.Threshold)
		}
		zero, err := search.Params{K: k, Threshold: new(float32(0))}.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		if *zero.Threshold != 0 || zero.EffectiveThreshold() != 0 {
			t.Errorf("k %d: threshold 0 resolves to %g", k, *zero.Threshold)
		}
	}
	if _, err := (search.Params{K: 10, Threshold: new(float32(math.NaN()))}).Resolve(); err == nil {
		t.Error("NaN threshold accepted")
	}
}

// TestDefaultK10KeepsMoreForExactScoring pins the reason for the k ≤ 10
// defaults (issue 20, BenchmarkPLAIDDefaults): stage 2 keeps ndocs = 768
// candidates and stage 3 passes ndocs/4 = 192 of them to exact scoring,
// not ColBERT's 256 and 64, whose centroid-score ranking kept only 0.85 of
// the exact top 10 on the clustered synthetic collection of BENCHMARKS.md.
func TestDefaultK10KeepsMoreForExactScoring(t *testing.T) {
	for k := 1; k <= 10; k++ {
		p := search.DefaultParams(k)
		if p.NCells != 1 || p.NDocs != 768 || p.Threshold == nil || *p.Threshold != 0.5 {
			t.Errorf("DefaultParams(%d) = %+v, want ncells 1, threshold 0.5, ndocs 768", k, p)
		}
	}
	// 1,000 passages in one cell: every one is a candidate.
	const d, n = 16, 1000
	cent := make([]float32, d)
	cent[0] = 1
	codes := make([][]int32, n)
	for i := range codes {
		codes[i] = []int32{0}
	}
	s, err := search.NewSearcher(&handIndex{dim: d, cent: cent, codes: codes})
	if err != nil {
		t.Fatal(err)
	}
	_, tr, err := s.SearchTrace(cent, d, search.DefaultParams(10))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Candidates != n || tr.Approx != 768 || tr.Exact != 192 {
		t.Errorf("trace %+v: want %d candidates, 768 after stage 2, 192 scored exactly", tr, n)
	}
}

// ForQueryVectors scales only an unset NCells, and only for queries of
// fewer vectors than ColBERT's 32.
func TestForQueryVectors(t *testing.T) {
	for _, c := range []struct {
		p    search.Params
		n    int
		want int
	}{
		{search.Params{K: 1000}, 5, 26},  // 4·32/5 = 25.6
		{search.Params{K: 10}, 5, 7},     // 1·32/5 = 6.4
		{search.Params{K: 100}, 1, 64},   // 2·32
		{search.Params{K: 1000}, 32, 0},  // ColBERT: unchanged
		{search.Params{K: 1000}, 180, 0}, // longer queries: unchanged
		{search.Params{K: 1000, NCells: 3}, 5, 3},
	} {
		if got := c.p.ForQueryVectors(c.n).NCells; got != c.want {
			t.Errorf("%+v with %d query vectors: ncells %d, want %d", c.p, c.n, got, c.want)
		}
	}
}
