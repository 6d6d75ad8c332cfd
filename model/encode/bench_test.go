package encode_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// benchColBERT is a random SmallConfig ColBERT model (same shapes as the
// PyTorch peer experiments/peers/encode_bench.py).
func benchColBERT(b *testing.B, threads int) *encode.ColBERT {
	b.Helper()
	encode.SetBLASThreads(1) // parallelism is ours (Options.Threads)
	col := model.DefaultColBERTConfig()
	ck, err := model.NewCheckpoint(model.SmallConfig(30522), model.KindColBERT, col, 1)
	if err != nil {
		b.Fatal(err)
	}
	c, err := encode.NewColBERT(ck, encode.Options{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// report adds tokens/s (wall clock) and cpu-tokens/s (tokens per second
// of process CPU time; with threads=1 this is the single-core speed even
// when other jobs share the machine).
func report(b *testing.B, tokens int, cpu time.Duration) {
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	if cpu > 0 {
		b.ReportMetric(float64(tokens)/cpu.Seconds(), "cpu-tokens/s")
	}
}

// randomBatch is n sequences of exactly length L (all attended).
func randomBatch(n, L int, seed uint64) encode.Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	bt := encode.Batch{N: n, Len: L, IDs: make([]int32, n*L), AttentionMask: make([]int32, n*L), VectorMask: make([]int32, n*L)}
	for i := range bt.IDs {
		bt.IDs[i] = int32(1000 + r.IntN(28000))
		bt.AttentionMask[i] = 1
		bt.VectorMask[i] = 1
	}
	return bt
}

// BenchmarkEncodeDocs measures document encoding throughput (tokens/s) for
// 64 documents of 180 tokens, the ColBERTv2 doc_maxlen.
func BenchmarkEncodeDocs(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/threads=%d", encode.BLASName, threads), func(b *testing.B) {
			c := benchColBERT(b, threads)
			bt := randomBatch(64, 180, 2)
			ctx := context.Background()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := c.EncodeDocs(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			report(b, b.N*bt.N*bt.Len, cpuTime()-cpu0)
		})
	}
}

// BenchmarkEncodeQueries measures query encoding (64 queries × 32 tokens).
func BenchmarkEncodeQueries(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/threads=%d", encode.BLASName, threads), func(b *testing.B) {
			c := benchColBERT(b, threads)
			bt := randomBatch(64, 32, 3)
			ctx := context.Background()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := c.EncodeQueries(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			report(b, b.N*bt.N*bt.Len, cpuTime()-cpu0)
		})
	}
}

// BenchmarkCrossEncoder measures re-ranking throughput: 64 (query,
// passage) pairs of 256 tokens through a SmallConfig cross-encoder.
func BenchmarkCrossEncoder(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/threads=%d", encode.BLASName, threads), func(b *testing.B) {
			encode.SetBLASThreads(1)
			ck, err := model.NewCheckpoint(model.SmallConfig(30522), model.KindCrossEncoder, model.ColBERTConfig{}, 1)
			if err != nil {
				b.Fatal(err)
			}
			ce, err := encode.NewCrossEncoder(ck, encode.Options{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			bt := randomBatch(64, 256, 4)
			ctx := context.Background()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := ce.Score(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			report(b, b.N*bt.N*bt.Len, cpuTime()-cpu0)
			b.ReportMetric(float64(b.N*bt.N)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}

// BenchmarkEncodeOneQuery is the search-time latency of encoding a single
// 32-token query.
func BenchmarkEncodeOneQuery(b *testing.B) {
	c := benchColBERT(b, 1)
	bt := randomBatch(1, 32, 5)
	for i := 10; i < 32; i++ { // [MASK] padding after 10 real tokens
		bt.IDs[i], bt.AttentionMask[i] = 103, 0
	}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := c.EncodeQueries(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/query")
	}
}

// mixedLengths is the document length distribution shared with the PyTorch
// peer (--mixed): 256 documents of 20…180 tokens.
func mixedLengths() []int {
	l := make([]int, 256)
	for i := range l {
		l[i] = 20 + (i*37)%161
	}
	return l
}

// BenchmarkEncodeMixedDocs encodes documents of mixed lengths (tokens/s
// counts real tokens): packing without padding is where the engine gains
// over padded batches.
func BenchmarkEncodeMixedDocs(b *testing.B) {
	c := benchColBERT(b, 1)
	lens := mixedLengths()
	bt := randomBatch(len(lens), 180, 6)
	tokens := 0
	for i, n := range lens {
		tokens += n
		for j := n; j < 180; j++ {
			bt.IDs[i*180+j], bt.AttentionMask[i*180+j], bt.VectorMask[i*180+j] = 0, 0, 0
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := c.EncodeDocs(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	report(b, b.N*tokens, cpuTime()-cpu0)
}
