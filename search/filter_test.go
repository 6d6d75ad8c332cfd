package search_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/search"
)

// allowedTop is the reference: every passage scored exactly, then the
// first k allowed ones.
func allowedTop(t *testing.T, s *search.Searcher, q []float32, n, k int, f *search.Filter) []search.Hit {
	t.Helper()
	all, err := s.Exhaustive(q, 128, n)
	if err != nil {
		t.Fatal(err)
	}
	var out []search.Hit
	for _, h := range all {
		if f.Allows(h.PID) && len(out) < k {
			out = append(out, h)
		}
	}
	return out
}

func randomFilter(t *testing.T, n, size int, seed uint64) *search.Filter {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	f, err := search.NewFilter(n, r.Perm(n)[:size])
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != size {
		t.Fatalf("filter of %d pids has Len %d", size, f.Len())
	}
	return f
}

// On a real (on-disk, residual) index, a filtered search with the default
// PLAID parameters returns exactly the exhaustive top k of the allowed
// passages, at every selectivity the default exact threshold covers.
func TestFilteredSearchExact(t *testing.T) {
	dir, coll := buildDisk(t)
	s, ix := openDisk(t, dir)
	defer ix.Close()
	n := ix.NumPassages()
	queries := coll.Queries(8, 32, 5)
	for _, size := range []int{1, 4, 20, 100, n} {
		f := randomFilter(t, n, size, uint64(size))
		for qi, q := range queries {
			for _, k := range []int{1, 10, 100} {
				want := allowedTop(t, s, q, n, k, f)
				ex, err := s.ExhaustiveFilter(q, 128, k, f)
				if err != nil {
					t.Fatal(err)
				}
				got, tr, err := s.SearchTrace(q, 128, search.Params{K: k, Filter: f})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ex, want) || !slices.Equal(got, want) {
					t.Fatalf("%d allowed, query %d, k %d: filtered PLAID %v, filtered exhaustive %v, reference %v", size, qi, k, got, ex, want)
				}
				if tr.Exact != size {
					t.Fatalf("%d allowed: %d scored exactly", size, tr.Exact)
				}
			}
		}
	}
}

// Above FilterExact, PLAID runs with stage 1 restricted to allowed pids:
// nothing else is returned, and with generous parameters it is exact too.
func TestFilteredPLAIDStage1(t *testing.T) {
	dir, coll := buildDisk(t)
	s, ix := openDisk(t, dir)
	defer ix.Close()
	n := ix.NumPassages()
	f := randomFilter(t, n, 40, 3)
	recall, cells := 0.0, 0
	for qi, q := range coll.Queries(8, 32, 9) {
		got, tr, err := s.SearchTrace(q, 128, search.Params{K: 10, Filter: f, FilterExact: -1})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Candidates > 40 || tr.Cells == 0 {
			t.Fatalf("query %d: %d candidates from %d cells, filter of 40", qi, tr.Candidates, tr.Cells)
		}
		for _, h := range got {
			if !f.Allows(h.PID) {
				t.Fatalf("query %d: pid %d returned, not allowed", qi, h.PID)
			}
		}
		want := allowedTop(t, s, q, n, 10, f)
		hit := 0
		for _, h := range got {
			hit += len(slices.DeleteFunc(slices.Clone(want), func(w search.Hit) bool { return w.PID != h.PID }))
		}
		recall += float64(hit) / float64(len(want))
		cells += tr.Cells
		gen, err := s.Search(q, 128, search.Params{K: 10, Filter: f, FilterExact: -1, NCells: 64, NDocs: 2000, NoPrune: true})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gen, want) {
			t.Fatalf("query %d: generous filtered PLAID %v, reference %v", qi, gen, want)
		}
	}
	// With the default parameters, ncells grows with the inverse
	// selectivity (10× here), which keeps recall high.
	unfiltered := 0
	for _, q := range coll.Queries(8, 32, 9) {
		_, tr, _ := s.SearchTrace(q, 128, search.Params{K: 10})
		unfiltered += tr.Cells
	}
	t.Logf("filtered PLAID (10%% of passages): recall@10 %.3f against exhaustive over the allowed, %d cells probed vs %d unfiltered", recall/8, cells, unfiltered)
	if recall/8 < 0.9 || cells <= unfiltered {
		t.Errorf("filtered PLAID recall@10 %.3f (want ≥ 0.9), cells %d vs %d unfiltered", recall/8, cells, unfiltered)
	}
}

// Tombstoned passages stay out of filtered results, and a batch passes
// the filter to every query, PLAID and exhaustive alike.
func TestFilterDeletedAndBatch(t *testing.T) {
	dir, coll := buildDisk(t)
	s, ix := openDisk(t, dir)
	n := ix.NumPassages()
	q := coll.Queries(1, 32, 4)[0]
	f := randomFilter(t, n, 30, 1)
	top, _ := s.ExhaustiveFilter(q, 128, 2, f)
	ix.Close()
	if _, err := index.Delete(dir, []string{ix.PassageID(top[0].PID)}); err != nil {
		t.Fatal(err)
	}
	s, ix = openDisk(t, dir)
	defer ix.Close()
	queries := coll.Queries(6, 32, 4)
	for _, exhaustive := range []bool{false, true} {
		res, err := s.SearchBatch(context.Background(), queries, 128, search.Params{K: 5, Filter: f}, search.BatchOptions{Threads: 2, Exhaustive: exhaustive})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			want := allowedTop(t, s, queries[i], n, 5, f)
			if !slices.Equal(r.Hits, want) {
				t.Fatalf("exhaustive=%v query %d: %v, want %v", exhaustive, i, r.Hits, want)
			}
			if i == 0 && r.Hits[0].PID != top[1].PID {
				t.Fatalf("deleted pid %d: first hit %v, want %d", top[0].PID, r.Hits[0], top[1].PID)
			}
		}
	}
}

func TestNewFilter(t *testing.T) {
	f, err := search.NewFilter(130, []int{129, 0, 64, 64, 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.PIDs(); !slices.Equal(got, []int32{0, 5, 64, 129}) {
		t.Fatalf("pids %v", got)
	}
	for p, want := range map[int]bool{0: true, 1: false, 64: true, 129: true, 130: false, -1: false} {
		if f.Allows(p) != want {
			t.Errorf("Allows(%d) = %v", p, !want)
		}
	}
	var none *search.Filter
	if !none.Allows(7) || none.Len() != -1 {
		t.Error("nil filter must allow everything")
	}
	if _, err := search.NewFilter(10, []int{10}); err == nil {
		t.Error("out-of-range pid accepted")
	}
	empty, _ := search.NewFilter(10, nil)
	if empty.Len() != 0 || empty.Allows(0) {
		t.Error("empty filter allows")
	}
}
