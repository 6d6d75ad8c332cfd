package search_test

import (
	"context"
	"errors"
	"github.com/colbert-go/colbert/model"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/internal/searchtest"
	"github.com/colbert-go/colbert/search/maxsim"
)

const dim = 64

type fixture struct {
	coll    *searchtest.Collection
	idx     *searchtest.Index
	s       *search.Searcher
	queries [][]float32
}

func newFixture(t testing.TB, passages, k int) *fixture {
	t.Helper()
	topics := max(2, passages/50)
	coll := searchtest.Synthesize(searchtest.SynthOptions{
		Passages: passages, Dim: dim, Topics: topics, WordsPerTopic: max(1, k/topics), MinLen: 1, MaxLen: 60,
		TopicsPerPassage: 3, Seed: 1,
	})
	idx, err := searchtest.Build(context.Background(), coll.Vecs, coll.Doclens, dim, searchtest.Options{K: k, Seed: 3, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	s, err := search.NewSearcher(idx)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{coll: coll, idx: idx, s: s, queries: coll.Queries(40, 32, 5)}
}

// bruteForce ranks every passage by the scalar MaxSim definition.
func bruteForce(f *fixture, q []float32, k int) []search.Hit {
	var hits []search.Hit
	for pid := 0; pid < f.idx.NumPassages(); pid++ {
		hits = append(hits, search.Hit{PID: pid, Score: model.MaxSim(q, len(q)/dim, f.idx.Vectors(pid), len(f.idx.Vectors(pid))/dim, dim)})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	return hits[:min(k, len(hits))]
}

func TestExhaustiveMatchesBruteForce(t *testing.T) {
	f := newFixture(t, 300, 32)
	for qi, q := range f.queries[:10] {
		got, err := f.s.Exhaustive(q, dim, 20)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(f, q, 20)
		if len(got) != len(want) {
			t.Fatalf("query %d: %d hits, want %d", qi, len(got), len(want))
		}
		for i := range got {
			if math.Abs(float64(got[i].Score-want[i].Score)) > 1e-4 {
				t.Fatalf("query %d rank %d: score %v want %v", qi, i, got[i].Score, want[i].Score)
			}
			// ranks may swap only between near-ties
			if got[i].PID != want[i].PID && math.Abs(float64(want[i].Score-got[i].Score)) > 1e-4 {
				t.Fatalf("query %d rank %d: pid %d want %d", qi, i, got[i].PID, want[i].PID)
			}
		}
	}
}

func TestPLAIDGenerousEqualsExhaustive(t *testing.T) {
	f := newFixture(t, 400, 64)
	p := search.Params{K: 10, NCells: 64, NDocs: 4 * 400, NoPrune: true}
	for qi, q := range f.queries {
		want, _ := f.s.Exhaustive(q, dim, 10)
		got, tr, err := f.s.SearchTrace(q, dim, p)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Cells != 64 {
			t.Errorf("query %d probed %d cells, want all 64", qi, tr.Cells)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("query %d:\n got %v\nwant %v", qi, got, want)
		}
	}
}

func recallAt(got, want []search.Hit) float64 {
	in := map[int]bool{}
	for _, h := range want {
		in[h.PID] = true
	}
	n := 0
	for _, h := range got {
		if in[h.PID] {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

func TestPLAIDDefaultRecall(t *testing.T) {
	f := newFixture(t, 3000, 256)
	var recall float64
	for _, q := range f.queries {
		want, _ := f.s.Exhaustive(q, dim, 10)
		got, tr, err := f.s.SearchTrace(q, dim, search.DefaultParams(10))
		if err != nil {
			t.Fatal(err)
		}
		if !(tr.Candidates >= tr.Approx && tr.Approx >= tr.Exact && tr.Exact >= len(got)) {
			t.Errorf("stage counts not monotone: %+v", tr)
		}
		if nd := search.DefaultParams(10).NDocs; tr.Exact > nd/4 && tr.Exact > 10 {
			t.Errorf("decompressed %d passages, defaults allow ndocs/4 = %d", tr.Exact, nd/4)
		}
		recall += recallAt(got, want)
	}
	recall /= float64(len(f.queries))
	t.Logf("PLAID recall@10 vs exhaustive (defaults, 3000 passages, K=256): %.3f", recall)
	if recall < 0.9 {
		t.Errorf("recall@10 = %.3f, want ≥ 0.9", recall)
	}
}

func TestPruningMonotoneInThreshold(t *testing.T) {
	// A higher threshold can only prune more: with everything else generous,
	// threshold -1 (nothing pruned) must equal NoPrune.
	f := newFixture(t, 500, 64)
	for _, q := range f.queries[:10] {
		a, _ := f.s.Search(q, dim, search.Params{K: 10, NCells: 4, NDocs: 40, Threshold: new(float32(-1))})
		b, _ := f.s.Search(q, dim, search.Params{K: 10, NCells: 4, NDocs: 40, NoPrune: true})
		if !slices.Equal(a, b) {
			t.Fatalf("threshold -1 differs from no pruning:\n%v\n%v", a, b)
		}
	}
}

func TestKAndNCellsEdgeCases(t *testing.T) {
	f := newFixture(t, 50, 16)
	q := f.queries[0]
	// k larger than the collection with generous settings returns every passage once.
	got, err := f.s.Search(q, dim, search.Params{K: 100, NCells: 1000, NDocs: 1000, NoPrune: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Errorf("k=100 over 50 passages: %d hits", len(got))
	}
	seen := map[int]bool{}
	for i, h := range got {
		if seen[h.PID] {
			t.Errorf("pid %d twice", h.PID)
		}
		seen[h.PID] = true
		if i > 0 && h.Score > got[i-1].Score {
			t.Errorf("not sorted at %d", i)
		}
	}
	// k = 1 is the top of exhaustive when generous.
	one, _ := f.s.Search(q, dim, search.Params{K: 1, NCells: 16, NDocs: 200, NoPrune: true})
	ex, _ := f.s.Exhaustive(q, dim, 1)
	if !slices.Equal(one, ex) {
		t.Errorf("k=1: %v vs exhaustive %v", one, ex)
	}
	// A tiny ndocs still yields k results when there are enough candidates.
	few, _ := f.s.Search(q, dim, search.Params{K: 5, NCells: 16, NDocs: 1, NoPrune: true})
	if len(few) != 5 {
		t.Errorf("ndocs=1, k=5: %d hits", len(few))
	}
	// A single query vector works.
	if _, err := f.s.Search(q[:dim], dim, search.DefaultParams(10)); err != nil {
		t.Error(err)
	}
	// More than 32 query vectors (two lane blocks) agrees with exhaustive.
	long := append(append([]float32(nil), f.queries[1]...), f.queries[2][:8*dim]...)
	a, _ := f.s.Search(long, dim, search.Params{K: 10, NCells: 16, NDocs: 200, NoPrune: true})
	b, _ := f.s.Exhaustive(long, dim, 10)
	if !slices.Equal(a, b) {
		t.Errorf("40-vector query: %v vs %v", a, b)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t, 20, 8)
	q := f.queries[0]
	if _, err := f.s.Search(nil, dim, search.DefaultParams(10)); !errors.Is(err, search.ErrEmptyQuery) {
		t.Errorf("empty query: %v", err)
	}
	if _, err := f.s.Search(q, dim*2, search.DefaultParams(10)); !errors.Is(err, search.ErrDimMismatch) {
		t.Errorf("dim mismatch: %v", err)
	}
	if _, err := f.s.Exhaustive(q, 32, 10); !errors.Is(err, search.ErrDimMismatch) {
		t.Errorf("exhaustive dim mismatch: %v", err)
	}
	if _, err := f.s.Search(q[:dim+1], dim, search.DefaultParams(10)); err == nil {
		t.Error("ragged query accepted")
	}
	for _, p := range []search.Params{{K: 0}, {K: -1}, {K: 10, NCells: -1}, {K: 10, NDocs: -5}, {K: 10, Threshold: new(float32(math.NaN()))}} {
		if _, err := f.s.Search(q, dim, p); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
	if _, err := f.s.Exhaustive(q, dim, 0); err == nil {
		t.Error("exhaustive k=0 accepted")
	}
}

func TestDefaultParams(t *testing.T) {
	for _, c := range []struct {
		k, ncells, ndocs int
		thr              float32
	}{{1, 1, 768, 0.5}, {10, 1, 768, 0.5}, {11, 2, 1024, 0.45}, {100, 2, 1024, 0.45}, {101, 4, 4096, 0.4}, {2000, 4, 8000, 0.4}} {
		p := search.DefaultParams(c.k)
		if p.K != c.k || p.NCells != c.ncells || p.NDocs != c.ndocs || p.Threshold == nil || *p.Threshold != c.thr {
			t.Errorf("DefaultParams(%d) = %+v", c.k, p)
		}
	}
}

func TestBatchConcurrentEqualsSequential(t *testing.T) {
	f := newFixture(t, 800, 128)
	p := search.DefaultParams(10)
	res, err := f.s.SearchBatch(context.Background(), f.queries, dim, p, search.BatchOptions{Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range f.queries {
		want, _ := f.s.Search(q, dim, p)
		if !slices.Equal(res[i].Hits, want) {
			t.Fatalf("query %d: batch %v, sequential %v", i, res[i].Hits, want)
		}
	}
	ex, err := f.s.SearchBatch(context.Background(), f.queries[:5], dim, p, search.BatchOptions{Threads: 3, Exhaustive: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ex {
		want, _ := f.s.Exhaustive(f.queries[i], dim, 10)
		if !slices.Equal(ex[i].Hits, want) {
			t.Fatalf("exhaustive batch query %d differs", i)
		}
	}
	// One bad query fails the batch with its index in the message.
	bad := append(slices.Clone(f.queries[:3]), nil)
	if _, err := f.s.SearchBatch(context.Background(), bad, dim, p, search.BatchOptions{Threads: 2}); !errors.Is(err, search.ErrEmptyQuery) {
		t.Errorf("bad batch: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.s.SearchBatch(ctx, f.queries, dim, p, search.BatchOptions{Threads: 2}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled batch: %v", err)
	}
	if ps := search.Percentiles(res, 50, 99); ps[0] <= 0 || ps[1] < ps[0] {
		t.Errorf("percentiles %v", ps)
	}
}

func TestScorePassages(t *testing.T) {
	f := newFixture(t, 30, 8)
	q := f.queries[0]
	pq, _ := maxsim.NewQuery(q, 32, dim)
	pids := []int{3, 0, 29, 3}
	out := make([]float32, len(pids))
	if err := search.ScorePassages(f.idx, pq, pids, out); err != nil {
		t.Fatal(err)
	}
	for i, pid := range pids {
		if want := model.MaxSim(q, len(q)/dim, f.idx.Vectors(pid), len(f.idx.Vectors(pid))/dim, dim); math.Abs(float64(out[i]-want)) > 1e-4 {
			t.Errorf("pid %d: %v want %v", pid, out[i], want)
		}
	}
	if err := search.ScorePassages(f.idx, pq, []int{30}, out[:1]); err == nil {
		t.Error("unknown pid accepted")
	}
	pq2, _ := maxsim.NewQuery(make([]float32, 32), 1, 32)
	if err := search.ScorePassages(f.idx, pq2, pids, out); !errors.Is(err, search.ErrDimMismatch) {
		t.Errorf("dim mismatch: %v", err)
	}
}
