package metrics

import (
	"fmt"
	"math"
	"sort"

	"github.com/colbert-go/colbert/data"
)

// Options choose the averaging conventions (see the package comment). The
// zero value is colbert-go's default; Convention gives the presets that
// reproduce trec_eval, trec_eval -c and BEIR exactly.
type Options struct {
	// SkipMissing leaves judged queries that are absent from the run out of
	// the mean (trec_eval without -c, pytrec_eval, BEIR). The default counts
	// them as 0 (trec_eval -c).
	SkipMissing bool `json:"skip_missing"`
	// KeepNoRelevant averages judged queries without any relevant document
	// in as 0 (trec_eval and pytrec_eval do). The default leaves them out:
	// they cannot be answered and only dilute the mean.
	KeepNoRelevant bool `json:"keep_no_relevant"`
	// IgnoreIdenticalIDs drops retrieved documents whose id equals the query
	// id before evaluating (BEIR's EvaluateRetrieval default, for ArguAna and
	// Quora where queries are also documents).
	IgnoreIdenticalIDs bool `json:"ignore_identical_ids"`
	// RelevanceLevel is the minimum grade that counts as relevant for the
	// binary measures (trec_eval -l); 0 means the default, 1.
	RelevanceLevel int `json:"relevance_level"`
}

// Conventions are the names Convention accepts.
var Conventions = []string{"colbert", "trec_eval", "trec_eval-c", "beir"}

// Convention returns the averaging options of a named convention:
// "colbert" (the zero Options), "trec_eval" (intersection of run and qrels,
// queries without relevant documents count as 0), "trec_eval-c" (every
// judged query; missing ones count as 0) and "beir" (pytrec_eval on the
// intersection, identical query/document ids ignored).
func Convention(name string) (Options, error) {
	switch name {
	case "", "colbert":
		return Options{}, nil
	case "trec_eval":
		return Options{SkipMissing: true, KeepNoRelevant: true}, nil
	case "trec_eval-c":
		return Options{KeepNoRelevant: true}, nil
	case "beir":
		return Options{SkipMissing: true, KeepNoRelevant: true, IgnoreIdenticalIDs: true}, nil
	}
	return Options{}, fmt.Errorf("metrics: unknown convention %q (want one of %v)", name, Conventions)
}

// Result holds per-query values and their means, keyed by canonical measure
// name (Measure.String()).
type Result struct {
	Measures   []string                      `json:"measures"`
	NumQueries int                           `json:"num_queries"`
	Mean       map[string]float64            `json:"mean"`
	PerQuery   map[string]map[string]float64 `json:"per_query"`
	// Missing lists evaluated queries that had no ranking in the run.
	Missing []string `json:"missing_from_run,omitempty"`
	Options Options  `json:"options"`
}

// Evaluate computes measures (names as accepted by ParseMeasure) with the
// default Options.
func Evaluate(qrels data.Qrels, run data.Run, measures []string) (Result, error) {
	return EvaluateWith(qrels, run, measures, Options{})
}

// EvaluateWith computes measures with explicit averaging options.
func EvaluateWith(qrels data.Qrels, run data.Run, measures []string, opt Options) (Result, error) {
	ms, err := ParseMeasures(measures)
	if err != nil {
		return Result{}, err
	}
	if opt.RelevanceLevel <= 0 {
		opt.RelevanceLevel = 1
	}
	res := Result{Mean: map[string]float64{}, PerQuery: map[string]map[string]float64{}, Options: opt}
	for _, m := range ms {
		res.Measures = append(res.Measures, m.String())
	}
	qids := make([]string, 0, len(qrels))
	for q := range qrels {
		qids = append(qids, q)
	}
	sort.Strings(qids)
	sums := make([]float64, len(ms))
	for _, q := range qids {
		judged := qrels[q]
		numRel := numRelevant(judged, opt.RelevanceLevel)
		if numRel == 0 && !opt.KeepNoRelevant {
			continue // no relevant document: excluded from the mean
		}
		ranking, inRun := run[q]
		missing := !inRun || len(ranking) == 0
		if opt.IgnoreIdenticalIDs {
			kept := make([]data.ScoredDoc, 0, len(ranking))
			for _, d := range ranking {
				if d.DocID != q {
					kept = append(kept, d)
				}
			}
			ranking = kept
		}
		if missing {
			if opt.SkipMissing {
				continue
			}
			res.Missing = append(res.Missing, q)
		}
		rels, err := rankedGrades(q, ranking, judged)
		if err != nil {
			return Result{}, err
		}
		ideal := idealGains(judged)
		vals := make(map[string]float64, len(ms))
		for i, m := range ms {
			v := compute(m, rels, ideal, numRel, opt.RelevanceLevel)
			vals[res.Measures[i]] = v
			sums[i] += v
		}
		res.PerQuery[q] = vals
		res.NumQueries++
	}
	for i, name := range res.Measures {
		if res.NumQueries > 0 {
			res.Mean[name] = sums[i] / float64(res.NumQueries)
		} else {
			res.Mean[name] = 0
		}
	}
	return res, nil
}

