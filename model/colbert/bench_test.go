package colbert_test

import (
	"context"
	"testing"

	"github.com/colbert-go/colbert/model/colbert"
)

// BenchmarkSourceEmbed measures collection encoding through the index
// Source (hf-tiny checkpoint, Cranfield passages, batches of 64 as
// index.Build calls it), in indexed tokens per second.
func BenchmarkSourceEmbed(b *testing.B) {
	m, ps, _ := setup(b)
	ctx := context.Background()
	src, err := colbert.NewSource(ctx, m, ps[:64], colbert.SourceOptions{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	tokens := src.NumTokens()
	b.ResetTimer()
	for b.Loop() {
		if _, err := src.Embed(ctx, 0, src.Len()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
