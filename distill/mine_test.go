package distill

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/testassets"
)

// Mine is the three sources of negatives behind one call: on Cranfield its
// lists are those of BM25 built and searched by hand then Candidates, of
// RandomCandidates, and of Candidates over a given run, for the judged
// queries only, whatever the thread count.
func TestMineSources(t *testing.T) {
	ds, err := data.LoadBEIR(testassets.Path(t, "classic/cranfield"), "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Unjudged queries in the input are dropped, as the CLI always did.
	queries := append([]data.Query{{ID: "unjudged", Text: "boundary layer"}}, ds.Queries...)
	cfg := CandidateConfig{NWay: 6, Depth: 40, Seed: 11, MaxPositives: 2, MaxQueries: 50}

	ix, err := bm25.Build(ctx, ds.Corpus, bm25.DefaultParams(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := ix.SearchAll(ctx, ds.Queries, cfg.Depth, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, wantSt, err := Candidates(ds.Queries, ds.Qrels, run, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	var searched int64
	got, st, err := Mine(ctx, ds.Corpus, queries, ds.Qrels, cfg, MineOptions{Threads: 2,
		Bar: func(label string, total int64, unit string) *progress.Bar {
			labels = append(labels, fmt.Sprintf("%s %d %s", label, total, unit))
			if label == BarSearch {
				searched = total
			}
			return progress.New(nil, label, total, unit, false)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || !reflect.DeepEqual(got, want) || st != wantSt {
		t.Fatalf("BM25: Mine gives %d lists (%+v), BM25 + Candidates %d (%+v)", len(got), st, len(want), wantSt)
	}
	// Only the queries that get lists are searched.
	if searched != int64(cfg.MaxQueries) || len(labels) != 2 || !strings.HasPrefix(labels[0], BarIndex) {
		t.Errorf("bars %v, want an index bar then a search bar over %d queries", labels, cfg.MaxQueries)
	}

	given, st, err := Mine(ctx, nil, queries, ds.Qrels, cfg, MineOptions{Run: run})
	if err != nil || !reflect.DeepEqual(given, want) || st != wantSt {
		t.Errorf("given run: %d lists (%+v, %v), want %d", len(given), st, err, len(want))
	}

	rcfg := cfg
	rcfg.Random = true
	wantR, wantRSt, err := RandomCandidates(ds.Queries, ds.Qrels, ds.Corpus, rcfg)
	if err != nil {
		t.Fatal(err)
	}
	gotR, st, err := Mine(ctx, ds.Corpus, queries, ds.Qrels, rcfg, MineOptions{})
	if err != nil || len(gotR) == 0 || !reflect.DeepEqual(gotR, wantR) || st != wantRSt {
		t.Errorf("random: %d lists (%+v, %v), want %d", len(gotR), st, err, len(wantR))
	}
	if _, _, err := Mine(ctx, ds.Corpus, queries, ds.Qrels, rcfg, MineOptions{Run: run}); err == nil || !strings.Contains(err.Error(), "random") {
		t.Errorf("random negatives from a run accepted: %v", err)
	}
}

// A bad configuration is refused before any BM25 work (here there is no
// corpus to index at all).
func TestMineChecksFirst(t *testing.T) {
	qs := []data.Query{{ID: "1", Text: "x"}}
	qrels := data.Qrels{"1": {"a": 1}}
	built := false
	_, _, err := Mine(context.Background(), nil, qs, qrels, CandidateConfig{NWay: 8, Depth: 3},
		MineOptions{Bar: func(string, int64, string) *progress.Bar { built = true; return nil }})
	if err == nil || !strings.Contains(err.Error(), "depth") || built {
		t.Errorf("depth < nway−1: err %v, BM25 started %v", err, built)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	corpus := []data.Passage{{ID: "a", Text: "x"}, {ID: "b", Text: "x y"}}
	if _, _, err := Mine(ctx, corpus, qs, qrels, CandidateConfig{NWay: 2, Depth: 5}, MineOptions{}); err == nil {
		t.Error("cancelled context: no error")
	}
}

// oldSynthLists is the synthetic benchmark's own miner before it moved to
// Mine (data/synth mineCandidates at c5b3c00, minus the BM25 search): the
// source passage, BM25's first non-relevant passages in rank order, then
// random passages from the stream (seed, query index + 1).
func oldSynthLists(queries []data.Query, qrels data.Qrels, run data.Run, corpus []data.Passage, nway int, seed uint64) []data.Example {
	out := make([]data.Example, len(queries))
	for i, q := range queries {
		judged := qrels[q.ID]
		var pos string
		for d, g := range judged {
			if g == 2 {
				pos = d
			}
		}
		ids := []string{pos}
		taken := map[string]bool{pos: true}
		for _, sd := range run[q.ID] {
			if len(ids) == nway {
				break
			}
			if judged[sd.DocID] > 0 || taken[sd.DocID] {
				continue
			}
			taken[sd.DocID] = true
			ids = append(ids, sd.DocID)
		}
		fill := rand.New(rand.NewPCG(seed, uint64(i)+1))
		for len(ids) < nway {
			d := corpus[fill.IntN(len(corpus))].ID
			if judged[d] > 0 || taken[d] {
				continue
			}
			taken[d] = true
			ids = append(ids, d)
		}
		out[i] = data.Example{QueryID: q.ID, DocIDs: ids}
	}
	return out
}

// TopUp with Pool = NWay−1 gives the synthetic benchmark's lists exactly:
// BM25's best non-relevant passages, topped up at random where BM25 runs
// dry (short runs here).
func TestMineTopUpIsSynthMiner(t *testing.T) {
	var corpus []data.Passage
	for i := range 60 {
		corpus = append(corpus, data.Passage{ID: fmt.Sprintf("p%02d", i)})
	}
	r := rand.New(rand.NewPCG(1, 2))
	var queries []data.Query
	qrels, run := data.Qrels{}, data.Run{}
	topped := 0
	for i := range 40 {
		id := fmt.Sprintf("q%02d", i)
		queries = append(queries, data.Query{ID: id})
		judged := map[string]int{corpus[i].ID: 2, corpus[(i+7)%60].ID: 1}
		qrels[id] = judged
		run[id] = []data.ScoredDoc{} // BM25 ranks every query, if only emptily
		n := r.IntN(14)              // 0–13 ranked passages, relevant ones among them
		if n < 10 {
			topped++
		}
		for _, k := range r.Perm(60)[:n] {
			run[id] = append(run[id], data.ScoredDoc{DocID: corpus[k].ID, Score: float64(100 - k)})
		}
	}
	const nway, seed = 9, 42
	cfg := CandidateConfig{NWay: nway, Depth: 13, Seed: seed, MinGrade: 2, MaxPositives: 1, Pool: nway - 1}
	got, st, err := Mine(context.Background(), corpus, queries, qrels, cfg, MineOptions{Run: run, TopUp: true})
	if err != nil {
		t.Fatal(err)
	}
	want := oldSynthLists(queries, qrels, run, corpus, nway, seed)
	if topped < 10 || !reflect.DeepEqual(got, want) || st.Examples != len(queries) || st.TooFewNegs != 0 {
		t.Fatalf("TopUp lists differ from the synthetic benchmark's miner (%d topped up, stats %+v)\ngot  %v\nwant %v", topped, st, got, want)
	}
	// Without TopUp the short lists are skipped.
	if plain, st, _ := Mine(context.Background(), corpus, queries, qrels, cfg, MineOptions{Run: run}); len(plain) >= len(queries) || st.TooFewNegs == 0 {
		t.Errorf("without TopUp: %d lists, stats %+v", len(plain), st)
	}
	// A corpus too small to complete a list: skipped, not an endless draw.
	small := corpus[:8]
	if exs, st, err := Mine(context.Background(), small, queries[:3], qrels, cfg, MineOptions{Run: data.Run{"q00": {}, "q01": {}, "q02": {}}, TopUp: true}); err != nil || len(exs) != 0 || st.TooFewNegs != 3 {
		t.Errorf("corpus too small: %d lists, stats %+v, err %v", len(exs), st, err)
	}
}
