package demo

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/train"
)

func tinyConfig() Config {
	c := DefaultConfig()
	c.Synth.Passages, c.Synth.Train, c.Synth.Dev, c.Synth.Test = 300, 40, 20, 20
	c.Vocab.VocabSize = 600
	return c
}

// The first stages run, write the BM25 row and the report, and a second run
// reuses them; a changed vocabulary re-runs only what depends on it.
func TestPrefixRunsAndResumes(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var log bytes.Buffer
	opt := Options{Dir: dir, Config: tinyConfig(), Threads: 2, Log: &log, StopAfter: "bm25"}
	report, err := Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| BM25 (k1 0.9, b 0.4) | 0.") {
		t.Errorf("report lacks the BM25 row:\n%s", md)
	}
	if !strings.Contains(string(md), "did not run, so no comparison") {
		t.Errorf("report does not say the KL row is missing:\n%s", md)
	}
	// The BM25 row's numbers are the evaluation of its run.
	ds, err := data.LoadBEIR(filepath.Join(dir, "benchmark"), "test")
	if err != nil {
		t.Fatal(err)
	}
	run, err := data.ReadTRECRun(filepath.Join(dir, "rows", "bm25", "run.trec"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := metrics.Evaluate(ds.Qrels, run, Measures)
	if err != nil {
		t.Fatal(err)
	}
	row, err := readRow(filepath.Join(dir, "rows", "bm25", "row.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Measures {
		if math.Abs(row.Mean[m]-want.Mean[m]) > 1e-12 {
			t.Errorf("%s: row %v, run evaluates to %v", m, row.Mean[m], want.Mean[m])
		}
	}
	if row.Queries != len(ds.Queries) || len(ds.Queries) != opt.Config.Synth.Test {
		t.Errorf("row has %d queries, test split %d, config %d", row.Queries, len(ds.Queries), opt.Config.Synth.Test)
	}
	for _, f := range []string{"metrics.json", "table.csv", "ndcg10.png", "latency_quality.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}

	log.Reset()
	if _, err := Run(ctx, opt); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"benchmark", "vocab", "bm25"} {
		if !strings.Contains(log.String(), "stage "+pad(s)+" reused") {
			t.Errorf("second run did not reuse %s:\n%s", s, log.String())
		}
	}

	log.Reset()
	opt.Config.Vocab.VocabSize = 700
	if _, err := Run(ctx, opt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "stage "+pad("vocab")+" running") || !strings.Contains(log.String(), "stage "+pad("bm25")+" reused") {
		t.Errorf("a new vocabulary size must re-run vocab only:\n%s", log.String())
	}
}

func pad(s string) string { return s + strings.Repeat(" ", max(0, 18-len(s))) }

func TestStopAfterUnknownStage(t *testing.T) {
	_, err := Run(context.Background(), Options{Dir: t.TempDir(), Config: tinyConfig(), StopAfter: "teacher-trian"})
	if err == nil || !strings.Contains(err.Error(), "teacher-trian") {
		t.Errorf("unknown stage: %v", err)
	}
}

func TestVerdict(t *testing.T) {
	row := func(slug string, ndcg float64) Row { return Row{Slug: slug, Mean: map[string]float64{"ndcg@10": ndcg}} }
	v := Verdict([]Row{row("bm25", 0.5), row("contrastive", 0.6), row("colbertv2", 0.7), row("fp32", 0.705)})
	joined := strings.Join(v, "\n")
	for _, want := range []string{"**beats** BM25", "**beats** the contrastive-only student", "**within 1%**"} {
		if !strings.Contains(joined, want) {
			t.Errorf("verdict lacks %q:\n%s", want, joined)
		}
	}
	v = Verdict([]Row{row("bm25", 0.8), row("contrastive", 0.7), row("colbertv2", 0.6), row("fp32", 0.7)})
	joined = strings.Join(v, "\n")
	for _, want := range []string{"does **not** beat BM25", "does **not** beat the contrastive-only student", "**not** within 1%"} {
		if !strings.Contains(joined, want) {
			t.Errorf("verdict lacks %q:\n%s", want, joined)
		}
	}
	// A student at chance level cannot say anything about compression.
	v = Verdict([]Row{row("colbertv2", 0.0003), row("fp32", 0)})
	if joined = strings.Join(v, "\n"); !strings.Contains(joined, "cannot be judged") || strings.Contains(joined, "**within 1%**") {
		t.Errorf("verdict at chance level:\n%s", joined)
	}
	// With per-query values, a lead within noise is not called a win.
	perQuery := func(slug string, base float64, jitter []float64) Row {
		r := Row{Slug: slug, NDCG10: map[string]float64{}}
		var sum float64
		for i, j := range jitter {
			r.NDCG10[fmt.Sprintf("q%d", i)] = base + j
			sum += base + j
		}
		r.Mean = map[string]float64{"ndcg@10": sum / float64(len(jitter))}
		return r
	}
	noise := []float64{0.3, -0.3, 0.2, -0.2, 0.25, -0.25, 0.1, -0.1, 0.15, -0.15, 0.05, -0.05}
	flat := make([]float64, len(noise))
	v = Verdict([]Row{perQuery("bm25", 0.49, flat), perQuery("contrastive", 0.2, flat), perQuery("colbertv2", 0.5, noise)})
	joined = strings.Join(v, "\n")
	if !strings.Contains(joined, "ahead of BM25 on nDCG@10 but **not significantly**") || !strings.Contains(joined, "**beats** the contrastive-only student") || !strings.Contains(joined, "p = ") {
		t.Errorf("verdict with per-query values:\n%s", joined)
	}
	// A row that did not run is not compared.
	v = Verdict([]Row{row("bm25", 0.8), {Slug: "colbertv2", NotRun: "x"}})
	if len(v) != 1 || !strings.Contains(v[0], "did not run") {
		t.Errorf("verdict without the KL row: %q", v)
	}
}

func TestTableMarksRowsNotRun(t *testing.T) {
	tb := Table([]Row{
		{Slug: "bm25", System: "BM25", Mean: map[string]float64{"mrr@10": 0.25, "ndcg@10": 0.5}, MSPerQuery: 1.5},
		{Slug: "faiss-ivfpq", System: "faiss", NotRun: "no faiss"},
	})
	md := tb.Markdown()
	if !strings.Contains(md, "| BM25 | 0.2500 | 0.5000 | - | - | - | - | 1.50 |") {
		t.Errorf("BM25 row wrong:\n%s", md)
	}
	if !strings.Contains(md, "| faiss | - | - | - | - | - | - | not run |") {
		t.Errorf("not-run row wrong:\n%s", md)
	}
}

func TestKeyOfChains(t *testing.T) {
	a := keyOf("x", 1)
	if a != keyOf("x", 1) {
		t.Error("key not deterministic")
	}
	if a == keyOf("x", 2) || a == keyOf("x1") {
		t.Error("different inputs give the same key")
	}
}

// Only the KL student evaluates on dev, about six times over its final
// schedule (after the --student-steps overrides and fitSchedule).
func TestStudentConfigsDevOnlyKL(t *testing.T) {
	p := paths{root: t.TempDir()}
	for _, tc := range []struct{ steps, every int }{{150, 25}, {2, 1}, {5, 1}, {6, 1}, {13, 2}} {
		cfg := tinyConfig()
		cfg.Student.Steps, cfg.Contrastive.Steps, cfg.BiEncoder.Steps = tc.steps, tc.steps, tc.steps
		for _, c := range []*train.Config{&cfg.Student, &cfg.Contrastive, &cfg.BiEncoder} {
			*c = fitSchedule(*c)
		}
		ss := studentConfigs(cfg, p)
		if len(ss) != 3 || ss[0].slug != "kl" {
			t.Fatalf("students %v", ss)
		}
		kl := ss[0].cfg
		if kl.DevQrels != filepath.Join(p.root, "benchmark", "qrels", "dev.tsv") || kl.DevQueries != "" {
			t.Errorf("KL dev qrels %q, queries %q", kl.DevQrels, kl.DevQueries)
		}
		if kl.DevEvery != tc.every || kl.DevMaxQueries != 100 || kl.DevMaxDocs != 1000 {
			t.Errorf("%d steps: dev every %d (want %d), %d queries, %d docs", tc.steps, kl.DevEvery, tc.every, kl.DevMaxQueries, kl.DevMaxDocs)
		}
		if err := kl.Validate(); err != nil {
			t.Errorf("KL config with dev: %v", err)
		}
		if filepath.Join(kl.OutDir, "metrics.jsonl") != p.klMetrics() {
			t.Errorf("KL metrics at %s, report reads %s", kl.OutDir, p.klMetrics())
		}
		for _, s := range ss[1:] {
			if s.cfg.DevQrels != "" {
				t.Errorf("student %s evaluates on dev (%q)", s.slug, s.cfg.DevQrels)
			}
		}
	}
}

// The report draws the KL student's dev curve when its metrics.jsonl has
// dev points, and says nothing of it otherwise.
func TestReportDevPlot(t *testing.T) {
	p := paths{root: t.TempDir()}
	opt := Options{Dir: p.root, Config: tinyConfig(), Threads: 1}
	report := func() string {
		t.Helper()
		path, err := writeReport(p, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		md, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(md)
	}
	if md := report(); strings.Contains(md, "dev_ndcg10.png") {
		t.Errorf("report shows a dev plot before the student trained:\n%s", md)
	}
	if err := os.MkdirAll(filepath.Dir(p.klMetrics()), 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for s := 1; s <= 6; s++ {
		line := fmt.Sprintf(`{"step":%d,"loss":%g,"lr":0.001}`, s, 2/float64(s))
		if s%2 == 0 {
			line = fmt.Sprintf(`{"step":%d,"loss":%g,"lr":0.001,"dev_ndcg10":%g}`, s, 2/float64(s), 0.1*float64(s))
		}
		lines = append(lines, line)
	}
	if err := os.WriteFile(p.klMetrics(), []byte(strings.Join(lines[:3], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// One dev point already draws (a single evaluation at the end).
	if md := report(); !strings.Contains(md, "![KL student: dev nDCG@10 during training](dev_ndcg10.png)") {
		t.Errorf("report lacks the dev plot:\n%s", md)
	}
	if err := os.WriteFile(p.klMetrics(), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	md := report()
	for _, want := range []string{"(dev_ndcg10.png)", "first 100 judged dev queries' judged passages plus 1 000 sampled passages", "the trend is what it shows"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	f, err := os.Open(p.j("dev_ndcg10.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("dev_ndcg10.png: %v", err)
	}
	// No dev point: no plot in the report.
	if err := os.WriteFile(p.klMetrics(), []byte(lines[0]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if md := report(); strings.Contains(md, "dev_ndcg10.png") {
		t.Errorf("report shows a dev plot without dev points:\n%s", md)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1 000", 1234567: "1 234 567", -1000: "-1 000", -100: "-100"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// A demo directory given relative, then absolute, is the same run: the
// second reuses the trained teacher instead of clearing it (stage keys hold
// the training runs' paths).
func TestRelativeDirReused(t *testing.T) {
	parent := t.TempDir()
	t.Chdir(parent)
	cfg := tinyConfig()
	cfg.TeacherEasy.Steps = 2
	var log bytes.Buffer
	opt := Options{Dir: "demo", Config: cfg, Threads: 2, Log: &log, StopAfter: "teacher-easy"}
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	opt.Dir = filepath.Join(parent, "demo")
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "stage "+pad("teacher-easy")+" reused") {
		t.Errorf("the absolute spelling of the same directory did not reuse the teacher:\n%s", log.String())
	}
}
