// Package distill builds knowledge-distillation data for ColBERT training:
// n-way candidate lists (a positive from the qrels plus hard negatives from a
// first-stage run) and teacher scores for them computed by a cross-encoder
// through ONNX Runtime, written as Parquet in resumable shards.
package distill

import (
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"slices"

	"github.com/colbert-go/colbert/data"
)

// CandidateConfig controls how n-way lists are drawn.
type CandidateConfig struct {
	// NWay is the list length: 1 positive + NWay−1 negatives.
	NWay int
	// Depth is how many top documents of the run negatives are sampled from.
	Depth int
	// Seed makes the sample reproducible; each (query, positive) draws from
	// its own stream, so adding or removing queries does not change others.
	Seed uint64
	// MinGrade is the smallest qrels grade counted as a positive (default 1).
	MinGrade int
	// MaxPositives caps the examples per query (0 = one per positive).
	MaxPositives int
	// PositivesOnly keeps as negatives only documents that are some other
	// query's positive (at MinGrade) in the qrels. On a collection whose
	// judged passages are a special set — the synthetic benchmark, where each
	// train query was written from one passage — a cross-encoder can
	// otherwise separate the lists by "is this passage anybody's positive"
	// alone, learn nothing about the query, and stay at chance on dev
	// (experiments/quality/README.md).
	PositivesOnly bool
	// Pool, when > 0, samples the negatives from the first Pool eligible
	// documents of the run's top Depth only (the hardest ones); with
	// NWay−1 = Pool every eligible document among them is kept.
	Pool int
	// Random draws the negatives uniformly from the whole collection (any
	// document not judged relevant for the query) instead of from a run;
	// see RandomCandidates.
	Random bool
	// MaxQueries keeps only the first MaxQueries queries (0 = all): the
	// demo scores lists for as many queries as its students train on.
	MaxQueries int
}

// CandidateStats summarises a Candidates call.
type CandidateStats struct {
	Queries    int // training queries with at least one positive
	Examples   int // lists written
	NoRun      int // queries absent from the run (no negatives)
	TooFewNegs int // (query, positive) pairs skipped: fewer than NWay−1 negatives in the top Depth
	NoPositive int // queries without a positive at MinGrade
	// PositivesInRun counts positives found in the run's top Depth (a
	// recall check of the negatives' source).
	PositivesInRun int
}

// Candidates builds n-way lists for queries (in the given order): for each
// positive of each query (highest grade first, then id), the positive first,
// then NWay−1 negatives sampled without replacement from the run's top Depth
// documents that are not judged relevant (judged non-relevant documents are
// kept: they are the hardest negatives), listed in run order. PositivesOnly
// and Pool narrow the documents negatives are drawn from.
func Candidates(queries []data.Query, qrels data.Qrels, run data.Run, cfg CandidateConfig) ([]data.Example, CandidateStats, error) {
	return candidates(queries, qrels, run, nil, cfg)
}

// checkRun validates the settings of lists drawn from a run.
func (cfg CandidateConfig) checkRun() error {
	if cfg.NWay < 2 {
		return fmt.Errorf("distill: nway %d: need at least 2 (one positive, one negative)", cfg.NWay)
	}
	if cfg.Depth < cfg.NWay-1 {
		return fmt.Errorf("distill: depth %d is smaller than the %d negatives an %d-way list needs", cfg.Depth, cfg.NWay-1, cfg.NWay)
	}
	if cfg.Pool < 0 || (cfg.Pool > 0 && cfg.Pool < cfg.NWay-1) {
		return fmt.Errorf("distill: pool %d: need 0 (whole depth) or at least the %d negatives of a list", cfg.Pool, cfg.NWay-1)
	}
	return nil
}

// candidates is Candidates; a non-nil topUp completes the lists whose run
// offers too few negatives instead of skipping them (MineOptions.TopUp).
func candidates(queries []data.Query, qrels data.Qrels, run data.Run, topUp *topUp, cfg CandidateConfig) ([]data.Example, CandidateStats, error) {
	var st CandidateStats
	if err := cfg.checkRun(); err != nil {
		return nil, st, err
	}
	minGrade := cfg.minGrade()
	positives := cfg.positiveSet(qrels)
	var out []data.Example
	for jq := range cfg.queriesWithPositives(queries, qrels, &st) {
		q, pos := jq.query, jq.positives
		judged := qrels[q.ID]
		ranked, ok := run[q.ID]
		if !ok {
			st.NoRun++
			continue
		}
		if len(ranked) > cfg.Depth {
			ranked = ranked[:cfg.Depth]
		}
		var pool []string
		for _, sd := range ranked {
			if judged[sd.DocID] > 0 {
				if judged[sd.DocID] >= minGrade {
					st.PositivesInRun++
				}
				continue
			}
			if positives != nil && !positives[sd.DocID] {
				continue
			}
			if cfg.Pool > 0 && len(pool) == cfg.Pool {
				continue // full; keep counting positives for the stats
			}
			pool = append(pool, sd.DocID)
		}
		for pi, p := range pos {
			if len(pool) < cfg.NWay-1 {
				if topUp == nil {
					st.TooFewNegs++
					continue
				}
				ex, ok := topUp.complete(q.ID, jq.index, p, pool, judged, cfg)
				if !ok {
					st.TooFewNegs++
					continue
				}
				out = append(out, ex)
				continue
			}
			rng := rand.New(rand.NewPCG(cfg.Seed, streamID(q.ID, pi)))
			pick := rng.Perm(len(pool))[:cfg.NWay-1]
			slices.Sort(pick) // run order
			ex := data.Example{QueryID: q.ID, DocIDs: make([]string, 0, cfg.NWay)}
			ex.DocIDs = append(ex.DocIDs, p)
			for _, i := range pick {
				ex.DocIDs = append(ex.DocIDs, pool[i])
			}
			out = append(out, ex)
		}
	}
	st.Examples = len(out)
	return out, st, nil
}

