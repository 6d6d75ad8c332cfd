package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestSynthBM25EvalCLI runs the three commands end to end on a small
// benchmark: generate twice (the second run is skipped as up to date), rank
// with BM25, evaluate, and check the JSON agrees with the printed table.
func TestSynthBM25EvalCLI(t *testing.T) {
	dir := t.TempDir()
	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw,
		Commands: []*cli.Command{{Name: "data", Subcommands: []*cli.Command{synthCommand()}}, bm25Command(), evalCommand()}}
	bench := filepath.Join(dir, "bench")
	synthArgs := []string{"colbert", "data", "synth", "--out", bench, "--seed", "7", "--passages", "2000", "--topics", "6",
		"--train", "200", "--dev", "50", "--test", "50", "-q", "--threads", "2"}
	if err := app.Run(synthArgs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ndcg@10") {
		t.Fatalf("synth printed no BM25 baseline:\n%s", out.String())
	}
	manifest, err := os.ReadFile(filepath.Join(bench, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	errw.Reset()
	if err := app.Run(synthArgs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errw.String(), "up to date") {
		t.Fatalf("second synth run regenerated: %s", errw.String())
	}
	if again, _ := os.ReadFile(filepath.Join(bench, "manifest.json")); !bytes.Equal(again, manifest) {
		t.Fatal("manifest changed on a skipped run")
	}

	run := filepath.Join(dir, "run.trec")
	if err := app.Run([]string{"colbert", "bm25", "--collection", bench, "--split", "test", "--k", "100", "--out", run, "-q"}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	js := filepath.Join(dir, "m.json")
	if err := app.Run([]string{"colbert", "eval", "--qrels", filepath.Join(bench, "qrels", "test.tsv"), "--run", run,
		"--measures", "ndcg@10,recall@100", "--out", js, "--markdown"}); err != nil {
		t.Fatal(err)
	}
	var res struct {
		NumQueries int                `json:"num_queries"`
		Mean       map[string]float64 `json:"mean"`
	}
	buf, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf, &res); err != nil {
		t.Fatal(err)
	}
	if res.NumQueries != 50 || res.Mean["ndcg@10"] <= 0 || res.Mean["ndcg@10"] >= 1 {
		t.Fatalf("eval JSON: %+v", res)
	}
	if !strings.Contains(out.String(), "| ndcg@10 ") || !strings.Contains(out.String(), "| queries ") {
		t.Fatalf("eval table:\n%s", out.String())
	}
	// The same run as Parquet evaluates to the same figures.
	pq := filepath.Join(dir, "run.parquet")
	if err := app.Run([]string{"colbert", "bm25", "--collection", bench, "--split", "test", "--k", "100", "--out", pq, "-q"}); err != nil {
		t.Fatal(err)
	}
	js2 := filepath.Join(dir, "m2.json")
	if err := app.Run([]string{"colbert", "eval", "--qrels", filepath.Join(bench, "qrels", "test.tsv"), "--run", pq,
		"--measures", "ndcg@10,recall@100", "--out", js2}); err != nil {
		t.Fatal(err)
	}
	if a, b := mustRead(t, js), mustRead(t, js2); !bytes.Equal(a, b) {
		t.Fatal("Parquet run evaluates differently from the TREC run")
	}
	// A run file that is not a run file is reported with its name.
	bad := filepath.Join(dir, "bad.trec")
	os.WriteFile(bad, []byte("q1 Q0 d1 1\n"), 0o644)
	err = app.Run([]string{"colbert", "eval", "--qrels", filepath.Join(bench, "qrels", "test.tsv"), "--run", bad})
	if err == nil || !strings.Contains(err.Error(), "bad.trec") {
		t.Fatalf("bad run file: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
