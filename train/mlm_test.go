package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/onnx"
)

// TestMLMMaskingStatistics masks real (Cranfield) pairs with a BERT
// WordPiece tokenizer and checks BERT's recipe: no special token or padding
// is ever chosen, about mlm_probability of the others are, split 80/10/10
// into [MASK] / random ordinary token / kept; nothing else changes; the
// passage is the positive for about 1 − mlm_negative_fraction of the pairs;
// a batch is a function of (seed, examples consumed).
func TestMLMMaskingStatistics(t *testing.T) {
	root := testassets.Path(t, "classic/cranfield")
	tokPath := testassets.Path(t, "models/hf-tiny/cross-encoder/tokenizer.json")
	tok, err := tokenize.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var exs []data.Example
	for q := 1; q <= 60; q++ {
		exs = append(exs, data.Example{QueryID: fmt.Sprint(q),
			DocIDs: []string{fmt.Sprint(q), fmt.Sprint(q + 300), fmt.Sprint(q + 600), fmt.Sprint(q + 900)}})
	}
	exPath := filepath.Join(dir, "ex.jsonl")
	if err := data.WriteExamplesJSONL(exPath, exs); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ModelKind, cfg.Loss, cfg.PairMaxLen, cfg.OutDir = string(model.KindCrossEncoder), LossMLM, 128, dir
	cfg.Examples, cfg.Collection, cfg.Queries = exPath, filepath.Join(root, "corpus.jsonl"), filepath.Join(root, "queries.jsonl")
	cfg.NWay, cfg.BatchSize = 4, 32
	d, err := LoadData(context.Background(), cfg, tok, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := newMLMVocab(tok, tokPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[unused0]"} {
		if id, _ := tok.TokenID(s); !v.special[id] {
			t.Errorf("%s not special", s)
		}
	}
	if id, _ := tok.TokenID("the"); v.special[id] {
		t.Error(`"the" is special`)
	}
	ord := &order{seed: cfg.Seed, n: len(d.Examples)}
	var maskable, chosen, masked, random, kept, pairs, positives int
	for step := int64(0); step < 4; step++ {
		k0 := step * int64(cfg.BatchSize*cfg.NWay)
		b, err := makeMLMBatch(d, tok, v, cfg, ord, k0)
		if err != nil {
			t.Fatal(err)
		}
		m := b.mlm
		isChosen := map[int]bool{}
		for i, p := range m.positions {
			isChosen[p] = true
			orig := m.original[p]
			if m.labels[i] != orig {
				t.Fatalf("label %d of position %d, original id %d", m.labels[i], p, orig)
			}
			if v.special[orig] || m.tokens.Mask[p] == 0 {
				t.Fatalf("chose special/padding token %q at %d", tok.Token(orig), p)
			}
			switch id := m.tokens.IDs[p]; {
			case id == int(v.mask):
				masked++
			case id != orig:
				random++
				if v.special[id] {
					t.Fatalf("random replacement %q is special", tok.Token(id))
				}
			default:
				kept++
			}
		}
		chosen += len(m.positions)
		for p, id := range m.original {
			if m.tokens.Mask[p] != 0 && !v.special[id] {
				maskable++
			}
			if !isChosen[p] && m.tokens.IDs[p] != id {
				t.Fatalf("position %d changed without being chosen", p)
			}
		}
		// Which pairs hold the positive: the passage segment starts with
		// the positive's first tokens (all examples' passages differ).
		L := m.tokens.L
		for i := 0; i < m.tokens.B; i++ {
			ex := d.Examples[ord.at(k0+int64(i))]
			row, types := m.original[i*L:(i+1)*L], m.tokens.Types[i*L:(i+1)*L]
			start := slices.Index(types, 1)
			want := tok.Encode(d.DocText[ex.DocIDs[0]])[:3]
			pairs++
			if start > 0 && row[start] == int(want[0]) && row[start+1] == int(want[1]) && row[start+2] == int(want[2]) {
				positives++
			}
		}
		again, err := makeMLMBatch(d, tok, v, cfg, ord, k0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.mlm.tokens.IDs, m.tokens.IDs) || !slices.Equal(again.mlm.positions, m.positions) {
			t.Fatal("same (seed, k) gave a different batch")
		}
	}
	frac := func(a, b int) float64 { return float64(a) / float64(b) }
	t.Logf("%d maskable tokens, %.4f chosen; [MASK] %.3f random %.3f kept %.3f; positives %.3f of %d pairs",
		maskable, frac(chosen, maskable), frac(masked, chosen), frac(random, chosen), frac(kept, chosen), frac(positives, pairs), pairs)
	if maskable < 20000 {
		t.Fatalf("only %d maskable tokens: sample too small", maskable)
	}
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"chosen", frac(chosen, maskable), 0.15, 0.01},
		{"[MASK]", frac(masked, chosen), 0.8, 0.03},
		{"random", frac(random, chosen), 0.1, 0.025},
		{"kept", frac(kept, chosen), 0.1, 0.025},
		{"positives", frac(positives, pairs), 0.5, 0.08},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s: %.4f, want %.2f ± %.3f", c.name, c.got, c.want, c.tol)
		}
	}

	// Nothing drawn: one position is chosen anyway (never an empty loss).
	cfg.MLMProbability, cfg.BatchSize = 1e-12, 2
	b, err := makeMLMBatch(d, tok, v, cfg, ord, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.mlm.positions) != 1 || v.special[b.mlm.original[b.mlm.positions[0]]] {
		t.Errorf("fallback chose %v", b.mlm.positions)
	}
	// Only positives with mlm_negative_fraction 0.
	cfg.MLMNegativeFraction, cfg.MLMProbability = 0, 0.15
	b, _ = makeMLMBatch(d, tok, v, cfg, ord, 0)
	for i := 0; i < b.mlm.tokens.B; i++ {
		L := b.mlm.tokens.L
		row, types := b.mlm.original[i*L:(i+1)*L], b.mlm.tokens.Types[i*L:(i+1)*L]
		want := tok.Encode(d.DocText[d.Examples[ord.at(int64(i))].DocIDs[0]])[0]
		if row[slices.Index(types, 1)] != int(want) {
			t.Errorf("pair %d does not hold the positive", i)
		}
	}
}

