package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/model/ort"
	"github.com/colbert-go/colbert/train"
)

// TestFullPipelineTiny runs every stage with 2 training steps per model
// (minutes on a loaded 2-core machine, so opt-in: COLBERT_DEMO_FULL=1).
// Quality is meaningless at this size; the mechanics are checked: every
// row exists, the report names every system, a re-run reuses every stage.
func TestFullPipelineTiny(t *testing.T) {
	if os.Getenv("COLBERT_DEMO_FULL") == "" {
		t.Skip("set COLBERT_DEMO_FULL=1 to run the whole tiny pipeline (teacher, ORT, students, indexes, faiss)")
	}
	if _, err := ort.FindLibrary(""); err != nil {
		t.Skipf("ONNX Runtime not found (run make setup): %v", err)
	}
	cfg := tinyConfig()
	cfg.OtherModels = true
	for _, c := range []*train.Config{&cfg.TeacherEasy, &cfg.Teacher, &cfg.Student, &cfg.Contrastive, &cfg.BiEncoder, &cfg.SPLADE, &cfg.PolyEncoder, &cfg.MVDPR} {
		c.Steps, c.BatchSize = 2, 4
	}
	dir := t.TempDir()
	var log bytes.Buffer
	opt := Options{Dir: dir, Config: cfg, Threads: 2, Log: &log}
	report, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, slug := range append(tableOrder, otherSlugs...) {
		r, err := readRow(filepath.Join(dir, "rows", slug, "row.json"))
		if err != nil {
			t.Errorf("row %s: %v", slug, err)
			continue
		}
		if !strings.Contains(string(md), "| "+r.System+" |") {
			t.Errorf("report lacks %q", r.System)
		}
		if r.NotRun == "" && r.Queries != cfg.Synth.Test {
			t.Errorf("row %s evaluated %d queries, want %d", slug, r.Queries, cfg.Synth.Test)
		}
	}
	// The KL student evaluated on dev at both steps (dev every max(1, 2/6)
	// = 1), the contrastive one never; the report draws the KL curve.
	for _, c := range []struct {
		dir  string
		want int
	}{{"student-kl", 2}, {"student-contrastive", 0}} {
		ms, err := train.ReadMetrics(filepath.Join(dir, c.dir, "metrics.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if m.DevNDCG10 != nil {
				n++
			}
		}
		if n != c.want {
			t.Errorf("%s: %d dev evaluations, want %d", c.dir, n, c.want)
		}
	}
	for _, f := range []string{"metrics.json", "table.csv", "ndcg10.png", "latency_quality.png", devPlotFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if !strings.Contains(string(md), "("+devPlotFile+")") {
		t.Errorf("report does not embed %s", devPlotFile)
	}
	t.Logf("stages:\n%s", md[strings.Index(string(md), "## Stages"):])
	log.Reset()
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), " running") {
		t.Errorf("second run re-ran stages:\n%s", log.String())
	}
}
