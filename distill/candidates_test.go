package distill

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/testassets"
)

// On real Cranfield with a real BM25 run, every list has the positive first,
// nway distinct documents, and negatives from the run's top depth that are
// not judged relevant; the sample is reproducible and per-query.
func TestCandidatesCranfield(t *testing.T) {
	ds, err := data.LoadBEIR(testassets.Path(t, "classic/cranfield"), "test")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := bm25.Build(context.Background(), ds.Corpus, bm25.DefaultParams(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs := ds.Queries[:60]
	run, err := ix.SearchAll(context.Background(), qs, 100, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CandidateConfig{NWay: 8, Depth: 50, Seed: 7, MaxPositives: 2}
	exs, st, err := Candidates(qs, ds.Qrels, run, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Examples != len(exs) || len(exs) < 100 {
		t.Fatalf("stats %+v for %d examples", st, len(exs))
	}
	perQuery := map[string]int{}
	for _, ex := range exs {
		perQuery[ex.QueryID]++
		judged := ds.Qrels[ex.QueryID]
		if len(ex.DocIDs) != 8 {
			t.Fatalf("%s: %d docs", ex.QueryID, len(ex.DocIDs))
		}
		if judged[ex.DocIDs[0]] < 1 {
			t.Errorf("%s: first doc %s is not a positive", ex.QueryID, ex.DocIDs[0])
		}
		top := map[string]int{}
		for i, sd := range run[ex.QueryID][:50] {
			top[sd.DocID] = i
		}
		seen := map[string]bool{ex.DocIDs[0]: true}
		last := -1
		for _, d := range ex.DocIDs[1:] {
			r, ok := top[d]
			if !ok || judged[d] > 0 || seen[d] {
				t.Errorf("%s: negative %s (in top: %v, grade %d, duplicate %v)", ex.QueryID, d, ok, judged[d], seen[d])
			}
			if r < last {
				t.Errorf("%s: negatives not in run order", ex.QueryID)
			}
			last = r
			seen[d] = true
		}
	}
	for q, n := range perQuery {
		if n > 2 {
			t.Errorf("%s: %d examples with MaxPositives 2", q, n)
		}
	}
	// Reproducible, and a query's sample does not depend on the others.
	again, _, _ := Candidates(qs[30:], ds.Qrels, run, cfg)
	i := slices.IndexFunc(exs, func(e data.Example) bool { return e.QueryID == qs[30].ID })
	if i < 0 || !slices.Equal(exs[i].DocIDs, again[0].DocIDs) {
		t.Errorf("query %s: sample changed when other queries were dropped", qs[30].ID)
	}
	cfg.Seed = 8
	other, _, _ := Candidates(qs, ds.Qrels, run, cfg)
	differ := 0
	for k := range exs {
		if !slices.Equal(exs[k].DocIDs, other[k].DocIDs) {
			differ++
		}
	}
	if differ < len(exs)/2 {
		t.Errorf("another seed changed only %d of %d lists", differ, len(exs))
	}
}

func TestCandidatesEdgeCases(t *testing.T) {
	qs := []data.Query{{ID: "1"}, {ID: "2"}, {ID: "3"}, {ID: "4"}}
	qrels := data.Qrels{
		"1": {"a": 2, "b": 1, "x": 0},
		"2": {"c": 1},
		"3": {"z": 0}, // no positive
		"4": {"e": 1}, // not in the run
	}
	run := data.Run{
		"1": {{DocID: "x"}, {DocID: "a"}, {DocID: "n1"}, {DocID: "b"}, {DocID: "n2"}},
		"2": {{DocID: "n1"}, {DocID: "c"}},
		"3": {{DocID: "n1"}, {DocID: "n2"}},
	}
	exs, st, err := Candidates(qs, qrels, run, CandidateConfig{NWay: 3, Depth: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Query 1: two positives (grade 2 first), pool {x, n1, n2} minus none:
	// the judged non-relevant x stays a candidate negative.
	if len(exs) != 2 || exs[0].DocIDs[0] != "a" || exs[1].DocIDs[0] != "b" {
		t.Fatalf("examples %+v", exs)
	}
	for _, ex := range exs {
		for _, d := range ex.DocIDs[1:] {
			if d == "a" || d == "b" {
				t.Errorf("positive %s used as a negative", d)
			}
		}
	}
	if st.TooFewNegs != 1 || st.NoPositive != 1 || st.NoRun != 1 || st.Queries != 3 || st.PositivesInRun != 3 {
		t.Errorf("stats %+v", st)
	}
	if _, _, err := Candidates(qs, qrels, run, CandidateConfig{NWay: 1, Depth: 5}); err == nil || !strings.Contains(err.Error(), "nway") {
		t.Errorf("nway 1: %v", err)
	}
	if _, _, err := Candidates(qs, qrels, run, CandidateConfig{NWay: 8, Depth: 5}); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("depth < nway-1: %v", err)
	}
}

// PositivesOnly keeps only other queries' positives as negatives; Pool
// restricts the sample to the first eligible documents in run order.
func TestCandidatesPositivesOnlyAndPool(t *testing.T) {
	qs := []data.Query{{ID: "1"}, {ID: "2"}, {ID: "3"}}
	qrels := data.Qrels{"1": {"a": 2}, "2": {"b": 2, "m": 1}, "3": {"c": 2, "d": 2}}
	run := data.Run{"1": {{DocID: "n1"}, {DocID: "b"}, {DocID: "a"}, {DocID: "m"}, {DocID: "n2"}, {DocID: "c"}, {DocID: "d"}}}
	cfg := CandidateConfig{NWay: 3, Depth: 7, Seed: 3, MinGrade: 2, PositivesOnly: true}
	exs, _, err := Candidates(qs[:1], qrels, run, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Eligible: b, c, d (m is grade 1 < MinGrade, n1/n2 nobody's positive).
	if len(exs) != 1 {
		t.Fatalf("examples %+v", exs)
	}
	for _, d := range exs[0].DocIDs[1:] {
		if d != "b" && d != "c" && d != "d" {
			t.Errorf("negative %s is not another query's positive", d)
		}
	}
	cfg.Pool = 2
	exs, _, err = Candidates(qs[:1], qrels, run, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(exs[0].DocIDs, []string{"a", "b", "c"}) {
		t.Errorf("pool 2: got %v, want the first two eligible [b c] after the positive", exs[0].DocIDs)
	}
	cfg.Pool = 1
	if _, _, err := Candidates(qs[:1], qrels, run, cfg); err == nil || !strings.Contains(err.Error(), "pool") {
		t.Errorf("pool < nway-1: %v", err)
	}
}

func TestRandomCandidates(t *testing.T) {
	var docs []data.Passage
	for i := range 50 {
		docs = append(docs, data.Passage{ID: fmt.Sprintf("p%02d", i)})
	}
	qs := []data.Query{{ID: "1"}, {ID: "2"}, {ID: "3"}}
	qrels := data.Qrels{"1": {"p00": 2, "p01": 1, "p02": 0}, "2": {"p03": 2}, "3": {"p04": 2}}
	cfg := CandidateConfig{NWay: 20, Seed: 9}
	exs, st, err := RandomCandidates(qs, qrels, docs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Query 1 has two positives (grades 2 and 1): three queries, four lists.
	if len(exs) != 4 || st.Queries != 3 || st.Examples != 4 {
		t.Fatalf("got %d lists, stats %+v", len(exs), st)
	}
	counts := map[string]int{}
	for _, ex := range exs {
		if len(ex.DocIDs) != cfg.NWay || qrels[ex.QueryID][ex.DocIDs[0]] < 1 {
			t.Fatalf("list %v: want %d documents, a positive first", ex, cfg.NWay)
		}
		seen := map[string]bool{}
		for _, d := range ex.DocIDs[1:] {
			if seen[d] || qrels[ex.QueryID][d] > 0 {
				t.Errorf("query %s: negative %s repeated or judged relevant", ex.QueryID, d)
			}
			seen[d] = true
			counts[d]++
		}
	}
	// p02 is judged non-relevant for query 1, so it may be a negative; other
	// queries' positives may be too. 76 draws over ≈ 48 documents: most are hit.
	if len(counts) < 30 {
		t.Errorf("negatives cover %d documents: not spread over the collection", len(counts))
	}
	again, _, err := RandomCandidates(qs, qrels, docs, cfg)
	if err != nil || !slices.EqualFunc(exs, again, func(a, b data.Example) bool { return slices.Equal(a.DocIDs, b.DocIDs) }) {
		t.Errorf("same seed, different lists (err %v)", err)
	}
	// Each query draws from its own stream: dropping a query leaves the others alone.
	sub, _, _ := RandomCandidates(qs[1:], qrels, docs, cfg)
	if !slices.Equal(sub[0].DocIDs, exs[2].DocIDs) {
		t.Errorf("query 2's list changed when query 1 was dropped: %v vs %v", sub[0].DocIDs, exs[2].DocIDs)
	}

	cfg.MinGrade, cfg.MaxQueries = 2, 2
	exs, _, _ = RandomCandidates(qs, qrels, docs, cfg)
	if len(exs) != 2 || exs[1].QueryID != "2" {
		t.Errorf("max queries 2, min grade 2: got %v", exs)
	}
	cfg.MaxQueries, cfg.NWay, cfg.PositivesOnly = 0, 3, true
	exs, _, _ = RandomCandidates(qs, qrels, docs, cfg)
	for _, ex := range exs {
		for _, d := range ex.DocIDs[1:] {
			if d != "p00" && d != "p03" && d != "p04" {
				t.Errorf("positives only: negative %s is nobody's positive", d)
			}
		}
	}
	cfg.NWay = 4 // each query has only 2 other positives
	if exs, st, _ := RandomCandidates(qs, qrels, docs, cfg); len(exs) != 0 || st.TooFewNegs != 3 {
		t.Errorf("too few eligible documents: %d lists, stats %+v", len(exs), st)
	}
	if _, _, err := RandomCandidates(qs, qrels, docs, CandidateConfig{NWay: 1}); err == nil {
		t.Error("nway 1 accepted")
	}
}
