package train

import (
	"math"
	"strings"
	"testing"
)

// TestLabelCEAddsTheListCrossEntropy checks that label_ce w makes the KL
// step's loss KL + w·CE, where KL and CE are what loss kl and loss ce give
// on the same first batch from the same model.
func TestLabelCEAddsTheListCrossEntropy(t *testing.T) {
	first := func(loss string, w float64) float64 {
		f := newFixture(t, 9)
		cfg := tinyConfig(t.TempDir())
		cfg.Loss, cfg.LabelCE, cfg.InBatchNegatives, cfg.AccumSteps = loss, w, false, 1
		tr, err := New(cfg, f.ck, f.enc, f.data)
		if err != nil {
			t.Fatal(err)
		}
		m, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		return m.Loss
	}
	kl, ce := first(LossKL, 0), first(LossCE, 0)
	got := first(LossKL, 0.5)
	if want := kl + 0.5*ce; math.Abs(got-want) > 1e-5 {
		t.Fatalf("label_ce 0.5: loss %.6f, want KL %.6f + 0.5 × CE %.6f = %.6f", got, kl, ce, want)
	}
	bad := tinyConfig(t.TempDir())
	bad.Loss, bad.LabelCE = LossCE, 1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "label_ce") {
		t.Errorf("label_ce with loss ce: want an error naming label_ce, got %v", err)
	}
}
