package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
)

// TestAdamWMatchesTorch compares three AdamW steps with torch.optim.AdamW
// (torch 1.13, lr 0.01, wd 0.01, eps 1e-8, default betas) and clipping with
// torch.nn.utils.clip_grad_norm_.
func TestAdamWMatchesTorch(t *testing.T) {
	p := model.Params{"w": {Shape: []int{3}, Data: []float32{0.5, -1, 2}}}
	o := NewAdamW(0.9, 0.999, 1e-8, 0.01)
	for _, g := range [][]float32{{0.1, -0.2, 0.3}, {-0.05, 0.4, 0}, {1, 1, -1}} {
		o.Update(p, model.Params{"w": {Shape: []int{3}, Data: g}}, 0.01)
	}
	want := []float64{0.4806117117404938, -1.000349521636963, 1.9873342514038086}
	for i, w := range want {
		if d := math.Abs(float64(p["w"].Data[i]) - w); d > 1e-6 {
			t.Errorf("param %d = %.9g, torch %.9g", i, p["w"].Data[i], w)
		}
	}
	g := model.Params{"g": {Shape: []int{2}, Data: []float32{3, 4}}}
	if n := ClipGradNorm(g, 2); math.Abs(n-5) > 1e-9 {
		t.Errorf("norm %g, want 5", n)
	}
	if d := math.Abs(float64(g["g"].Data[0])-1.2) + math.Abs(float64(g["g"].Data[1])-1.6); d > 1e-6 {
		t.Errorf("clipped %v, torch [1.2 1.6]", g["g"].Data)
	}
}

func TestLinearSchedule(t *testing.T) {
	for _, c := range []struct {
		s    int
		want float64
	}{{0, 0}, {5, 0.5}, {10, 1}, {55, 0.5}, {100, 0}, {120, 0}} {
		if got := LinearSchedule(c.s, 10, 100); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step %d: %g, want %g", c.s, got, c.want)
		}
	}
	if got := LinearSchedule(0, 0, 10); got != 1 {
		t.Errorf("no warmup: first step multiplier %g, want 1", got)
	}
}

func TestConfigTOML(t *testing.T) {
	dir := t.TempDir()
	c := DefaultConfig()
	c.OutDir, c.Loss, c.Tau, c.InBatchNegatives = "out", LossContrastive, 0.05, true
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "a.toml")
	os.WriteFile(p, b, 0o644)
	got, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Errorf("round trip changed the config:\n%+v\n%+v", got, c)
	}
	os.WriteFile(p, []byte("lr = 0.1\nlearning_rate = 3\n"), 0o644)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "learning_rate") {
		t.Errorf("unknown key not reported: %v", err)
	}
	bad := DefaultConfig()
	bad.OutDir, bad.Loss = "x", "mse"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "loss") {
		t.Errorf("bad loss not reported: %v", err)
	}
}

// fixture is a tiny ColBERT student and a synthetic retrieval task: each
// query shares words with its positive document.
type fixture struct {
	enc  *tokenize.ColBERT
	ck   *model.Checkpoint
	data *Data
}

func newFixture(t *testing.T, seed uint64) fixture { return newFixtureTask(t, seed, false) }

