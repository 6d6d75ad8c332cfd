package train

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// BenchmarkCrossEncoderStep is one optimizer step of the demo teacher (2
// layers, hidden 128, vocabulary 4 825, nway 4 × batch 16, pairs of 128
// tokens) with loss ce and with loss mlm (batch × nway masked pairs): the
// MLM head and its vocabulary-wide softmax are the difference.
func BenchmarkCrossEncoderStep(b *testing.B) {
	const vocab = 4825
	encode.SetBLASThreads(1) // as the colbert binary: the parallelism is the graph's
	words := []string{"[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	for len(words) < vocab {
		words = append(words, fmt.Sprintf("w%d", len(words)))
	}
	vp := filepath.Join(b.TempDir(), "vocab.txt")
	if err := os.WriteFile(vp, []byte(strings.Join(words, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	tok, err := tokenize.FromVocab(vp, true)
	if err != nil {
		b.Fatal(err)
	}
	enc, err := tokenize.NewColBERT(tok, tokenize.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	text := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = words[7+r.IntN(vocab-7)]
		}
		return strings.Join(w, " ")
	}
	d := &Data{Queries: map[string][]int32{}, Docs: map[string][]int32{}, QueryText: map[string]string{}, DocText: map[string]string{}}
	for i := 0; i < 200; i++ {
		q := fmt.Sprintf("q%d", i)
		d.Queries[q], d.QueryText[q] = nil, text(10)
		ex := data.Example{QueryID: q}
		for j := 0; j < 5; j++ {
			id := fmt.Sprintf("d%d.%d", i, j)
			d.Docs[id], d.DocText[id] = nil, text(60+r.IntN(80))
			ex.DocIDs = append(ex.DocIDs, id)
		}
		d.Examples = append(d.Examples, ex)
	}
	for _, loss := range []string{LossCE, LossMLM} {
		b.Run(loss, func(b *testing.B) {
			bc := model.SmallConfig(vocab)
			ck, err := model.NewCheckpoint(bc, model.KindCrossEncoder, model.DefaultColBERTConfig(), 1)
			if err != nil {
				b.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.ModelKind, cfg.Loss, cfg.OutDir = string(model.KindCrossEncoder), loss, b.TempDir()
			cfg.NWay, cfg.BatchSize, cfg.PairMaxLen, cfg.SampleNegatives = 4, 16, 128, true
			cfg.Steps, cfg.WarmupSteps, cfg.LR = 1<<30, 0, 5e-4
			tr, err := New(cfg, ck, enc, d)
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tr.Step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
