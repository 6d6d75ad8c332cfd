package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search/engine"
)

// TestEncoderKey checks that Model.Key changes with every setting that
// changes the vectors — the tokenizer file, doc and query maxlen, [MASK]
// attention, punctuation masking, the forward pass's config — while the
// weights hash does not, and stays the same for identical inputs and for
// training-only config fields.
func TestEncoderKey(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	load := func(dir, tok string) *colbert.Model {
		t.Helper()
		m, err := colbert.Load(dir, tok, encode.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	base := load(ck, "")
	if len(base.Key) != 64 || base.Key == base.Hash {
		t.Fatalf("key %q, hash %q", base.Key, base.Hash)
	}
	same, _ := testassets.CheckpointVariant(t, ck, "config.json", func(map[string]any) {})
	if m := load(same, ""); m.Key != base.Key || m.Hash != base.Hash {
		t.Errorf("identical checkpoint copy: key %s, want %s", m.Key, base.Key)
	}
	meta := func(k string, v any) func(map[string]any) { return func(o map[string]any) { o[k] = v } }
	cases := []struct {
		name, file string
		edit       func(map[string]any)
		changes    bool
	}{
		{"doc_maxlen", "artifact.metadata", meta("doc_maxlen", 100), true},
		{"query_maxlen", "artifact.metadata", meta("query_maxlen", 24), true},
		{"attend_to_mask_tokens", "artifact.metadata", meta("attend_to_mask_tokens", true), true},
		{"mask_punctuation", "artifact.metadata", meta("mask_punctuation", false), true},
		{"layer_norm_eps", "config.json", meta("layer_norm_eps", 1e-5), true},
		{"num_attention_heads", "config.json", meta("num_attention_heads", 8), true},
		{"hidden_dropout_prob (training only)", "config.json", meta("hidden_dropout_prob", 0.3), false},
		{"tokenizer lowercase", "tokenizer.json", func(o map[string]any) { o["normalizer"].(map[string]any)["lowercase"] = false }, true},
	}
	for _, c := range cases {
		dir, _ := testassets.CheckpointVariant(t, ck, c.file, c.edit)
		m := load(dir, "")
		if m.Hash != base.Hash {
			t.Errorf("%s: the weights hash changed", c.name)
		}
		if (m.Key != base.Key) != c.changes {
			t.Errorf("%s: key changed %v, want %v", c.name, m.Key != base.Key, c.changes)
		}
		if m.Matches(base.Key) == c.changes {
			t.Errorf("%s: Matches(base key) = %v", c.name, m.Matches(base.Key))
		}
		if !m.Matches(base.Hash) {
			t.Errorf("%s: an index recording only the weights hash (written before keys) is refused", c.name)
		}
	}
	// The tokenizer given apart from the checkpoint counts the same way.
	_, tok := testassets.CheckpointVariant(t, ck, "tokenizer.json", func(o map[string]any) { o["normalizer"].(map[string]any)["lowercase"] = false })
	if m := load(ck, tok); m.Key == base.Key || m.Hash != base.Hash {
		t.Errorf("--tokenizer with another normaliser: key unchanged")
	}
	if m := load(ck, filepath.Join(ck, "tokenizer.json")); m.Key != base.Key {
		t.Errorf("the checkpoint's own tokenizer given explicitly: key changed")
	}
}

// TestOpenSearcherKey checks that an index built with a model's key is
// refused by the same weights with another doc_maxlen or tokenizer, and
// that an index recording only the weights hash is still accepted.
func TestOpenKey(t *testing.T) {
	m, ps, _ := setup(t)
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	ctx := context.Background()
	src, err := colbert.NewSource(ctx, m, ps[:40], colbert.SourceOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := func(name, checkpoint string) string {
		opt := index.BuildOptions{Dim: m.Dim(), NBits: 2, Checkpoint: checkpoint, NumCentroids: 16, KMeansIters: 2,
			SamplePassages: 20, Threads: 2, Seed: 7}
		out := filepath.Join(dir, name)
		if _, err := index.Build(ctx, out, src, opt, nil); err != nil {
			t.Fatal(err)
		}
		return out
	}
	keyed, legacy := build("keyed", m.Key), build("legacy", m.Hash)
	short, _ := testassets.CheckpointVariant(t, ck, "artifact.metadata", func(o map[string]any) { o["doc_maxlen"] = 64 })
	cased, _ := testassets.CheckpointVariant(t, ck, "tokenizer.json", func(o map[string]any) { o["normalizer"].(map[string]any)["lowercase"] = false })
	for _, c := range []struct {
		name, ck, index string
		ok              bool
	}{
		{"same encoder", ck, keyed, true},
		{"doc_maxlen 64", short, keyed, false},
		{"cased tokenizer", cased, keyed, false},
		{"legacy index, same weights", short, legacy, true},
	} {
		m2, err := colbert.Load(c.ck, "", encode.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		e, err := engine.Open(m2, c.index, engine.OpenOptions{})
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else {
				e.Close()
			}
		} else if !errors.Is(err, engine.ErrCheckpointMismatch) {
			t.Errorf("%s: %v, want ErrCheckpointMismatch", c.name, err)
		}
	}
}
