package rerank_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search/rerank"
)

// fixture is the hf-tiny ColBERT checkpoint with the 24 reference queries and
// documents and PyTorch's 24×24 MaxSim matrix.
type fixture struct {
	m        *colbert.Model
	queries  map[string]string
	passages map[string]string
	maxsim   []float32 // [24 queries][24 docs]
	nq, nd   int
}

// shared is loaded once for the package's tests (read-only after load).
var shared struct {
	once sync.Once
	f    *fixture
	err  error
}

func load(t *testing.T) *fixture {
	t.Helper()
	root := testassets.Path(t, "models/hf-tiny")
	shared.once.Do(func() { shared.f, shared.err = loadFixture(root) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.f
}

func loadFixture(root string) (*fixture, error) {
	m, err := colbert.Load(filepath.Join(root, "colbert"), "", encode.Options{Threads: 2})
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "reference.json"))
	if err != nil {
		return nil, err
	}
	var ref struct{ Queries, Docs []string }
	if err := json.Unmarshal(raw, &ref); err != nil {
		return nil, err
	}
	st, err := safetensors.ReadFile(filepath.Join(root, "reference.safetensors"))
	if err != nil {
		return nil, err
	}
	f := &fixture{m: m, queries: map[string]string{}, passages: map[string]string{},
		maxsim: st.Tensors["maxsim_scores"].F32, nq: len(ref.Queries), nd: len(ref.Docs)}
	if len(f.maxsim) != f.nq*f.nd || f.nq == 0 {
		return nil, fmt.Errorf("reference: %d queries, %d docs, %d maxsim scores", f.nq, f.nd, len(f.maxsim))
	}
	for i, q := range ref.Queries {
		f.queries[fmt.Sprintf("q%d", i)] = q
	}
	for i, d := range ref.Docs {
		f.passages[fmt.Sprintf("d%d", i)] = d
	}
	return f, nil
}

// fullRun lists every document for every query with a first-stage score
// that is a fixed function of the pair (not correlated with MaxSim).
func (f *fixture) fullRun() data.Run {
	run := data.Run{}
	for qi := 0; qi < f.nq; qi++ {
		docs := make([]data.ScoredDoc, f.nd)
		for di := range docs {
			docs[di] = data.ScoredDoc{DocID: fmt.Sprintf("d%d", di), Score: float64((qi*7+di*13)%29) + 0.5}
		}
		data.SortRun(docs)
		run[fmt.Sprintf("q%d", qi)] = docs
	}
	return run
}

func parseIdx(t *testing.T, id string) int {
	var i int
	if _, err := fmt.Sscanf(id[1:], "%d", &i); err != nil {
		t.Fatalf("id %q", id)
	}
	return i
}