// textFixture is the tiny fixture with texts, as the cross-encoder needs;
// with cyclic, every text is a run of consecutive words w(i) w(i+1) … of
// ten words, a corpus whose masked words are predictable from their
// frequency and from their neighbours.
func textFixture(t *testing.T, seed uint64, cyclic bool) fixture {
	t.Helper()
	f := newFixtureTask(t, seed, true)
	tok := f.enc.Tokenizer()
	if cyclic {
		for id := range f.data.Docs {
			var i int
			fmt.Sscanf(id, "d%d", &i)
			var ids []int32
			for j := 0; j < 10; j++ {
				ids = append(ids, int32(8+(i+j)%10))
			}
			f.data.Docs[id] = ids
		}
		for id := range f.data.Queries {
			var i int
			fmt.Sscanf(id, "q%d", &i)
			f.data.Queries[id] = []int32{int32(8 + i%10), int32(8 + (i+1)%10), int32(8 + (i+2)%10)}
		}
	}
	f.data.QueryText, f.data.DocText = map[string]string{}, map[string]string{}
	text := func(ids []int32) string {
		var w []string
		for _, id := range ids {
			w = append(w, tok.Token(int(id)))
		}
		return strings.Join(w, " ")
	}
	for id, q := range f.data.Queries {
		f.data.QueryText[id] = text(q)
	}
	for id, d := range f.data.Docs {
		f.data.DocText[id] = text(d)
	}
	ck, err := model.NewCheckpoint(f.ck.Config, model.KindCrossEncoder, f.ck.ColBERT, seed)
	if err != nil {
		t.Fatal(err)
	}
	f.ck = ck
	return f
}

func mlmConfig(out string) Config {
	c := tinyConfig(out)
	c.ModelKind, c.Loss, c.InBatchNegatives, c.PairMaxLen = string(model.KindCrossEncoder), LossMLM, false, 20
	c.NWay, c.BatchSize, c.AccumSteps = 2, 4, 1
	return c
}

