// Package metrics computes retrieval measures exactly as trec_eval does
// (usnistgov/trec_eval 9.x/10.0), so that figures from colbert-go can be put
// next to trec_eval, pytrec_eval and BEIR figures without footnotes.
//
// What trec_eval does and this package matches:
//   - The run's order is ignored: documents are ranked by score, descending,
//     and equal scores by document id in DESCENDING strcmp order
//     (form_res_rels.c, comp_sim_docno). Duplicate documents are an error.
//   - A document is relevant when its grade ≥ the relevance level (default 1);
//     unjudged documents and grades ≤ 0 count as non-relevant.
//   - nDCG@k (ndcg_cut.k): gain = grade (linear), discount log2(rank+1), ideal
//     DCG from all judged documents with grade > 0, sorted by grade.
//   - MRR@k: recip_rank restricted to the top k; "mrr" alone has no cutoff.
//   - Recall@k, P@k (divides by k even if fewer were retrieved), Success@k,
//     MAP (divides by the number of relevant documents), MAP@k (map_cut.k).
//
// Which queries are averaged (Options): by default judged queries with no
// relevant document are left out (trec_eval would average them in as 0:
// Options.KeepNoRelevant), and judged queries missing from the run count as 0
// for every measure (trec_eval -c) unless Options.SkipMissing, which matches
// trec_eval's default, pytrec_eval and BEIR (they evaluate the intersection
// only). Convention("trec_eval" | "trec_eval-c" | "beir") sets these to
// reproduce each tool's mean exactly.
package metrics

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the family of a measure.
type Kind int

// The measure families.
const (
	NDCG Kind = iota
	MRR
	Recall
	Precision
	Success
	MAP
)

var kindNames = map[Kind]string{NDCG: "ndcg", MRR: "mrr", Recall: "recall", Precision: "p", Success: "success", MAP: "map"}

// Measure is one parsed measure: a family and a cutoff (0 = whole ranking,
// allowed only for mrr and map).
type Measure struct {
	Kind Kind
	K    int
}

// String is the canonical name, e.g. "ndcg@10", "map", "p@5".
func (m Measure) String() string {
	if m.K == 0 {
		return kindNames[m.Kind]
	}
	return kindNames[m.Kind] + "@" + strconv.Itoa(m.K)
}

// DefaultMeasures are what `colbert eval` prints without --measures.
var DefaultMeasures = []string{"ndcg@10", "mrr@10", "map", "recall@100", "recall@1000", "success@10", "p@10"}

// ParseMeasure accepts our names ("ndcg@10", "mrr@10", "recall@100",
// "success@5", "p@10", "map", "map@100", "mrr"), case-insensitively, and the
// trec_eval spellings "ndcg_cut.10", "ndcg_cut_10", "recall_100", "P_10",
// "P.10", "success_5", "map_cut_100", "recip_rank".
func ParseMeasure(s string) (Measure, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "recip_rank" {
		return Measure{Kind: MRR}, nil
	}
	base, cut := name, ""
	if i := strings.IndexAny(name, "@._"); i >= 0 && name != "map_cut" {
		// the last separator splits the cutoff off: "ndcg_cut_10", "map_cut.100"
		j := strings.LastIndexAny(name, "@._")
		base, cut = name[:j], name[j+1:]
	}
	kinds := map[string]Kind{
		"ndcg": NDCG, "ndcg_cut": NDCG, "mrr": MRR, "recip_rank": MRR, "recall": Recall, "r": Recall,
		"p": Precision, "precision": Precision, "success": Success, "map": MAP, "map_cut": MAP,
	}
	kind, ok := kinds[base]
	if !ok {
		return Measure{}, fmt.Errorf("metrics: unknown measure %q (want ndcg@k, mrr[@k], recall@k, success@k, p@k, map[@k])", s)
	}
	if cut == "" {
		if kind != MRR && kind != MAP {
			return Measure{}, fmt.Errorf("metrics: measure %q needs a cutoff, e.g. %s@10", s, kindNames[kind])
		}
		return Measure{Kind: kind}, nil
	}
	k, err := strconv.Atoi(cut)
	if err != nil || k <= 0 {
		return Measure{}, fmt.Errorf("metrics: measure %q: cutoff %q is not a positive integer", s, cut)
	}
	return Measure{Kind: kind, K: k}, nil
}

// ParseMeasures parses a list; a comma-separated single string is split.
func ParseMeasures(names []string) ([]Measure, error) {
	var out []Measure
	seen := map[Measure]bool{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			m, err := ParseMeasure(part)
			if err != nil {
				return nil, err
			}
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("metrics: no measures given")
	}
	return out, nil
}
