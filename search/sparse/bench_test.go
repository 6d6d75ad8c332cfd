package sparse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/colbert-go/colbert/codec/sparse"
)

// The benchmark collection: 100k passages of 100…150 distinct terms over a
// 30k vocabulary, term ids Zipf-distributed (s = 1.1: the most frequent
// terms are in nearly every passage), weights IDF-like times a log-normal
// spread (gen.weight), and 200 queries of 20…40 terms drawn from the same
// distribution (so they include the long lists of the frequent terms).
const (
	benchPassages = 100_000
	benchVocab    = 30_000
	benchQueries  = 200
)

// benchData is one benchmark collection, built once per process.
type benchData struct {
	once    sync.Once
	dir     string
	ix      *sparse.Index
	queries []sparse.Vector
	err     error
}

// Three weight spreads (gen.spread, the σ of the log-normal factor): 0.6,
// heavy-tailed (a frequent term's largest weight is ~10× its median: loose
// bounds), 0.3, and 0.1 (weights close to an IDF-like function of the
// term, where bounds are tight).
var benches = map[string]*benchData{"spread=0.6": {}, "spread=0.3": {}, "spread=0.1": {}}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, bench := range benches {
		if bench.ix != nil {
			bench.ix.Close()
		}
		if bench.dir != "" {
			os.RemoveAll(bench.dir)
		}
	}
	os.Exit(code)
}

func benchIndex(b *testing.B, name string, spread float64) (*sparse.Index, []sparse.Vector) {
	bench := benches[name]
	bench.once.Do(func() {
		g := newGen(2024, benchVocab, 1.1, false)
		g.spread = spread
		src := g.collection(benchPassages, 100, 150, "b")
		for i := 0; i < benchQueries; i++ {
			bench.queries = append(bench.queries, g.vector(20+g.rng.IntN(21)))
		}
		if bench.dir, bench.err = os.MkdirTemp("", "colbert-sparse-bench"); bench.err != nil {
			return
		}
		dir := filepath.Join(bench.dir, "idx")
		if _, bench.err = sparse.Build(context.Background(), dir, src, sparse.BuildOptions{VocabSize: benchVocab}, nil); bench.err != nil {
			return
		}
		bench.ix, bench.err = sparse.Open(dir, sparse.OpenOptions{})
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.ix, bench.queries
}

// Figures (go test -run XXX -bench 'Sparse/.*/vs' -benchtime 3x
// ./search/sparse/; AMD EPYC, 2 cores shared with other jobs; index 633.6
// B/passage), pruned vs exhaustive µs/query, speedup, postings read:
//
//	spread 0.6  k=10   8906 vs 2426  0.27×  37%    k=100  10482 vs 2303  0.22×  52%
//	spread 0.3  k=10   6638 vs 1787  0.27×  28%    k=100  11776 vs 2349  0.20×  39%
//	spread 0.1  k=10   5240 vs 2528  0.48×  13%    k=100   6909 vs 2337  0.34×  21%
//
// The 10× target is not met: pruning skips postings, but on these i.i.d.
// passages the per-candidate probes cost more than the tight exhaustive
// accumulation loop saves (see the report of issue 19).
//
// BenchmarkSparse times Search and Exhaustive over the same queries at
// k = 10 and 100 (ns/op is per query). The "vs" sub-benchmark runs both on
// every query, checks the top k are identical, and reports each one's
// µs/query, the speedup (exhaustive/pruned), the fraction of postings the
// pruned search reads, and the index's bytes per passage.
func BenchmarkSparse(b *testing.B) {
	for _, spread := range []float64{0.6, 0.3, 0.1} {
		name := fmt.Sprintf("spread=%.1f", spread)
		b.Run(name, func(b *testing.B) { benchSparse(b, name, spread) })
	}
}

func benchSparse(b *testing.B, name string, spread float64) {
	ix, queries := benchIndex(b, name, spread)
	st := ix.Stats()
	for _, k := range []int{10, 100} {
		b.Run(fmt.Sprintf("k=%d/pruned", k), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := Search(ix, queries[i%len(queries)], k, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("k=%d/exhaustive", k), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := Exhaustive(ix, queries[i%len(queries)], k, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("k=%d/vs", k), func(b *testing.B) {
			var tp, te time.Duration
			var trp, tre Trace
			n := 0
			for b.Loop() {
				for _, q := range queries {
					t0 := time.Now()
					p, err := Search(ix, q, k, Options{Trace: &trp})
					t1 := time.Now()
					e, err2 := Exhaustive(ix, q, k, Options{Trace: &tre})
					te += time.Since(t1)
					tp += t1.Sub(t0)
					if err != nil || err2 != nil {
						b.Fatal(err, err2)
					}
					if len(p) != len(e) {
						b.Fatalf("pruned %d hits, exhaustive %d", len(p), len(e))
					}
					for i := range p {
						if p[i] != e[i] {
							b.Fatalf("hit %d: pruned %+v, exhaustive %+v", i, p[i], e[i])
						}
					}
					n++
				}
			}
			b.ReportMetric(float64(tp.Microseconds())/float64(n), "pruned-µs/query")
			b.ReportMetric(float64(te.Microseconds())/float64(n), "exhaustive-µs/query")
			b.ReportMetric(float64(te)/float64(tp), "speedup")
			b.ReportMetric(float64(trp.Postings)/float64(tre.Postings), "postings-read-frac")
			b.ReportMetric(st.BytesPerPassage, "B/passage")
		})
	}
}
