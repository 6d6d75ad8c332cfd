package report

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTableMarkdownAndCSV(t *testing.T) {
	tb := Table{Columns: []string{"system", "ndcg@10", "note"}}
	if err := tb.AddRow("BM25", "0.5", "a|b"); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddRow("ColBERT", "0.75", "x,\"y\""); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddRow("short"); err == nil {
		t.Fatal("a row with too few cells was accepted")
	}
	md := tb.Markdown()
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if len(lines) != 4 {
		t.Fatalf("markdown has %d lines, want 4:\n%s", len(lines), md)
	}
	if lines[1] != "|---|---:|---|" {
		t.Errorf("alignment row %q: the numeric column must be right-aligned, the text ones not", lines[1])
	}
	// An escaped pipe must not add a column.
	for _, l := range lines {
		if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 4 {
			t.Errorf("line %q has %d separators, want 4", l, n)
		}
	}
	raw, err := tb.CSV()
	if err != nil {
		t.Fatal(err)
	}
	back, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := append([][]string{tb.Columns}, tb.Rows...)
	if !reflect.DeepEqual(back, want) {
		t.Errorf("CSV round trip: got %q, want %q", back, want)
	}
}

func TestPlotsArePNGs(t *testing.T) {
	dir := t.TempDir()
	bar := filepath.Join(dir, "sub", "bar.png")
	if err := BarChart(bar, "nDCG@10", "nDCG@10", []Bar{{"BM25", 0.5}, {"ColBERT", 0.7}, {"missing", math.NaN()}}); err != nil {
		t.Fatal(err)
	}
	sc := filepath.Join(dir, "scatter.png")
	if err := Scatter(sc, "latency", "ms/query", "nDCG@10", []Point{{"a", 1, 0.5}, {"b", 30, 0.7}, {"nan", math.NaN(), 1}}, true); err != nil {
		t.Fatal(err)
	}
	// One point on a log axis (a range of zero width) must still draw.
	if err := Scatter(filepath.Join(dir, "one.png"), "one", "ms", "nDCG", []Point{{"only", 3, 0.5}}, true); err != nil {
		t.Fatal(err)
	}
	h := filepath.Join(dir, "hist.png")
	if err := Histogram(h, "latency", "ms", []float64{1, 2, 2, 3, 10}, 5); err != nil {
		t.Fatal(err)
	}
	line := filepath.Join(dir, "line.png")
	if err := Line(line, "dev nDCG@10 during training", "step", "nDCG@10", []Series{
		{"KL", []XY{{50, 0.31}, {25, 0.2}, {75, math.NaN()}, {100, 0.35}}},
		{"contrastive", []XY{{25, 0.18}, {50, 0.3}, {100, 0.36}}},
		{"nothing finite", []XY{{1, math.Inf(1)}}},
	}); err != nil {
		t.Fatal(err)
	}
	// One point, and a flat series (ranges of zero width), must still draw.
	if err := Line(filepath.Join(dir, "line1.png"), "one", "step", "nDCG", []Series{{"only", []XY{{3, 0.5}}}}); err != nil {
		t.Fatal(err)
	}
	if err := Line(filepath.Join(dir, "flat.png"), "flat", "step", "nDCG", []Series{{"flat", []XY{{1, 0.5}, {2, 0.5}}}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bar, sc, h, line, filepath.Join(dir, "line1.png"), filepath.Join(dir, "flat.png")} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
			t.Errorf("%s: image %v too small", p, b)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "sub"))
	if len(ents) != 1 {
		t.Errorf("temporary files left next to the plot: %v", ents)
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	if err := BarChart(filepath.Join(dir, "b.png"), "t", "y", nil); err == nil {
		t.Error("empty bar chart accepted")
	}
	if err := Scatter(filepath.Join(dir, "s.png"), "t", "x", "y", []Point{{"z", 0, 1}}, true); err == nil {
		t.Error("scatter with only a non-positive x on a log scale accepted")
	}
	if err := Histogram(filepath.Join(dir, "h.png"), "t", "x", []float64{math.NaN()}, 3); err == nil {
		t.Error("histogram of NaNs accepted")
	}
	if err := Line(filepath.Join(dir, "l.png"), "t", "x", "y", nil); err == nil {
		t.Error("line plot without series accepted")
	}
	if err := Line(filepath.Join(dir, "l.png"), "t", "x", "y", []Series{{"a", nil}, {"b", []XY{{math.NaN(), 1}, {1, math.Inf(-1)}}}}); err == nil {
		t.Error("line plot without a finite point accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "l.png")); err == nil {
		t.Error("a failed line plot left a file")
	}
}
