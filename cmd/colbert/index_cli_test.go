package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/urfave/cli/v2"
)

// TestIndexSearchRerankCLI runs index build/info/append/delete, search
// (PLAID, exhaustive, Parquet) and rerank end to end on a Cranfield subset
// with the hf-tiny checkpoint, then every error of issue 10's acceptance:
// each returns an error naming the problem and writes no output file.
func TestIndexSearchRerankCLI(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	corpus, extra := filepath.Join(dir, "corpus.jsonl"), filepath.Join(dir, "extra.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:120]))
	must(t, data.WriteCorpusJSONL(extra, ps[120:130]))
	queries := filepath.Join(dir, "queries.jsonl")
	must(t, data.WriteQueriesJSONL(queries, qs[:8]))

	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw,
		Commands: append(append(indexCommands(), searchCommands()...), rerankCommands()...)}
	run := func(args ...string) string {
		t.Helper()
		out.Reset()
		errw.Reset()
		if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errw.String())
		}
		return out.String() + errw.String()
	}
	fail := func(want, outFile string, args ...string) {
		t.Helper()
		err := app.Run(append([]string{"colbert"}, args...))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one containing %q", args[:2], err, want)
		}
		if _, serr := os.Stat(outFile); outFile != "" && !os.IsNotExist(serr) {
			t.Errorf("%v: output %s exists after an error", args[:2], outFile)
		}
	}

	idx := filepath.Join(dir, "idx")
	// The parent command builds (no "build" subcommand needed).
	run("index", "--checkpoint", ck, "--collection", corpus, "--out", idx, "--centroids", "64", "--sample", "40",
		"--chunk-size", "50", "--embed-batch", "25", "--threads", "2", "-q")
	if _, err := os.Stat(idx + ".ids"); !os.IsNotExist(err) {
		t.Errorf("token id cache left behind after a finished build: %v", err)
	}
	fail("already exists", "", "index", "build", "--checkpoint", ck, "-c", corpus, "--out", idx, "-q")
	info := run("index", "info", idx)
	for _, want := range []string{"passages    120 (120 live", "2 bits, dim 128, 64 centroids", "codes+residuals 36.00 B/token"} {
		if !strings.Contains(info, want) {
			t.Errorf("index info lacks %q:\n%s", want, info)
		}
	}

	// PLAID probing every centroid without pruning equals exhaustive search,
	// and the Parquet run equals the TREC one.
	search := []string{"search", "--index", idx, "--checkpoint", ck, "--queries", queries, "--k", "10", "-q", "--threads", "2"}
	plaidRun, exRun, pqRun := filepath.Join(dir, "plaid.trec"), filepath.Join(dir, "ex.trec"), filepath.Join(dir, "ex.parquet")
	msg := run(append(search, "--ncells", "64", "--ndocs", "1000", "--no-prune", "--out", plaidRun)...)
	if !strings.Contains(msg, "p50") || !strings.Contains(msg, "p99") {
		t.Errorf("search printed no latency percentiles: %s", msg)
	}
	run(append(search, "--exhaustive", "--out", exRun)...)
	run(append(search, "--exhaustive", "--out", pqRun)...)
	plaid, ex := readTREC(t, plaidRun), readTREC(t, exRun)
	pq, _, err := parquetio.ReadRun(pqRun)
	must(t, err)
	if len(ex) != 8 {
		t.Fatalf("exhaustive run has %d queries, want 8", len(ex))
	}
	for qid, docs := range ex {
		if len(docs) != 10 || !slices.Equal(docs, plaid[qid]) || !slices.Equal(docs, pq[qid]) {
			t.Errorf("query %s: exhaustive %v\nPLAID %v\nParquet %v", qid, docs, plaid[qid], pq[qid])
		}
	}

	// rerank of the exhaustive candidates = exact MaxSim of those pairs on
	// uncompressed vectors, computed here independently, one passage at a time.
	rr := filepath.Join(dir, "rerank.trec")
	run("rerank", "--checkpoint", ck, "-c", corpus, "--queries", queries, "--run", exRun, "--out", rr, "-q", "--threads", "2")
	checkExact(t, ck, rr, ps[:120], qs[:8])
	hy := filepath.Join(dir, "hybrid.trec")
	run("rerank", "--checkpoint", ck, "-c", corpus, "--queries", queries, "--run", exRun, "--out", hy, "--hybrid", "0.3", "--depth", "4", "-q")
	for qid, docs := range readTREC(t, hy) {
		if len(docs) != 4 || docs[0].Score > 1 || docs[len(docs)-1].Score < 0 {
			t.Errorf("hybrid query %s: %v, want 4 scores in [0, 1]", qid, docs)
		}
	}

	// Append ten passages, delete two: exhaustive search sees exactly that.
	run("index", "append", "--index", idx, "--checkpoint", ck, "-c", extra, "-q", "--threads", "2")
	gone := []string{ex["1"][0].DocID, ps[125].ID}
	run("index", "delete", "--index", idx, "--ids", strings.Join(gone, ","))
	if info := run("index", "info", idx); !strings.Contains(info, "passages    130 (128 live, 2 deleted)") {
		t.Errorf("after append+delete:\n%s", info)
	}
	after := filepath.Join(dir, "after.trec")
	run("search", "--index", idx, "--checkpoint", ck, "--queries", queries, "--k", "200", "--exhaustive", "--out", after, "-q")
	for qid, docs := range readTREC(t, after) {
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.DocID
		}
		if len(docs) != 128 || slices.Contains(ids, gone[0]) || slices.Contains(ids, gone[1]) || !slices.Contains(ids, ps[129].ID) {
			t.Errorf("query %s after append+delete: %d passages %v", qid, len(docs), ids)
		}
	}

	// Errors: a query with no tokens.
	blank := filepath.Join(dir, "blank.jsonl")
	must(t, data.WriteQueriesJSONL(blank, []data.Query{qs[0], {ID: "q-blank", Text: " \t "}}))
	o := filepath.Join(dir, "o.trec")
	fail(`"q-blank"`, o, "search", "--index", idx, "--checkpoint", ck, "--queries", blank, "--out", o, "-q")
	fail("no tokens", o, "rerank", "--checkpoint", ck, "-c", corpus, "--queries", blank, "--run", writeRunFile(t, dir, "q-blank", ps[0].ID), "--out", o, "-q")
	// An index built with another model: other weights, then another dim.
	base, err := model.LoadCheckpoint(ck)
	must(t, err)
	for _, c := range []struct {
		dim  int
		want string
	}{{128, "different checkpoint"}, {64, "dimension"}} {
		col := base.ColBERT
		col.Dim = c.dim
		other, err := model.NewCheckpoint(base.Config, model.KindColBERT, col, 99)
		must(t, err)
		other.Tokenizer = base.Tokenizer
		odir := filepath.Join(dir, "other"+strconv.Itoa(c.dim))
		must(t, model.SaveCheckpoint(odir, other))
		fail(c.want, o, "search", "--index", idx, "--checkpoint", odir, "--queries", queries, "--out", o, "-q")
		fail(c.want, "", "index", "append", "--index", idx, "--checkpoint", odir, "-c", extra, "-q")
	}
	// A missing or truncated index.
	fail("idx-missing", o, "search", "--index", filepath.Join(dir, "idx-missing"), "--checkpoint", ck, "--queries", queries, "--out", o, "-q")
	trunc := filepath.Join(dir, "idx-trunc")
	must(t, os.CopyFS(trunc, os.DirFS(idx)))
	res := filepath.Join(trunc, "chunk.00001.residuals")
	st, err := os.Stat(res)
	must(t, err)
	must(t, os.Truncate(res, st.Size()-7))
	fail("chunk.00001.residuals", o, "search", "--index", trunc, "--checkpoint", ck, "--queries", queries, "--out", o, "-q", "--no-verify")
	fail("chunk.00001.residuals", "", "index", "info", trunc)
	// A run naming unknown ids.
	fail(`"no-such-doc"`, o, "rerank", "--checkpoint", ck, "-c", corpus, "--queries", queries, "--run", writeRunFile(t, dir, qs[0].ID, "no-such-doc"), "--out", o, "-q")
	fail(`"no-such-query"`, o, "rerank", "--checkpoint", ck, "-c", corpus, "--queries", queries, "--run", writeRunFile(t, dir, "no-such-query", ps[0].ID), "--out", o, "-q")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readTREC(t *testing.T, path string) data.Run {
	t.Helper()
	r, err := data.ReadTRECRun(path)
	must(t, err)
	return r
}

