package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/urfave/cli/v2"
)

func evaluateApp() (*cli.App, *bytes.Buffer, *bytes.Buffer) {
	var out, errw bytes.Buffer
	return &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: evaluateCommands()}, &out, &errw
}

// Codec and PLAID flags that cannot run are refused before any work,
// naming the value.
func TestEvaluateCLIRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	base := []string{"colbert", "evaluate", "--checkpoint", "c", "--dataset", dir, "--out", filepath.Join(dir, "out")}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--codec", "fp8"}, `codec "fp8": want one of residual, fp32, fp16, pca-int8`},
		{[]string{"--codec", "fp16"}, "use search exhaustive"},
		{[]string{"--search", "exhaustive", "--ncells", "2"}, "PLAID settings"},
		{[]string{"--search", "exhaustive", "--centroid-score-threshold", "0"}, "PLAID settings"},
		{[]string{"--ndocs", "-1"}, "ndocs -1"},
	} {
		app, _, _ := evaluateApp()
		err := app.Run(append(append([]string{}, base...), c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one containing %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a refused evaluation created its result folder")
	}
}

// The PLAID flags reach the search and are printed and recorded; an
// explicit threshold of 0 stays 0.
func TestEvaluateCLIPLAIDFlags(t *testing.T) {
	root := testassets.Path(t, "classic/cranfield")
	ckpt := testassets.Path(t, "models/hf-tiny/colbert")
	full, err := data.LoadBEIR(root, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ds := filepath.Join(dir, "ds")
	os.MkdirAll(filepath.Join(ds, "qrels"), 0o755)
	corpus := full.Corpus[:40]
	in := map[string]bool{}
	for _, p := range corpus {
		in[p.ID] = true
	}
	var qs []data.Query
	qrels := data.Qrels{}
	for _, q := range full.Queries {
		for d, r := range full.Qrels[q.ID] {
			if in[d] && r > 0 {
				if qrels[q.ID] == nil {
					qrels[q.ID] = map[string]int{}
					qs = append(qs, q)
				}
				qrels[q.ID][d] = r
			}
		}
		if len(qs) == 4 {
			break
		}
	}
	if err := data.WriteCorpusJSONL(filepath.Join(ds, "corpus.jsonl"), corpus); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteQueriesJSONL(filepath.Join(ds, "queries.jsonl"), qs); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteQrelsTSV(filepath.Join(ds, "qrels", "test.tsv"), qrels); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	app, stdout, errw := evaluateApp()
	err = app.Run([]string{"colbert", "evaluate", "--checkpoint", ckpt, "--dataset", ds, "--out", out, "-q", "--threads", "2",
		"--k", "10", "--ncells", "3", "--ndocs", "32", "--centroid-score-threshold", "0"})
	if err != nil {
		t.Fatalf("%v\n%s", err, errw.String())
	}
	if !strings.Contains(stdout.String(), "plaid: ncells 3, ndocs 32, centroid score threshold 0\n") ||
		!strings.Contains(stdout.String(), "index: residual codec") {
		t.Errorf("output:\n%s", stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum evaluate.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if p := sum.Params; p == nil || p.K != 10 || p.NCells != 3 || p.NDocs != 32 || p.Threshold == nil || *p.Threshold != 0 {
		t.Errorf("summary.json params %+v", sum.Params)
	}
}
