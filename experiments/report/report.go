// Package report renders experiment results the way a researcher pastes
// them into a paper draft: Markdown and CSV tables and PNG plots (bar charts
// of one measure per system, latency-vs-quality scatter plots, a measure
// against training step). Every file
// is written atomically, so a killed run never leaves half a report.
package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/colbert-go/colbert/data"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Table is a rectangular table of already formatted cells.
type Table struct {
	Columns []string
	Rows    [][]string
}

// AddRow appends a row; it must have one cell per column.
func (t *Table) AddRow(cells ...string) error {
	if len(cells) != len(t.Columns) {
		return fmt.Errorf("report: row %q has %d cells, table has %d columns", cells, len(cells), len(t.Columns))
	}
	t.Rows = append(t.Rows, cells)
	return nil
}

// Markdown renders a GitHub-flavoured table, numbers right-aligned. Pipes in
// cells are escaped so that a cell never splits a row.
func (t *Table) Markdown() string {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("|")
	for _, c := range t.Columns {
		b.WriteString(" " + esc(c) + " |")
	}
	b.WriteString("\n|")
	for i := range t.Columns {
		if i > 0 && t.numeric(i) {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("|")
		for _, c := range r {
			b.WriteString(" " + esc(c) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// numeric reports whether every non-empty cell of column i parses as a number.
func (t *Table) numeric(i int) bool {
	any := false
	for _, r := range t.Rows {
		c := strings.TrimSpace(r[i])
		if c == "" || c == "-" || c == "not run" {
			continue
		}
		var f float64
		if _, err := fmt.Sscan(strings.Fields(c)[0], &f); err != nil {
			return false
		}
		any = true
	}
	return any
}

// CSV renders the table as RFC 4180 CSV with a header line.
func (t *Table) CSV() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(t.Columns); err != nil {
		return nil, err
	}
	if err := w.WriteAll(t.Rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes b to path atomically (temporary file + rename), creating
// the parent directory.
func WriteFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return data.WriteFileAtomic(path, func(w *bufio.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	Value float64
}

// BarChart draws one bar per system (e.g. nDCG@10 of every row of a table)
// into a PNG. NaN values (systems that did not run) are drawn as 0.
func BarChart(path, title, ylabel string, bars []Bar) error {
	if len(bars) == 0 {
		return fmt.Errorf("report: bar chart %s: no bars", path)
	}
	vals := make(plotter.Values, len(bars))
	names := make([]string, len(bars))
	for i, b := range bars {
		v := b.Value
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		vals[i] = v
		names[i] = b.Label
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	w := vg.Points(28)
	bc, err := plotter.NewBarChart(vals, w)
	if err != nil {
		return fmt.Errorf("report: bar chart %s: %w", path, err)
	}
	bc.Color = color.RGBA{R: 60, G: 110, B: 180, A: 255}
	bc.LineStyle.Width = 0
	p.Add(bc, plotter.NewGrid())
	p.NominalX(names...)
	// Half a slot of margin on each side and 10% headroom above the tallest
	// bar, so that no bar is cut by the plot's frame.
	p.X.Min, p.X.Max = -0.5, float64(len(bars))-0.5
	top := 0.0
	for _, v := range vals {
		top = math.Max(top, v)
	}
	if top > 0 {
		p.Y.Max = top * 1.1
	}
	p.X.Tick.Label.Rotation = math.Pi / 5
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	return save(p, path, vg.Points(float64(max(480, 70*len(bars)))), vg.Points(400))
}

// Point is one labelled system in a scatter plot.
type Point struct {
	Label string
	X, Y  float64
}

// Scatter draws labelled points (e.g. ms/query against nDCG@10); points with
// a NaN coordinate are left out. logX uses a log scale for X, which suits
// latencies spanning orders of magnitude.
func Scatter(path, title, xlabel, ylabel string, pts []Point, logX bool) error {
	var xys plotter.XYs
	var labels []string
	for _, pt := range pts {
		if math.IsNaN(pt.X) || math.IsNaN(pt.Y) || math.IsInf(pt.X, 0) || math.IsInf(pt.Y, 0) || (logX && pt.X <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
		labels = append(labels, pt.Label)
	}
	if len(xys) == 0 {
		return fmt.Errorf("report: scatter %s: no finite points", path)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return fmt.Errorf("report: scatter %s: %w", path, err)
	}
	s.GlyphStyle.Radius = vg.Points(4)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	s.GlyphStyle.Color = color.RGBA{R: 200, G: 60, B: 40, A: 255}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return fmt.Errorf("report: scatter %s: %w", path, err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(8)
		l.TextStyle[i].XAlign = draw.XLeft
	}
	l.Offset = vg.Point{X: vg.Points(5)}
	p.Add(s, l, plotter.NewGrid())
	if logX {
		// A log axis must stay positive; gonum pads a single point's range
		// below zero, so the range is set here: a factor 2 around the data.
		lo, hi := xys[0].X, xys[0].X
		for _, xy := range xys {
			lo, hi = min(lo, xy.X), max(hi, xy.X)
		}
		p.X.Min, p.X.Max = lo/2, hi*2
	}
	return save(p, path, vg.Points(640), vg.Points(440))
}

// XY is one point of a line plot.
type XY struct{ X, Y float64 }

// Series is one named line of a line plot.
type Series struct {
	Name   string
	Points []XY
}

// palette colours the series of a line plot in turn.
var palette = []color.RGBA{
	{R: 60, G: 110, B: 180, A: 255},
	{R: 200, G: 60, B: 40, A: 255},
	{R: 50, G: 150, B: 70, A: 255},
	{R: 140, G: 80, B: 170, A: 255},
	{R: 220, G: 140, B: 30, A: 255},
}

// Line draws one or more series of (x, y) points (e.g. dev nDCG@10 against
// training step) as points joined by lines, each series sorted by x; points
// with a NaN or infinite coordinate are left out, and so is a series left
// with none. A legend names the series when there are several.
func Line(path, title, xlabel, ylabel string, series []Series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	drawn := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		var xys plotter.XYs
		for _, pt := range s.Points {
			if math.IsNaN(pt.X) || math.IsNaN(pt.Y) || math.IsInf(pt.X, 0) || math.IsInf(pt.Y, 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
			lo, hi = min(lo, pt.Y), max(hi, pt.Y)
		}
		if len(xys) == 0 {
			continue
		}
		sort.SliceStable(xys, func(i, j int) bool { return xys[i].X < xys[j].X })
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("report: line plot %s: %w", path, err)
		}
		c := palette[drawn%len(palette)]
		l.Color = c
		l.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(3)
		pts.Color = c
		p.Add(l, pts)
		if len(series) > 1 {
			p.Legend.Add(s.Name, l, pts)
		}
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("report: line plot %s: no finite points", path)
	}
	p.Add(plotter.NewGrid())
	if lo == hi {
		// A flat series: gonum would widen the axis to ±1 around it.
		d := max(math.Abs(lo)*0.1, 1e-3)
		p.Y.Min, p.Y.Max = lo-d, hi+d
	}
	p.Legend.Top = true
	return save(p, path, vg.Points(640), vg.Points(400))
}

// Histogram draws the distribution of values (e.g. per-query latencies).
func Histogram(path, title, xlabel string, values []float64, bins int) error {
	vs := make(plotter.Values, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return fmt.Errorf("report: histogram %s: no finite values", path)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = "count"
	h, err := plotter.NewHist(vs, max(1, bins))
	if err != nil {
		return fmt.Errorf("report: histogram %s: %w", path, err)
	}
	h.FillColor = color.RGBA{R: 60, G: 110, B: 180, A: 255}
	p.Add(h, plotter.NewGrid())
	return save(p, path, vg.Points(560), vg.Points(360))
}

func save(p *plot.Plot, path string, w, h vg.Length) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("report: plot %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("report: plot %s: %w", path, err)
	}
	return WriteFile(path, buf.Bytes())
}