func writeRunFile(t *testing.T, dir, qid, docid string) string {
	t.Helper()
	p := filepath.Join(dir, "cand-"+qid+"-"+docid+".trec")
	must(t, data.WriteTRECRun(p, data.Run{qid: {{DocID: docid, Score: 1}}}, "x"))
	return p
}

// checkExact compares a rerank run with MaxSim computed from scratch and
// checks that its scores carry at least 6 significant digits.
func checkExact(t *testing.T, ck, path string, ps []data.Passage, qs []data.Query) {
	t.Helper()
	m, err := colbert.Load(ck, "", encode.Options{Threads: 2})
	must(t, err)
	ctx := context.Background()
	qv, err := m.EncodeQueries(ctx, qs)
	must(t, err)
	qi := map[string]int{}
	for i, q := range qs {
		qi[q.ID] = i
	}
	text := map[string]string{}
	for _, p := range ps {
		text[p.ID] = p.Content()
	}
	raw, err := os.ReadFile(path)
	must(t, err)
	worst, n := 0.0, 0
	docs := map[string]*encode.DocVectors{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		digits := strings.TrimLeft(strings.NewReplacer(".", "", "-", "").Replace(f[4]), "0")
		if len(digits) < 6 {
			t.Errorf("score %s has fewer than 6 significant digits", f[4])
		}
		got, err := strconv.ParseFloat(f[4], 64)
		must(t, err)
		dv := docs[f[2]]
		if dv == nil {
			dv, err = m.EncodeDocTexts(ctx, []string{text[f[2]]})
			must(t, err)
			docs[f[2]] = dv
		}
		want := model.MaxSim(qv[qi[f[0]]], m.QueryLen(), dv.Doc(0), dv.Len(0), m.Dim())
		worst = math.Max(worst, math.Abs(got-float64(want)))
		n++
	}
	if n != 80 || worst > 1e-5 {
		t.Errorf("rerank: %d pairs, max |score − exact MaxSim| %g (want 80 pairs within 1e-5)", n, worst)
	}
}