// TestMLMLearns: on a repetitive corpus the masked-LM loss falls well
// below its start (ln V for a random model) within 30 steps.
func TestMLMLearns(t *testing.T) {
	f := textFixture(t, 4, true)
	cfg := mlmConfig(t.TempDir())
	cfg.Steps, cfg.WarmupSteps, cfg.LR, cfg.SaveEvery, cfg.BatchSize = 30, 3, 1e-2, 0, 8
	tr, err := New(cfg, f.ck, f.enc, f.data)
	if err != nil {
		t.Fatal(err)
	}
	if !model.HasMLMHead(tr.Ckpt.Params) {
		t.Fatal("no MLM head created")
	}
	first, last := stepLosses(t, tr, 5, func(s int, m Metrics) {
		if math.IsNaN(m.Loss) {
			t.Fatalf("step %d: NaN loss", s+1)
		}
	})
	t.Logf("mlm: mean loss of the first 5 steps %.3f (ln V = %.3f), last 5 %.3f", first, math.Log(48), last)
	if !(last < 0.7*first) {
		t.Errorf("MLM loss did not fall: %.3f → %.3f", first, last)
	}
	if got, want := tr.State.Consumed, int64(cfg.Steps*cfg.BatchSize*cfg.NWay); got != want {
		t.Errorf("consumed %d examples, want batch_size × nway per step = %d", got, want)
	}
}

