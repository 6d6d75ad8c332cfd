package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/search/engine"
)

// TestSPLADEIndexCLI: a SPLADE checkpoint (hf-tiny's encoder under a fresh
// MLM head) goes through the same commands as ColBERT: index build writes
// the inverted index, info describes it, search's pruned top k equals
// --exhaustive, append and delete update it (deleted ids never returned,
// appended ones found).
func TestSPLADEIndexCLI(t *testing.T) {
	ckdir, corpus, queries, ps, qs, run := kindCLI(t, model.KindSPLADE, nil, 24, 4)
	dir := filepath.Dir(corpus)
	extra := filepath.Join(dir, "extra.jsonl")
	must(t, data.WriteCorpusJSONL(extra, ps[24:28]))
	idx := filepath.Join(dir, "idx")
	built := run("index", "--checkpoint", ckdir, "--collection", corpus, "--out", idx, "--threads", "2", "-q")
	info := run("index", "info", idx)
	for _, want := range []string{"colbert-go-sparse-index", "passages    24 (24 live", "postings"} {
		if !strings.Contains(built, "sparse") || !strings.Contains(info, want) {
			t.Errorf("index build / info lack %q:\n%s\n%s", want, built, info)
		}
	}
	search := []string{"search", "--index", idx, "--checkpoint", ckdir, "--queries", queries, "--k", "5", "-q"}
	pruned, ex := filepath.Join(dir, "pruned.trec"), filepath.Join(dir, "ex.trec")
	run(append(search, "--out", pruned)...)
	run(append(search, "--exhaustive", "--out", ex)...)
	a, b := readTREC(t, pruned), readTREC(t, ex)
	if len(a) != 4 {
		t.Fatalf("pruned run has %d queries, want 4", len(a))
	}
	for q := range b {
		if !slices.Equal(a[q], b[q]) {
			t.Errorf("query %s: pruned %v, exhaustive %v", q, a[q], b[q])
		}
	}
	g0, err := engine.Generation(idx)
	must(t, err)
	run("index", "append", "--index", idx, "--checkpoint", ckdir, "--collection", extra, "-q")
	if g1, err := engine.Generation(idx); err != nil || g1 != g0+1 {
		t.Errorf("generation after append: %d (%v), want %d (what serve --watch reads)", g1, err, g0+1)
	}
	gone := a[qs[0].ID][0].DocID
	run("index", "delete", "--index", idx, "--ids", gone)
	if info := run("index", "info", idx); !strings.Contains(info, "passages    28 (27 live, 1 deleted)") {
		t.Errorf("after append and delete:\n%s", info)
	}
	after := filepath.Join(dir, "after.trec")
	run(append(search, "--k", "28", "--out", after)...)
	seen := map[string]bool{}
	for _, docs := range readTREC(t, after) {
		for _, d := range docs {
			seen[d.DocID] = true
		}
	}
	if seen[gone] {
		t.Errorf("deleted passage %s returned", gone)
	}
	for _, p := range ps[24:28] {
		if !seen[p.ID] {
			t.Errorf("appended passage %s never returned at k = 28", p.ID)
		}
	}
}

// TestPolyEncoderCLI: a poly-encoder checkpoint is indexed (one [CLS]
// vector per passage), searched exhaustively, and reranks a first-stage run
// from its stored vectors with --candidates: reranking every passage gives
// the exhaustive top k.
func TestPolyEncoderCLI(t *testing.T) {
	ckdir, corpus, queries, _, _, run := kindCLI(t, model.KindPolyEncoder, func(c *model.ColBERTConfig) { c.PolyM = 4 }, 30, 3)
	dir := filepath.Dir(corpus)
	idx := filepath.Join(dir, "idx")
	run("index", "--checkpoint", ckdir, "--collection", corpus, "--out", idx, "--centroids", "8", "--threads", "2", "-q")
	search := []string{"search", "--index", idx, "--checkpoint", ckdir, "--queries", queries, "-q"}
	all, top, re := filepath.Join(dir, "all.trec"), filepath.Join(dir, "top.trec"), filepath.Join(dir, "re.trec")
	run(append(search, "--k", "30", "--out", all)...)
	if msg := run(append(search, "--k", "5", "--out", top)...); !strings.Contains(msg, "exhaustive") {
		t.Errorf("a poly-encoder search is not reported exhaustive: %s", msg)
	}
	run(append(search, "--k", "5", "--candidates", all, "--out", re)...)
	a, b := readTREC(t, top), readTREC(t, re)
	for q := range a {
		if len(a[q]) != 5 || !slices.Equal(a[q], b[q]) {
			t.Errorf("query %s: exhaustive %v, rerank of every passage %v", q, a[q], b[q])
		}
	}
}

// kindCLI saves hf-tiny's encoder under a fresh head of kind (col sizes
// it) with its tokenizer, writes the first n Cranfield passages and nq
// queries into dir, and returns the checkpoint, corpus and queries paths,
// the passages and queries, and a runner of the index and search commands
// that fails the test on an error and returns what they printed.
func kindCLI(t *testing.T, kind model.Kind, col func(*model.ColBERTConfig), n, nq int) (ckdir, corpus, queries string, ps []data.Passage, qs []data.Query, run func(args ...string) string) {
	t.Helper()
	src := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ck, err := model.LoadCheckpoint(src)
	must(t, err)
	cc := ck.ColBERT
	if col != nil {
		col(&cc)
	}
	out, _, err := ck.WithHead(kind, cc, 3)
	must(t, err)
	ckdir = filepath.Join(dir, string(kind))
	must(t, model.SaveCheckpoint(ckdir, out))
	ps, err = data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	must(t, err)
	qs, err = data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	must(t, err)
	corpus, queries = filepath.Join(dir, "corpus.jsonl"), filepath.Join(dir, "queries.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:n]))
	must(t, data.WriteQueriesJSONL(queries, qs[:nq]))
	var stdout, stderr bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &stdout, ErrWriter: &stderr, Commands: append(indexCommands(), searchCommands()...)}
	run = func(args ...string) string {
		t.Helper()
		stdout.Reset()
		stderr.Reset()
		if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String() + stderr.String()
	}
	return ckdir, corpus, queries, ps, qs, run
}
