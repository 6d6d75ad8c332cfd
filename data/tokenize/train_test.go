package tokenize

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/tokenizer/pretrained"
)

func trainCranfield(t testing.TB, opts TrainOptions) ([]byte, []string) {
	t.Helper()
	texts := cranfieldTexts(t)
	js, err := TrainWordPiece(context.Background(), slices.Values(texts), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return js, texts
}

func TestTrainWordPiece(t *testing.T) {
	opts := TrainOptions{VocabSize: 3000, MinFrequency: 2, Lowercase: true}
	js, texts := trainCranfield(t, opts)
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
	// sugarme reads it back on its own, too.
	if _, err := pretrained.FromFile(path); err != nil {
		t.Fatalf("sugarme cannot load the trained tokenizer: %v", err)
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if tok.generic {
		t.Fatal("trained tokenizer not recognised as BERT WordPiece")
	}
	if tok.VocabSize() != opts.VocabSize {
		t.Fatalf("vocab size %d, want %d", tok.VocabSize(), opts.VocabSize)
	}
	for i, s := range TrainSpecialTokens() {
		if id, ok := tok.TokenID(s); !ok || id != i {
			t.Fatalf("%s has id %d (%v), want %d", s, id, ok, i)
		}
	}
	// Frequent corpus words are single ids; case is folded.
	for _, w := range []string{"boundary", "layer", "flow", "mach", "pressure"} {
		ids := tok.Encode(strings.ToUpper(w))
		if len(ids) != 1 || tok.Token(int(ids[0])) != w {
			t.Errorf("%q → %v, want one id", w, tokens(tok, ids))
		}
	}
	// An unseen word is split into a word-initial piece and ##pieces that
	// spell it back.
	ids := tok.Encode("xylophonist")
	if len(ids) < 2 {
		t.Fatalf("unseen word → %v", tokens(tok, ids))
	}
	var spelled strings.Builder
	for i, p := range tokens(tok, ids) {
		if (i > 0) != strings.HasPrefix(p, "##") {
			t.Fatalf("piece %d %q of %v", i, p, tokens(tok, ids))
		}
		spelled.WriteString(strings.TrimPrefix(p, "##"))
	}
	if spelled.String() != "xylophonist" {
		t.Fatalf("pieces spell %q", spelled.String())
	}
	// Every corpus text tokenises without [UNK] (all its characters are in
	// the alphabet), and a ColBERT encoder finds its markers by id.
	unk, _ := tok.TokenID("[UNK]")
	for _, s := range texts[:200] {
		for _, id := range tok.Encode(s) {
			if int(id) == unk {
				t.Fatalf("[UNK] in %.60q", s)
			}
		}
	}
	c, err := NewColBERT(tok, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if q, d, added := c.MarkerIDs(); q != 1 || d != 2 || added {
		t.Fatalf("markers %d %d added %v", q, d, added)
	}
	if dot, _ := tok.TokenID("."); !c.Skip(int32(dot)) {
		t.Fatal("'.' not in the skiplist")
	}

	// Determinism: same input → same bytes; other options → other bytes.
	again, _ := trainCranfield(t, opts)
	if !bytes.Equal(js, again) {
		t.Fatal("training is not deterministic")
	}
	cased, _ := trainCranfield(t, TrainOptions{VocabSize: 3000, MinFrequency: 2})
	if bytes.Equal(js, cased) {
		t.Fatal("lowercase option has no effect")
	}
}

// With a high MinFrequency merging stops before the vocabulary is full.
func TestTrainMinFrequency(t *testing.T) {
	texts := []string{"low lower lowest", "low low newer newest", "wider widest low"}
	js, err := TrainWordPiece(context.Background(), slices.Values(texts), TrainOptions{VocabSize: 500, MinFrequency: 4, Lowercase: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	os.WriteFile(path, js, 0o644)
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// l ##o ##w occurs 6 times (low ×4, lower, lowest): merged into "low".
	if ids := tok.Encode("low"); len(ids) != 1 {
		t.Fatalf("low → %v", tokens(tok, ids))
	}
	// "wider" occurs once: it stays in characters.
	if ids := tok.Encode("wider"); len(ids) != 5 {
		t.Fatalf("wider → %v", tokens(tok, ids))
	}
	if tok.VocabSize() >= 500 {
		t.Fatalf("vocab %d should have stopped early", tok.VocabSize())
	}
	if _, err := TrainWordPiece(context.Background(), slices.Values(texts), TrainOptions{VocabSize: 50}, nil); err == nil {
		t.Fatal("tiny vocab size accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TrainWordPiece(ctx, slices.Values(texts), TrainOptions{}, nil); err == nil {
		t.Fatal("cancelled training succeeded")
	}
}

// BenchmarkTrainWordPiece trains an 8000-token vocabulary on the Cranfield
// corpus (1,400 abstracts, ~250k words).
func BenchmarkTrainWordPiece(b *testing.B) {
	texts := cranfieldTexts(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := TrainWordPiece(context.Background(), slices.Values(texts), TrainOptions{VocabSize: 8000, Lowercase: true}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
}
