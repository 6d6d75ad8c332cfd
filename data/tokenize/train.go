package tokenize

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/colbert-go/colbert/data/progress"
)

// TrainOptions configures TrainWordPiece.
type TrainOptions struct {
	VocabSize    int  // total vocabulary size including special tokens (default 8000)
	MinFrequency int  // a pair is merged only if it occurs at least this often (default 2)
	Lowercase    bool // lowercase and strip accents, as bert-base-uncased
	// MaxAlphabet caps the single characters kept (most frequent first;
	// printable ASCII is always kept). Default 1000, as HF's BertWordPiece.
	MaxAlphabet int
}

// TrainSpecialTokens returns the special tokens of a trained vocabulary,
// with ids 0… in this order: [PAD] 0 and the ColBERT markers [unused0] 1
// and [unused1] 2 sit where bert-base-uncased has them.
func TrainSpecialTokens() []string {
	return []string{"[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
}

const trainPrefix = "##"

// TrainWordPiece learns a WordPiece vocabulary from texts the way HF's
// WordPieceTrainer does (BPE merges over words whose continuation
// characters carry the ## prefix; a merge of a and ##b makes "ab") and
// returns an HF tokenizer.json: BertNormalizer, BertPreTokenizer, WordPiece
// with "##", [CLS] A [SEP] (B [SEP]) post-processing. The output is
// deterministic: the same texts and options give the same bytes.
func TrainWordPiece(ctx context.Context, texts iter.Seq[string], opts TrainOptions, bar *progress.Bar) ([]byte, error) {
	if opts.VocabSize == 0 {
		opts.VocabSize = 8000
	}
	if opts.MinFrequency == 0 {
		opts.MinFrequency = 2
	}
	if opts.MaxAlphabet == 0 {
		opts.MaxAlphabet = 1000
	}
	if opts.VocabSize < len(TrainSpecialTokens())+95 {
		return nil, fmt.Errorf("tokenize: vocab size %d is below the %d special and printable ASCII tokens", opts.VocabSize, len(TrainSpecialTokens())+95)
	}
	norm := bertNorm{clean: true, chinese: true, stripAccents: opts.Lowercase, lowercase: opts.Lowercase}

	// 1. Count words.
	counts := map[string]int64{}
	var buf []byte
	n := 0
	for text := range texts {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		n++
		buf = norm.appendNormalized(buf[:0], text)
		forEachWord(buf, func(w []byte) { counts[string(w)]++ })
		bar.Add(1)
	}

	// 2. Alphabet: characters by frequency; words with dropped chars are
	// not used for merges (they will tokenise to [UNK]).
	charFreq := map[rune]int64{}
	for w, c := range counts {
		for _, r := range w {
			charFreq[r] += c
		}
	}
	keep := map[rune]bool{}
	for r := rune(33); r < 127; r++ {
		keep[r] = true
	}
	chars := make([]rune, 0, len(charFreq))
	for r := range charFreq {
		chars = append(chars, r)
	}
	sort.Slice(chars, func(i, j int) bool {
		if charFreq[chars[i]] != charFreq[chars[j]] {
			return charFreq[chars[i]] > charFreq[chars[j]]
		}
		return chars[i] < chars[j]
	})
	for _, r := range chars {
		if len(keep) >= opts.MaxAlphabet {
			break
		}
		keep[r] = true
	}
	if len(TrainSpecialTokens())+2*len(keep) > opts.VocabSize {
		return nil, fmt.Errorf("tokenize: vocab size %d cannot hold the %d-character alphabet (set a larger size or a smaller alphabet)", opts.VocabSize, len(keep))
	}

	v := newTrainVocab()
	for _, s := range TrainSpecialTokens() {
		v.add(s)
	}
	alpha := make([]rune, 0, len(keep))
	for r := range keep {
		alpha = append(alpha, r)
	}
	sort.Slice(alpha, func(i, j int) bool { return alpha[i] < alpha[j] })
	for _, r := range alpha {
		v.add(string(r))
	}
	for _, r := range alpha {
		if !isBertPunct(r) && !isChinese(r) { // these are always words of their own
			v.add(trainPrefix + string(r))
		}
	}

	// 3. Words as symbol sequences, in sorted order for determinism.
	wordList := make([]string, 0, len(counts))
	for w := range counts {
		wordList = append(wordList, w)
	}
	sort.Strings(wordList)
	var words []trainWord
	for _, w := range wordList {
		nr := utf8.RuneCountInString(w)
		if nr > 100 { // tokenised as [UNK] whatever the vocabulary
			continue
		}
		syms := make([]int32, 0, nr)
		ok := true
		for i, r := range w {
			s := string(r)
			if i > 0 {
				s = trainPrefix + s
			}
			id, found := v.ids[s]
			if !found {
				ok = false
				break
			}
			syms = append(syms, id)
		}
		if ok && len(syms) > 1 {
			words = append(words, trainWord{syms: syms, freq: counts[w]})
		}
	}

	// 4. Merge the most frequent pair until the vocabulary is full.
	m := newMerger(words)
	for len(v.tokens) < opts.VocabSize {
		if len(v.tokens)%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		p, count, ok := m.best()
		if !ok || count < int64(opts.MinFrequency) {
			break
		}
		a, b := pairParts(p)
		id := v.add(v.tokens[a] + strings.TrimPrefix(v.tokens[b], trainPrefix))
		m.merge(p, id)
	}
	return tokenizerJSON(v.tokens, opts.Lowercase)
}

type trainVocab struct {
	tokens []string
	ids    map[string]int32
}

func newTrainVocab() *trainVocab { return &trainVocab{ids: map[string]int32{}} }

// add returns the id of s, appending it when new.
func (v *trainVocab) add(s string) int32 {
	if id, ok := v.ids[s]; ok {
		return id
	}
	id := int32(len(v.tokens))
	v.tokens = append(v.tokens, s)
	v.ids[s] = id
	return id
}

type trainWord struct {
	syms []int32
	freq int64
}

func pairKey(a, b int32) uint64       { return uint64(uint32(a))<<32 | uint64(uint32(b)) }
func pairParts(p uint64) (a, b int32) { return int32(p >> 32), int32(uint32(p)) }

// merger keeps pair counts, an index pair → words and a lazy max-heap.
type merger struct {
	words  []trainWord
	counts map[uint64]int64
	where  map[uint64][]int32
	h      pairHeap
	seen   []int32 // word → last merge step that touched it
	step   int32
}

func newMerger(words []trainWord) *merger {
	m := &merger{words: words, counts: map[uint64]int64{}, where: map[uint64][]int32{}, seen: make([]int32, len(words))}
	for wi, w := range words {
		for i := 0; i+1 < len(w.syms); i++ {
			p := pairKey(w.syms[i], w.syms[i+1])
			m.counts[p] += w.freq
			if l := m.where[p]; len(l) == 0 || l[len(l)-1] != int32(wi) {
				m.where[p] = append(l, int32(wi))
			}
		}
	}
	keys := make([]uint64, 0, len(m.counts))
	for p := range m.counts {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, p := range keys {
		m.h = append(m.h, pairEntry{p, m.counts[p]})
	}
	heap.Init(&m.h)
	return m
}

// best returns the most frequent pair (ties: smallest ids).
func (m *merger) best() (uint64, int64, bool) {
	for m.h.Len() > 0 {
		e := m.h[0]
		cur := m.counts[e.pair]
		if cur == e.count && cur > 0 {
			return e.pair, cur, true
		}
		heap.Pop(&m.h)
		if cur > 0 && cur != e.count {
			heap.Push(&m.h, pairEntry{e.pair, cur})
		}
	}
	return 0, 0, false
}

// merge replaces every occurrence of pair p by id and updates the counts.
func (m *merger) merge(p uint64, id int32) {
	a, b := pairParts(p)
	m.step++
	grown := map[uint64]bool{}
	for _, wi := range m.where[p] {
		if m.seen[wi] == m.step {
			continue
		}
		m.seen[wi] = m.step
		w := &m.words[wi]
		has := false
		for i := 0; i+1 < len(w.syms); i++ {
			if w.syms[i] == a && w.syms[i+1] == b {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		for i := 0; i+1 < len(w.syms); i++ {
			m.counts[pairKey(w.syms[i], w.syms[i+1])] -= w.freq
		}
		out := w.syms[:0]
		for i := 0; i < len(w.syms); i++ {
			if i+1 < len(w.syms) && w.syms[i] == a && w.syms[i+1] == b {
				out = append(out, id)
				i++
			} else {
				out = append(out, w.syms[i])
			}
		}
		w.syms = out
		for i := 0; i+1 < len(w.syms); i++ {
			q := pairKey(w.syms[i], w.syms[i+1])
			m.counts[q] += w.freq
			if w.syms[i] == id || w.syms[i+1] == id {
				grown[q] = true
				if l := m.where[q]; len(l) == 0 || l[len(l)-1] != wi {
					m.where[q] = append(l, wi)
				}
			}
		}
	}
	delete(m.where, p)
	delete(m.counts, p)
	keys := make([]uint64, 0, len(grown))
	for q := range grown {
		keys = append(keys, q)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, q := range keys {
		if c := m.counts[q]; c > 0 {
			heap.Push(&m.h, pairEntry{q, c})
		}
	}
}

type pairEntry struct {
	pair  uint64
	count int64
}

type pairHeap []pairEntry

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].pair < h[j].pair
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairEntry)) }
func (h *pairHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// tokenizerJSON writes an HF tokenizer.json for a BERT WordPiece vocabulary
// whose special tokens are TrainSpecialTokens, vocab in id order.
func tokenizerJSON(tokens []string, lowercase bool) ([]byte, error) {
	str := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		return strings.TrimSuffix(b.String(), "\n")
	}
	id := func(s string) int {
		for i, t := range tokens {
			if t == s {
				return i
			}
		}
		return -1
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	sep := "\n"
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		fmt.Fprintf(&b, "%s    {\"id\": %d, \"content\": %s, \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}", sep, id(s), str(s))
		sep = ",\n"
	}
	cls, sepID := id("[CLS]"), id("[SEP]")
	fmt.Fprintf(&b, `
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": %t},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
    "special_tokens": {
      "[CLS]": {"id": "[CLS]", "ids": [%d], "tokens": ["[CLS]"]},
      "[SEP]": {"id": "[SEP]", "ids": [%d], "tokens": ["[SEP]"]}
    }
  },
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {
    "type": "WordPiece",
    "unk_token": "[UNK]",
    "continuing_subword_prefix": "##",
    "max_input_chars_per_word": 100,
    "vocab": {`, lowercase, cls, sepID)
	for i, t := range tokens {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n      %s: %d", str(t), i)
	}
	b.WriteString("\n    }\n  }\n}\n")
	return b.Bytes(), nil
}

// VocabTxt is the vocab.txt form (one token per line, id order) of a
// tokenizer, for tools that want BERT's classic file.
func (t *Tokenizer) VocabTxt() []byte {
	var b bytes.Buffer
	for _, s := range t.inv {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
