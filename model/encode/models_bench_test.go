package encode

// Inside the package: these reach SPLADE's logits block size, which no
// option exposes (it only bounds memory).

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// spladeBatch is n sequences of random lengths up to L over vocab, with a
// masked position inside some of them (only attended rows may count).
func spladeBatch(n, L, vocab int, seed uint64) Batch {
	r := rand.New(rand.NewPCG(seed, 7))
	b := Batch{N: n, Len: L, IDs: make([]int32, n*L), AttentionMask: make([]int32, n*L)}
	for i := 0; i < n; i++ {
		ln := 1 + r.IntN(L)
		for j := 0; j < ln; j++ {
			b.IDs[i*L+j] = int32(r.IntN(vocab))
			b.AttentionMask[i*L+j] = 1
		}
		if ln > 2 && i%2 == 0 {
			b.AttentionMask[i*L+1] = 0
		}
	}
	return b
}

// The vocabulary logits are computed in blocks of rows that cross sequence
// boundaries, and a long sequence spans several blocks; the maxima must be
// those of one block per batch.
func TestSPLADELogitBlocks(t *testing.T) {
	ck, err := model.LoadCheckpoint(filepath.Join("..", "testdata", "tiny-splade"))
	if err != nil {
		t.Fatal(err)
	}
	b := spladeBatch(9, 12, ck.Config.VocabSize, 3)
	ctx := context.Background()
	var ref []Sparse
	for _, rows := range []int{0, 1, 3, 7} {
		s, err := NewSPLADE(ck, Options{Threads: 1, BatchTokens: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if rows > 0 {
			s.blockRows = rows
		}
		got, err := s.Encode(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = got
			continue
		}
		for i := range got {
			if !sameSparse(got[i], ref[i], 1e-6) {
				t.Fatalf("block of %d rows: sequence %d is %v, one block gives %v", rows, i, got[i], ref[i])
			}
		}
	}
}

func sameSparse(a, b Sparse, tol float64) bool {
	if len(a.Terms) != len(b.Terms) || len(a.Weights) != len(b.Weights) {
		return false
	}
	for k := range a.Terms {
		if a.Terms[k] != b.Terms[k] || math.Abs(float64(a.Weights[k]-b.Weights[k])) > tol {
			return false
		}
	}
	return true
}

// BenchmarkSPLADE measures SPLADE document encoding (64 documents of 180
// tokens) on a random SmallConfig model with BERT's 30522-word vocabulary:
// the [rows, V] logits product dominates the small encoder.
func BenchmarkSPLADE(b *testing.B) {
	SetBLASThreads(1)
	ck, err := model.NewCheckpoint(model.SmallConfig(30522), model.KindSPLADE, model.DefaultColBERTConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSPLADE(ck, Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	bt := spladeBatch(64, 180, 30522, 2)
	for i := range bt.AttentionMask {
		bt.AttentionMask[i] = 1 // full length
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Encode(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*bt.N*bt.Len)/b.Elapsed().Seconds(), "tokens/s")
}
