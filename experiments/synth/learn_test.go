package synth_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/metrics"
)

// TestTrainSplitTeachesSynonyms: the train split must carry the synonym
// signal a model is meant to learn. A crude learner that only counts which
// passage words co-occur with query words over the train examples, and
// expands test queries with the strongest associations, must beat plain
// BM25 clearly; a generator whose queries do not relate to their passages
// through learnable synonyms fails this.
func TestTrainSplitTeachesSynonyms(t *testing.T) {
	b := defaultBenchmark(t)
	an := bm25.Analyzer{}
	text := map[string]string{}
	df := map[string]int{}
	for _, p := range b.Corpus {
		text[p.ID] = p.Content()
		seen := map[string]bool{}
		for _, w := range an.Tokens(p.Content()) {
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	qtext := map[string]string{}
	for _, q := range b.Queries {
		qtext[q.ID] = q.Text
	}
	// Contrastive counts, as a ranking loss sees them: for every query word
	// q and positive-passage word p, 1 minus the fraction of the hard
	// negatives that also contain p, summed over the train examples.
	contentOf := map[string]map[string]bool{}
	content := func(id string) map[string]bool {
		if m, ok := contentOf[id]; ok {
			return m
		}
		m := map[string]bool{}
		for _, w := range an.Tokens(text[id]) {
			if float64(df[w]) < 0.1*float64(len(b.Corpus)) {
				m[w] = true
			}
		}
		contentOf[id] = m
		return m
	}
	co := map[string]map[string]float64{}
	for _, ex := range b.Candidates {
		diff := map[string]float64{}
		for p := range content(ex.DocIDs[0]) {
			n := 0
			for _, d := range ex.DocIDs[1:] {
				if content(d)[p] {
					n++
				}
			}
			diff[p] = 1 - float64(n)/float64(len(ex.DocIDs)-1)
		}
		for _, q := range an.Tokens(qtext[ex.QueryID]) {
			if float64(df[q]) >= 0.1*float64(len(b.Corpus)) {
				continue
			}
			if co[q] == nil {
				co[q] = map[string]float64{}
			}
			for p, d := range diff {
				co[q][p] += d
			}
		}
	}
	expand := map[string][]string{}
	for q, m := range co {
		type cand struct {
			w string
			s float64
		}
		var cs []cand
		for p, c := range m {
			if p != q && c >= 4 {
				cs = append(cs, cand{p, c})
			}
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].s > cs[j].s || cs[i].s == cs[j].s && cs[i].w < cs[j].w })
		for i := 0; i < len(cs) && i < 1; i++ {
			expand[q] = append(expand[q], cs[i].w)
		}
	}
	concept := map[string]int{}
	for i, c := range b.Vocab.Concepts {
		for _, w := range c.Words {
			concept[w] = i + 1
		}
	}
	good, all, qn := 0, 0, 0
	for q, ps := range expand {
		if concept[q] > 0 {
			qn++
		}
		for _, p := range ps {
			all++
			if concept[p] == concept[q] && concept[q] > 0 {
				good++
			}
		}
	}
	t.Logf("learned %d expansions (%d true synonyms) for %d query words (%d concept words)", all, good, len(expand), qn)
	ix := defaultIndex(t)
	var plain, expanded []data.Query
	for _, q := range b.SplitQueries("test") {
		plain = append(plain, q)
		ws := an.Tokens(q.Text)
		for _, w := range an.Tokens(q.Text) {
			ws = append(ws, expand[w]...)
		}
		expanded = append(expanded, data.Query{ID: q.ID, Text: strings.Join(ws, " ")})
	}
	score := func(qs []data.Query) float64 {
		run, err := ix.SearchAll(context.Background(), qs, 100, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := metrics.Evaluate(b.Qrels["test"], run, []string{"ndcg@10"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Mean["ndcg@10"]
	}
	base, learned := score(plain), score(expanded)
	t.Logf("test nDCG@10: BM25 %.3f, BM25 + synonyms learned from the train split %.3f", base, learned)
	if learned < base+0.04 {
		t.Errorf("learned expansion %.3f does not beat BM25 %.3f by 0.04", learned, base)
	}
}
