package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
)

// TestPrepareFromFiles loads real Cranfield texts, Parquet examples and the
// hf-tiny ColBERT checkpoint, trains two steps and reloads the result.
func TestPrepareFromFiles(t *testing.T) {
	root := testassets.Path(t, "classic/cranfield")
	initFrom := testassets.Path(t, "models/hf-tiny/colbert")
	dir := t.TempDir()
	exs := []data.Example{
		{QueryID: "1", DocIDs: []string{"184", "161", "162", "163"}, TeacherScores: []float32{3, 1, 0.5, -1}},
		{QueryID: "2", DocIDs: []string{"163", "165", "184", "170"}, TeacherScores: []float32{2, 0, 1, -2}},
		{QueryID: "3", DocIDs: []string{"175", "176", "177", "178"}, TeacherScores: []float32{1, 0, 0, 0}},
	}
	exPath := filepath.Join(dir, "teacher.parquet")
	if err := parquetio.WriteExamples(exPath, exs, nil); err != nil {
		t.Fatal(err)
	}
	// A 40-document slice of Cranfield keeps the dev evaluation fast.
	all, err := data.ReadCorpusJSONL(filepath.Join(root, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "corpus.jsonl")
	if err := data.WriteCorpusJSONL(corpus, all[:200][160:]); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Examples, cfg.Collection, cfg.Queries = exPath, corpus, filepath.Join(root, "queries.jsonl")
	cfg.DevQrels, cfg.DevMaxQueries, cfg.DevMaxDocs = filepath.Join(root, "qrels", "test.tsv"), 5, 30
	cfg.InitFrom, cfg.OutDir = initFrom, filepath.Join(dir, "out")
	cfg.NWay, cfg.BatchSize, cfg.Steps, cfg.WarmupSteps, cfg.DocMaxLen = 4, 2, 2, 0, 64
	tr, err := Prepare(context.Background(), cfg, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Data.Docs) != 10 || len(tr.Data.Queries) != 3 {
		t.Errorf("tokenised %d docs and %d queries, want the 10 and 3 referenced", len(tr.Data.Docs), len(tr.Data.Queries))
	}
	if tr.Dev == nil || len(tr.Dev.QueryIDs) != 5 || len(tr.Dev.DocIDs) != 30 {
		t.Fatalf("dev set: %d queries, %d docs; want 5 and 30", len(tr.Dev.QueryIDs), len(tr.Dev.DocIDs))
	}
	inDev := map[string]bool{}
	for _, id := range tr.Dev.DocIDs {
		inDev[id] = true
	}
	for _, q := range tr.Dev.QueryIDs {
		for doc := range tr.Dev.Qrels[q] {
			if !inDev[doc] && docInSlice(all[160:200], doc) {
				t.Errorf("judged document %s of dev query %s left out", doc, q)
			}
		}
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(filepath.Join(cfg.OutDir, "metrics.jsonl"))
	if err != nil || len(ms) != 2 || ms[1].DevNDCG10 == nil || ms[0].DevNDCG10 != nil {
		t.Fatalf("metrics %+v (%v): want dev_ndcg10 on the last line only", ms, err)
	}
	if v := *ms[1].DevNDCG10; v < 0 || v > 1 {
		t.Errorf("dev nDCG@10 = %g", v)
	}
	ck, err := model.LoadCheckpoint(tr.CheckpointDir(2))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != model.KindColBERT || ck.ColBERT.DocMaxLen != 64 || ck.Tokenizer == "" {
		t.Errorf("saved checkpoint: kind %s, doc_maxlen %d, tokenizer %q", ck.Kind, ck.ColBERT.DocMaxLen, ck.Tokenizer)
	}

	cfg.Examples = filepath.Join(dir, "missing.parquet")
	if _, err := Prepare(context.Background(), cfg, 2, nil); err == nil || !strings.Contains(err.Error(), "missing.parquet") {
		t.Errorf("missing examples file not named: %v", err)
	}
}

func docInSlice(ps []data.Passage, id string) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

// TestPrepareCrossEncoderFromColBERT: a cross-encoder teacher warm-started
// from the hf-tiny ColBERT keeps its encoder, gets a fresh head, trains, and
// an input longer than the model's position table is refused up front.
func TestPrepareCrossEncoderFromColBERT(t *testing.T) {
	root := testassets.Path(t, "classic/cranfield")
	initFrom := testassets.Path(t, "models/hf-tiny/colbert")
	src, err := model.LoadCheckpoint(initFrom)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exs := []data.Example{
		{QueryID: "1", DocIDs: []string{"184", "161", "162", "163"}},
		{QueryID: "2", DocIDs: []string{"163", "165", "184", "170"}},
	}
	exPath := filepath.Join(dir, "candidates.jsonl")
	if err := data.WriteExamplesJSONL(exPath, exs); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ModelKind, cfg.Loss, cfg.PairMaxLen = string(model.KindCrossEncoder), LossCE, 96
	cfg.Examples, cfg.Collection, cfg.Queries = exPath, filepath.Join(root, "corpus.jsonl"), filepath.Join(root, "queries.jsonl")
	cfg.InitFrom, cfg.OutDir = initFrom, filepath.Join(dir, "out")
	cfg.NWay, cfg.BatchSize, cfg.Steps, cfg.WarmupSteps = 4, 2, 1, 0
	tr, err := Prepare(context.Background(), cfg, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Ckpt.Kind != model.KindCrossEncoder {
		t.Fatalf("kind %s", tr.Ckpt.Kind)
	}
	for name, p := range src.Params {
		if q := tr.Ckpt.Params[name]; name != "linear.weight" && (q == nil || q.Data[0] != p.Data[0] || q.Data[len(q.Data)-1] != p.Data[len(p.Data)-1]) {
			t.Fatalf("encoder tensor %s not carried over", name)
		}
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if ck, err := model.LoadCheckpoint(tr.CheckpointDir(1)); err != nil || ck.Kind != model.KindCrossEncoder {
		t.Fatalf("saved teacher: %v", err)
	}

	cfg.PairMaxLen = src.Config.MaxPositionEmbeddings + 1
	cfg.OutDir = filepath.Join(dir, "out2")
	if _, err := Prepare(context.Background(), cfg, 2, nil); err == nil || !strings.Contains(err.Error(), "position embeddings") {
		t.Fatalf("pair_maxlen beyond the position table accepted: %v", err)
	}
}

// TestTieQueryKey: mimetic init makes every layer's key weights equal to its
// query weights with the requested spread, deterministically from the seed,
// so that a token's attention logit to itself beats its logit to others.
func TestTieQueryKey(t *testing.T) {
	bc := model.SmallConfig(64)
	bc.HiddenSize, bc.NumHiddenLayers, bc.NumAttentionHeads, bc.IntermediateSize = 64, 2, 2, 256
	ck, err := model.NewCheckpoint(bc, model.KindCrossEncoder, model.DefaultColBERTConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	const std = 0.12
	tieQueryKey(ck, std, 5)
	for l := range 2 {
		q := ck.Params[fmt.Sprintf("encoder.layer.%d.attention.self.query.weight", l)].Data
		k := ck.Params[fmt.Sprintf("encoder.layer.%d.attention.self.key.weight", l)].Data
		if !slices.Equal(q, k) {
			t.Fatalf("layer %d: key weights differ from query weights", l)
		}
		var ss float64
		for _, v := range q {
			ss += float64(v) * float64(v)
		}
		if got := math.Sqrt(ss / float64(len(q))); math.Abs(got-std) > 0.1*std {
			t.Errorf("layer %d: weight rms %.4f, want ≈ %g", l, got, std)
		}
		// Logits of head 0 between random unit-variance token vectors:
		// (W x)·(W y) with W the head's rows of the query matrix.
		h, d := bc.HiddenSize, bc.HiddenSize/bc.NumAttentionHeads
		r := rand.New(rand.NewPCG(1, uint64(l)))
		proj := func(x []float64) []float64 {
			out := make([]float64, d)
			for i := range d {
				for j := range h {
					out[i] += float64(q[i*h+j]) * x[j]
				}
			}
			return out
		}
		dot := func(a, b []float64) (s float64) {
			for i := range a {
				s += a[i] * b[i]
			}
			return s / math.Sqrt(float64(d))
		}
		var self, other float64
		for range 20 {
			x, y := make([]float64, h), make([]float64, h)
			for j := range h {
				x[j], y[j] = r.NormFloat64(), r.NormFloat64()
			}
			px, py := proj(x), proj(y)
			self += dot(px, px) / 20
			other += math.Abs(dot(px, py)) / 20
		}
		if !(self > 4*other) {
			t.Errorf("layer %d: mean self logit %.3f, mean |logit| to another token %.3f: self should dominate", l, self, other)
		}
	}
	again, _ := model.NewCheckpoint(bc, model.KindCrossEncoder, model.DefaultColBERTConfig(), 3)
	tieQueryKey(again, std, 5)
	name := "encoder.layer.1.attention.self.key.weight"
	if !slices.Equal(again.Params[name].Data, ck.Params[name].Data) {
		t.Error("same seed, different weights")
	}

	cfg := DefaultConfig()
	cfg.QKTieInit = -0.1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "qk_tie_init") {
		t.Errorf("negative qk_tie_init: %v", err)
	}
}
