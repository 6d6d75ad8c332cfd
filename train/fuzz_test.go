package train

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseConfig: any accepted config survives Encode → Parse unchanged.
func FuzzParseConfig(f *testing.F) {
	def, _ := DefaultConfig().Encode()
	f.Add(def)
	f.Add([]byte("lr = 3e-4\nloss = \"contrastive\"\ntau = 0.05\nin_batch_negatives = true\n"))
	f.Add([]byte("steps = -1\n"))
	f.Add([]byte("seed = 18446744073709551615\nexamples = \"a b.parquet\"\n"))
	f.Add([]byte("[model]\ndim = 3\n"))
	f.Add([]byte("nway = \"8\"\n"))
	f.Add([]byte("loss = \"mlm\"\nmodel_kind = \"cross-encoder\"\nmlm_probability = 0.2\nmlm_negative_fraction = nan\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw, "fuzz")
		if err != nil {
			return
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("encode of parsed config: %v", err)
		}
		back, err := ParseConfig(enc, "re-encoded")
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(back, c) && !hasNaN(c) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, back)
		}
	})
}

func hasNaN(c Config) bool {
	for _, v := range []float64{c.LR, c.Tau, c.DistillationAlpha, c.WeightDecay, c.AdamBeta1, c.AdamBeta2, c.AdamEps, c.MaxGradNorm, c.MLMProbability, c.MLMNegativeFraction, c.PositionInitScale} {
		if v != v {
			return true
		}
	}
	return false
}

// FuzzReadMetrics: the metrics reader never panics, and what it accepts it
// reads back identically after truncateMetrics rewrites the file.
func FuzzReadMetrics(f *testing.F) {
	f.Add([]byte(`{"step":1,"loss":0.5,"lr":0.0001,"grad_norm":2,"examples_per_s":3,"step_s":1,"epoch":0.1}` + "\n"))
	f.Add([]byte(`{"step":2,"loss":0.4,"dev_ndcg10":0.3}` + "\n\n" + `{"step":3}`))
	f.Add([]byte("{\"step\":\n"))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := filepath.Join(t.TempDir(), "m.jsonl")
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		ms, err := ReadMetrics(p)
		if err != nil {
			return
		}
		if err := truncateMetrics(p, 1<<30); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		back, err := ReadMetrics(p)
		if err != nil || len(back) != len(ms) {
			t.Fatalf("rewritten metrics: %d lines (%v), had %d", len(back), err, len(ms))
		}
		a, _ := os.ReadFile(p)
		if err := truncateMetrics(p, 1<<30); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if !bytes.Equal(a, b) {
			t.Fatal("rewrite not idempotent")
		}
	})
}
