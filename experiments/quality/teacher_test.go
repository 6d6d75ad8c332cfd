package quality

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/experiments/synth"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/colbert-go/colbert/model/ort"
	"github.com/colbert-go/colbert/train"
)

// TestTeacherEndToEnd runs the demo's teacher path on a miniature benchmark:
// TeacherEasyConfig (shrunk, tied query/key init) → TeacherConfig from its
// checkpoint → train →
// model.LoadCheckpoint reads it as a
// cross-encoder → ONNX export → ONNX Runtime logits equal the Go forward of
// both the in-memory and the reloaded model.
func TestTeacherEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench")
	b, err := synth.Generate(ctx, synth.Config{Seed: 3, Passages: 300, Train: 24, Dev: 8, Test: 8, NWay: 4, MineDepth: 20}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(bench); err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(b.Corpus))
	for i, p := range b.Corpus {
		texts[i] = p.Title + " " + p.Text
	}
	js, err := tokenize.TrainWordPiece(ctx, slices.Values(texts), tokenize.TrainOptions{VocabSize: VocabSize, MinFrequency: 2, Lowercase: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(tokPath, js, 0o644); err != nil {
		t.Fatal(err)
	}

	lists := filepath.Join(bench, CandidatesFile)
	shrink := func(c train.Config) train.Config {
		c.Layers, c.Hidden, c.PairMaxLen = 1, 64, 48
		c.NWay, c.BatchSize, c.Steps, c.WarmupSteps, c.SaveEvery = 4, 4, 3, 1, 0
		return c
	}
	easyCfg := shrink(TeacherEasyConfig(bench, tokPath, lists, filepath.Join(dir, "easy")))
	tr, err := train.Prepare(ctx, easyCfg, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// From scratch, position and token-type embeddings start at
	// position_init_scale of the word embeddings' spread.
	rms := func(name string) float64 {
		var s float64
		d := tr.Ckpt.Params[name].Data
		for _, v := range d {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / float64(len(d)))
	}
	for _, name := range []string{"embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight"} {
		if r := rms(name) / rms("embeddings.word_embeddings.weight"); math.Abs(r-easyCfg.PositionInitScale) > 0.3*easyCfg.PositionInitScale {
			t.Errorf("%s: rms %.3g of the word embeddings', want position_init_scale %g", name, r, easyCfg.PositionInitScale)
		}
	}
	// Mimetic init: the first stage's attention keys start as its queries.
	if !slices.Equal(tr.Ckpt.Params["encoder.layer.0.attention.self.query.weight"].Data, tr.Ckpt.Params["encoder.layer.0.attention.self.key.weight"].Data) {
		t.Error("qk_tie_init is set but the key weights differ from the query weights")
	}
	if err := tr.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	easyDir := tr.CheckpointDir(easyCfg.Steps)
	cfg := shrink(TeacherConfig(bench, tokPath, lists, easyDir, filepath.Join(dir, "teacher")))
	if tr, err = train.Prepare(ctx, cfg, 1, nil); err != nil {
		t.Fatal(err)
	}
	easyCk, err := model.LoadCheckpoint(easyDir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.Ckpt.Params["encoder.layer.0.attention.self.query.weight"].Data, easyCk.Params["encoder.layer.0.attention.self.query.weight"].Data) {
		t.Error("the teacher does not start from the easy stage's encoder")
	}
	if err := tr.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := model.LoadCheckpoint(tr.CheckpointDir(cfg.Steps))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != model.KindCrossEncoder {
		t.Fatalf("reloaded teacher is a %s model, want cross-encoder", ck.Kind)
	}

	tok, err := tokenize.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	var qs, ps []string
	for i := 0; i < 6; i++ {
		qs = append(qs, b.Queries[i].Text)
		ps = append(ps, b.Corpus[i*7].Title+" "+b.Corpus[i*7].Text)
	}
	pairs, err := tok.EncodePairs(qs, ps, cfg.PairMaxLen)
	if err != nil {
		t.Fatal(err)
	}
	goLogits := func(c *model.Checkpoint) []float32 {
		ce, err := encode.NewCrossEncoder(c, encode.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		l, err := ce.Logits(ctx, encode.FromTokenize(pairs))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	trained, reloaded := goLogits(tr.Ckpt), goLogits(ck)
	if d := maxAbsDiff(trained, reloaded); d != 0 {
		t.Errorf("save → load changed the Go logits: max abs diff %.3g", d)
	}

	rt, err := ort.NewRuntime("")
	if err != nil {
		t.Skipf("ONNX Runtime library not available (run make setup): %v", err)
	}
	path := filepath.Join(dir, "teacher.onnx")
	if err := onnx.WriteFile(path, ck.Config, ck.Params, onnx.CrossEncoder); err != nil {
		t.Fatal(err)
	}
	sess, err := rt.NewCrossEncoder(path, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("exported teacher refused by the scorer: %v", err)
	}
	defer sess.Close()
	got, err := sess.Score(ort.Batch{N: pairs.N, Len: pairs.Len, IDs: pairs.IDs, AttentionMask: pairs.AttentionMask, TokenTypeIDs: pairs.TokenTypeIDs})
	if err != nil {
		t.Fatal(err)
	}
	d := maxAbsDiff(got, reloaded)
	t.Logf("trained teacher: ONNX Runtime vs Go logits, max abs diff %.3g (logits %v)", d, got)
	if len(got) != len(reloaded) || d > 1e-4 {
		t.Errorf("ONNX Runtime logits %v differ from the Go forward %v (max abs diff %.3g)", got, reloaded, d)
	}
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}
