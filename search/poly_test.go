package search

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// memStore is a plain in-memory Passages (one slice per passage) with
// tombstones.
type memStore struct {
	dim  int
	vecs [][]float32
	dead map[int]bool
}

func (m *memStore) Dim() int             { return m.dim }
func (m *memStore) NumPassages() int     { return len(m.vecs) }
func (m *memStore) Deleted(pid int) bool { return m.dead[pid] }
func (m *memStore) Decompress(pid int, dst []float32) ([]float32, error) {
	return append(dst[:0], m.vecs[pid]...), nil
}

func randVecs(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// bruteHits scores pids with f and sorts them as the searcher does.
func bruteHits(pids []int, k int, f func(pid int) float32) []Hit {
	var hs []Hit
	for _, p := range pids {
		hs = append(hs, Hit{PID: p, Score: f(p)})
	}
	sort.Slice(hs, func(i, j int) bool { return Better(hs[i], hs[j]) })
	return hs[:min(k, len(hs))]
}

// closeHits: same pids in the same order, scores within 1e-5 (the SIMD dot
// products are float32, model.PolyScore's float64).
func closeHits(a, b []Hit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].PID != b[i].PID || math.Abs(float64(a[i].Score-b[i].Score)) > 1e-5 {
			return false
		}
	}
	return true
}

// TestPolyExhaustiveAndRescore: the poly-encoder's exhaustive top k is the
// brute-force top k of model.PolyScore over live, allowed passages; Rescore
// over every pid equals it, and Rescore with MaxSim over a subset equals
// the brute-force MaxSim ranking of that subset.
func TestPolyExhaustiveAndRescore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dim, m, n := 8, 4, 200
	st := &memStore{dim: dim, dead: map[int]bool{7: true, 42: true}}
	for i := 0; i < n; i++ {
		st.vecs = append(st.vecs, randVecs(r, dim))
	}
	s, err := NewSearcher(st)
	if err != nil {
		t.Fatal(err)
	}
	q := randVecs(r, m*dim)
	var live []int
	for p := 0; p < n; p++ {
		if !st.dead[p] {
			live = append(live, p)
		}
	}
	poly := func(p int) float32 { return model.PolyScore(q, m, dim, st.vecs[p]) }
	got, err := s.PolyExhaustive(q, dim, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := bruteHits(live, 10, poly); !closeHits(got, want) {
		t.Errorf("poly exhaustive %v, want %v", got, want)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	re, err := s.Rescore(q, dim, append(all, 3, 3), 10, true)
	if err != nil || !slices.Equal(re, got) {
		t.Errorf("rescore of every pid %v (err %v), want %v", re, err, got)
	}
	f, _ := NewFilter(n, []int{1, 7, 9, 100, 150})
	got, _ = s.PolyExhaustive(q, dim, 3, f)
	if want := bruteHits([]int{1, 9, 100, 150}, 3, poly); !closeHits(got, want) {
		t.Errorf("filtered poly %v, want %v", got, want)
	}
	sub := []int{5, 42, 17, 199, 60}
	ms, err := s.Rescore(q, dim, sub, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	want := bruteHits([]int{5, 17, 199, 60}, 3, func(p int) float32 { return model.MaxSim(q, m, st.vecs[p], 1, dim) })
	for i := range want {
		if ms[i].PID != want[i].PID || ms[i].Score-want[i].Score > 1e-4 || want[i].Score-ms[i].Score > 1e-4 {
			t.Errorf("maxsim rescore %v, want %v", ms, want)
			break
		}
	}
	res, err := s.SearchBatch(context.Background(), [][]float32{q, q}, dim, Params{K: 3}, BatchOptions{Poly: true, Candidates: [][]int{sub, all}})
	if err != nil || len(res) != 2 || len(res[0].Hits) != 3 {
		t.Fatalf("batch rescore: %v %v", res, err)
	}
	if _, err := s.SearchBatch(context.Background(), [][]float32{q}, dim, Params{K: 3}, BatchOptions{Candidates: [][]int{sub, all}}); err == nil {
		t.Error("two candidate lists for one query accepted")
	}
}
