package sparse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/codec/sparse"
	"github.com/colbert-go/colbert/search"
)

// equalHits fails unless pruned and exhaustive hits are identical: same
// pids, same order, bit-identical scores (stronger than the 1e-5 the
// project asks for: both sum the same float32 values in the same order).
func equalHits(t *testing.T, what string, pruned, exh []Hit) {
	t.Helper()
	if len(pruned) != len(exh) {
		t.Fatalf("%s: pruned %d hits, exhaustive %d", what, len(pruned), len(exh))
	}
	for i := range exh {
		if pruned[i] != exh[i] {
			t.Fatalf("%s: hit %d: pruned %+v, exhaustive %+v", what, i, pruned[i], exh[i])
		}
	}
}

// checkQueries runs queries of 5…60 terms at k ∈ {1,10,100} with the given
// filter through Search and Exhaustive and requires equal results.
func checkQueries(t *testing.T, ix *sparse.Index, g *gen, nq int, f *search.Filter, what string) (pruned, exh Trace) {
	t.Helper()
	for qi := 0; qi < nq; qi++ {
		q := g.vector(5 + g.rng.IntN(56))
		for _, k := range []int{1, 10, 100} {
			e, err := Exhaustive(ix, q, k, Options{Filter: f, Trace: &exh})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Search(ix, q, k, Options{Filter: f, Trace: &pruned})
			if err != nil {
				t.Fatal(err)
			}
			equalHits(t, fmt.Sprintf("%s query %d k=%d", what, qi, k), p, e)
			for _, h := range e {
				if ix.Deleted(h.PID) || !f.Allows(h.PID) || !(h.Score > 0) {
					t.Fatalf("%s: returned pid %d (deleted %v, allowed %v, score %g)", what, h.PID, ix.Deleted(h.PID), f.Allows(h.PID), h.Score)
				}
			}
		}
	}
	return pruned, exh
}

