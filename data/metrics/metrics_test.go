package metrics

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %.15g, want %.15g", what, got, want)
	}
}

func eval(t *testing.T, qrels data.Qrels, run data.Run, ms []string, opt Options) Result {
	t.Helper()
	r, err := EvaluateWith(qrels, run, ms, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTieBreakDocnoDescending: trec_eval ranks equal scores by docno in
// descending strcmp order, whatever the run's own order.
func TestTieBreakDocnoDescending(t *testing.T) {
	qrels := data.Qrels{"q": {"a": 1}}
	run := data.Run{"q": {{DocID: "a", Score: 1}, {DocID: "b", Score: 1}, {DocID: "c", Score: 0.5}}}
	r := eval(t, qrels, run, []string{"mrr@10", "p@1", "success@1", "ndcg@2"}, Options{})
	near(t, "mrr@10", r.Mean["mrr@10"], 0.5) // b is ranked first, a second
	near(t, "p@1", r.Mean["p@1"], 0)
	near(t, "success@1", r.Mean["success@1"], 0)
	near(t, "ndcg@2", r.Mean["ndcg@2"], 1/math.Log2(3))
	// strcmp order, not numeric order: "10" < "9", so "9" ranks first.
	qrels = data.Qrels{"q": {"10": 1}}
	run = data.Run{"q": {{DocID: "10", Score: 2}, {DocID: "9", Score: 2}}}
	near(t, "numeric ids", eval(t, qrels, run, []string{"mrr"}, Options{}).Mean["mrr"], 0.5)
	// Scores, not the run's order, decide.
	run = data.Run{"q": {{DocID: "9", Score: 1}, {DocID: "10", Score: 2}}}
	near(t, "score order", eval(t, qrels, run, []string{"mrr"}, Options{}).Mean["mrr"], 1)
}

// TestGradedNDCG works one query through by hand.
func TestGradedNDCG(t *testing.T) {
	qrels := data.Qrels{"q": {"d1": 2, "d2": 1, "d3": 0, "d5": 1, "d6": -1}}
	run := data.Run{"q": {
		{DocID: "d3", Score: 0.9}, // grade 0
		{DocID: "d1", Score: 0.8}, // grade 2
		{DocID: "d4", Score: 0.7}, // unjudged
		{DocID: "d2", Score: 0.6}, // grade 1
		{DocID: "d6", Score: 0.5}, // grade -1: non-relevant, no gain
	}}
	r := eval(t, qrels, run, []string{"ndcg@3", "ndcg@5", "ndcg@1", "recall@4", "p@5", "map", "map@2", "mrr@10", "mrr@1"}, Options{})
	l3, l4, l5 := math.Log2(3), math.Log2(4), math.Log2(5)
	idcg3 := 2 + 1/l3 + 1/l4 // ideal: 2, 1, 1 (d1, d2, d5)
	near(t, "ndcg@3", r.Mean["ndcg@3"], (2/l3)/idcg3)
	near(t, "ndcg@5", r.Mean["ndcg@5"], (2/l3+1/l5)/idcg3)
	near(t, "ndcg@1", r.Mean["ndcg@1"], 0)
	near(t, "recall@4", r.Mean["recall@4"], 2.0/3)
	near(t, "p@5", r.Mean["p@5"], 2.0/5)
	near(t, "map", r.Mean["map"], (1.0/2+2.0/4)/3) // relevant at ranks 2 and 4, 3 relevant
	near(t, "map@2", r.Mean["map@2"], (1.0/2)/3)
	near(t, "mrr@10", r.Mean["mrr@10"], 0.5)
	near(t, "mrr@1", r.Mean["mrr@1"], 0)

	// Relevance level 2: only d1 is relevant for binary measures; nDCG gains
	// still use every positive grade (as trec_eval's ideal does).
	r = eval(t, qrels, run, []string{"recall@4", "map", "ndcg@3"}, Options{RelevanceLevel: 2})
	near(t, "recall@4 level 2", r.Mean["recall@4"], 1)
	near(t, "map level 2", r.Mean["map"], 0.5)
	near(t, "ndcg@3 level 2", r.Mean["ndcg@3"], (2/l3)/idcg3)
}

// TestQueryConventions: queries without relevant documents are excluded;
// queries missing from the run count as 0 unless SkipMissing; run queries
// without qrels are ignored; P@k divides by k.
func TestQueryConventions(t *testing.T) {
	qrels := data.Qrels{
		"q1": {"a": 1},
		"q2": {"b": 0, "c": 0}, // no relevant document
		"q3": {"d": 3},         // missing from the run
		"q4": {},
	}
	run := data.Run{
		"q1": {{DocID: "a", Score: 3}},
		"q2": {{DocID: "b", Score: 3}},
		"q9": {{DocID: "a", Score: 3}}, // not in the qrels
	}
	ms := []string{"ndcg@10", "p@10", "success@10"}
	r := eval(t, qrels, run, ms, Options{})
	if r.NumQueries != 2 || !reflect.DeepEqual(r.Missing, []string{"q3"}) {
		t.Fatalf("queries %d missing %v, want 2 [q3]", r.NumQueries, r.Missing)
	}
	if _, ok := r.PerQuery["q2"]; ok {
		t.Fatal("q2 (no relevant docs) was evaluated")
	}
	near(t, "ndcg@10", r.Mean["ndcg@10"], 0.5)
	near(t, "p@10", r.Mean["p@10"], 0.1/2)
	near(t, "q3 success", r.PerQuery["q3"]["success@10"], 0)

	r = eval(t, qrels, run, ms, Options{SkipMissing: true})
	if r.NumQueries != 1 || len(r.Missing) != 0 {
		t.Fatalf("SkipMissing: %d queries, missing %v", r.NumQueries, r.Missing)
	}
	near(t, "ndcg@10 skip", r.Mean["ndcg@10"], 1)

	r = eval(t, data.Qrels{}, run, ms, Options{})
	if r.NumQueries != 0 || r.Mean["ndcg@10"] != 0 {
		t.Fatalf("empty qrels: %+v", r)
	}
}

func TestErrors(t *testing.T) {
	qrels := data.Qrels{"q": {"a": 1}}
	dup := data.Run{"q": {{DocID: "a", Score: 2}, {DocID: "b", Score: 1}, {DocID: "a", Score: 0}}}
	if _, err := Evaluate(qrels, dup, []string{"map"}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("duplicate doc: %v", err)
	}
	nan := data.Run{"q": {{DocID: "a", Score: math.NaN()}}}
	if _, err := Evaluate(qrels, nan, []string{"map"}); err == nil {
		t.Fatal("NaN score accepted")
	}
	for _, bad := range []string{"ndcg", "ndcg@0", "ndcg@x", "bleu@4", "recall", ""} {
		if _, err := Evaluate(qrels, data.Run{}, []string{bad}); err == nil {
			t.Errorf("measure %q accepted", bad)
		}
	}
}

func TestParseMeasure(t *testing.T) {
	cases := map[string]string{
		"nDCG@10": "ndcg@10", "ndcg_cut.10": "ndcg@10", "ndcg_cut_10": "ndcg@10", "recip_rank": "mrr",
		"MRR@10": "mrr@10", "recall_100": "recall@100", "P_10": "p@10", "P.5": "p@5", "map": "map",
		"map_cut_100": "map@100", "success_5": "success@5", "R@1000": "recall@1000",
	}
	for in, want := range cases {
		m, err := ParseMeasure(in)
		if err != nil || m.String() != want {
			t.Errorf("ParseMeasure(%q) = %v, %v; want %s", in, m, err, want)
		}
	}
	ms, err := ParseMeasures([]string{"ndcg@10,map", "ndcg_cut_10", " p@5 "})
	if err != nil || len(ms) != 3 {
		t.Fatalf("ParseMeasures: %v %v", ms, err)
	}
}

func TestTableAndJSON(t *testing.T) {
	qrels := data.Qrels{"q1": {"a": 1}, "q2": {"b": 2}}
	run := data.Run{"q1": {{DocID: "a", Score: 1}}, "q2": {{DocID: "x", Score: 1}, {DocID: "b", Score: 0.5}}}
	r, err := Evaluate(qrels, run, []string{"mrr@10", "ndcg@10"})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ndcg@10", r.Mean["ndcg@10"], (1+1/math.Log2(3))/2)
	md := r.Table(true)
	if !strings.Contains(md, "| mrr@10  | 0.7500 |") || !strings.Contains(md, "| queries |      2 |") || !strings.Contains(md, "| -----: |") {
		t.Fatalf("markdown table:\n%s", md)
	}
	plain := r.Table(false)
	if strings.Contains(plain, "|") || !strings.Contains(plain, "ndcg@10") {
		t.Fatalf("plain table:\n%s", plain)
	}
	path := filepath.Join(t.TempDir(), "m.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("JSON round trip: %+v != %+v", back, r)
	}
	if err := r.WriteJSON(filepath.Join(t.TempDir(), "no", "such", "dir.json")); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}
