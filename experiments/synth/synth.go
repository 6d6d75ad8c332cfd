// Package synth generates colbert-go's built-in retrieval benchmark: an
// invented language with topics, synonym groups, homonyms and distractor
// words; a passage collection; train/dev/test queries written mostly with
// SYNONYMS of their source passage's words; graded qrels; and BM25-mined
// training candidates. Everything is a pure function of the seed.
//
// What it is: a small, fast, fully reproducible task on which exact-term
// matching (BM25) gets part of the way and a model that learns which words
// are synonyms does clearly better — enough to check that training, indexing
// and search work end to end in minutes on a laptop.
// What it is not: natural language. Absolute figures say nothing about real
// collections; use BEIR / MS MARCO (or the classic collections) for that.
//
// It lives under experiments, not data, because its candidates are mined by
// distill.Mine, the miner of `colbert distill candidates` and the demo, and
// data is the layer below distill.
package synth

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
)

// Version identifies the generator's algorithm: the same Version, Config and
// seed always give byte-identical files. Bump it whenever output changes.
const Version = 1

// Config sizes the benchmark. Zero fields take DefaultConfig's value.
type Config struct {
	Seed             int64   `json:"seed"`
	Passages         int     `json:"passages"`
	Topics           int     `json:"topics"`
	ConceptsPerTopic int     `json:"concepts_per_topic"`
	TopicWords       int     `json:"topic_words"`
	Distractors      int     `json:"distractors"`
	HomonymRate      float64 `json:"homonym_rate"`
	// SynonymRate is the probability that a query names a concept with a
	// synonym other than the one its source passage prefers.
	SynonymRate float64 `json:"synonym_rate"`
	MinLen      int     `json:"min_len"`
	MaxLen      int     `json:"max_len"`
	Train       int     `json:"train_queries"`
	Dev         int     `json:"dev_queries"`
	Test        int     `json:"test_queries"`
	// NWay is the number of candidates per training example (positive first).
	NWay int `json:"nway"`
	// MineDepth is how deep BM25 is searched for hard negatives.
	MineDepth int `json:"mine_depth"`
}

// DefaultConfig is sized so that the demo trains in minutes on two cores:
// 20,000 passages, a vocabulary of about 2,000 words.
func DefaultConfig() Config {
	return Config{
		Seed: 1, Passages: 20000, Topics: 25, ConceptsPerTopic: 16, TopicWords: 8, Distractors: 300,
		HomonymRate: 0.08, SynonymRate: 0.5, MinLen: 30, MaxLen: 80,
		Train: 4000, Dev: 300, Test: 300, NWay: 16, MineDepth: 100,
	}
}

// withDefaults fills zero fields from DefaultConfig (the seed is kept).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setI := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setI(&c.Passages, d.Passages)
	setI(&c.Topics, d.Topics)
	setI(&c.ConceptsPerTopic, d.ConceptsPerTopic)
	setI(&c.TopicWords, d.TopicWords)
	setI(&c.Distractors, d.Distractors)
	setI(&c.MinLen, d.MinLen)
	setI(&c.MaxLen, d.MaxLen)
	setI(&c.Train, d.Train)
	setI(&c.Dev, d.Dev)
	setI(&c.Test, d.Test)
	setI(&c.NWay, d.NWay)
	setI(&c.MineDepth, d.MineDepth)
	if c.HomonymRate == 0 {
		c.HomonymRate = d.HomonymRate
	}
	if c.SynonymRate == 0 {
		c.SynonymRate = d.SynonymRate
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Topics < 1 || c.ConceptsPerTopic < 4 || c.TopicWords < 1 || c.Distractors < 1:
		return fmt.Errorf("synth: need ≥ 1 topic, ≥ 4 concepts per topic, ≥ 1 topic word and ≥ 1 distractor (got %d, %d, %d, %d)",
			c.Topics, c.ConceptsPerTopic, c.TopicWords, c.Distractors)
	case c.MinLen < 24 || c.MaxLen < c.MinLen: // up to 23 content words are placed
		return fmt.Errorf("synth: passage length %d–%d: need 24 ≤ min ≤ max", c.MinLen, c.MaxLen)
	case c.Train < 0 || c.Dev < 0 || c.Test < 0:
		return fmt.Errorf("synth: negative query count")
	case c.Train+c.Dev+c.Test > c.Passages:
		return fmt.Errorf("synth: %d queries need as many source passages, have %d", c.Train+c.Dev+c.Test, c.Passages)
	case c.NWay < 2 || c.NWay > c.Passages:
		return fmt.Errorf("synth: nway %d must be in [2, passages]", c.NWay)
	case c.MineDepth < c.NWay:
		return fmt.Errorf("synth: mine depth %d < nway %d", c.MineDepth, c.NWay)
	case c.SynonymRate < 0 || c.SynonymRate > 1 || c.HomonymRate < 0 || c.HomonymRate > 1:
		return fmt.Errorf("synth: rates must be in [0, 1]")
	}
	return nil
}

