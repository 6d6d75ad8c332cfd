package metrics

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
)

// trecEvalNames maps trec_eval's output names to ours.
func trecEvalNames(name string) (string, bool) {
	if name == "recip_rank" {
		return "mrr", true
	}
	m, err := ParseMeasure(name)
	if err != nil {
		return "", false
	}
	return m.String(), true
}

// TestTrecEvalReference compares every per-query value with the output of
// the real trec_eval on a random case with heavy ties (see testdata/README.md).
func TestTrecEvalReference(t *testing.T) {
	qrels, err := data.ReadTRECQrels("testdata/qrels.txt")
	if err != nil {
		t.Fatal(err)
	}
	run, err := data.ReadTRECRun("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/trec_eval.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref := map[string]map[string]float64{} // qid → measure → value
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fld := strings.Fields(sc.Text())
		if len(fld) != 3 {
			t.Fatalf("bad reference line %q", sc.Text())
		}
		name, ok := trecEvalNames(fld[0])
		if !ok {
			t.Fatalf("unknown trec_eval measure %q", fld[0])
		}
		v, err := strconv.ParseFloat(fld[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		if ref[fld[1]] == nil {
			ref[fld[1]] = map[string]float64{}
		}
		if fld[1] == "q1" {
			names = append(names, name)
		}
		ref[fld[1]][name] = v
	}
	if len(names) != 19 {
		t.Fatalf("reference has %d measures, want 19", len(names))
	}
	res, err := Evaluate(qrels, run, names)
	if err != nil {
		t.Fatal(err)
	}
	// Our convention drops judged queries without a relevant document
	// (trec_eval averages them in as 0); everything else must agree.
	excluded := 0
	sums := map[string]float64{}
	for qid, vals := range ref {
		if qid == "all" {
			continue
		}
		ours, ok := res.PerQuery[qid]
		if !ok {
			excluded++
			for n, v := range vals {
				if v != 0 {
					t.Errorf("query %s (excluded: no relevant document) has trec_eval %s = %v", qid, n, v)
				}
			}
			continue
		}
		for n, want := range vals {
			sums[n] += want
			if math.Abs(ours[n]-want) > 0.0000501 { // trec_eval prints 4 decimals
				t.Errorf("query %s %s: %.6f, trec_eval %.4f", qid, n, ours[n], want)
			}
		}
	}
	noRel, missing := 0, 0
	for qid, judged := range qrels {
		rel := false
		for _, g := range judged {
			rel = rel || g > 0
		}
		if !rel {
			noRel++
		} else if _, ok := run[qid]; !ok {
			missing++
		}
	}
	if noRel < 4 || missing < 4 || len(ref) != len(qrels)+1 {
		t.Fatalf("reference case lost its edge cases: %d without relevant docs, %d missing, %d reference queries", noRel, missing, len(ref))
	}
	if excluded != noRel || res.NumQueries != len(qrels)-noRel || len(res.Missing) != missing {
		t.Fatalf("excluded %d, evaluated %d, missing %d; want %d, %d, %d", excluded, res.NumQueries, len(res.Missing), noRel, len(qrels)-noRel, missing)
	}
	n := float64(res.NumQueries)
	for m, s := range sums {
		if math.Abs(res.Mean[m]-s/n) > 0.0000501 {
			t.Errorf("mean %s: %.6f, trec_eval per-query mean %.6f", m, res.Mean[m], s/n)
		}
	}

	// The trec_eval-c convention reproduces every query and trec_eval's own
	// "all" line.
	opt, err := Convention("trec_eval-c")
	if err != nil {
		t.Fatal(err)
	}
	res, err = EvaluateWith(qrels, run, names, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.NumQueries != len(qrels) {
		t.Fatalf("trec_eval-c: %d queries, want %d", res.NumQueries, len(qrels))
	}
	for qid, vals := range ref {
		ours := res.Mean
		if qid != "all" {
			ours = res.PerQuery[qid]
		}
		for m, want := range vals {
			if math.Abs(ours[m]-want) > 0.0000501 {
				t.Errorf("trec_eval-c: %s %s: %.6f, trec_eval %.4f", qid, m, ours[m], want)
			}
		}
	}
}

func TestConventions(t *testing.T) {
	qrels := data.Qrels{"q1": {"q1": 1, "a": 1}, "q2": {"b": 0}, "q3": {"c": 1}}
	run := data.Run{"q1": {{DocID: "q1", Score: 2}, {DocID: "a", Score: 1}}, "q2": {{DocID: "b", Score: 1}}}
	get := func(name string) Result {
		opt, err := Convention(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := EvaluateWith(qrels, run, []string{"mrr", "recall@1", "map"}, opt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// colbert: q1 and q3 (missing → 0); q2 has no relevant document.
	r := get("colbert")
	if r.NumQueries != 2 || r.Mean["mrr"] != 0.5 {
		t.Errorf("colbert: %d queries, mrr %v", r.NumQueries, r.Mean["mrr"])
	}
	// trec_eval: q1 and q2 (0 for every measure, no NaN); q3 is not in the run.
	r = get("trec_eval")
	if r.NumQueries != 2 || r.Mean["mrr"] != 0.5 || r.PerQuery["q2"]["recall@1"] != 0 || r.PerQuery["q2"]["map"] != 0 {
		t.Errorf("trec_eval: %+v", r)
	}
	// trec_eval -c: all three.
	if r = get("trec_eval-c"); r.NumQueries != 3 || math.Abs(r.Mean["mrr"]-1.0/3) > 1e-15 {
		t.Errorf("trec_eval-c: %d queries, mrr %v", r.NumQueries, r.Mean["mrr"])
	}
	// beir: the identical id q1 is dropped, so "a" ranks first.
	r = get("beir")
	if r.NumQueries != 2 || r.PerQuery["q1"]["mrr"] != 1 || r.PerQuery["q1"]["recall@1"] != 0.5 {
		t.Errorf("beir: %+v", r.PerQuery)
	}
	if _, err := Convention("pyserini"); err == nil {
		t.Error("unknown convention accepted")
	}
}

func FuzzParseMeasure(f *testing.F) {
	for _, s := range []string{"ndcg@10", "ndcg_cut.10", "P_5", "recip_rank", "map", "map_cut_100", "mrr@", "@", "_._", "recall@-1", "success@99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMeasure(s)
		if err != nil {
			return
		}
		back, err := ParseMeasure(m.String())
		if err != nil || back != m {
			t.Fatalf("%q → %v → %q → %v, %v", s, m, m.String(), back, err)
		}
		if m.K < 0 || (m.K == 0 && m.Kind != MRR && m.Kind != MAP) {
			t.Fatalf("%q parsed to invalid %+v", s, m)
		}
	})
}
