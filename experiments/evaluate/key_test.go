package evaluate

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/search"
)

// TestIndexReuseKey checks that the shared index is reused only by the
// same encoder: the same weights with another tokenizer file or another
// doc_maxlen rebuild it, identical inputs reuse it.
func TestIndexReuseKey(t *testing.T) {
	ckpt := testassets.Path(t, "models/hf-tiny/colbert")
	ds := smallCranfield(t)
	ctx := context.Background()
	out := t.TempDir()
	_, cased := testassets.CheckpointVariant(t, ckpt, "tokenizer.json", func(o map[string]any) {
		o["normalizer"].(map[string]any)["lowercase"] = false
	})
	short, _ := testassets.CheckpointVariant(t, ckpt, "artifact.metadata", func(o map[string]any) { o["doc_maxlen"] = 64 })
	base := Options{Checkpoint: ckpt, Dataset: ds, Threads: 2, IndexDir: filepath.Join(out, "index"), Seed: 7,
		Search: SearchExhaustive, Params: search.Params{K: 10}, Reindex: true}
	steps := []struct {
		name   string
		edit   func(*Options)
		reused bool
	}{
		{"first build", func(*Options) {}, false},
		{"same inputs", func(*Options) {}, true},
		{"another tokenizer file", func(o *Options) { o.Tokenizer = cased }, false},
		{"doc_maxlen 64", func(o *Options) { o.Checkpoint = short }, false},
		{"back to the original", func(*Options) {}, false},
		{"pool factor 2", func(o *Options) { o.PoolFactor = 2 }, false},
		{"pool factor 2 again", func(o *Options) { o.PoolFactor = 2 }, true},
		{"pool factor 1 is no pooling", func(o *Options) { o.PoolFactor = 1 }, false},
	}
	var embeddings []int64
	for i, s := range steps {
		o := base
		o.Out = filepath.Join(out, "run", string(rune('a'+i)))
		s.edit(&o)
		sum, err := Run(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if sum.IndexReused != s.reused {
			t.Errorf("%s: index reused %v, want %v", s.name, sum.IndexReused, s.reused)
		}
		embeddings = append(embeddings, sum.Embeddings)
	}
	// doc_maxlen 64 really changed the vectors: long passages are cut.
	if embeddings[3] >= embeddings[0] || embeddings[4] != embeddings[0] || embeddings[7] != embeddings[0] {
		t.Errorf("embeddings per step %v: want fewer at doc_maxlen 64 only", embeddings)
	}
	// Pooling by 2 keeps about half the vectors (the first and max(1, (n−1)/2) per passage).
	if e := embeddings[5]; e > embeddings[0]/2+int64(embeddings[0]/50+100) || e < embeddings[0]/2-int64(embeddings[0]/100+50) || embeddings[6] != e {
		t.Errorf("pool factor 2: %d embeddings of %d", e, embeddings[0])
	}
}
