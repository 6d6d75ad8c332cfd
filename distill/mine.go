package distill

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/progress"
)

// Labels of the progress bars Mine asks MineOptions.Bar for.
const (
	BarIndex  = "bm25 index"  // documents indexed
	BarSearch = "bm25 search" // queries searched
)

// MineOptions say where the negatives of Mine's lists come from (besides
// CandidateConfig.Random) and how the first-stage work runs.
type MineOptions struct {
	// Run is a first-stage ranking (a TREC run file, …) to sample the
	// negatives from. nil: BM25 (bm25.DefaultParams) over the corpus,
	// searched to CandidateConfig.Depth for the queries that get lists.
	Run data.Run
	// TopUp completes a list whose run offers fewer than NWay−1 negatives
	// with documents drawn uniformly from the corpus (not judged relevant,
	// not in the list; with PositivesOnly, positives of other queries)
	// instead of skipping it, so that every query with a positive gets its
	// lists: the synthetic benchmark's training candidates. The draws come
	// from the stream (Seed, position of the query among those given + 1),
	// shared by the query's lists. Lists are still skipped (TooFewNegs) when
	// the corpus itself is too small.
	TopUp bool
	// Threads index and search BM25 (default 1); the lists do not depend on
	// them.
	Threads int
	// Bar, when set, is asked for a progress bar at the start of each BM25
	// phase (BarIndex counts documents, BarSearch queries); Mine finishes
	// the bar when the phase ends. nil: no bars.
	Bar func(label string, total int64, unit string) *progress.Bar
}

// Mine draws n-way candidate lists for the queries that have judgments in
// qrels, in the given order: the one place where lists are made, for
// `colbert distill candidates`, the demo and the synthetic benchmark.
//
// The negatives come from the corpus drawn uniformly with cfg.Random
// (RandomCandidates), from opt.Run when it is set, and otherwise from BM25
// over the corpus, built and searched here (Candidates). Only the queries
// that get lists (CandidateConfig.FirstQueries) are searched; a query's
// BM25 ranking does not depend on the others, so the lists are those of a
// search over every query. The corpus may be nil when opt.Run is set and
// TopUp is not.
func Mine(ctx context.Context, corpus []data.Passage, queries []data.Query, qrels data.Qrels, cfg CandidateConfig, opt MineOptions) ([]data.Example, CandidateStats, error) {
	queries = JudgedQueries(queries, qrels)
	if cfg.Random {
		if opt.Run != nil {
			return nil, CandidateStats{}, errors.New("distill: random negatives are drawn from the collection: they cannot come from a run too")
		}
		return RandomCandidates(queries, qrels, corpus, cfg)
	}
	if err := cfg.checkRun(); err != nil { // before the BM25 work
		return nil, CandidateStats{}, err
	}
	run := opt.Run
	if run == nil {
		var err error
		if run, err = searchBM25(ctx, corpus, cfg.FirstQueries(queries), cfg.Depth, opt); err != nil {
			return nil, CandidateStats{}, err
		}
	}
	var fill *topUp
	if opt.TopUp {
		fill = newTopUp(corpus, qrels, cfg)
	}
	return candidates(queries, qrels, run, fill, cfg)
}

// JudgedQueries keeps the queries that have judgments in qrels, in order.
func JudgedQueries(queries []data.Query, qrels data.Qrels) []data.Query {
	var out []data.Query
	for _, q := range queries {
		if _, ok := qrels[q.ID]; ok {
			out = append(out, q)
		}
	}
	return out
}

// searchBM25 indexes the corpus and ranks the queries' top depth.
func searchBM25(ctx context.Context, corpus []data.Passage, queries []data.Query, depth int, opt MineOptions) (data.Run, error) {
	bar := opt.bar(BarIndex, int64(len(corpus)), "docs")
	ix, err := bm25.Build(ctx, corpus, bm25.DefaultParams(), opt.Threads, bar)
	bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("distill: mine candidates: %w", err)
	}
	bar = opt.bar(BarSearch, int64(len(queries)), "queries")
	run, err := ix.SearchAll(ctx, queries, depth, opt.Threads, bar)
	bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("distill: mine candidates: %w", err)
	}
	return run, nil
}

func (opt MineOptions) bar(label string, total int64, unit string) *progress.Bar {
	if opt.Bar == nil {
		return nil
	}
	return opt.Bar(label, total, unit)
}

// topUp completes short lists with random documents of the corpus.
type topUp struct {
	eligible   []string
	inEligible map[string]bool
	seed       uint64
}

func newTopUp(corpus []data.Passage, qrels data.Qrels, cfg CandidateConfig) *topUp {
	ids, set := cfg.eligible(qrels, corpus)
	return &topUp{eligible: ids, inEligible: set, seed: cfg.Seed}
}

// complete returns the list of positive p: every document of pool (run
// order), then draws from the stream (seed, index+1) until it holds NWay
// documents; ok is false when the corpus has too few documents left.
func (t *topUp) complete(qid string, index int, p string, pool []string, judged map[string]int, cfg CandidateConfig) (data.Example, bool) {
	free := len(t.eligible)
	for d, g := range judged {
		if g > 0 && t.inEligible[d] {
			free--
		}
	}
	for _, d := range pool {
		if t.inEligible[d] {
			free--
		}
	}
	if free < cfg.NWay-1-len(pool) {
		return data.Example{}, false
	}
	ex := data.Example{QueryID: qid, DocIDs: make([]string, 0, cfg.NWay)}
	ex.DocIDs = append(ex.DocIDs, p)
	ex.DocIDs = append(ex.DocIDs, pool...)
	taken := make(map[string]bool, cfg.NWay)
	for _, d := range ex.DocIDs {
		taken[d] = true
	}
	rng := rand.New(rand.NewPCG(t.seed, uint64(index)+1))
	for len(ex.DocIDs) < cfg.NWay {
		// Rejection sampling, as RandomCandidates: the free count above
		// guarantees that it ends.
		d := t.eligible[rng.IntN(len(t.eligible))]
		if judged[d] > 0 || taken[d] {
			continue
		}
		taken[d] = true
		ex.DocIDs = append(ex.DocIDs, d)
	}
	return ex, true
}
