package metrics

import (
	"math"
	"testing"

	"github.com/colbert-go/colbert/data"
)

// TestQueryValueMatchesEvaluate: QueryValue gives, bit for bit, the
// per-query value EvaluateWith reports for every measure, on the trec_eval
// reference case (heavy ties), and rejects measures ParseMeasure would not
// return.
func TestQueryValueMatchesEvaluate(t *testing.T) {
	qrels, err := data.ReadTRECQrels("testdata/qrels.txt")
	if err != nil {
		t.Fatal(err)
	}
	run, err := data.ReadTRECRun("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"ndcg@10", "ndcg@3", "mrr", "mrr@10", "map", "map@5", "recall@5", "p@5", "success@1"}
	res, err := Evaluate(qrels, run, names)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ParseMeasures(names)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for qid, vals := range res.PerQuery {
		for _, m := range ms {
			got, err := QueryValue(m, qid, run[qid], qrels[qid])
			if err != nil {
				t.Fatal(err)
			}
			if want := vals[m.String()]; math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("query %s %s: QueryValue %v, Evaluate %v", qid, m, got, want)
			}
			checked++
		}
	}
	if checked < 10*len(ms) {
		t.Fatalf("only %d values checked", checked)
	}
	for _, m := range []Measure{{Kind: NDCG}, {Kind: Recall, K: -1}, {Kind: Kind(99), K: 10}} {
		if _, err := QueryValue(m, "q", nil, map[string]int{"d": 1}); err == nil {
			t.Errorf("QueryValue accepted %+v", m)
		}
	}
	dup := []data.ScoredDoc{{DocID: "d", Score: 1}, {DocID: "d", Score: 2}}
	if _, err := QueryValue(Measure{Kind: NDCG, K: 10}, "q", dup, map[string]int{"d": 1}); err == nil {
		t.Error("duplicate document accepted")
	}
}