// TestMLMResumeAndFineTune: an MLM run interrupted at step 3 and resumed
// (head restored from the checkpoint) ends bit-identical to an
// uninterrupted one; a ce run initialised from it drops cls.* (not trained,
// not saved), and ONNX export ignores the head.
func TestMLMResumeAndFineTune(t *testing.T) {
	ctx := context.Background()
	cfgA := mlmConfig(t.TempDir())
	fa := textFixture(t, 6, false)
	a, err := New(cfgA, fa.ck, fa.enc, fa.data)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	cfgB := mlmConfig(t.TempDir())
	fb := textFixture(t, 6, false)
	b, _ := New(cfgB, fb.ck, fb.enc, fb.data)
	for i := 0; i < 3; i++ {
		if _, err := b.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	fc := textFixture(t, 77, false) // other init: all must come from the checkpoint
	c, err := New(cfgB, fc.ck, fc.enc, fb.data)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Resume(); err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if err := c.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if len(a.Ckpt.Params) != len(c.Ckpt.Params) || !model.HasMLMHead(a.Ckpt.Params) {
		t.Fatalf("%d vs %d params", len(a.Ckpt.Params), len(c.Ckpt.Params))
	}
	for n, p := range a.Ckpt.Params {
		q := c.Ckpt.Params[n]
		for i := range p.Data {
			if math.Float32bits(p.Data[i]) != math.Float32bits(q.Data[i]) {
				t.Fatalf("param %s[%d]: %g uninterrupted vs %g resumed", n, i, p.Data[i], q.Data[i])
			}
		}
	}
	for n, m := range a.Opt.M {
		if !slices.Equal(m.Data, c.Opt.M[n].Data) || !slices.Equal(a.Opt.V[n].Data, c.Opt.V[n].Data) {
			t.Fatalf("moments of %s differ", n)
		}
	}
	if a.State != c.State {
		t.Errorf("state %+v vs %+v", a.State, c.State)
	}
	ma, _ := ReadMetrics(filepath.Join(cfgA.OutDir, "metrics.jsonl"))
	mc, _ := ReadMetrics(filepath.Join(cfgB.OutDir, "metrics.jsonl"))
	if len(ma) != 6 || len(mc) != 3 || mc[2].Loss != ma[5].Loss || mc[0].Loss != ma[3].Loss {
		t.Errorf("metrics: %d and %d lines, or losses differ", len(ma), len(mc))
	}
	// A resume with another masking probability is refused.
	cfgD := cfgB
	cfgD.MLMProbability = 0.3
	d, _ := New(cfgD, textFixture(t, 6, false).ck, fb.enc, fb.data)
	if _, err := d.Resume(); err == nil || !strings.Contains(err.Error(), "mlm_probability") {
		t.Errorf("resume with another mlm_probability: %v", err)
	}

	// Fine-tune with ce from the MLM checkpoint.
	mlmDir := a.CheckpointDir(cfgA.Steps)
	ck, err := model.LoadCheckpoint(mlmDir)
	if err != nil {
		t.Fatal(err)
	}
	if !model.HasMLMHead(ck.Params) {
		t.Fatal("saved MLM checkpoint lost its head")
	}
	withHead := model.Params{}
	for n, p := range ck.Params {
		withHead[n] = p
	}
	cfgE := tinyConfig(t.TempDir())
	cfgE.ModelKind, cfgE.Loss, cfgE.InBatchNegatives, cfgE.PairMaxLen, cfgE.Steps, cfgE.AccumSteps = string(model.KindCrossEncoder), LossCE, false, 20, 2, 1
	e, err := New(cfgE, ck, fa.enc, fa.data)
	if err != nil {
		t.Fatal(err)
	}
	if model.HasMLMHead(e.Ckpt.Params) {
		t.Fatal("ce run kept the MLM head")
	}
	if err := e.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for n := range e.Opt.M {
		if strings.HasPrefix(n, "cls.") {
			t.Errorf("ce run trained %s", n)
		}
	}
	f, err := safetensors.ReadFile(filepath.Join(e.CheckpointDir(2), "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range f.Tensors {
		if strings.HasPrefix(n, "cls.") {
			t.Errorf("ce checkpoint saved %s", n)
		}
	}
	// ONNX export of a checkpoint carrying cls.*: the plain logits model.
	bare := model.Params{}
	for n, p := range withHead {
		if !strings.HasPrefix(n, "cls.") {
			bare[n] = p
		}
	}
	x, err := onnx.Export(ck.Config, withHead, onnx.CrossEncoder)
	if err != nil {
		t.Fatal(err)
	}
	y, err := onnx.Export(ck.Config, bare, onnx.CrossEncoder)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Error("ONNX export depends on the MLM head")
	}
}

func TestMLMConfigErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		key  string
	}{
		{func(c *Config) { c.Loss = LossMLM }, "model_kind = cross-encoder"},
		{func(c *Config) { c.ModelKind, c.Loss, c.MLMProbability = "cross-encoder", LossMLM, 0 }, "mlm_probability"},
		{func(c *Config) { c.MLMProbability = 1 }, "mlm_probability"},
		{func(c *Config) { c.MLMNegativeFraction = 1.5 }, "mlm_negative_fraction"},
		{func(c *Config) { c.MLMNegativeFraction = math.NaN() }, "mlm_negative_fraction"},
	} {
		cfg := DefaultConfig()
		cfg.OutDir = "x"
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%+v: %v, want an error naming %s", cfg, err, c.key)
		}
	}
	ok := DefaultConfig()
	ok.OutDir, ok.ModelKind, ok.Loss = "x", "cross-encoder", LossMLM
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}

// TestMLMVocabAddedSpecial: an added token flagged special in
// tokenizer.json is never masked nor drawn, whatever its spelling.
func TestMLMVocabAddedSpecial(t *testing.T) {
	raw, err := os.ReadFile(testassets.Path(t, "models/hf-tiny/cross-encoder/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tj map[string]any
	if err := json.Unmarshal(raw, &tj); err != nil {
		t.Fatal(err)
	}
	tj["added_tokens"] = append(tj["added_tokens"].([]any), map[string]any{"id": 30522, "content": "<doc>",
		"single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
	out, _ := json.Marshal(tj)
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenize.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := newMLMVocab(tok, p)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := tok.TokenID("<doc>")
	if !ok || id != 30522 || !v.special[id] || slices.Contains(v.normal, int32(id)) {
		t.Errorf("added special <doc> (id %d, %v) not special", id, ok)
	}
	if the, _ := tok.TokenID("the"); v.special[the] || !slices.Contains(v.normal, int32(the)) {
		t.Error(`"the" not an ordinary token`)
	}
	if len(v.normal) != 30522-999 {
		t.Errorf("%d ordinary tokens, want the vocabulary minus its 999 bracketed tokens (5 specials, 994 [unusedN])", len(v.normal))
	}
}
