package train

import (
	"testing"

	"github.com/colbert-go/colbert/model"
)

// TestOtherKindsTrain trains SPLADE, the poly-encoder and MV-DPR on the
// tiny fixture with the same loop as ColBERT: the loss falls, SPLADE logs
// its non-zero counts, and the saved checkpoint loads back as its kind.
func TestOtherKindsTrain(t *testing.T) {
	for _, kind := range []model.Kind{model.KindSPLADE, model.KindPolyEncoder, model.KindMVDPR} {
		f := newFixture(t, 5)
		col := f.ck.ColBERT
		col.PolyM, col.MVK = 4, 3
		ck, err := model.NewCheckpoint(f.ck.Config, kind, col, 5)
		if err != nil {
			t.Fatal(err)
		}
		cfg := tinyConfig(t.TempDir())
		cfg.ModelKind, cfg.Loss, cfg.Steps, cfg.SaveEvery, cfg.LR = string(kind), LossCE, 30, 0, 3e-3
		cfg.PolyM, cfg.MVK = 4, 3
		cfg.FLOPSLambdaQ, cfg.FLOPSLambdaD, cfg.FLOPSWarmupSteps = 1e-3, 1e-3, 10
		tr, err := New(cfg, ck, f.enc, f.data)
		if err != nil {
			t.Fatal(err)
		}
		first, last := stepLosses(t, tr, 6, func(_ int, m Metrics) {
			if (m.QueryNNZ != nil) != (kind == model.KindSPLADE) {
				t.Fatalf("%s: query_nnz logged %v", kind, m.QueryNNZ != nil)
			}
			if m.QueryNNZ != nil && (*m.QueryNNZ <= 0 || *m.DocNNZ <= 0 || *m.DocNNZ > float64(ck.Config.VocabSize)) {
				t.Fatalf("%s: non-zero counts %v / %v", kind, *m.QueryNNZ, *m.DocNNZ)
			}
		})
		t.Logf("%s CE: %.4f → %.4f", kind, first, last)
		if !(last < 0.8*first) {
			t.Errorf("%s: loss did not decrease: %.4f → %.4f", kind, first, last)
		}
		if err := tr.Save(); err != nil {
			t.Fatal(err)
		}
		back, err := model.LoadCheckpoint(tr.CheckpointDir(tr.State.Step))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if back.Kind != kind || back.Hash() != tr.Ckpt.Hash() {
			t.Errorf("%s: saved checkpoint loads as %s (same weights %v)", kind, back.Kind, back.Hash() == tr.Ckpt.Hash())
		}
	}
}

func TestFLOPSWeightsWarmUpQuadratically(t *testing.T) {
	c := DefaultConfig()
	c.FLOPSLambdaQ, c.FLOPSLambdaD, c.FLOPSWarmupSteps = 4, 2, 4
	for step, want := range []float64{0.25, 1, 2.25, 4, 4} {
		q, d := c.FLOPSWeights(step)
		if q != want || d != want/2 {
			t.Errorf("step %d: %v %v, want %v %v", step, q, d, want, want/2)
		}
	}
}