// newFixtureTask with paired: the positive holds, instead of the query's
// words, their partners (id+20), which a random model cannot match.
func newFixtureTask(t *testing.T, seed uint64, paired bool) fixture {
	t.Helper()
	dir := t.TempDir()
	vocab := []string{"[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."}
	for i := 0; i < 40; i++ {
		vocab = append(vocab, fmt.Sprintf("w%d", i))
	}
	vp := filepath.Join(dir, "vocab.txt")
	if err := os.WriteFile(vp, []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenize.FromVocab(vp, true)
	if err != nil {
		t.Fatal(err)
	}
	tc := tokenize.DefaultConfig()
	tc.QueryMaxLen, tc.DocMaxLen = 8, 12
	enc, err := tokenize.NewColBERT(tok, tc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.BertConfig{VocabSize: len(vocab), HiddenSize: 16, NumHiddenLayers: 1, NumAttentionHeads: 2,
		IntermediateSize: 32, HiddenAct: "gelu", MaxPositionEmbeddings: 32, TypeVocabSize: 2,
		LayerNormEps: 1e-12, InitializerRange: 0.02, ModelType: "bert"}
	col := model.DefaultColBERTConfig()
	col.Dim, col.QueryMaxLen, col.DocMaxLen = 8, 8, 12
	ck, err := model.NewCheckpoint(cfg, model.KindColBERT, col, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	d := &Data{Queries: map[string][]int32{}, Docs: map[string][]int32{}}
	word := func() int32 { return int32(8 + r.IntN(40)) }
	docWord := word
	if paired {
		word = func() int32 { return int32(8 + r.IntN(20)) }
		docWord = func() int32 { return int32(28 + r.IntN(20)) }
	}
	for i := 0; i < 10; i++ {
		q := []int32{word(), word(), word()}
		qid, pid := fmt.Sprintf("q%d", i), fmt.Sprintf("d%d", i)
		d.Queries[qid] = q
		pos := append([]int32{}, q...)
		if paired {
			for j := range pos {
				pos[j] += 20
			}
		}
		d.Docs[pid] = append(pos, docWord(), 7, docWord(), docWord())
	}
	for i := 10; i < 30; i++ {
		d.Docs[fmt.Sprintf("d%d", i)] = []int32{docWord(), docWord(), 7, docWord(), docWord(), docWord()}
	}
	for i := 0; i < 10; i++ {
		ex := data.Example{QueryID: fmt.Sprintf("q%d", i), DocIDs: []string{fmt.Sprintf("d%d", i)}, TeacherScores: []float32{8}}
		for j := 0; j < 4; j++ {
			ex.DocIDs = append(ex.DocIDs, fmt.Sprintf("d%d", 10+r.IntN(20)))
			ex.TeacherScores = append(ex.TeacherScores, float32(r.NormFloat64()))
		}
		d.Examples = append(d.Examples, ex)
	}
	return fixture{enc: enc, ck: ck, data: d}
}

func tinyConfig(out string) Config {
	c := DefaultConfig()
	c.OutDir = out
	c.QueryMaxLen, c.DocMaxLen = 8, 12
	c.NWay, c.BatchSize, c.AccumSteps = 3, 3, 2
	c.SampleNegatives, c.InBatchNegatives = true, true
	c.Steps, c.WarmupSteps, c.LR = 6, 2, 1e-3
	c.SaveEvery, c.KeepLast = 3, 1
	return c
}

// TestResumeIsBitIdentical trains 6 steps in one go, and 3 steps + checkpoint
// then a fresh process-like resume to 6: model, optimiser moments, state and
// logged losses must be identical.
func TestResumeIsBitIdentical(t *testing.T) {
	ctx := context.Background()
	cfgA := tinyConfig(t.TempDir())
	fa := newFixture(t, 3)
	a, err := New(cfgA, fa.ck, fa.enc, fa.data)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}

	cfgB := tinyConfig(t.TempDir())
	fb := newFixture(t, 3)
	b, _ := New(cfgB, fb.ck, fb.enc, fb.data)
	for i := 0; i < 3; i++ {
		if _, err := b.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	// A different init seed: everything must come from the checkpoint.
	fc := newFixture(t, 99)
	c, _ := New(cfgB, fc.ck, fc.enc, fb.data)
	ok, err := c.Resume()
	if err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if c.State.Step != 3 {
		t.Fatalf("resumed at step %d", c.State.Step)
	}
	if err := c.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for n, p := range a.Ckpt.Params {
		q := c.Ckpt.Params[n]
		for i := range p.Data {
			if math.Float32bits(p.Data[i]) != math.Float32bits(q.Data[i]) {
				t.Fatalf("param %s[%d]: %g uninterrupted vs %g resumed", n, i, p.Data[i], q.Data[i])
			}
		}
		for i := range p.Data {
			if a.Opt.M[n].Data[i] != c.Opt.M[n].Data[i] || a.Opt.V[n].Data[i] != c.Opt.V[n].Data[i] {
				t.Fatalf("moments of %s differ at %d", n, i)
			}
		}
	}
	if a.State != c.State {
		t.Errorf("state %+v vs %+v", a.State, c.State)
	}
	// Both runs kept only the last checkpoint, loadable as an HF model.
	for _, tr := range []*Trainer{a, c} {
		steps, err := listCheckpoints(filepath.Join(tr.Cfg.OutDir, "checkpoints"))
		if err != nil || len(steps) != 1 || steps[0] != 6 {
			t.Errorf("checkpoints %v (%v), want [6]", steps, err)
		}
		ck, err := model.LoadCheckpoint(tr.CheckpointDir(6))
		if err != nil {
			t.Fatal(err)
		}
		w := ck.Params["linear.weight"].Data
		if w[0] != a.Ckpt.Params["linear.weight"].Data[0] {
			t.Error("saved weights differ from trained ones")
		}
	}
	ma, err := ReadMetrics(filepath.Join(cfgA.OutDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	mc, err := ReadMetrics(filepath.Join(cfgB.OutDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ma) != 6 || len(mc) != 3 {
		t.Fatalf("metrics lines %d and %d, want 6 and 3 (resumed part)", len(ma), len(mc))
	}
	for i, m := range mc {
		if m.Loss != ma[i+3].Loss || m.LR != ma[i+3].LR || m.GradNorm != ma[i+3].GradNorm {
			t.Errorf("step %d: resumed %+v, uninterrupted %+v", m.Step, m, ma[i+3])
		}
	}
	if st, err := os.Stat(filepath.Join(cfgA.OutDir, "loss.png")); err != nil || st.Size() < 1000 {
		t.Errorf("loss plot missing: %v", err)
	}
}

// TestTrainingLearns checks that each loss lowers itself on the synthetic
// task (the positive shares the query's words).
func TestTrainingLearns(t *testing.T) {
	for _, loss := range []string{LossKL, LossCE, LossContrastive} {
		f := newFixture(t, 5)
		cfg := tinyConfig(t.TempDir())
		cfg.Loss, cfg.Steps, cfg.WarmupSteps, cfg.LR, cfg.SaveEvery = loss, 40, 4, 3e-3, 0
		cfg.InBatchNegatives, cfg.AccumSteps = false, 1
		cfg.Tau = 0.1
		tr, err := New(cfg, f.ck, f.enc, f.data)
		if err != nil {
			t.Fatal(err)
		}
		first, last := stepLosses(t, tr, 8, nil)
		t.Logf("%s: mean loss of first 8 steps %.4f, last 8 %.4f", loss, first, last)
		if !(last < 0.8*first) {
			t.Errorf("%s: loss did not decrease enough: %.4f → %.4f", loss, first, last)
		}
	}
}

// TestInBatchCandidates checks ColBERT's in-batch layout: every document of
// the batch except the query's own negatives, its positive at nway·i.
func TestInBatchCandidates(t *testing.T) {
	f := newFixture(t, 1)
	cfg := tinyConfig("x")
	b, err := makeBatch(f.data, f.enc, cfg, &order{seed: cfg.Seed, n: len(f.data.Examples)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.BatchSize*cfg.NWay - cfg.NWay + 1
	for i, c := range b.ibCand {
		if len(c) != n {
			t.Fatalf("query %d: %d in-batch candidates, want %d", i, len(c), n)
		}
		if c[b.ibLabel[i]] != b.cand[i][0] {
			t.Errorf("query %d: label points at row %d, positive is row %d", i, c[b.ibLabel[i]], b.cand[i][0])
		}
		for _, r := range b.cand[i][1:] {
			for j, x := range c {
				if x == r && j != b.ibLabel[i] {
					own := true
					for i2, c2 := range b.cand {
						if i2 != i {
							for _, y := range c2 {
								if y == r {
									own = false
								}
							}
						}
					}
					if own {
						t.Errorf("query %d: own negative row %d among in-batch candidates", i, r)
					}
				}
			}
		}
	}
	if len(b.teacher) != cfg.BatchSize*cfg.NWay {
		t.Errorf("%d teacher scores", len(b.teacher))
	}
	// The same position in the training order gives the same batch.
	b2, _ := makeBatch(f.data, f.enc, cfg, &order{seed: cfg.Seed, n: len(f.data.Examples)}, 0)
	if fmt.Sprint(b2.cand, b2.teacher) != fmt.Sprint(b.cand, b.teacher) {
		t.Error("batch not reproducible")
	}
}

func TestDataCheckNamesTheProblem(t *testing.T) {
	f := newFixture(t, 1)
	f.data.Examples[2].TeacherScores = nil
	if err := f.data.Check(3, true); err == nil || !strings.Contains(err.Error(), "q2") {
		t.Errorf("missing teacher scores not reported with the query id: %v", err)
	}
	f.data.Examples[1].DocIDs[1] = "nope"
	if err := f.data.Check(3, false); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown doc not reported: %v", err)
	}
}

// TestBiEncoderTrains runs the DPR-style baseline through the same loop.
func TestBiEncoderTrains(t *testing.T) {
	f := newFixture(t, 5)
	ck, err := model.NewCheckpoint(f.ck.Config, model.KindBiEncoder, f.ck.ColBERT, 5)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(t.TempDir())
	cfg.ModelKind, cfg.Loss, cfg.Steps, cfg.SaveEvery, cfg.LR = string(model.KindBiEncoder), LossCE, 30, 0, 3e-3
	tr, err := New(cfg, ck, f.enc, f.data)
	if err != nil {
		t.Fatal(err)
	}
	first, last := stepLosses(t, tr, 6, nil)
	t.Logf("bi-encoder CE: %.4f → %.4f", first, last)
	if !(last < 0.8*first) {
		t.Errorf("bi-encoder loss did not decrease: %.4f → %.4f", first, last)
	}
	if _, err := New(tinyConfig(t.TempDir()), ck, f.enc, f.data); err == nil {
		t.Error("a bi-encoder checkpoint was accepted with model_kind colbert")
	}
}

// TestInterruptAndResume cancels a run after step 4 (as SIGINT does in the
// CLI): Run saves a checkpoint and returns; --resume then ends bit-identical
// to an uninterrupted run. A changed batch size is refused on resume.
func TestInterruptAndResume(t *testing.T) {
	cfg := tinyConfig(t.TempDir())
	cfg.SaveEvery, cfg.KeepLast = 0, 0
	fa := newFixture(t, 4)
	a, _ := New(cfg, fa.ck, fa.enc, fa.data)
	if err := a.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}

	cfgB := cfg
	cfgB.OutDir = t.TempDir()
	fb := newFixture(t, 4)
	b, _ := New(cfgB, fb.ck, fb.enc, fb.data)
	ctx, cancel := context.WithCancel(context.Background())
	b.OnStep = func(m Metrics) {
		if m.Step == 4 {
			cancel()
		}
	}
	if err := b.Run(ctx, nil); err != context.Canceled {
		t.Fatalf("interrupted run returned %v", err)
	}
	if steps, _ := listCheckpoints(filepath.Join(cfgB.OutDir, "checkpoints")); fmt.Sprint(steps) != "[4]" {
		t.Fatalf("checkpoints after interrupt: %v, want [4]", steps)
	}

	bad := cfgB
	bad.BatchSize = 2
	fc := newFixture(t, 4)
	c, _ := New(bad, fc.ck, fc.enc, fc.data)
	if _, err := c.Resume(); err == nil || !strings.Contains(err.Error(), "batch_size") {
		t.Errorf("resume with another batch size: %v", err)
	}

	c, _ = New(cfgB, fc.ck, fc.enc, fc.data)
	if ok, err := c.Resume(); !ok || err != nil {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if err := c.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for n, p := range a.Ckpt.Params {
		for i, v := range p.Data {
			if math.Float32bits(v) != math.Float32bits(c.Ckpt.Params[n].Data[i]) {
				t.Fatalf("param %s[%d] differs after interrupt+resume", n, i)
			}
		}
	}
	ma, _ := ReadMetrics(filepath.Join(cfg.OutDir, "metrics.jsonl"))
	mc, _ := ReadMetrics(filepath.Join(cfgB.OutDir, "metrics.jsonl"))
	if len(ma) != len(mc) {
		t.Fatalf("metrics: %d lines uninterrupted, %d interrupted+resumed", len(ma), len(mc))
	}
	for i := range ma {
		if ma[i].Loss != mc[i].Loss || ma[i].Step != mc[i].Step {
			t.Errorf("metrics line %d: %+v vs %+v", i, ma[i], mc[i])
		}
	}
}

// TestEvaluateImproves: dev nDCG@10 of the synthetic task rises with
// training, for ColBERT and for the bi-encoder.
func TestEvaluateImproves(t *testing.T) {
	for _, kind := range []model.Kind{model.KindColBERT, model.KindBiEncoder} {
		t.Run(string(kind), func(t *testing.T) { testEvaluateImproves(t, kind) })
	}
}

func testEvaluateImproves(t *testing.T, kind model.Kind) {
	f := newFixtureTask(t, 6, true)
	if kind != model.KindColBERT {
		ck, err := model.NewCheckpoint(f.ck.Config, kind, f.ck.ColBERT, 6)
		if err != nil {
			t.Fatal(err)
		}
		f.ck = ck
	}
	dev := &DevSet{Qrels: data.Qrels{}}
	for i := 0; i < 10; i++ {
		qid := fmt.Sprintf("q%d", i)
		dev.QueryIDs = append(dev.QueryIDs, qid)
		dev.Queries = append(dev.Queries, f.data.Queries[qid])
		dev.Qrels[qid] = map[string]int{fmt.Sprintf("d%d", i): 1}
	}
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("d%d", i)
		dev.DocIDs, dev.Docs = append(dev.DocIDs, id), append(dev.Docs, f.data.Docs[id])
	}
	cfg := tinyConfig(t.TempDir())
	cfg.Loss, cfg.Steps, cfg.LR, cfg.Tau, cfg.WarmupSteps = LossKL, 60, 5e-3, 0.1, 5
	cfg.ModelKind = string(kind)
	tr, err := New(cfg, f.ck, f.enc, f.data)
	if err != nil {
		t.Fatal(err)
	}
	before, err := tr.Evaluate(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < cfg.Steps; s++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	after, err := tr.Evaluate(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dev nDCG@10 %.3f → %.3f", before, after)
	if !(after > before+0.2) {
		t.Errorf("dev nDCG@10 did not improve: %.3f → %.3f", before, after)
	}
}

// TestCrossEncoderTrains trains the teacher kind (pairs tokenised from text,
// listwise CE over its nway logits) on the paired task, then checks it ranks
// positives first.
func TestCrossEncoderTrains(t *testing.T) {
	f := textFixture(t, 8, false)
	cfg := tinyConfig(t.TempDir())
	cfg.ModelKind, cfg.Loss, cfg.InBatchNegatives = string(model.KindCrossEncoder), LossCE, false
	cfg.Steps, cfg.LR, cfg.WarmupSteps, cfg.PairMaxLen, cfg.SaveEvery = 60, 5e-3, 5, 16, 0
	tr, err := New(cfg, f.ck, f.enc, f.data)
	if err != nil {
		t.Fatal(err)
	}
	first, last := stepLosses(t, tr, 6, nil)
	t.Logf("cross-encoder CE: %.4f → %.4f", first, last)
	if !(last < 0.5*first) {
		t.Errorf("cross-encoder loss did not decrease: %.4f → %.4f", first, last)
	}
	if err := tr.Run(context.Background(), nil); err != nil { // already complete: a no-op
		t.Fatal(err)
	}
	if err := tr.Save(); err != nil {
		t.Fatal(err)
	}
	back, err := model.LoadCheckpoint(tr.CheckpointDir(cfg.Steps))
	if err != nil || back.Kind != model.KindCrossEncoder {
		t.Fatalf("reload: %v, kind %v", err, back)
	}
}

// TestOrderIsAPermutationPerEpoch: every example once per epoch, epochs
// shuffled differently, and the same k always gives the same example.
func TestOrderIsAPermutationPerEpoch(t *testing.T) {
	o := &order{seed: 9, n: 7}
	var epochs [3][]int
	for k := int64(0); k < 21; k++ {
		epochs[k/7] = append(epochs[k/7], o.at(k))
	}
	for e, ids := range epochs {
		seen := map[int]bool{}
		for _, i := range ids {
			seen[i] = true
		}
		if len(seen) != 7 {
			t.Errorf("epoch %d is not a permutation: %v", e, ids)
		}
	}
	if fmt.Sprint(epochs[0]) == fmt.Sprint(epochs[1]) && fmt.Sprint(epochs[1]) == fmt.Sprint(epochs[2]) {
		t.Error("every epoch has the same order")
	}
	fresh := &order{seed: 9, n: 7}
	if fresh.at(15) != epochs[2][1] || fresh.at(3) != epochs[0][3] {
		t.Error("order depends on the access history")
	}
}

// stepLosses runs tr for its configured steps, calling check (when not
// nil) with each step's metrics, and returns the mean loss of the first w
// steps and of the last w steps.
func stepLosses(t *testing.T, tr *Trainer, w int, check func(step int, m Metrics)) (first, last float64) {
	t.Helper()
	for s := 0; s < tr.Cfg.Steps; s++ {
		m, err := tr.Step()
		if err != nil {
			t.Fatalf("step %d: %v", s+1, err)
		}
		if check != nil {
			check(s, m)
		}
		if s < w {
			first += m.Loss / float64(w)
		} else if s >= tr.Cfg.Steps-w {
			last += m.Loss / float64(w)
		}
	}
	return first, last
}
