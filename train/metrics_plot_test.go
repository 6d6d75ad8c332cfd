package train

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// writeMetricsFile writes metrics.jsonl lines the way Run does.
func writeMetricsFile(t *testing.T, path string, ms []Metrics) {
	t.Helper()
	var b []byte
	for _, m := range ms {
		line, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func decodePNG(t *testing.T, path string) image.Rectangle {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img.Bounds()
}

// PlotMetrics draws loss and lr, and a third panel (dev nDCG@10) only when
// some lines carry a dev evaluation.
func TestPlotMetricsDevPanel(t *testing.T) {
	dir := t.TempDir()
	var ms []Metrics
	for s := 1; s <= 12; s++ {
		m := Metrics{Step: s, Loss: 2 / float64(s), LR: 1e-3 * float64(min(s, 4)) / 4}
		if s%4 == 0 {
			v := 0.1 + 0.02*float64(s)
			m.DevNDCG10 = &v
		}
		ms = append(ms, m)
	}
	withDev, noDev := filepath.Join(dir, "dev.jsonl"), filepath.Join(dir, "nodev.jsonl")
	writeMetricsFile(t, withDev, ms)
	for i := range ms {
		ms[i].DevNDCG10 = nil
	}
	writeMetricsFile(t, noDev, ms)
	back, err := ReadMetrics(withDev)
	if err != nil {
		t.Fatal(err)
	}
	if n := countDev(back); n != 3 {
		t.Fatalf("read back %d dev points, want 3", n)
	}

	pngDev, pngNoDev := filepath.Join(dir, "out", "dev.png"), filepath.Join(dir, "nodev.png")
	if err := os.MkdirAll(filepath.Dir(pngDev), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := PlotMetrics(withDev, pngDev); err != nil {
		t.Fatal(err)
	}
	if err := PlotMetrics(noDev, pngNoDev); err != nil {
		t.Fatal(err)
	}
	bd, bn := decodePNG(t, pngDev), decodePNG(t, pngNoDev)
	if bn.Dx() < 100 || bn.Dy() < 100 {
		t.Errorf("plot without dev points too small: %v", bn)
	}
	if d := 2*bd.Dy() - 3*bn.Dy(); bd.Dx() != bn.Dx() || d < -3 || d > 3 {
		t.Errorf("plot with dev points is %v, without %v: want a third panel of the same height", bd, bn)
	}
	if ents, _ := os.ReadDir(filepath.Dir(pngDev)); len(ents) != 1 {
		t.Errorf("temporary files left next to the plot: %v", ents)
	}

	// A single dev point (dev evaluation only at the end) still draws.
	one := filepath.Join(dir, "one.jsonl")
	v := 0.4
	writeMetricsFile(t, one, []Metrics{{Step: 1, Loss: 1, LR: 1e-3}, {Step: 2, Loss: 0.9, LR: 1e-3, DevNDCG10: &v}})
	if err := PlotMetrics(one, filepath.Join(dir, "one.png")); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, filepath.Join(dir, "one.png"))
}

func countDev(ms []Metrics) int {
	n := 0
	for _, m := range ms {
		if m.DevNDCG10 != nil {
			n++
		}
	}
	return n
}

func TestPlotMetricsErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(empty, []byte("\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "loss.png")
	if err := PlotMetrics(empty, out); err == nil {
		t.Error("a metrics file with no metrics was plotted")
	}
	if err := PlotMetrics(filepath.Join(dir, "missing.jsonl"), out); err == nil {
		t.Error("a missing metrics file was plotted")
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"step\": 1}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PlotMetrics(bad, out); err == nil {
		t.Error("a malformed metrics file was plotted")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed plot left a file")
	}
}
