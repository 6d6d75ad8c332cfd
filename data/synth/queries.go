package synth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/progress"
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
// best-ranked BM25 passages that are not judged relevant (hard negatives).
// When BM25 finds too few, random passages fill the list, drawn from a
// generator seeded by (seed, query index) so that threads do not matter.
func mineCandidates(ctx context.Context, b *Benchmark, threads int, bar *progress.Bar) ([]data.Example, error) {
	train := b.SplitQueries("train")
	if len(train) == 0 {
		return nil, nil
	}
	ix, err := bm25.Build(ctx, b.Corpus, bm25.DefaultParams(), threads, nil)
	if err != nil {
		return nil, fmt.Errorf("synth: mine negatives: %w", err)
	}
	run, err := ix.SearchAll(ctx, train, b.Config.MineDepth, threads, bar)
	if err != nil {
		return nil, fmt.Errorf("synth: mine negatives: %w", err)
	}
	qrels := b.Qrels["train"]
	out := make([]data.Example, len(train))
	for i, q := range train {
		judged := qrels[q.ID]
		var pos string
		for d, g := range judged {
			if g == 2 {
				pos = d
			}
		}
		ids := make([]string, 1, b.Config.NWay)
		ids[0] = pos
		taken := map[string]bool{pos: true}
		for _, sd := range run[q.ID] {
			if len(ids) == b.Config.NWay {
				break
			}
			if judged[sd.DocID] > 0 || taken[sd.DocID] {
				continue
			}
			taken[sd.DocID] = true
			ids = append(ids, sd.DocID)
		}
		fill := rand.New(rand.NewPCG(uint64(b.Config.Seed), uint64(i)+1))
		for tries := 0; len(ids) < b.Config.NWay; tries++ {
			if tries > 100*len(b.Corpus) {
				return nil, fmt.Errorf("synth: query %s: fewer than %d non-relevant passages to sample negatives from", q.ID, b.Config.NWay-1)
			}
			d := b.Corpus[fill.IntN(len(b.Corpus))].ID
			if judged[d] > 0 || taken[d] {
				continue
			}
			taken[d] = true
			ids = append(ids, d)
		}
		out[i] = data.Example{QueryID: q.ID, DocIDs: ids}
	}
	return out, nil
}
