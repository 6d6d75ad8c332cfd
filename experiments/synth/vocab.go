package synth

import (
	"math/rand/v2"
	"strings"
)

// functionWords are real English glue words. They carry no topic, appear in
// every passage and most queries, and give BM25 and the model realistic
// low-idf noise (and the tokenizer realistic text).
var functionWords = []string{
	"the", "of", "and", "a", "to", "in", "is", "for", "on", "with", "as", "by", "at", "from",
	"that", "this", "which", "are", "was", "be", "or", "it", "its", "an", "between", "under",
	"when", "than", "also", "into", "after", "over", "both", "such", "these", "can",
}

// questionWords start some queries.
var questionWords = []string{"what", "how", "which", "why", "where", "does", "do"}

var (
	onsets = []string{"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
		"br", "cr", "dr", "fl", "gr", "kl", "pr", "sk", "sl", "st", "tr", "th", "sh", "ch", "qu"}
	nuclei = []string{"a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ou", "ea", "io", "y"}
	codas  = []string{"", "", "", "n", "r", "l", "s", "m", "x", "nd", "rk", "st", "th", "v"}
)

// wordMaker invents unique pronounceable words of 2–3 syllables. It never
// repeats a word and never returns a real function or question word.
type wordMaker struct {
	r    *rand.Rand
	used map[string]bool
}

func newWordMaker(r *rand.Rand) *wordMaker {
	used := map[string]bool{}
	for _, w := range functionWords {
		used[w] = true
	}
	for _, w := range questionWords {
		used[w] = true
	}
	return &wordMaker{r: r, used: used}
}

func (m *wordMaker) next() string {
	for {
		var b strings.Builder
		syl := 2 + m.r.IntN(2)
		for i := 0; i < syl; i++ {
			b.WriteString(onsets[m.r.IntN(len(onsets))])
			b.WriteString(nuclei[m.r.IntN(len(nuclei))])
		}
		b.WriteString(codas[m.r.IntN(len(codas))])
		w := b.String()
		if len(w) < 4 || len(w) > 11 || m.used[w] {
			continue
		}
		m.used[w] = true
		return w
	}
}

// Concept is one meaning with 2–4 interchangeable surface words (synonyms).
type Concept struct {
	Topic int
	Words []string
}

// Vocabulary is the invented language of a benchmark.
type Vocabulary struct {
	// TopicWords[t] are words of topic t that have no synonyms.
	TopicWords [][]string
	// Concepts are grouped by topic: concept c belongs to Concepts[c].Topic;
	// TopicConcepts[t] lists the concept indices of topic t.
	Concepts      []Concept
	TopicConcepts [][]int
	// Distractors are topic-less content words drawn with a Zipf law.
	Distractors []string
	// Homonyms counts surface words shared by two concepts of different topics.
	Homonyms int
}

// Size is the number of distinct words (function words included).
func (v *Vocabulary) Size() int {
	seen := map[string]bool{}
	for _, ws := range v.TopicWords {
		for _, w := range ws {
			seen[w] = true
		}
	}
	for _, c := range v.Concepts {
		for _, w := range c.Words {
			seen[w] = true
		}
	}
	for _, w := range v.Distractors {
		seen[w] = true
	}
	return len(seen) + len(functionWords) + len(questionWords)
}

func newVocabulary(r *rand.Rand, cfg Config) *Vocabulary {
	m := newWordMaker(r)
	v := &Vocabulary{TopicWords: make([][]string, cfg.Topics), TopicConcepts: make([][]int, cfg.Topics)}
	for t := 0; t < cfg.Topics; t++ {
		for i := 0; i < cfg.TopicWords; i++ {
			v.TopicWords[t] = append(v.TopicWords[t], m.next())
		}
		for c := 0; c < cfg.ConceptsPerTopic; c++ {
			n := 2 + r.IntN(3) // 2–4 synonyms
			words := make([]string, n)
			for i := range words {
				words[i] = m.next()
			}
			v.TopicConcepts[t] = append(v.TopicConcepts[t], len(v.Concepts))
			v.Concepts = append(v.Concepts, Concept{Topic: t, Words: words})
		}
	}
	// Homonyms: a few concepts borrow one surface word of a concept of another
	// topic, so a single query word can point at the wrong topic; context
	// (the other query words) tells them apart.
	if cfg.Topics > 1 {
		for c := range v.Concepts {
			if r.Float64() >= cfg.HomonymRate {
				continue
			}
			var other int
			for {
				other = r.IntN(len(v.Concepts))
				if v.Concepts[other].Topic != v.Concepts[c].Topic {
					break
				}
			}
			ws := v.Concepts[c].Words
			w := v.Concepts[other].Words[r.IntN(len(v.Concepts[other].Words))]
			if contains(ws, w) {
				continue
			}
			ws[r.IntN(len(ws))] = w
			v.Homonyms++
		}
	}
	for i := 0; i < cfg.Distractors; i++ {
		v.Distractors = append(v.Distractors, m.next())
	}
	return v
}

func contains(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}
