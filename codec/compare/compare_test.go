package compare_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/codec/compare"
	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/codec/internal/synth"
	"github.com/colbert-go/colbert/codec/pcaq"
	"github.com/colbert-go/colbert/codec/residual"
)

const dim = 128

// corpus is a clustered synthetic collection with queries drawn around the
// same centres, plus a training sample for the codecs.
type corpus struct {
	train, docs, queries []float32
	doclens              []int
}

func makeCorpus(ndocs, qn int, seed uint64) corpus {
	centres := synth.Random(256, dim, seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	var c corpus
	total := 0
	for i := 0; i < ndocs; i++ {
		l := 10 + rng.IntN(50)
		c.doclens = append(c.doclens, l)
		total += l
	}
	c.docs, _ = synth.Around(centres, dim, total, 0.8, seed+1)
	c.train, _ = synth.Around(centres, dim, 8000, 0.8, seed+2)
	c.queries, _ = synth.Around(centres, dim, qn*32, 0.8, seed+3)
	return c
}

func codecs(t testing.TB, c corpus) []compare.VectorCodec {
	out := []compare.VectorCodec{flat.FP32{Dim: dim}, flat.FP16{Dim: dim}}
	for _, nb := range []int{1, 2, 4} {
		// Train reorders its sample; every precision gets the same one
		// (and so the same centroids).
		rc, _, err := residual.Train(context.Background(), slices.Clone(c.train), dim, residual.TrainOptions{NBits: nb, K: 256, Iters: 6, Seed: 123})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rc)
	}
	for _, comp := range []int{32, 64} {
		p, err := pcaq.Fit(c.train, dim, comp)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestCodecComparison checks the expected ordering of the codecs on a
// clustered collection: sizes as designed, fp32 exact, fp16 near-exact,
// residual error falling with bits.
func TestCodecComparison(t *testing.T) {
	c := makeCorpus(100, 8, 1)
	got := map[string]compare.Quality{}
	for _, vc := range codecs(t, c) {
		q, err := compare.Evaluate(vc, dim, c.docs, c.doclens, c.queries, 32)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(q)
		got[q.Codec] = q
	}
	wantBytes := map[string]int{"fp32": 512, "fp16": 256, "residual-1bit": 20, "residual-2bit": 36, "residual-4bit": 68, "pca32-int8": 32, "pca64-int8": 64}
	for name, b := range wantBytes {
		if got[name].BytesPerVector != b {
			t.Errorf("%s: %d bytes/vector, want %d", name, got[name].BytesPerVector, b)
		}
	}
	if got["fp32"].MSE != 0 || got["fp32"].Top10 != 1 {
		t.Errorf("fp32 not exact: %v", got["fp32"])
	}
	if got["fp16"].MSE > 1e-6 || got["fp16"].MaxSimRelErr > 1e-3 {
		t.Errorf("fp16 error too large: %v", got["fp16"])
	}
	r1, r2, r4 := got["residual-1bit"], got["residual-2bit"], got["residual-4bit"]
	if !(r4.MSE < r2.MSE && r2.MSE < r1.MSE) || !(r4.MaxSimRelErr < r2.MaxSimRelErr && r2.MaxSimRelErr < r1.MaxSimRelErr) {
		t.Errorf("residual errors not monotone in bits: %v / %v / %v", r1, r2, r4)
	}
	if got["pca64-int8"].MSE >= got["pca32-int8"].MSE {
		t.Errorf("PCA with more components is not more accurate")
	}
	if r2.Top10 < 0.7 {
		t.Errorf("2-bit residuals keep only %.2f of the top 10", r2.Top10)
	}
}

// BenchmarkCodecs reports bytes/token and quality per codec (run with
// -benchtime 1x; the timing is encode+decode+scoring and is not the point).
func BenchmarkCodecs(b *testing.B) {
	c := makeCorpus(400, 32, 7)
	for _, vc := range codecs(b, c) {
		b.Run(vc.Name(), func(b *testing.B) {
			var q compare.Quality
			for i := 0; i < b.N; i++ {
				var err error
				if q, err = compare.Evaluate(vc, dim, c.docs, c.doclens, c.queries, 32); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(q.BytesPerVector), "B/token")
			b.ReportMetric(q.MSE, "mse")
			b.ReportMetric(q.MaxSimRelErr, "maxsim-relerr")
			b.ReportMetric(q.Top10, "top10-agree")
		})
	}
}