// RandomCandidates builds n-way lists as Candidates does, with the
// negatives drawn uniformly (seeded, without replacement) from the corpus,
// skipping documents judged relevant for the query (and, with
// PositivesOnly, documents that are nobody's positive). Why: a
// cross-encoder trained from scratch learns to link query and passage on
// such easy negatives first; on BM25's hard negatives alone its loss stays
// at ln(nway) (experiments/quality/README.md). Depth and Pool do not apply.
func RandomCandidates(queries []data.Query, qrels data.Qrels, corpus []data.Passage, cfg CandidateConfig) ([]data.Example, CandidateStats, error) {
	var st CandidateStats
	if cfg.NWay < 2 {
		return nil, st, fmt.Errorf("distill: nway %d: need at least 2 (one positive, one negative)", cfg.NWay)
	}
	eligible, inEligible := cfg.eligible(qrels, corpus)
	var out []data.Example
	for jq := range cfg.queriesWithPositives(queries, qrels, &st) {
		q, pos := jq.query, jq.positives
		judged := qrels[q.ID]
		free := len(eligible)
		for d, g := range judged {
			if g > 0 && inEligible[d] {
				free--
			}
		}
		for pi, p := range pos {
			if free < cfg.NWay-1 {
				st.TooFewNegs++
				continue
			}
			rng := rand.New(rand.NewPCG(cfg.Seed, streamID(q.ID, pi)))
			ex := data.Example{QueryID: q.ID, DocIDs: make([]string, 0, cfg.NWay)}
			ex.DocIDs = append(ex.DocIDs, p)
			seen := map[string]bool{}
			for len(ex.DocIDs) < cfg.NWay {
				// Rejection sampling: cheap while the list is small next
				// to the collection; draws stop once enough are found.
				i := rng.IntN(len(eligible))
				d := eligible[i]
				if seen[d] || judged[d] > 0 {
					continue
				}
				seen[d] = true
				ex.DocIDs = append(ex.DocIDs, d)
			}
			out = append(out, ex)
		}
	}
	st.Examples = len(out)
	return out, st, nil
}

// eligible lists the corpus documents that may be drawn as random
// negatives (with PositivesOnly, only some query's positives), in corpus
// order, and as a set.
func (cfg CandidateConfig) eligible(qrels data.Qrels, corpus []data.Passage) ([]string, map[string]bool) {
	positives := cfg.positiveSet(qrels)
	var ids []string
	for _, p := range corpus {
		if positives == nil || positives[p.ID] {
			ids = append(ids, p.ID)
		}
	}
	set := make(map[string]bool, len(ids))
	for _, d := range ids {
		set[d] = true
	}
	return ids, set
}

func (cfg CandidateConfig) minGrade() int {
	if cfg.MinGrade <= 0 {
		return 1
	}
	return cfg.MinGrade
}

// positiveSet is every document some query counts as a positive, or nil
// without PositivesOnly.
func (cfg CandidateConfig) positiveSet(qrels data.Qrels) map[string]bool {
	if !cfg.PositivesOnly {
		return nil
	}
	minGrade := cfg.minGrade()
	positives := map[string]bool{}
	for _, judged := range qrels {
		for d, g := range judged {
			if g >= minGrade {
				positives[d] = true
			}
		}
	}
	return positives
}

// positivesOf lists a query's positives, highest grade first, then by id,
// capped at MaxPositives.
func (cfg CandidateConfig) positivesOf(judged map[string]int) []string {
	minGrade := cfg.minGrade()
	var pos []string
	for d, g := range judged {
		if g >= minGrade {
			pos = append(pos, d)
		}
	}
	slices.SortFunc(pos, func(a, b string) int {
		if judged[a] != judged[b] {
			return judged[b] - judged[a]
		}
		return data.CompareIDs(a, b)
	})
	if cfg.MaxPositives > 0 && len(pos) > cfg.MaxPositives {
		pos = pos[:cfg.MaxPositives]
	}
	return pos
}

// FirstQueries is the part of queries that gets lists: the first
// MaxQueries (all when 0). Callers that search a run for the queries
// themselves need only search these.
func (cfg CandidateConfig) FirstQueries(queries []data.Query) []data.Query {
	if cfg.MaxQueries > 0 && len(queries) > cfg.MaxQueries {
		return queries[:cfg.MaxQueries]
	}
	return queries
}

// judgedQuery is a query that gets lists: its position in the queries
// given, and its positives.
type judgedQuery struct {
	index     int
	query     data.Query
	positives []string
}

// queriesWithPositives yields FirstQueries' queries that have a positive,
// with their positives, counting the rest in st.
func (cfg CandidateConfig) queriesWithPositives(queries []data.Query, qrels data.Qrels, st *CandidateStats) iter.Seq[judgedQuery] {
	return func(yield func(judgedQuery) bool) {
		for i, q := range cfg.FirstQueries(queries) {
			pos := cfg.positivesOf(qrels[q.ID])
			if len(pos) == 0 {
				st.NoPositive++
				continue
			}
			st.Queries++
			if !yield(judgedQuery{index: i, query: q, positives: pos}) {
				return
			}
		}
	}
}

// streamID derives a per-(query, positive) random stream.
func streamID(qid string, positive int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(qid))
	return h.Sum64() ^ uint64(positive)*0x9e3779b97f4a7c15
}
