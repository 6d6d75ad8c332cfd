//go:build unix

package distill

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/colbert-go/colbert/model/ort"
)

// benchPairs: 256 real Cranfield (query, abstract) pairs, varied lengths.
func benchPairs(b *testing.B) (qs, ps []string) {
	ds, err := data.LoadBEIR(testassets.Path(b, "classic/cranfield"), "test")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 256; i++ {
		qs = append(qs, ds.Queries[i%len(ds.Queries)].Text)
		ps = append(ps, ds.Corpus[(i*37)%len(ds.Corpus)].Content())
	}
	return qs, ps
}

// BenchmarkTeacherScoring: pairs/s of the hf-tiny cross-encoder through ORT
// (1 intra-op thread) with length bucketing, without, and one pair at a
// time, for long (≤256 tokens) and short (≤64) pairs.
func BenchmarkTeacherScoring(b *testing.B) {
	qs, ps := benchPairs(b)
	for _, maxLen := range []int{256, 64} {
		ce, tok, pad := tinyTeacher(b, maxLen)
		for _, c := range []struct {
			name string
			opt  PairOptions
		}{
			{"bucketed-b32", PairOptions{BatchSize: 32, Bucket: true, PadID: pad}},
			{"bucketed-b32-workers2", PairOptions{BatchSize: 32, Bucket: true, PadID: pad, Workers: 2}},
			{"unbucketed-b32", PairOptions{BatchSize: 32, PadID: pad}},
			{"bucketed-b8", PairOptions{BatchSize: 8, Bucket: true, PadID: pad}},
			{"bucketed-b32-tok2048", PairOptions{BatchSize: 32, MaxTokens: 2048, Bucket: true, PadID: pad}},
			{"batch1", PairOptions{BatchSize: 1, PadID: pad}},
		} {
			b.Run(fmt.Sprintf("maxlen%d/%s", maxLen, c.name), func(b *testing.B) {
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					if _, err := ScorePairs(context.Background(), qs, ps, tok, ce, c.opt, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(qs)*b.N)/b.Elapsed().Seconds(), "pairs/s")
				b.ReportMetric(float64(len(qs)*b.N)/(cpuTime()-cpu0).Seconds(), "pairs/cpu-s")
			})
		}
	}
}

// BenchmarkForward: one padded batch of 32 pairs through the exported
// hf-tiny cross-encoder in ORT vs the Go forward pass (model/encode) of
// the same weights, single-threaded and with 2 threads.
func BenchmarkForward(b *testing.B) {
	r := sharedRuntime(b)
	ck, err := model.LoadCheckpoint(testassets.Path(b, "models/hf-tiny/cross-encoder"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "ce.onnx")
	if err := onnx.WriteFile(path, ck.Config, ck.Params, onnx.CrossEncoder); err != nil {
		b.Fatal(err)
	}
	_, tok, pad := tinyTeacher(b, 256)
	qs, ps := benchPairs(b)
	ids, types := make([][]int32, 32), make([][]int32, 32)
	rows := make([]int, 32)
	for i := range rows {
		rows[i] = i
		ids[i], types[i] = tok(qs[i], ps[i])
	}
	batch := padBatch(rows, ids, types, pad)
	tokens := 0
	for _, m := range batch.AttentionMask {
		tokens += int(m)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("ort-threads%d", threads), func(b *testing.B) {
			sess, err := r.NewCrossEncoder(path, ort.Options{IntraOpThreads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer sess.Close()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := sess.Score(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(tokens*b.N)/(cpuTime()-cpu0).Seconds(), "tokens/cpu-s")
		})
		b.Run(fmt.Sprintf("go-threads%d", threads), func(b *testing.B) {
			ge, err := encode.NewCrossEncoder(ck, encode.Options{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			eb := encode.Batch{N: batch.N, Len: batch.Len, IDs: batch.IDs, AttentionMask: batch.AttentionMask, TokenTypeIDs: batch.TokenTypeIDs}
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := ge.Logits(context.Background(), eb); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(tokens*b.N)/(cpuTime()-cpu0).Seconds(), "tokens/cpu-s")
		})
	}
}

// cpuTime is the process's user+system CPU time (ORT's threads included):
// on a shared machine it measures work done rather than waiting.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEncodeDocs: the hf-tiny ColBERT encoder on the 24 reference
// documents (≤180 tokens) through ORT (exported by model/onnx) vs the Go
// forward pass, one thread each.
func BenchmarkEncodeDocs(b *testing.B) {
	r := sharedRuntime(b)
	ck, err := model.LoadCheckpoint(testassets.Path(b, "models/hf-tiny/colbert"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "colbert.onnx")
	if err := onnx.WriteFile(path, ck.Config, ck.Params, onnx.ColBERT); err != nil {
		b.Fatal(err)
	}
	ref, err := safetensors.ReadFile(testassets.Path(b, "models/hf-tiny/reference.safetensors"))
	if err != nil {
		b.Fatal(err)
	}
	ids := ref.Tensors["doc_input_ids"]
	n, l := ids.Shape[0], ids.Shape[1]
	narrow := func(x []int64) []int32 {
		y := make([]int32, len(x))
		for i, v := range x {
			y[i] = int32(v)
		}
		return y
	}
	batch := ort.Batch{N: n, Len: l, IDs: narrow(ids.I64), AttentionMask: narrow(ref.Tensors["doc_attention_mask"].I64)}
	tokens := 0
	for _, m := range batch.AttentionMask {
		tokens += int(m)
	}
	b.Run("ort", func(b *testing.B) {
		enc, err := r.NewEncoder(path, ort.Options{IntraOpThreads: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer enc.Close()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if _, err := enc.Encode(batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
		b.ReportMetric(float64(tokens*b.N)/(cpuTime()-cpu0).Seconds(), "tokens/cpu-s")
	})
	b.Run("go", func(b *testing.B) {
		enc, err := encode.NewColBERT(ck, encode.Options{Threads: 1})
		if err != nil {
			b.Fatal(err)
		}
		eb := encode.Batch{N: n, Len: l, IDs: batch.IDs, AttentionMask: batch.AttentionMask}
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if _, err := enc.EncodeDocs(context.Background(), eb); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
		b.ReportMetric(float64(tokens*b.N)/(cpuTime()-cpu0).Seconds(), "tokens/cpu-s")
	})
}
