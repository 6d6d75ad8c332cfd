package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/urfave/cli/v2"
)

func TestVocabCommand(t *testing.T) {
	corpus := testassets.Path(t, "classic/cranfield/corpus.jsonl")
	dir := t.TempDir()
	run := func(out string) []byte {
		t.Helper()
		app := &cli.App{Name: "colbert", Commands: []*cli.Command{vocabCommand()}, Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}}
		args := []string{"colbert", "vocab", "--corpus", corpus, "--out", out, "--size", "2000", "--quiet",
			"--vocab-txt", out + ".txt"}
		if err := app.Run(args); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := run(filepath.Join(dir, "a.json"))
	b := run(filepath.Join(dir, "b.json"))
	if !bytes.Equal(a, b) {
		t.Fatal("two runs differ")
	}
	tok, err := tokenize.Load(filepath.Join(dir, "a.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 2000 {
		t.Fatalf("vocab size %d", tok.VocabSize())
	}
	// vocab.txt gives the same tokenizer.
	vt, err := tokenize.FromVocab(filepath.Join(dir, "a.json.txt"), true)
	if err != nil {
		t.Fatal(err)
	}
	s := "Boundary-layer transition at Mach 3."
	if x, y := tok.Encode(s), vt.Encode(s); len(x) == 0 || !slices.Equal(x, y) {
		t.Fatalf("tokenizer.json %v vs vocab.txt %v", x, y)
	}
	app := &cli.App{Name: "colbert", Commands: []*cli.Command{vocabCommand()}, Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}}
	if err := app.Run([]string{"colbert", "vocab", "--corpus", filepath.Join(dir, "none.jsonl"), "--out", filepath.Join(dir, "c.json")}); err == nil {
		t.Fatal("missing corpus accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "c.json")); err == nil {
		t.Fatal("output written for a missing corpus")
	}
}
