package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/experiments/report"
	"github.com/colbert-go/colbert/experiments/stage"
	"github.com/colbert-go/colbert/train"
)

// tableOrder is the order of seed 000's comparison table.
var tableOrder = []string{"bm25", "bi-encoder", "fp32", "fp16", "colbertv2", "contrastive", "pca-int8", "hybrid", "faiss-ivfpq", "teacher-rerank"}

// collectRows reads every row that has finished, in table order; a missing
// row becomes a "not run" row.
func collectRows(p paths, cfg Config) ([]Row, error) {
	var rows []Row
	order := tableOrder
	if cfg.OtherModels {
		order = append(slices.Clone(tableOrder), otherSlugs...)
	}
	for _, slug := range order {
		r, err := readRow(p.row(slug))
		if errors.Is(err, fs.ErrNotExist) {
			rows = append(rows, Row{Slug: slug, System: slug, NotRun: "stage did not run"})
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.NotRun == "" {
			res, err := metrics.ReadJSON(filepath.Join(p.rowDir(slug), "metrics.json"))
			if err != nil {
				return nil, err
			}
			r.NDCG10 = map[string]float64{}
			for q, m := range res.PerQuery {
				r.NDCG10[q] = m["ndcg@10"]
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// significance is the paired randomization test's p-value of two rows'
// nDCG@10 difference, "" when per-query values are missing.
func significance(a, b Row) (float64, bool) {
	if a.NDCG10 == nil || b.NDCG10 == nil {
		return 0, false
	}
	res, err := metrics.PairedRandomization(a.NDCG10, b.NDCG10, verdictTrials, 1)
	if err != nil {
		return 0, false
	}
	return res.P, true
}

// verdictTrials of the randomization test: p-values to about ±0.002.
const verdictTrials = 20000

func cell(v float64, ok bool) string {
	if !ok || math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

// Table renders the comparison table.
func Table(rows []Row) *report.Table {
	t := &report.Table{Columns: []string{"system", "MRR@10", "nDCG@10", "R@100", "R@1000", "index size", "bytes/token or /passage", "ms/query"}}
	for _, r := range rows {
		if r.NotRun != "" {
			t.AddRow(r.System, "-", "-", "-", "-", "-", "-", "not run")
			continue
		}
		size, bpt := "-", "-"
		if r.IndexBytes > 0 {
			size = evaluate.FormatBytes(r.IndexBytes)
		}
		switch {
		case r.BytesPerToken > 0:
			bpt = fmt.Sprintf("%.1f", r.BytesPerToken)
		case r.BytesPerPassage > 0:
			bpt = fmt.Sprintf("%.0f /passage", r.BytesPerPassage)
		}
		get := func(m string) string { v, ok := r.Mean[m]; return cell(v, ok) }
		t.AddRow(r.System, get("mrr@10"), get("ndcg@10"), get("recall@100"), get("recall@1000"), size, bpt, fmt.Sprintf("%.2f", r.MSPerQuery))
	}
	return t
}

// Verdict states the acceptance checks in plain words.
func Verdict(rows []Row) []string {
	by := map[string]Row{}
	for _, r := range rows {
		if r.NotRun == "" {
			by[r.Slug] = r
		}
	}
	nd := func(s string) (float64, bool) { r, ok := by[s]; return r.Mean["ndcg@10"], ok }
	var out []string
	kl, okKL := nd("colbertv2")
	if !okKL {
		return []string{"The KL student (ColBERTv2 row) did not run, so no comparison can be made."}
	}
	for _, o := range []struct{ slug, name string }{{"bm25", "BM25"}, {"contrastive", "the contrastive-only student"}} {
		v, ok := nd(o.slug)
		if !ok {
			out = append(out, fmt.Sprintf("%s did not run: no comparison.", o.name))
			continue
		}
		p, haveP := significance(by["colbertv2"], by[o.slug])
		test := ""
		if haveP {
			test = fmt.Sprintf(", paired randomization test p = %.3f", p)
		}
		switch {
		case kl > v && (!haveP || p < 0.05):
			out = append(out, fmt.Sprintf("The KL-distilled ColBERTv2 student **beats** %s on nDCG@10 (%.4f vs %.4f, %+.1f%%%s).", o.name, kl, v, 100*(kl-v)/math.Max(v, 1e-12), test))
		case kl > v:
			out = append(out, fmt.Sprintf("The KL-distilled ColBERTv2 student is ahead of %s on nDCG@10 but **not significantly** (%.4f vs %.4f, %+.1f%%%s): no clear win.", o.name, kl, v, 100*(kl-v)/math.Max(v, 1e-12), test))
		default:
			out = append(out, fmt.Sprintf("The KL-distilled ColBERTv2 student does **not** beat %s on nDCG@10 (%.4f vs %.4f%s).", o.name, kl, v, test))
		}
	}
	for _, slug := range otherSlugs {
		r, ok := by[slug]
		if !ok {
			continue
		}
		v := r.Mean["ndcg@10"]
		var cmp []string
		for _, o := range []struct{ slug, name string }{{"bm25", "BM25"}, {"colbertv2", "the ColBERTv2 student"}} {
			ov, ok := nd(o.slug)
			if !ok {
				continue
			}
			c := fmt.Sprintf("%s %.4f (%+.1f%%", o.name, ov, 100*(v-ov)/math.Max(ov, 1e-12))
			if p, ok := significance(r, by[o.slug]); ok {
				c += fmt.Sprintf(", p = %.3f", p)
			}
			cmp = append(cmp, c+")")
		}
		out = append(out, fmt.Sprintf("%s: nDCG@10 %.4f vs %s.", r.System, v, strings.Join(cmp, " and ")))
	}
	if ex, ok := nd("fp32"); ok {
		rel := (kl - ex) / math.Max(ex, 1e-12)
		if ex < 0.01 {
			out = append(out, fmt.Sprintf("Whether 2-bit PLAID is within 1%% of uncompressed exhaustive search cannot be judged: exhaustive nDCG@10 is %.4f (chance level; the student did not learn).", ex))
		} else if math.Abs(rel) <= 0.01 || kl >= ex {
			out = append(out, fmt.Sprintf("2-bit PLAID is **within 1%%** of uncompressed exhaustive search (nDCG@10 %.4f vs %.4f, %+.2f%%).", kl, ex, 100*rel))
		} else {
			out = append(out, fmt.Sprintf("2-bit PLAID is **not** within 1%% of uncompressed exhaustive search (nDCG@10 %.4f vs %.4f, %+.2f%%).", kl, ex, 100*rel))
		}
	}
	return out
}

// teacherBudgetNote warns when the teacher was trained below the recipe
// measured to separate relevant from irrelevant passages (FullConfig).
func teacherBudgetNote(cfg Config) string {
	full := FullConfig()
	if cfg.TeacherEasy.Steps >= full.TeacherEasy.Steps && cfg.Teacher.Steps >= full.Teacher.Steps {
		return ""
	}
	return fmt.Sprintf(" (cut from %d + %d to fit the quick demo: expect a weaker teacher; `make demo-full` trains the full recipe)",
		full.TeacherEasy.Steps, full.Teacher.Steps)
}

// devPlotFile is the KL student's dev curve, next to report.md.
const devPlotFile = "dev_ndcg10.png"

// devPlot draws the KL student's dev nDCG@10 against step from its
// metrics.jsonl; false when the student has not trained or logged no dev
// evaluation.
func devPlot(p paths) (bool, error) {
	ms, err := train.ReadMetrics(p.klMetrics())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var pts []report.XY
	for _, m := range ms {
		if m.DevNDCG10 != nil {
			pts = append(pts, report.XY{X: float64(m.Step), Y: *m.DevNDCG10})
		}
	}
	if len(pts) == 0 {
		return false, nil
	}
	err = report.Line(p.j(devPlotFile), "KL student: dev nDCG@10 during training", "step", "nDCG@10",
		[]report.Series{{Name: "KL student", Points: pts}})
	return err == nil, err
}

// thousands writes n with a space between groups of three digits (1 000).
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

func writeReport(p paths, opt Options, results []stage.Result) (string, error) {
	rows, err := collectRows(p, opt.Config)
	if err != nil {
		return "", err
	}
	cfg := opt.Config
	var b strings.Builder
	fmt.Fprintf(&b, "# colbert-go demo report\n\n")
	fmt.Fprintf(&b, "Built-in benchmark (seed %d): %d passages, %d/%d/%d train/dev/test queries; test split below. "+
		"Teacher: cross-encoder %d layers, hidden %d, %d steps on random negatives then %d on hard ones%s. Students: %d layers, hidden %d, dim %d, %d steps, nway %d, from scratch on the teacher's scores (KL, plus the list's cross-entropy with the positive as label and in-batch negatives; the contrastive student: τ 0.01 on the same lists; the bi-encoder: %d steps from the KL student's encoder).\n\n",
		cfg.Synth.Seed, cfg.Synth.Passages, cfg.Synth.Train, cfg.Synth.Dev, cfg.Synth.Test,
		cfg.Teacher.Layers, cfg.Teacher.Hidden, cfg.TeacherEasy.Steps, cfg.Teacher.Steps, teacherBudgetNote(cfg), cfg.Student.Layers, cfg.Student.Hidden, cfg.Student.Dim, cfg.Student.Steps, cfg.Student.NWay, cfg.BiEncoder.Steps)
	fmt.Fprintf(&b, "## Seed 000's comparison (test split)\n\n%s\n", Table(rows).Markdown())
	fmt.Fprintf(&b, "ms/query is wall time × %d threads / queries (core-milliseconds per query, query encoding included). "+
		"Index size is what the system stores to answer queries (residual index: every file). "+
		"R@1000 of the teacher row is bounded by its rerank depth.\n\n", opt.Threads)
	for _, r := range rows {
		if r.NotRun != "" && r.NotRun != "stage did not run" {
			fmt.Fprintf(&b, "- %s: %s\n", r.System, r.NotRun)
		}
	}
	fmt.Fprintf(&b, "\n## Verdict\n\n")
	for _, v := range Verdict(rows) {
		fmt.Fprintf(&b, "- %s\n", v)
	}
	// Plots.
	var bars []report.Bar
	var pts []report.Point
	for _, r := range rows {
		if r.NotRun != "" {
			continue
		}
		bars = append(bars, report.Bar{Label: r.Slug, Value: r.Mean["ndcg@10"]})
		pts = append(pts, report.Point{Label: r.Slug, X: r.MSPerQuery, Y: r.Mean["ndcg@10"]})
	}
	if len(bars) > 0 {
		if err := report.BarChart(p.j("ndcg10.png"), "nDCG@10 on the test split", "nDCG@10", bars); err != nil {
			return "", err
		}
		if err := report.Scatter(p.j("latency_quality.png"), "quality vs cost", "ms/query (log)", "nDCG@10", pts, true); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\n![nDCG@10](ndcg10.png)\n![latency vs quality](latency_quality.png)\n")
	}
	drew, err := devPlot(p)
	if err != nil {
		return "", err
	}
	if drew {
		fmt.Fprintf(&b, "\n## KL student during training\n\n![KL student: dev nDCG@10 during training](%s)\n\n"+
			"Dev nDCG@10 is exhaustive MaxSim over the first %d judged dev queries' judged passages plus %s sampled passages "+
			"(easier than the full collection, so higher than the table's test figures; the trend is what it shows).\n",
			devPlotFile, devMaxQueries, thousands(devMaxDocs))
	}
	fmt.Fprintf(&b, "\n## Stages\n\n")
	st := report.Table{Columns: []string{"stage", "status", "seconds"}}
	total := 0.0
	for _, r := range results {
		status := "ran"
		if r.Reused {
			status = "reused"
		}
		total += r.Seconds
		st.AddRow(r.Name, status, fmt.Sprintf("%.1f", r.Seconds))
	}
	st.AddRow("total", "", fmt.Sprintf("%.1f", total))
	b.WriteString(st.Markdown())
	fmt.Fprintf(&b, "\nFiles: `metrics.json` (every row), `rows/<system>/{run.trec,metrics.json,row.json}`, `eval/<system>/report.md`, "+
		"teacher and students under `teacher-easy/`, `teacher/`, `student-*/`, `bi-encoder/`. Generated %s with %d threads.\n",
		time.Now().UTC().Format(time.RFC3339), opt.Threads)

	js, err := json.MarshalIndent(struct {
		Config Config `json:"config"`
		Rows   []Row  `json:"rows"`
	}{cfg, rows}, "", "  ")
	if err != nil {
		return "", err
	}
	if err := report.WriteFile(p.j("metrics.json"), append(js, '\n')); err != nil {
		return "", err
	}
	csv, err := Table(rows).CSV()
	if err != nil {
		return "", err
	}
	if err := report.WriteFile(p.j("table.csv"), csv); err != nil {
		return "", err
	}
	path := p.j("report.md")
	if err := report.WriteFile(path, []byte(b.String())); err != nil {
		return "", err
	}
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "\n%s\n", Table(rows).Markdown())
		for _, v := range Verdict(rows) {
			fmt.Fprintf(opt.Log, "%s\n", v)
		}
	}
	return path, nil
}