// TestRerankMatchesMaxSim: every reranked score equals PyTorch's MaxSim for
// that pair (reference.safetensors) and our own exhaustive MaxSim over
// documents encoded one at a time, whatever the block size.
func TestRerankMatchesMaxSim(t *testing.T) {
	f := load(t)
	ctx := context.Background()
	run := f.fullRun()
	// Exhaustive reference with our encoder: each document alone.
	qids := data.SortedIDs(f.queries)
	qs := make([]data.Query, len(qids))
	for i, id := range qids {
		qs[i] = data.Query{ID: id, Text: f.queries[id]}
	}
	qv, err := f.m.EncodeQueries(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	exact := map[[2]string]float32{}
	for di := 0; di < f.nd; di++ {
		id := fmt.Sprintf("d%d", di)
		dv, err := f.m.EncodeDocTexts(ctx, []string{f.passages[id]})
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			exact[[2]string{q.ID, id}] = model.MaxSim(qv[i], f.m.QueryLen(), dv.Doc(0), dv.Len(0), f.m.Dim())
		}
	}
	for _, block := range []int{5} { // five blocks, the last one partial
		got, err := rerank.Rerank(ctx, f.m, f.queries, f.passages, run, rerank.Options{DocBlock: block, Threads: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != f.nq {
			t.Fatalf("block %d: %d queries, want %d", block, len(got), f.nq)
		}
		worstRef, worstExact := 0.0, 0.0
		for qid, docs := range got {
			if len(docs) != f.nd {
				t.Fatalf("query %s: %d docs, want %d", qid, len(docs), f.nd)
			}
			for i, d := range docs {
				if i > 0 && docs[i-1].Score < d.Score {
					t.Fatalf("query %s not sorted at %d", qid, i)
				}
				want := f.maxsim[parseIdx(t, qid)*f.nd+parseIdx(t, d.DocID)]
				worstRef = math.Max(worstRef, math.Abs(d.Score-float64(want)))
				worstExact = math.Max(worstExact, math.Abs(d.Score-float64(exact[[2]string{qid, d.DocID}])))
			}
		}
		if worstRef > 1e-4 {
			t.Errorf("block %d: max |rerank − PyTorch MaxSim| = %g > 1e-4", block, worstRef)
		}
		if worstExact > 1e-5 {
			t.Errorf("block %d: max |rerank − exhaustive MaxSim| = %g > 1e-5", block, worstExact)
		}
	}
}

// TestRerankHybridAndDepth: --hybrid w equals Fuse of the first-stage run
// (cut to depth) with the pure ColBERT rerank; depth cuts each list.
func TestRerankHybridAndDepth(t *testing.T) {
	f := load(t)
	ctx := context.Background()
	run := f.fullRun()
	for q, docs := range run { // 12 distinct passages: less to encode
		var keep []data.ScoredDoc
		for _, d := range docs {
			if parseIdx(t, d.DocID) < 12 {
				keep = append(keep, d)
			}
		}
		run[q] = keep
	}
	pure, err := rerank.Rerank(ctx, f.m, f.queries, f.passages, run, rerank.Options{Depth: 10})
	if err != nil {
		t.Fatal(err)
	}
	hyb, err := rerank.Rerank(ctx, f.m, f.queries, f.passages, run, rerank.Options{Depth: 10, Hybrid: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	for qid, docs := range run {
		if len(pure[qid]) != 10 || len(hyb[qid]) != 10 {
			t.Fatalf("query %s: %d and %d docs at depth 10", qid, len(pure[qid]), len(hyb[qid]))
		}
		top := map[string]bool{}
		for _, d := range docs[:10] {
			top[d.DocID] = true
		}
		nf, nc := rerank.MinMax(docs[:10]), rerank.MinMax(pure[qid])
		for _, d := range hyb[qid] {
			if !top[d.DocID] {
				t.Fatalf("query %s: %s is not in the first-stage top 10", qid, d.DocID)
			}
			want := 0.3*nf[d.DocID] + 0.7*nc[d.DocID]
			if math.Abs(d.Score-want) > 1e-12 {
				t.Fatalf("query %s doc %s: hybrid %v, want %v", qid, d.DocID, d.Score, want)
			}
		}
	}
}

func TestRerankErrors(t *testing.T) {
	f := load(t)
	ctx := context.Background()
	cases := []struct {
		name string
		run  data.Run
		want string
	}{
		{"unknown doc", data.Run{"q1": {{DocID: "d1", Score: 2}, {DocID: "nosuchdoc", Score: 1}}}, `"nosuchdoc"`},
		{"unknown query", data.Run{"nosuchquery": {{DocID: "d1", Score: 2}}}, `"nosuchquery"`},
	}
	for _, c := range cases {
		_, err := rerank.Rerank(ctx, f.m, f.queries, f.passages, c.run, rerank.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.want)
		}
	}
	qs := map[string]string{"empty": "  \t "}
	_, err := rerank.Rerank(ctx, f.m, qs, f.passages, data.Run{"empty": {{DocID: "d1", Score: 1}}}, rerank.Options{})
	if !errors.Is(err, colbert.ErrNoTokens) || !strings.Contains(err.Error(), `"empty"`) {
		t.Errorf("empty query: error %v, want ErrNoTokens naming the query", err)
	}
	if _, err := rerank.Rerank(ctx, f.m, f.queries, f.passages, data.Run{}, rerank.Options{Hybrid: 1.5}); err == nil {
		t.Error("hybrid 1.5 accepted")
	}
}

func TestFuse(t *testing.T) {
	a := data.Run{
		"q1": {{DocID: "x", Score: 10}, {DocID: "y", Score: 5}, {DocID: "z", Score: 0}},
		"q2": {{DocID: "x", Score: 3}},
	}
	b := data.Run{
		"q1": {{DocID: "y", Score: -1}, {DocID: "x", Score: -3}}, // z missing
		"q3": {{DocID: "w", Score: 7}, {DocID: "v", Score: 7}},   // constant list
	}
	got := rerank.Fuse(a, b, 0.3)
	// q1: norm(a) x 1, y .5, z 0; norm(b) y 1, x 0, z missing → 0.
	want := map[string]map[string]float64{
		"q1": {"x": 0.3, "y": 0.3*0.5 + 0.7, "z": 0},
		"q2": {"x": 0.3},           // single document → 1, missing from b → 0
		"q3": {"w": 0.7, "v": 0.7}, // constant list → 1
	}
	if len(got) != len(want) {
		t.Fatalf("%d queries, want %d", len(got), len(want))
	}
	for q, docs := range got {
		if len(docs) != len(want[q]) {
			t.Fatalf("%s: %v", q, docs)
		}
		for i, d := range docs {
			if w, ok := want[q][d.DocID]; !ok || math.Abs(d.Score-w) > 1e-12 {
				t.Errorf("%s %s: %v, want %v", q, d.DocID, d.Score, w)
			}
			if i > 0 && (docs[i-1].Score < d.Score || docs[i-1].Score == d.Score && docs[i-1].DocID < d.DocID) {
				t.Errorf("%s: not in trec_eval order: %v", q, docs)
			}
		}
	}
	if got["q1"][0].DocID != "y" {
		t.Errorf("q1 top %s, want y", got["q1"][0].DocID)
	}
}
