package bm25_test

import (
	"context"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/experiments/synth"
)

var (
	benchOnce sync.Once
	bench     *synth.Benchmark
)

func synthBench(b *testing.B) *synth.Benchmark {
	benchOnce.Do(func() {
		var err error
		if bench, err = synth.Generate(context.Background(), synth.DefaultConfig(), 2, nil); err != nil {
			panic(err)
		}
	})
	return bench
}

// BenchmarkIndexSynth indexes the built-in benchmark's 20,000 passages on 2
// threads.
func BenchmarkIndexSynth(b *testing.B) {
	sb := synthBench(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bm25.Build(context.Background(), sb.Corpus, bm25.DefaultParams(), 2, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(sb.Corpus)*b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkSearchSynth runs the 4,000 train queries, top 1000, on 2 threads.
func BenchmarkSearchSynth(b *testing.B) {
	sb := synthBench(b)
	ix, err := bm25.Build(context.Background(), sb.Corpus, bm25.DefaultParams(), 2, nil)
	if err != nil {
		b.Fatal(err)
	}
	qs := sb.SplitQueries("train")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ix.SearchAll(context.Background(), qs, 1000, 2, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(qs)*b.N)/b.Elapsed().Seconds(), "queries/s")
}
