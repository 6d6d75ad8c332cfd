package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// ReadMetrics parses a metrics.jsonl file.
func ReadMetrics(path string) ([]Metrics, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var out []Metrics
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m Metrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("train: %s line %d: %w", path, line, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// truncateMetrics drops lines after step (a resumed run rewrites them).
func truncateMetrics(path string, step int) error {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	ms, err := ReadMetrics(path)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, m := range ms {
		if m.Step <= step {
			line, _ := json.Marshal(m)
			b.Write(append(line, '\n'))
		}
	}
	if err := writeAtomic(path, b.Bytes()); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// PlotMetrics draws the loss and learning-rate curves of a metrics.jsonl
// into a PNG (panels sharing the step axis), written atomically. When some
// lines carry a dev evaluation (dev_ndcg10), a third panel plots it against
// step (points joined by a line).
func PlotMetrics(metricsPath, pngPath string) error {
	ms, err := ReadMetrics(metricsPath)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return fmt.Errorf("train: %s has no metrics to plot", metricsPath)
	}
	loss, lr := make(plotter.XYs, len(ms)), make(plotter.XYs, len(ms))
	var dev plotter.XYs
	for i, m := range ms {
		loss[i] = plotter.XY{X: float64(m.Step), Y: m.Loss}
		lr[i] = plotter.XY{X: float64(m.Step), Y: m.LR}
		if m.DevNDCG10 != nil {
			dev = append(dev, plotter.XY{X: float64(m.Step), Y: *m.DevNDCG10})
		}
	}
	panel := func(title, ylabel string, xy plotter.XYs, c color.Color, points bool) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "step"
		p.Y.Label.Text = ylabel
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = c
		p.Add(l, plotter.NewGrid())
		if points {
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, err
			}
			s.GlyphStyle.Shape = draw.CircleGlyph{}
			s.GlyphStyle.Radius = vg.Points(3)
			s.GlyphStyle.Color = c
			p.Add(s)
		}
		return p, nil
	}
	pl, err := panel("training loss", "loss", loss, color.RGBA{B: 200, A: 255}, false)
	if err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	pr, err := panel("learning rate", "lr", lr, color.RGBA{R: 200, A: 255}, false)
	if err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	plots := [][]*plot.Plot{{pl}, {pr}}
	if len(dev) > 0 {
		pd, err := panel("dev nDCG@10", "nDCG@10", dev, color.RGBA{G: 140, A: 255}, true)
		if err != nil {
			return fmt.Errorf("train: plot: %w", err)
		}
		pd.X.Min, pd.X.Max = pl.X.Min, pl.X.Max // the loss panel's step range
		plots = append(plots, []*plot.Plot{pd})
	}
	img := vgimg.New(vg.Points(640), vg.Points(float64(320*len(plots))))
	dc := draw.New(img)
	cs := plot.Align(plots, draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(10)}, dc)
	for i, row := range plots {
		row[0].Draw(cs[i][0])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	if err := writeAtomic(pngPath, buf.Bytes()); err != nil {
		return fmt.Errorf("train: plot %s: %w", pngPath, err)
	}
	return nil
}
