package synth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/distill"
)

var connectors = []string{"of", "and", "in", "for", "with", "the", "on"}

// writeQuery names each chosen concept (positions into in.concepts), mostly
// with a synonym the source passage does not prefer, adds a topic word or a
// distractor now and then, and glues them with function words.
func writeQuery(r *rand.Rand, v *Vocabulary, cfg Config, in passageInfo, pos []int) string {
	var content []string
	for _, k := range pos {
		ws := v.Concepts[in.concepts[k]].Words
		w := in.surface[k]
		if r.Float64() < cfg.SynonymRate {
			var others []string
			for _, x := range ws {
				if x != w {
					others = append(others, x)
				}
			}
			if len(others) > 0 {
				w = others[r.IntN(len(others))]
			}
		}
		content = append(content, w)
	}
	if r.Float64() < 0.5 {
		tw := v.TopicWords[in.topic]
		content = append(content, tw[r.IntN(len(tw))])
	}
	if r.Float64() < 0.2 {
		content = append(content, v.Distractors[zipf(r, len(v.Distractors))])
	}
	r.Shuffle(len(content), func(i, j int) { content[i], content[j] = content[j], content[i] })
	var words []string
	question := r.Float64() < 0.6
	if question {
		words = append(words, questionWords[r.IntN(len(questionWords))])
	}
	for i, w := range content {
		if i > 0 && r.Float64() < 0.5 {
			words = append(words, connectors[r.IntN(len(connectors))])
		}
		words = append(words, w)
	}
	q := joinWords(words)
	if question {
		q += "?"
	}
	return q
}

func joinWords(ws []string) string {
	n := 0
	for _, w := range ws {
		n += len(w) + 1
	}
	b := make([]byte, 0, n)
	for i, w := range ws {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, w...)
	}
	return string(b)
}

// intersect returns the passages containing every concept, ascending.
func intersect(byConcept [][]int32, concepts []int) []int32 {
	lists := make([][]int32, len(concepts))
	for i, c := range concepts {
		lists[i] = byConcept[c]
	}
	sort.Slice(lists, func(i, j int) bool { return len(lists[i]) < len(lists[j]) })
	var out []int32
	for _, p := range lists[0] {
		all := true
		for _, l := range lists[1:] {
			k := sort.Search(len(l), func(i int) bool { return l[i] >= p })
			if k == len(l) || l[k] != p {
				all = false
				break
			}
		}
		if all {
			out = append(out, p)
		}
	}
	return out
}

// mineCandidates gives every train query its source passage followed by the
// best-ranked BM25 passages that are not judged relevant (hard negatives),
// through distill.Mine: Pool = NWay−1 keeps BM25's first eligible passages
// in rank order. When BM25 finds too few, random passages fill the list
// (MineOptions.TopUp), drawn from a generator seeded by (seed, query
// index) so that threads do not matter. bar counts the searched queries.
func mineCandidates(ctx context.Context, b *Benchmark, threads int, bar *progress.Bar) ([]data.Example, error) {
	train := b.SplitQueries("train")
	if len(train) == 0 {
		return nil, nil
	}
	cfg := distill.CandidateConfig{NWay: b.Config.NWay, Depth: b.Config.MineDepth, Seed: uint64(b.Config.Seed),
		MinGrade: 2, MaxPositives: 1, Pool: b.Config.NWay - 1}
	exs, st, err := distill.Mine(ctx, b.Corpus, train, b.Qrels["train"], cfg, distill.MineOptions{TopUp: true, Threads: threads,
		Bar: func(label string, _ int64, _ string) *progress.Bar {
			if label == distill.BarSearch {
				return bar
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("synth: mine negatives: %w", err)
	}
	if len(exs) != len(train) {
		return nil, fmt.Errorf("synth: mine negatives: %d of %d train queries have fewer than %d non-relevant passages to sample negatives from",
			st.TooFewNegs, len(train), b.Config.NWay-1)
	}
	return exs, nil
}