func randomFilter(t *testing.T, rng *rand.Rand, n int, frac float64) *search.Filter {
	var pids []int
	for p := 0; p < n; p++ {
		if rng.Float64() < frac {
			pids = append(pids, p)
		}
	}
	f, err := search.NewFilter(n, pids)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPrunedEqualsExhaustive: on Zipf-distributed collections (several
// seeds, skews, block sizes, equal-weight collections full of ties), with
// no filter, sparse and dense filters, after deletes and after an append,
// the pruned top k equals the exhaustive one exactly.
func TestPrunedEqualsExhaustive(t *testing.T) {
	configs := []struct {
		seed      uint64
		vocab     int
		skew      float64
		blockSize int
		equal     bool
	}{
		{1, 3000, 1.1, 0, false},
		{2, 2000, 1.3, 16, false},
		{3, 5000, 1.05, 8, false},
		{4, 1500, 1.2, 32, true},
		{5, 800, 1.5, 4, false},
		{6, 3000, 1.1, 128, true},
	}
	nq := 12
	if testing.Short() {
		nq = 4
	}
	for _, c := range configs {
		t.Run(fmt.Sprintf("seed%d", c.seed), func(t *testing.T) {
			g := newGen(c.seed, c.vocab, c.skew, c.equal)
			src := g.collection(2500, 20, 120, "p")
			opt := sparse.BuildOptions{VocabSize: c.vocab, BlockSize: c.blockSize, ChunkSize: 1000}
			dir := build(t, src, opt)
			ix := open(t, dir)
			pr, ex := checkQueries(t, ix, g, nq, nil, "plain")
			if pr.Scored >= ex.Scored {
				t.Logf("pruning scored %d passages, exhaustive %d", pr.Scored, ex.Scored)
			}
			rng := rand.New(rand.NewPCG(c.seed, 9))
			checkQueries(t, ix, g, nq/2, randomFilter(t, rng, ix.NumPassages(), 0.5), "filter 50%")
			checkQueries(t, ix, g, nq/2, randomFilter(t, rng, ix.NumPassages(), 0.02), "filter 2%")

			// Tombstones: every 7th passage deleted.
			var del []string
			for p := 0; p < len(src.ids); p += 7 {
				del = append(del, src.ids[p])
			}
			if _, err := sparse.Delete(context.Background(), dir, del); err != nil {
				t.Fatal(err)
			}
			ix2 := open(t, dir)
			checkQueries(t, ix2, g, nq/2, nil, "deleted")

			// An appended generation, with heavier weights (some clamp).
			add := g.collection(800, 20, 120, "a")
			for _, v := range add.vecs {
				for j := range v.Weights {
					v.Weights[j] *= 1.5
				}
			}
			if _, err := sparse.Append(context.Background(), dir, add, nil); err != nil {
				t.Fatal(err)
			}
			ix3 := open(t, dir)
			if ix3.NumPassages() != 3300 {
				t.Fatalf("%d passages after append", ix3.NumPassages())
			}
			checkQueries(t, ix3, g, nq/2, nil, "appended")
			checkQueries(t, ix3, g, nq/2, randomFilter(t, rng, ix3.NumPassages(), 0.3), "appended+filter")
		})
	}
}

// TestExhaustiveIsExact checks the reference itself against a scorer
// that reads only the source vectors: the dot product of the query with
// each passage's dequantised weights.
func TestExhaustiveIsExact(t *testing.T) {
	g := newGen(11, 1000, 1.2, false)
	src := g.collection(1500, 5, 60, "x")
	ix := open(t, build(t, src, sparse.BuildOptions{VocabSize: 1000, BlockSize: 16}))
	scale := ix.Scale()
	for qi := 0; qi < 20; qi++ {
		q := g.vector(5 + g.rng.IntN(40))
		want := make([]float64, len(src.vecs))
		for p, v := range src.vecs {
			i, j := 0, 0
			for i < len(q.Terms) && j < len(v.Terms) {
				switch {
				case q.Terms[i] < v.Terms[j]:
					i++
				case q.Terms[i] > v.Terms[j]:
					j++
				default:
					qv := max(1, min(255, math.Round(float64(v.Weights[j])/float64(scale))))
					want[p] += float64(q.Weights[i]) * qv * float64(scale)
					i, j = i+1, j+1
				}
			}
		}
		hits, err := Exhaustive(ix, q, 50, Options{})
		if err != nil {
			t.Fatal(err)
		}
		in := map[int]bool{}
		for i, h := range hits {
			in[h.PID] = true
			if math.Abs(float64(h.Score)-want[h.PID]) > 1e-5*max(1, want[h.PID]) {
				t.Fatalf("query %d: pid %d score %g, want %g", qi, h.PID, h.Score, want[h.PID])
			}
			if i > 0 && !search.Better(hits[i-1], h) {
				t.Fatalf("query %d: hits out of order at %d", qi, i)
			}
		}
		kth := float64(hits[len(hits)-1].Score)
		for p, w := range want {
			if !in[p] && w > kth*(1+1e-5) {
				t.Fatalf("query %d: pid %d (score %g) missing, k-th score %g", qi, p, w, kth)
			}
		}
	}
}

// The tie order is the project's: score descending, then pid ascending.
func TestTieOrder(t *testing.T) {
	one := sparse.Vector{Terms: []int32{3}, Weights: []float32{1}}
	src := &memSource{}
	for i := 0; i < 40; i++ {
		src.ids = append(src.ids, fmt.Sprint("t", i))
		src.vecs = append(src.vecs, one)
	}
	src.vecs[25] = sparse.Vector{Terms: []int32{3, 4}, Weights: []float32{1, 1}}
	ix := open(t, build(t, src, sparse.BuildOptions{VocabSize: 8, BlockSize: 4}))
	q := sparse.Vector{Terms: []int32{3, 4}, Weights: []float32{2, 1}}
	for _, f := range []func(*sparse.Index, sparse.Vector, int, Options) ([]Hit, error){Search, Exhaustive} {
		hits, err := f(ix, q, 5, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := []int{}
		for _, h := range hits {
			got = append(got, h.PID)
		}
		if !slices.Equal(got, []int{25, 0, 1, 2, 3}) {
			t.Fatalf("hits %v, want [25 0 1 2 3]", got)
		}
	}
}

func TestSearchEdgeCases(t *testing.T) {
	g := newGen(12, 500, 1.2, false)
	src := g.collection(300, 5, 40, "e")
	ix := open(t, build(t, src, sparse.BuildOptions{VocabSize: 500}))
	for _, f := range []func(*sparse.Index, sparse.Vector, int, Options) ([]Hit, error){Search, Exhaustive} {
		for _, bad := range []sparse.Vector{
			{Terms: []int32{5, 3}, Weights: []float32{1, 1}},
			{Terms: []int32{5}, Weights: []float32{-1}},
			{Terms: []int32{5}, Weights: []float32{float32(math.NaN())}},
			{Terms: []int32{5, 6}, Weights: []float32{1}},
		} {
			if _, err := f(ix, bad, 10, Options{}); err == nil {
				t.Fatalf("query %+v accepted", bad)
			}
		}
		if _, err := f(ix, g.vector(5), -1, Options{}); err == nil {
			t.Fatal("k = -1 accepted")
		}
		if h, err := f(ix, g.vector(5), 0, Options{}); err != nil || len(h) != 0 {
			t.Fatalf("k = 0: %v %v", h, err)
		}
		// Terms beyond the vocabulary contribute nothing.
		if h, err := f(ix, sparse.Vector{Terms: []int32{600, 7000}, Weights: []float32{1, 1}}, 10, Options{}); err != nil || len(h) != 0 {
			t.Fatalf("out-of-vocabulary query: %v %v", h, err)
		}
		// An empty query, and k larger than the matching passages.
		if h, err := f(ix, sparse.Vector{}, 10, Options{}); err != nil || len(h) != 0 {
			t.Fatalf("empty query: %v %v", h, err)
		}
	}
	q := g.vector(3)
	e, _ := Exhaustive(ix, q, 10000, Options{})
	p, _ := Search(ix, q, 10000, Options{})
	equalHits(t, "k beyond matches", p, e)
	if len(e) == 0 || len(e) >= 300 {
		t.Fatalf("%d hits for a 3-term query", len(e))
	}
	// An empty filter returns nothing.
	empty, _ := search.NewFilter(ix.NumPassages(), nil)
	if h, _ := Search(ix, q, 10, Options{Filter: empty}); len(h) != 0 {
		t.Fatalf("empty filter: %v", h)
	}
}

// Pruning must actually skip work: with weights that follow the terms'
// rarity closely (a small log-normal spread, as SPLADE's learned weights
// do), most passages are never scored exactly and postings are skipped.
func TestPruningSkips(t *testing.T) {
	g := newGen(13, 5000, 1.1, false)
	g.spread = 0.1
	src := g.collection(4000, 60, 120, "s")
	ix := open(t, build(t, src, sparse.BuildOptions{VocabSize: 5000}))
	var pr, ex Trace
	for i := 0; i < 20; i++ {
		q := g.vector(30)
		if _, err := Search(ix, q, 10, Options{Trace: &pr}); err != nil {
			t.Fatal(err)
		}
		if _, err := Exhaustive(ix, q, 10, Options{Trace: &ex}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("pruned: %+v, exhaustive: %+v", pr, ex)
	if pr.Postings >= ex.Postings || pr.Scored*10 > ex.Scored {
		t.Fatalf("pruning read %d postings / scored %d passages, exhaustive %d / %d", pr.Postings, pr.Scored, ex.Postings, ex.Scored)
	}
}
