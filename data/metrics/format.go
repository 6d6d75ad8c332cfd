package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/colbert-go/colbert/data/fsx"
)

// Table formats the mean of every measure, one row each, as a Markdown table
// or as aligned plain text. Values have 4 decimals, as BEIR and papers print.
func (r Result) Table(markdown bool) string {
	return CompareTable([]string{"value"}, []Result{r}, markdown)
}

// CompareTable puts several results side by side (one column per run) over
// the measures of the first result, e.g. BM25 vs. a trained model.
func CompareTable(names []string, results []Result, markdown bool) string {
	if len(results) == 0 {
		return ""
	}
	header := append([]string{"measure"}, names...)
	rows := [][]string{header}
	for _, m := range results[0].Measures {
		row := []string{m}
		for _, r := range results {
			v, ok := r.Mean[m]
			if ok {
				row = append(row, fmt.Sprintf("%.4f", v))
			} else {
				row = append(row, "-")
			}
		}
		rows = append(rows, row)
	}
	qrow := []string{"queries"}
	for _, r := range results {
		qrow = append(qrow, fmt.Sprint(r.NumQueries))
	}
	rows = append(rows, qrow)

	width := make([]int, len(header))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		if markdown {
			b.WriteString("|")
		}
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len(c))
			switch {
			case markdown && i == 0:
				b.WriteString(" " + c + pad + " |")
			case markdown:
				b.WriteString(" " + pad + c + " |")
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	line(rows[0])
	if markdown {
		b.WriteString("|")
		for i, w := range width {
			if i == 0 {
				b.WriteString(" " + strings.Repeat("-", w) + " |")
			} else {
				b.WriteString(" " + strings.Repeat("-", w-1) + ": |")
			}
		}
		b.WriteString("\n")
	}
	for _, row := range rows[1:] {
		line(row)
	}
	return b.String()
}

// WriteJSON writes the result (means, per-query values, options) to path
// atomically and durably (fsx), so a report never reads a truncated result.
func (r Result) WriteJSON(path string) error {
	buf, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("metrics: encode %s: %w", path, err)
	}
	if err := fsx.WriteBytes(path, 0o644, append(buf, '\n')); err != nil {
		return fmt.Errorf("metrics: write %s: %w", path, err)
	}
	return nil
}

// ReadJSON reads a result written by WriteJSON.
func ReadJSON(path string) (Result, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return Result{}, fmt.Errorf("metrics: read %s: %w", path, err)
	}
	var r Result
	if err := json.Unmarshal(buf, &r); err != nil {
		return Result{}, fmt.Errorf("metrics: read %s: %w", path, err)
	}
	return r, nil
}
