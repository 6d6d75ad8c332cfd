package residual

import (
	"context"
	"errors"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/synth"
)

// TestFitContext checks that a cancelled context stops the held-out
// assignment with context.Canceled, and that a live one fits the same
// codec as Fit.
func TestFitContext(t *testing.T) {
	const dim = 32
	cent := synth.Random(16, dim, 1)
	held := synth.Random(500, dim, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := FitContext(ctx, cent, dim, 2, held, 2); !errors.Is(err, context.Canceled) || c != nil {
		t.Fatalf("cancelled: codec %v, error %v; want context.Canceled", c != nil, err)
	}
	a, err := FitContext(context.Background(), cent, dim, 2, append([]float32(nil), held...), 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(cent, dim, 2, append([]float32(nil), held...), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Cutoffs {
		if a.Cutoffs[i] != b.Cutoffs[i] {
			t.Fatalf("cutoff %d: %g vs %g", i, a.Cutoffs[i], b.Cutoffs[i])
		}
	}
	for i := range a.Weights {
		if a.Weights[i] != b.Weights[i] {
			t.Fatalf("weight %d: %g vs %g", i, a.Weights[i], b.Weights[i])
		}
	}
}