// TestIndexSizeIsStats: `colbert index` and `colbert index info` report the
// size index.Stat computes, which is every file of the index directory
// (the manifest included).
func TestIndexSizeIsStats(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	must(t, err)
	corpus := filepath.Join(dir, "corpus.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:40]))
	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: indexCommands()}
	idx := filepath.Join(dir, "idx")
	must(t, app.Run([]string{"colbert", "index", "--checkpoint", ck, "--collection", corpus, "--out", idx,
		"--centroids", "16", "--sample", "20", "--threads", "2", "-q"}))
	built := out.String() + errw.String()
	out.Reset()
	errw.Reset()
	must(t, app.Run([]string{"colbert", "index", "info", idx}))
	info := out.String()

	st, err := index.Stat(idx)
	must(t, err)
	ents, err := os.ReadDir(idx)
	must(t, err)
	var onDisk int64
	for _, e := range ents {
		fi, err := e.Info()
		must(t, err)
		onDisk += fi.Size()
	}
	if st.TotalBytes != onDisk {
		t.Errorf("index.Stat: %d B, the directory's files: %d B", st.TotalBytes, onDisk)
	}
	if want := fmt.Sprintf("(%d B), %.1f bytes/token", st.TotalBytes, st.BytesPerToken); !strings.Contains(built, want) {
		t.Errorf("colbert index reports a size other than index.Stat's %q:\n%s", want, built)
	}
	if want := fmt.Sprintf("total       %d B (%s), %.2f bytes/token", st.TotalBytes, evaluate.FormatBytes(st.TotalBytes), st.BytesPerToken); !strings.Contains(info, want) {
		t.Errorf("colbert index info reports a size other than index.Stat's %q:\n%s", want, info)
	}
}
