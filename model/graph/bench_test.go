package graph

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// BenchmarkTrainStep is one forward+backward of the KL distillation loss on
// the small config (2 layers, hidden 128, vocab 30522): 8 queries × 32
// tokens, nway 4 → 32 documents × 180 tokens. The PyTorch peer with the same
// shapes is experiments/peers/train_step_bench.py.
func BenchmarkTrainStep(b *testing.B) {
	const B, nway, lq, ld = 8, 4, 32, 180
	cfg := model.SmallConfig(30522)
	col := model.DefaultColBERTConfig()
	ck, err := model.NewCheckpoint(cfg, model.KindColBERT, col, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	tokens := func(n, l int) Tokens {
		t := Tokens{B: n, L: l, IDs: make([]int, n*l), Mask: make([]float32, n*l)}
		for i := range t.IDs {
			t.IDs[i] = 1000 + r.IntN(29000)
			t.Mask[i] = 1
		}
		return t
	}
	q, d := tokens(B, lq), tokens(B*nway, ld)
	for i := 0; i < B; i++ { // [MASK] padding of queries is not attended
		for j := 20; j < lq; j++ {
			q.Mask[i*lq+j] = 0
		}
	}
	vmask := make([]float32, B*nway*ld)
	for i := range vmask {
		vmask[i] = 1
	}
	cand := make([][]int, B)
	teacher := make([]float32, B*nway)
	for i := range cand {
		for j := 0; j < nway; j++ {
			cand[i] = append(cand[i], i*nway+j)
			teacher[i*nway+j] = float32(r.NormFloat64())
		}
	}
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		g := New(cfg, ck.Params)
		s := g.MaxSim(g.ColBERT(g.Encode(q)), g.ColBERT(g.Encode(d)), vmask, cand)
		if _, err := g.Backward(g.KLLoss(s, teacher, 1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(B*nway*ld+B*lq)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	// Process CPU time per step: comparable with the peer's on a busy machine.
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
