// Package demo runs colbert-go's whole pipeline on the built-in benchmark as
// resumable stages (see experiments/stage): a re-run reuses the stages that
// finished and says so. It is what `make demo` and `colbert demo` run.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/synth"
	"github.com/colbert-go/colbert/experiments/metrics"
	"github.com/colbert-go/colbert/experiments/stage"
)

// Options configure a demo run.
type Options struct {
	Dir     string       // everything is written below it
	Synth   synth.Config // the benchmark's size and seed
	Threads int
	Log     io.Writer // stage lines and the final table; nil for none
}

// Measures are the columns of the demo's comparison table.
var Measures = []string{"mrr@10", "ndcg@10", "recall@100", "recall@1000"}

// Row is one system of the comparison table.
type Row struct {
	System string
	Result metrics.Result
}

// Run executes the pipeline and writes report.md under opt.Dir; it returns
// the report's path.
func Run(ctx context.Context, opt Options) (string, error) {
	if opt.Threads <= 0 {
		opt.Threads = 1
	}
	p := paths{root: opt.Dir}
	cfgKey, err := json.Marshal(opt.Synth)
	if err != nil {
		return "", err
	}
	r := &stage.Runner{StampDir: filepath.Join(opt.Dir, ".stages"), Log: opt.Log}
	var bench *synth.Benchmark
	loadBench := func() (*synth.Benchmark, error) {
		if bench == nil {
			b, err := synth.Generate(ctx, opt.Synth, opt.Threads, nil)
			if err != nil {
				return nil, err
			}
			bench = b
		}
		return bench, nil
	}
	stages := []stage.Stage{
		{
			Name: "benchmark", Key: string(cfgKey), Outputs: []string{p.benchmark()},
			Run: func(ctx context.Context) error {
				b, err := loadBench()
				if err != nil {
					return err
				}
				return b.Write(p.benchmark(), nil)
			},
		},
		{
			Name: "bm25", Key: string(cfgKey) + bm25Key(), Outputs: []string{p.bm25Run(), p.bm25Metrics()},
			Run: func(ctx context.Context) error { return runBM25(ctx, p, opt.Threads) },
		},
	}
	results, err := r.Run(ctx, stages...)
	if err != nil {
		return "", err
	}
	rows, err := collectRows(p)
	if err != nil {
		return "", err
	}
	report := filepath.Join(opt.Dir, "report.md")
	if err := writeReport(report, opt, rows, results); err != nil {
		return "", err
	}
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "\n%s", metrics.CompareTable(rowNames(rows), rowResults(rows), false))
	}
	return report, nil
}

type paths struct{ root string }

func (p paths) benchmark() string   { return filepath.Join(p.root, "benchmark") }
func (p paths) bm25Run() string     { return filepath.Join(p.root, "bm25", "run.trec") }
func (p paths) bm25Metrics() string { return filepath.Join(p.root, "bm25", "metrics.json") }

func bm25Key() string {
	b, _ := json.Marshal(bm25.DefaultParams())
	return string(b)
}

// runBM25 ranks the test queries of the written benchmark with BM25, reading
// the files back as any user's BEIR folder would be read.
func runBM25(ctx context.Context, p paths, threads int) error {
	ds, err := data.LoadBEIR(p.benchmark(), "test")
	if err != nil {
		return err
	}
	ix, err := bm25.Build(ctx, ds.Corpus, bm25.DefaultParams(), threads, nil)
	if err != nil {
		return err
	}
	run, err := ix.SearchAll(ctx, ds.Queries, 1000, threads, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.bm25Run()), 0o755); err != nil {
		return err
	}
	if err := data.WriteTRECRun(p.bm25Run(), run, "bm25"); err != nil {
		return err
	}
	res, err := metrics.Evaluate(ds.Qrels, run, Measures)
	if err != nil {
		return err
	}
	return res.WriteJSON(p.bm25Metrics())
}

// collectRows reads the metrics of every system that has finished.
func collectRows(p paths) ([]Row, error) {
	systems := []struct{ name, path string }{
		{"BM25", p.bm25Metrics()},
	}
	var rows []Row
	for _, s := range systems {
		res, err := metrics.ReadJSON(s.path)
		if err != nil {
			return nil, fmt.Errorf("demo: %s metrics: %w", s.name, err)
		}
		rows = append(rows, Row{System: s.name, Result: res})
	}
	return rows, nil
}

func rowNames(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.System
	}
	return out
}

func rowResults(rows []Row) []metrics.Result {
	out := make([]metrics.Result, len(rows))
	for i, r := range rows {
		out[i] = r.Result
	}
	return out
}

func writeReport(path string, opt Options, rows []Row, results []stage.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# colbert-go demo report\n\n")
	fmt.Fprintf(&b, "Built-in benchmark: seed %d, %d passages, %d/%d/%d train/dev/test queries (test split below).\n\n",
		opt.Synth.Seed, opt.Synth.Passages, opt.Synth.Train, opt.Synth.Dev, opt.Synth.Test)
	fmt.Fprintf(&b, "## Retrieval quality (test split)\n\n%s\n", metrics.CompareTable(rowNames(rows), rowResults(rows), true))
	fmt.Fprintf(&b, "## Stages\n\n| stage | status | seconds |\n|---|---|---|\n")
	for _, r := range results {
		status := "ran"
		if r.Reused {
			status = "reused"
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f |\n", r.Name, status, r.Seconds)
	}
	fmt.Fprintf(&b, "\nGenerated %s.\n", time.Now().UTC().Format(time.RFC3339))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("demo: write report: %w", err)
	}
	return os.Rename(tmp, path)
}
