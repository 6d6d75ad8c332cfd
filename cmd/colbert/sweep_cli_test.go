package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/testassets"
	"github.com/urfave/cli/v2"
)

func sweepApp() (*cli.App, *bytes.Buffer, *bytes.Buffer) {
	var out, errw bytes.Buffer
	return &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: sweepCommands()}, &out, &errw
}

// A bad key in the sweep file is refused before anything runs, naming it.
func TestSweepCLIBadKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "s.toml")
	os.WriteFile(cfg, []byte("dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nnbits = [2]\nn_cells = [1]\n"), 0o644)
	app, _, _ := sweepApp()
	err := app.Run([]string{"colbert", "sweep", "--config", cfg, "--out", filepath.Join(dir, "out")})
	if err == nil || !strings.Contains(err.Error(), `"n_cells"`) || !strings.Contains(err.Error(), cfg) {
		t.Fatalf("err %v, want one naming n_cells and the file", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a refused sweep created its output directory")
	}
}

// A search-only sweep prints its table; run again, it reuses every cell.
func TestSweepCLI(t *testing.T) {
	root := testassets.Path(t, "classic/cranfield")
	ckpt := testassets.Path(t, "models/hf-tiny/colbert")
	dir := t.TempDir()
	ds := filepath.Join(dir, "ds")
	os.MkdirAll(filepath.Join(ds, "qrels"), 0o755)
	head := func(src, dst string, n int, keep func(string) bool) {
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var b strings.Builder
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() && n > 0 {
			if keep(sc.Text()) {
				b.WriteString(sc.Text() + "\n")
				n--
			}
		}
		os.WriteFile(dst, []byte(b.String()), 0o644)
	}
	all := func(string) bool { return true }
	head(filepath.Join(root, "corpus.jsonl"), filepath.Join(ds, "corpus.jsonl"), 30, all)
	head(filepath.Join(root, "queries.jsonl"), filepath.Join(ds, "queries.jsonl"), 5, all)
	// Judgments of queries 1–5 (ids as in queries.jsonl) on documents 1–30.
	head(filepath.Join(root, "qrels", "test.tsv"), filepath.Join(ds, "qrels", "test.tsv"), 1000, func(l string) bool {
		var q, d, r int
		if _, err := fmt.Sscanf(l, "%d\t%d\t%d", &q, &d, &r); err != nil {
			return strings.HasPrefix(l, "query-id")
		}
		return q <= 5 && d <= 30 && r > 0
	})
	cfg := filepath.Join(dir, "s.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("dataset = %q\ncheckpoint = %q\n[eval]\nk = 10\n[grid]\nncells = [1, 2]\n", ds, ckpt)), 0o644)
	args := []string{"colbert", "sweep", "--config", cfg, "--threads", "2", "-q"}
	app, out, errw := sweepApp()
	if err := app.Run(args); err != nil {
		t.Fatalf("%v\n%s", err, errw.String())
	}
	rows := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "| ") {
			rows++
		}
	}
	if !strings.Contains(out.String(), "| ncells |") || rows != 3 {
		t.Errorf("table:\n%s", out.String())
	}
	report := filepath.Join(dir, "s-sweep", "sweep.md")
	if !strings.Contains(out.String(), "report: "+report) {
		t.Errorf("no report path in:\n%s", out.String())
	}
	if _, err := os.Stat(report); err != nil {
		t.Error(err)
	}
	app, _, errw = sweepApp()
	if err := app.Run(args); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errw.String(), "evaluated 0 cells (reused 2)") {
		t.Errorf("second run:\n%s", errw.String())
	}
}
