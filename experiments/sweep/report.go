package sweep

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/experiments/report"
)

// metricCols are the measured columns after the varied settings: header,
// Parquet name and how to read the value from a row.
var metricCols = []struct {
	Header, Name string
	Get          func(Row) float64
}{
	{"MRR@10", "mrr_at_10", func(r Row) float64 { return mean(r, "mrr@10") }},
	{"nDCG@10", "ndcg_at_10", func(r Row) float64 { return mean(r, "ndcg@10") }},
	{"R@100", "recall_at_100", func(r Row) float64 { return mean(r, "recall@100") }},
	{"bytes/token", "bytes_per_token", func(r Row) float64 { return r.BytesPerToken }},
	{"bytes/passage", "bytes_per_passage", func(r Row) float64 { return r.BytesPerPassage }},
	{"ms/query p50", "latency_p50_ms", func(r Row) float64 { return r.LatencyP50 }},
	{"ms/query p95", "latency_p95_ms", func(r Row) float64 { return r.LatencyP95 }},
}

func mean(r Row, m string) float64 {
	v, ok := r.Mean[m]
	if !ok {
		return math.NaN()
	}
	return v
}

// formatMetric prints a value with the precision its column needs.
func formatMetric(header string, v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	switch header {
	case "bytes/token":
		return strconv.FormatFloat(v, 'f', 2, 64)
	case "ms/query p50", "ms/query p95":
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// Table lays the rows out with the varied settings as the first columns.
func Table(keys []string, rows []Row) (*report.Table, error) {
	t := &report.Table{Columns: append([]string{"cell"}, keys...)}
	for _, m := range metricCols {
		t.Columns = append(t.Columns, m.Header)
	}
	for _, r := range rows {
		cells := []string{strconv.Itoa(r.Cell)}
		for _, k := range keys {
			cells = append(cells, r.Settings[k])
		}
		for _, m := range metricCols {
			cells = append(cells, formatMetric(m.Header, m.Get(r)))
		}
		if err := t.AddRow(cells...); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// WriteReport writes sweep.md, sweep.csv, sweep.parquet and the plots into
// dir and returns their paths.
func WriteReport(dir string, keys []string, rows []Row) ([]string, error) {
	t, err := Table(keys, rows)
	if err != nil {
		return nil, fmt.Errorf("sweep: report: %w", err)
	}
	var files []string
	write := func(name string, b []byte) error {
		p := filepath.Join(dir, name)
		if err := report.WriteFile(p, b); err != nil {
			return fmt.Errorf("sweep: report: %w", err)
		}
		files = append(files, p)
		return nil
	}
	plots, err := writePlots(dir, keys, rows)
	if err != nil {
		return nil, err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Sweep\n\n%d cells; index bytes/token and per-query latency (p50/p95, one query at a time per worker) from each cell's evaluation (cells run in parallel share the cores: compare latencies from a --parallel 1 run). Each cell's full report is under cells/<id>/.\n\n", len(rows))
	md.WriteString(t.Markdown())
	md.WriteString("\n")
	for _, p := range plots {
		fmt.Fprintf(&md, "![%s](%s)\n\n", strings.TrimSuffix(filepath.Base(p), ".png"), filepath.Base(p))
	}
	if err := write("sweep.md", []byte(md.String())); err != nil {
		return nil, err
	}
	csv, err := t.CSV()
	if err != nil {
		return nil, fmt.Errorf("sweep: report: %w", err)
	}
	if err := write("sweep.csv", csv); err != nil {
		return nil, err
	}
	pq := filepath.Join(dir, "sweep.parquet")
	if err := writeParquet(pq, keys, rows); err != nil {
		return nil, err
	}
	files = append(files, pq)
	return append(files, plots...), nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// writePlots draws nDCG@10 against each varied setting (the mean over the
// other settings for each value) and p50 latency against Recall@100.
func writePlots(dir string, keys []string, rows []Row) ([]string, error) {
	var files []string
	for _, k := range keys {
		var bars []report.Bar
		idx := map[string]int{}
		var n []int
		for _, r := range rows {
			v := r.Settings[k]
			i, ok := idx[v]
			if !ok {
				i = len(bars)
				idx[v] = i
				bars = append(bars, report.Bar{Label: k + "=" + v})
				n = append(n, 0)
			}
			bars[i].Value += mean(r, "ndcg@10")
			n[i]++
		}
		for i := range bars {
			bars[i].Value /= float64(n[i])
		}
		p := filepath.Join(dir, "ndcg10-vs-"+unsafeName.ReplaceAllString(k, "_")+".png")
		if err := report.BarChart(p, "nDCG@10 by "+k+" (mean over the other settings)", "nDCG@10", bars); err != nil {
			return nil, fmt.Errorf("sweep: plot: %w", err)
		}
		files = append(files, p)
	}
	var pts []report.Point
	for _, r := range rows {
		lat := r.LatencyP50
		if lat == 0 { // rerank-bm25 has no per-query latency
			lat = r.MeanMS
		}
		pts = append(pts, report.Point{Label: "cell " + strconv.Itoa(r.Cell), X: lat, Y: mean(r, "recall@100")})
	}
	p := filepath.Join(dir, "latency-vs-recall.png")
	if err := report.Scatter(p, "Latency vs Recall@100", "ms/query (p50)", "Recall@100", pts, false); err != nil {
		return nil, fmt.Errorf("sweep: plot: %w", err)
	}
	return append(files, p), nil
}

// writeParquet writes the table with typed columns: settings as strings,
// measures as float64, so DuckDB or pandas can plot them directly.
func writeParquet(path string, keys []string, rows []Row) (err error) {
	fields := []arrow.Field{{Name: "cell", Type: arrow.PrimitiveTypes.Int64}, {Name: "id", Type: arrow.BinaryTypes.String}}
	for _, k := range keys {
		fields = append(fields, arrow.Field{Name: k, Type: arrow.BinaryTypes.String})
	}
	for _, m := range metricCols {
		fields = append(fields, arrow.Field{Name: m.Name, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "index_bytes", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "ms_per_query", Type: arrow.PrimitiveTypes.Float64})
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(r.Cell))
		b.Field(1).(*array.StringBuilder).Append(r.ID)
		for i, k := range keys {
			b.Field(2 + i).(*array.StringBuilder).Append(r.Settings[k])
		}
		for i, m := range metricCols {
			fb := b.Field(2 + len(keys) + i).(*array.Float64Builder)
			if v := m.Get(r); math.IsNaN(v) {
				fb.AppendNull()
			} else {
				fb.Append(v)
			}
		}
		n := 2 + len(keys) + len(metricCols)
		b.Field(n).(*array.Int64Builder).Append(r.IndexBytes)
		b.Field(n + 1).(*array.Float64Builder).Append(r.MeanMS)
	}
	rec := b.NewRecord()
	defer rec.Release()
	af, err := data.CreateAtomic(path)
	if err != nil {
		return fmt.Errorf("sweep: report: %w", err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithCreatedBy("colbert-go"))
	fw, err := pqarrow.NewFileWriter(schema, af, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		af.Abort()
		return fmt.Errorf("sweep: report: write %s: %w", path, err)
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		af.Abort()
		return fmt.Errorf("sweep: report: write %s: %w", path, err)
	}
	if err := fw.Close(); err != nil {
		af.Abort()
		return fmt.Errorf("sweep: report: write %s: %w", path, err)
	}
	if err := af.Commit(); err != nil {
		return fmt.Errorf("sweep: report: write %s: %w", path, err)
	}
	return nil
}