// Splits are the query splits, in id order.
var Splits = []string{"train", "dev", "test"}

// Benchmark is a generated benchmark in memory.
type Benchmark struct {
	Config Config
	Vocab  *Vocabulary
	Corpus []data.Passage
	// Queries holds every query: train, then dev, then test.
	Queries []data.Query
	// Qrels per split: 2 = the query's source passage, 1 = another passage
	// that covers all the query's concepts.
	Qrels map[string]data.Qrels
	// Candidates are the training examples, one per train query: its source
	// passage then NWay−1 BM25 hard negatives (no teacher scores).
	Candidates []data.Example
	split      map[string][2]int // split → [start, end) in Queries
}

// SplitQueries returns the queries of one split.
func (b *Benchmark) SplitQueries(split string) []data.Query {
	r, ok := b.split[split]
	if !ok {
		return nil
	}
	return b.Queries[r[0]:r[1]]
}

type passageInfo struct {
	topic    int
	primary  int      // the first primary entries of concepts belong to topic
	concepts []int    // primary-topic concepts first, then at most one of a second topic
	surface  []string // preferred word per concept
}

// Generate builds a benchmark. threads parallelise only the BM25 mining,
// whose result does not depend on them; bar counts mined train queries and
// is finished when the mining ends.
func Generate(ctx context.Context, cfg Config, threads int, bar *progress.Bar) (*Benchmark, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x636f6c62657274)) // "colbert"
	v := newVocabulary(r, cfg)
	b := &Benchmark{Config: cfg, Vocab: v, Qrels: map[string]data.Qrels{}, split: map[string][2]int{}}

	pw := width(cfg.Passages)
	infos := make([]passageInfo, cfg.Passages)
	b.Corpus = make([]data.Passage, cfg.Passages)
	for i := range b.Corpus {
		infos[i] = newPassageInfo(r, v, cfg)
		title, text := writePassage(r, v, cfg, infos[i])
		b.Corpus[i] = data.Passage{ID: fmt.Sprintf("p%0*d", pw, i+1), Title: title, Text: text}
	}

	// concept → passages that contain it, ascending.
	byConcept := make([][]int32, len(v.Concepts))
	for i, in := range infos {
		for _, c := range in.concepts {
			byConcept[c] = append(byConcept[c], int32(i))
		}
	}

	nq := cfg.Train + cfg.Dev + cfg.Test
	qw := width(nq)
	sources := r.Perm(cfg.Passages)[:nq]
	sizes := []int{cfg.Train, cfg.Dev, cfg.Test}
	qi := 0
	for s, split := range Splits {
		qrels := data.Qrels{}
		start := len(b.Queries)
		for j := 0; j < sizes[s]; j++ {
			src := sources[qi]
			qi++
			id := fmt.Sprintf("q%0*d", qw, qi)
			pos := pickQueryConcepts(r, infos[src])
			b.Queries = append(b.Queries, data.Query{ID: id, Text: writeQuery(r, v, cfg, infos[src], pos)})
			concepts := make([]int, len(pos))
			for k, p := range pos {
				concepts[k] = infos[src].concepts[p]
			}
			judged := map[string]int{b.Corpus[src].ID: 2}
			for _, p := range intersect(byConcept, concepts) {
				if int(p) != src {
					judged[b.Corpus[p].ID] = 1
				}
			}
			qrels[id] = judged
		}
		b.Qrels[split] = qrels
		b.split[split] = [2]int{start, len(b.Queries)}
	}

	cands, err := mineCandidates(ctx, b, threads, bar)
	if err != nil {
		return nil, err
	}
	b.Candidates = cands
	return b, nil
}

