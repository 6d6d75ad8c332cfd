package colbert_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/ort"
)

// Both encoders give the same query and passage vectors (within the parity
// tolerance both keep against the transformers references, 1e-4); "auto"
// keeps the small hf-tiny model (hidden 128) on Go; an unknown encoder is
// refused.
func TestEncoders(t *testing.T) {
	gm, ps, qs := setup(t)
	defer gm.Close()
	ckdir := testassets.Path(t, "models/hf-tiny/colbert")
	if _, err := colbert.LoadWith(ckdir, "", colbert.Options{Encoder: "tpu"}); err == nil || !strings.Contains(err.Error(), `"tpu"`) {
		t.Errorf("unknown encoder: %v", err)
	}
	auto, err := colbert.LoadWith(ckdir, "", colbert.Options{Encode: encode.Options{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer auto.Close()
	if gm.Encoder != colbert.EncoderGo || auto.Encoder != colbert.EncoderGo {
		t.Errorf("encoders: Load %q, auto %q; want go for a hidden-128 model", gm.Encoder, auto.Encoder)
	}
	// Passage encoding is counted: passages, kept vectors, time.
	ctx := context.Background()
	src, err := colbert.NewSource(ctx, auto, ps[:30], colbert.SourceOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	before := auto.PassageStats()
	if _, err := src.Embed(ctx, 0, 30); err != nil {
		t.Fatal(err)
	}
	st := auto.PassageStats().Sub(before)
	if st.Passages != 30 || st.Vectors != src.NumTokens() || st.Time <= 0 || st.TokensPerSecond() <= 0 {
		t.Errorf("passage stats after 30 passages (%d vectors): %+v", src.NumTokens(), st)
	}
	if _, err := ort.FindLibrary(""); err != nil {
		t.Skipf("ONNX Runtime library not available (run make setup): %v", err)
	}
	om, err := colbert.LoadWith(ckdir, "", colbert.Options{Encode: encode.Options{Threads: 2}, Encoder: colbert.EncoderORT})
	if err != nil {
		t.Fatal(err)
	}
	defer om.Close()
	if om.Encoder != colbert.EncoderORT || om.Key != gm.Key || om.Dim() != gm.Dim() {
		t.Fatalf("ort model: encoder %q, key %s (go %s), dim %d (go %d)", om.Encoder, om.Key, gm.Key, om.Dim(), gm.Dim())
	}
	diff := func(what string, a, b []float32) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: %d values vs %d", what, len(a), len(b))
		}
		var d float64
		for i := range a {
			d = max(d, math.Abs(float64(a[i]-b[i])))
		}
		if d > 1e-4 {
			t.Errorf("%s: go and ort differ by %.3g > 1e-4", what, d)
		}
	}
	gq, err := gm.EncodeQueries(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	oq, err := om.EncodeQueries(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range qs {
		diff("query "+qs[i].ID, gq[i], oq[i])
	}
	var gp, op [][]float32
	for _, m := range []*colbert.Model{gm, om} {
		src, err := colbert.NewSource(ctx, m, ps[:60], colbert.SourceOptions{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		e, err := src.Embed(ctx, 0, src.Len())
		if err != nil {
			t.Fatal(err)
		}
		if m == gm {
			gp = e
		} else {
			op = e
		}
	}
	for i := range gp {
		diff("passage "+ps[i].ID, gp[i], op[i])
	}
}
