package evaluate

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/experiments/report"
)

// WriteResults writes summary.json, report.md and the plots of one
// evaluation into dir (metrics.json and run.trec are written by Run).
func WriteResults(dir string, sum *Summary, res metrics.Result) error {
	js, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(dir, "summary.json"), append(js, '\n')); err != nil {
		return err
	}
	var plots []string
	bars := make([]report.Bar, 0, len(res.Measures))
	for _, m := range res.Measures {
		bars = append(bars, report.Bar{Label: m, Value: res.Mean[m]})
	}
	if err := report.BarChart(filepath.Join(dir, "metrics.png"), sum.System+" on "+filepath.Base(sum.Dataset)+" ("+sum.Split+")", "mean", bars); err != nil {
		return err
	}
	plots = append(plots, "metrics.png")
	if len(sum.Latencies) > 0 {
		if err := report.Histogram(filepath.Join(dir, "latency.png"), "search latency per query ("+sum.Search+")", "ms", sum.Latencies, 30); err != nil {
			return err
		}
		plots = append(plots, "latency.png")
	}
	return report.WriteFile(filepath.Join(dir, "report.md"), []byte(Markdown(sum, res, plots)))
}

// Markdown renders the report of one evaluation.
func Markdown(sum *Summary, res metrics.Result, plots []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# colbert evaluate: %s\n\n", sum.System)
	fmt.Fprintf(&b, "- checkpoint: `%s` (parameters hash %s)\n", sum.Checkpoint, sum.ModelHash)
	fmt.Fprintf(&b, "- dataset: `%s`, split %s: %d passages, %d judged queries\n", sum.Dataset, sum.Split, sum.Passages, sum.Queries)
	mode := sum.Search
	switch {
	case sum.Params != nil:
		mode += fmt.Sprintf(" (k %d, ncells %d, ndocs %d, centroid score threshold %g)", sum.K, sum.Params.NCells, sum.Params.NDocs, sum.Params.EffectiveThreshold())
	case sum.Search == SearchRerankBM25:
		mode += fmt.Sprintf(" (BM25 top %d rescored by exact MaxSim)", sum.K)
	default:
		mode += fmt.Sprintf(" (k %d)", sum.K)
	}
	fmt.Fprintf(&b, "- search: %s, %d threads\n\n", mode, sum.Threads)

	fmt.Fprintf(&b, "## Metrics\n\n")
	t := report.Table{Columns: []string{"measure", "mean"}}
	for _, m := range res.Measures {
		t.AddRow(m, fmt.Sprintf("%.4f", res.Mean[m]))
	}
	t.AddRow("queries", fmt.Sprint(res.NumQueries))
	b.WriteString(t.Markdown())
	if len(res.Missing) > 0 {
		fmt.Fprintf(&b, "\n%d judged queries have no ranking in the run (counted as 0).\n", len(res.Missing))
	}

	if sum.IndexDir != "" {
		reused := "built now"
		if sum.IndexReused {
			reused = "reused (same checkpoint, tokenizer, corpus and settings)"
		}
		what := fmt.Sprintf("%d-bit residuals", sum.NBits)
		switch sum.Codec {
		case CodecResidual, "":
		case CodecPCAInt8:
			what = fmt.Sprintf("flat, PCA to %d components + int8 (size: codes, passage lengths, PCA parameters)", sum.PCAComponents)
		default:
			what = fmt.Sprintf("flat %s vectors (size: vectors and passage lengths)", sum.Codec)
		}
		if sum.Codec != CodecResidual && sum.Codec != "" {
			reused += "; the folder stores float32 vectors, encoded with the codec when opened"
		}
		fmt.Fprintf(&b, "\n## Index\n\n`%s`: %s, %d embeddings, %s, %.1f bytes/token; %s.\n",
			sum.IndexDir, what, sum.Embeddings, FormatBytes(sum.IndexBytes), sum.BytesPerToken, reused)
	}

	fmt.Fprintf(&b, "\n## Timings\n\n")
	tt := report.Table{Columns: []string{"stage", "seconds"}}
	stages := make([]string, 0, len(sum.Seconds))
	for k := range sum.Seconds {
		stages = append(stages, k)
	}
	order := []string{"load", "bm25_index", "index", "encode_passages", "encode_index", "encode_queries", "search", "evaluate"}
	slices.SortFunc(stages, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	for _, s := range stages {
		label := s
		switch {
		case s == "index" && sum.IndexReused:
			label += " (recorded time of the reused build)"
		case s == "encode_passages":
			label += fmt.Sprintf(" (inside index: %s encoder, %.0f tokens/s)", sum.Encoder, sum.EncodeTokensPerSec)
		case s == "encode_index":
			label += " (stored vectors through the " + sum.Codec + " codec)"
		}
		tt.AddRow(label, fmt.Sprintf("%.2f", sum.Seconds[s]))
	}
	b.WriteString(tt.Markdown())
	if sum.LatencyP50 > 0 {
		fmt.Fprintf(&b, "\nSearch latency per query: p50 %.2f ms, p95 %.2f ms; %.2f ms/query overall (query encoding + search, wall time / queries).\n",
			sum.LatencyP50, sum.LatencyP95, sum.MeanMS)
	} else {
		fmt.Fprintf(&b, "\n%.2f ms/query overall (wall time / queries).\n", sum.MeanMS)
	}
	if len(plots) > 0 {
		fmt.Fprintf(&b, "\n## Plots\n\n")
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	fmt.Fprintf(&b, "\nFiles: `metrics.json` (per-query values), `run.trec`, `summary.json`. Finished %s.\n", sum.Finished.Format("2006-01-02 15:04:05 UTC"))
	return b.String()
}

// FormatBytes prints a size with a binary unit.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