// QueryValue is m (as ParseMeasure returns it) for one query's ranking,
// computed exactly as EvaluateWith computes it per query with the default
// relevance level 1: the ranking ordered as trec_eval does, grades from
// judged. It serves callers that average over their own queries in their
// own order, such as training's dev nDCG@10, so they need no copy of a
// measure.
func QueryValue(m Measure, qid string, ranking []data.ScoredDoc, judged map[string]int) (float64, error) {
	if _, ok := kindNames[m.Kind]; !ok || m.K < 0 || m.K == 0 && m.Kind != MRR && m.Kind != MAP {
		return 0, fmt.Errorf("metrics: invalid measure %+v", m)
	}
	rels, err := rankedGrades(qid, ranking, judged)
	if err != nil {
		return 0, err
	}
	const level = 1
	return compute(m, rels, idealGains(judged), numRelevant(judged, level), level), nil
}

// numRelevant counts the judged documents with grade ≥ level.
func numRelevant(judged map[string]int, level int) int {
	n := 0
	for _, g := range judged {
		if g >= level {
			n++
		}
	}
	return n
}

// rankedGrades orders the ranking as trec_eval does (score descending, then
// document id descending) and returns the judged grade at each rank
// (0 for unjudged documents).
func rankedGrades(qid string, ranking []data.ScoredDoc, judged map[string]int) ([]int, error) {
	r := make([]data.ScoredDoc, len(ranking))
	copy(r, ranking)
	for _, d := range r {
		if math.IsNaN(d.Score) {
			return nil, fmt.Errorf("metrics: query %q: document %q has a NaN score", qid, d.DocID)
		}
	}
	sort.Slice(r, func(i, j int) bool {
		if r[i].Score != r[j].Score {
			return r[i].Score > r[j].Score
		}
		return r[i].DocID > r[j].DocID
	})
	grades := make([]int, len(r))
	seen := make(map[string]struct{}, len(r))
	for i, d := range r {
		if _, dup := seen[d.DocID]; dup {
			return nil, fmt.Errorf("metrics: query %q: document %q retrieved twice", qid, d.DocID)
		}
		seen[d.DocID] = struct{}{}
		grades[i] = judged[d.DocID]
	}
	return grades, nil
}

// idealGains are the positive grades of all judged documents, best first.
func idealGains(judged map[string]int) []int {
	var g []int
	for _, v := range judged {
		if v > 0 {
			g = append(g, v)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(g)))
	return g
}

func compute(m Measure, rels, ideal []int, numRel, level int) float64 {
	n := len(rels)
	if m.K > 0 && m.K < n {
		n = m.K
	}
	top := rels[:n]
	switch m.Kind {
	case NDCG:
		var dcg, idcg float64
		for i, g := range top {
			if g > 0 {
				dcg += float64(g) / math.Log2(float64(i+2))
			}
		}
		for i, g := range ideal {
			if i >= m.K {
				break
			}
			idcg += float64(g) / math.Log2(float64(i+2))
		}
		if idcg == 0 {
			return 0
		}
		return dcg / idcg
	case MRR:
		for i, g := range top {
			if g >= level {
				return 1 / float64(i+1)
			}
		}
		return 0
	case Recall, Precision, Success:
		hits := 0
		for _, g := range top {
			if g >= level {
				hits++
			}
		}
		switch m.Kind {
		case Recall:
			if numRel == 0 {
				return 0
			}
			return float64(hits) / float64(numRel)
		case Precision:
			return float64(hits) / float64(m.K)
		default:
			if hits > 0 {
				return 1
			}
			return 0
		}
	case MAP:
		hits, sum := 0, 0.0
		for i, g := range top {
			if g >= level {
				hits++
				sum += float64(hits) / float64(i+1)
			}
		}
		if numRel == 0 {
			return 0
		}
		return sum / float64(numRel)
	}
	panic("metrics: unknown measure kind")
}