func width(n int) int { return len(fmt.Sprint(n)) }

func newPassageInfo(r *rand.Rand, v *Vocabulary, cfg Config) passageInfo {
	t := r.IntN(cfg.Topics)
	np := 3 + r.IntN(2)
	tc := v.TopicConcepts[t]
	perm := r.Perm(len(tc))
	in := passageInfo{topic: t, primary: np}
	for _, k := range perm[:np] {
		in.concepts = append(in.concepts, tc[k])
	}
	if cfg.Topics > 1 && r.Float64() < 0.35 {
		t2 := r.IntN(cfg.Topics - 1)
		if t2 >= t {
			t2++
		}
		in.concepts = append(in.concepts, v.TopicConcepts[t2][r.IntN(cfg.ConceptsPerTopic)])
	}
	for _, c := range in.concepts {
		ws := v.Concepts[c].Words
		in.surface = append(in.surface, ws[r.IntN(len(ws))])
	}
	return in
}

// zipf draws an index in [0, n) with a roughly 1/rank law.
func zipf(r *rand.Rand, n int) int {
	i := int(math.Floor(math.Pow(float64(n+1), r.Float64()))) - 1
	return min(max(i, 0), n-1)
}

func writePassage(r *rand.Rand, v *Vocabulary, cfg Config, in passageInfo) (title, text string) {
	n := cfg.MinLen + r.IntN(cfg.MaxLen-cfg.MinLen+1)
	var content []string
	for k, c := range in.concepts {
		mentions := 2 + r.IntN(3)
		if k >= in.primary {
			mentions = 1 + r.IntN(2)
		}
		ws := v.Concepts[c].Words
		for m := 0; m < mentions; m++ {
			w := in.surface[k]
			if r.Float64() < 0.15 {
				w = ws[r.IntN(len(ws))] // authors vary their words now and then
			}
			content = append(content, w)
		}
	}
	tw := v.TopicWords[in.topic]
	for m := 2 + r.IntN(4); m > 0; m-- {
		content = append(content, tw[r.IntN(len(tw))])
	}
	for m := int(0.55*float64(n)) - len(content); m > 0; m-- {
		content = append(content, v.Distractors[zipf(r, len(v.Distractors))])
	}
	words := content
	for len(words) < n {
		words = append(words, functionWords[zipf(r, len(functionWords))])
	}
	r.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })

	var sb strings.Builder
	for i := 0; i < len(words); {
		end := min(len(words), i+7+r.IntN(9))
		if len(words)-end < 4 {
			end = len(words)
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		for j := i; j < end; j++ {
			w := words[j]
			if j == i {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				sb.WriteByte(' ')
			}
			sb.WriteString(w)
			if j < end-2 && j > i && r.Float64() < 0.04 {
				sb.WriteByte(',')
			}
		}
		sb.WriteByte('.')
		i = end
	}
	title = strings.ToUpper(in.surface[0][:1]) + in.surface[0][1:] + " " + tw[r.IntN(len(tw))]
	return title, sb.String()
}

// pickQueryConcepts returns the positions (into in.concepts) of three of
// the passage's primary-topic concepts, ascending.
func pickQueryConcepts(r *rand.Rand, in passageInfo) []int {
	perm := r.Perm(in.primary)
	cs := append([]int(nil), perm[:3]...)
	sort.Ints(cs)
	return cs
}
