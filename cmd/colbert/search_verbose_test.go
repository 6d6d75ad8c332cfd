package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/search"
	"github.com/urfave/cli/v2"
)

// TestStageMeans: the --verbose line averages each stage over the queries
// and gives its share of the total.
func TestStageMeans(t *testing.T) {
	ms := time.Millisecond
	res := []search.Result{
		{Trace: search.Trace{Time: search.StageTimes{Encode: 2 * ms, Candidates: 1 * ms, Pruned: 3 * ms, Full: 0, Decompress: 2 * ms, MaxSim: 1 * ms}}},
		{Trace: search.Trace{Time: search.StageTimes{Encode: 4 * ms, Candidates: 1 * ms, Pruned: 1 * ms, Full: 2 * ms, Decompress: 2 * ms, MaxSim: 1 * ms}}},
	}
	want := "search: stages per query (mean): encode 3.000 ms (30%), candidates 1.000 ms (10%), pruned interaction 2.000 ms (20%), " +
		"full interaction 1.000 ms (10%), decompress 2.000 ms (20%), maxsim 1.000 ms (10%)"
	if got := stageMeans(res); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestSearchVerbose: `colbert search --verbose` prints the stage line after
// the PLAID counts; without --verbose it does not.
func TestSearchVerbose(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	must(t, err)
	qs, err := data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	must(t, err)
	corpus, queries := filepath.Join(dir, "corpus.jsonl"), filepath.Join(dir, "queries.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:40]))
	must(t, data.WriteQueriesJSONL(queries, qs[:4]))
	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: append(indexCommands(), searchCommands()...)}
	idx := filepath.Join(dir, "idx")
	must(t, app.Run([]string{"colbert", "index", "--checkpoint", ck, "-c", corpus, "--out", idx, "--centroids", "16", "--sample", "30", "--threads", "2", "-q"}))
	search := []string{"colbert", "search", "--index", idx, "--checkpoint", ck, "--queries", queries, "--k", "5", "--out", filepath.Join(dir, "run.trec"), "-q"}
	errw.Reset()
	must(t, app.Run(search))
	if strings.Contains(errw.String(), "stages per query") {
		t.Errorf("stage line without --verbose:\n%s", errw.String())
	}
	errw.Reset()
	must(t, app.Run(append(search, "--verbose")))
	re := regexp.MustCompile(`search: stages per query \(mean\): encode [0-9.]+ ms \(\d+%\), candidates [0-9.]+ ms \(\d+%\), pruned interaction [0-9.]+ ms \(\d+%\), full interaction [0-9.]+ ms \(\d+%\), decompress [0-9.]+ ms \(\d+%\), maxsim [0-9.]+ ms \(\d+%\)\n`)
	if !re.MatchString(errw.String()) {
		t.Errorf("no stage line with --verbose:\n%s", errw.String())
	}
}
