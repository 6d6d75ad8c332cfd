// Package tokenize turns text into BERT WordPiece ids the way Hugging Face
// tokenizers and Stanford ColBERT do: it loads an HF tokenizer.json (through
// sugarme/tokenizer) or a BERT vocab.txt, builds ColBERT query/document
// batches and cross-encoder pairs, tokenises collections in parallel with an
// id cache, and trains WordPiece vocabularies.
package tokenize

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	sg "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/model/wordpiece"
	"github.com/sugarme/tokenizer/normalizer"
	"github.com/sugarme/tokenizer/pretokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// Tokenizer maps text to WordPiece ids. It is safe for concurrent use.
//
// For the BERT family (BertNormalizer or none, BertPreTokenizer, WordPiece:
// every ColBERT and MiniLM checkpoint) ids come from this package's exact
// re-implementation of HF tokenizers, which is faster than sugarme and fixes
// its divergences (see bertNorm). Any other tokenizer.json is encoded by
// sugarme's own pipeline.
type Tokenizer struct {
	sg      *sg.Tokenizer
	generic bool // true: encode with sugarme's pipeline
	norm    bertNorm
	wp      wordPiece
	added   addedSet
	inv     []string // id → token
	hash    [32]byte
	source  string
}

// Load reads an HF tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	return loadJSON(path, raw)
}

// hfConfig is the part of tokenizer.json this package interprets itself.
type hfConfig struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          bool   `json:"clean_text"`
		HandleChineseChars bool   `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          bool   `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	Model struct {
		Type                    string         `json:"type"`
		UnkToken                string         `json:"unk_token"`
		ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int           `json:"max_input_chars_per_word"`
		Vocab                   map[string]int `json:"vocab"`
	} `json:"model"`
}

func loadJSON(path string, raw []byte) (*Tokenizer, error) {
	var cfg hfConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("tokenize: parse %s: %w", path, err)
	}
	tk, err := sugarmeFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("tokenize: load %s: %w", path, err)
	}
	t := &Tokenizer{sg: tk, hash: sha256.Sum256(raw), source: path}
	if len(cfg.Model.Vocab) == 0 {
		return nil, fmt.Errorf("tokenize: %s: model.vocab is empty", path)
	}
	vocab := make(map[string]int32, len(cfg.Model.Vocab)+len(cfg.AddedTokens))
	var added []addedToken
	for tok, id := range cfg.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenize: %s: negative id %d for %q", path, id, tok)
		}
		vocab[tok] = int32(id)
	}
	for _, a := range cfg.AddedTokens {
		if a.Content == "" || a.ID < 0 {
			return nil, fmt.Errorf("tokenize: %s: bad added token %q (id %d)", path, a.Content, a.ID)
		}
		vocab[a.Content] = int32(a.ID)
		if !a.Normalized {
			added = append(added, addedToken{content: a.Content, id: int32(a.ID), singleWord: a.SingleWord})
		}
	}
	t.added = newAddedSet(added)
	if err := t.setVocab(vocab); err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}

	unk := cfg.Model.UnkToken
	if unk == "" {
		unk = "[UNK]"
	}
	unkID, hasUnk := vocab[unk]
	t.wp.unk = unkID
	bertLike := cfg.Model.Type == "WordPiece" && cfg.PreTokenizer != nil && cfg.PreTokenizer.Type == "BertPreTokenizer" &&
		(cfg.Normalizer == nil || cfg.Normalizer.Type == "BertNormalizer")
	if !bertLike {
		t.generic = true
		return t, nil
	}
	if n := cfg.Normalizer; n != nil {
		t.norm = bertNorm{clean: n.CleanText, chinese: n.HandleChineseChars, lowercase: n.Lowercase, stripAccents: n.Lowercase}
		if n.StripAccents != nil {
			t.norm.stripAccents = *n.StripAccents
		}
	}
	if !hasUnk {
		return nil, fmt.Errorf("tokenize: %s: unk_token %q not in vocab", path, unk)
	}
	t.wp = wordPiece{vocab: vocab, unk: unkID, prefix: "##", maxChars: 100}
	if p := cfg.Model.ContinuingSubwordPrefix; p != nil {
		t.wp.prefix = *p
	}
	if m := cfg.Model.MaxInputCharsPerWord; m != nil {
		t.wp.maxChars = *m
	}
	return t, nil
}

// sugarmeFromJSON wraps pretrained.FromReader, which panics on fields of
// an unexpected JSON type, so that bad files give an error.
func sugarmeFromJSON(raw []byte) (tk *sg.Tokenizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			tk, err = nil, fmt.Errorf("unsupported or malformed configuration: %v", r)
		}
	}()
	return pretrained.FromReader(bytes.NewReader(raw))
}

// bertSpecials are the special tokens HF's BertTokenizer registers as
// non-normalized added tokens when built from a vocab.txt.
var bertSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// FromVocab builds a BERT WordPiece tokenizer from a vocab.txt (one token
// per line, id = line number), as HF's BertTokenizerFast does: clean text,
// Chinese chars split, accents stripped iff lowercase.
func FromVocab(vocabTxt string, lowercase bool) (*Tokenizer, error) {
	raw, err := os.ReadFile(vocabTxt)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	vocab := make(map[string]int32)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		// A repeated token keeps its last line, as HF's load_vocab does.
		vocab[strings.TrimRight(sc.Text(), "\r")] = int32(n)
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenize: read %s line %d: %w", vocabTxt, n+1, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("tokenize: %s: empty vocabulary", vocabTxt)
	}
	unkID, ok := vocab["[UNK]"]
	if !ok {
		return nil, fmt.Errorf("tokenize: %s: no [UNK] token", vocabTxt)
	}
	flag := byte('c')
	if lowercase {
		flag = 'u'
	}
	t := &Tokenizer{
		norm:   bertNorm{clean: true, chinese: true, stripAccents: lowercase, lowercase: lowercase},
		wp:     wordPiece{vocab: vocab, unk: unkID, prefix: "##", maxChars: 100},
		hash:   sha256.Sum256(append(append([]byte("vocab.txt\x00"), flag, 0), raw...)),
		source: vocabTxt,
	}
	var added []addedToken
	for _, s := range bertSpecials {
		if id, ok := vocab[s]; ok {
			added = append(added, addedToken{content: s, id: id})
		}
	}
	t.added = newAddedSet(added)
	if err := t.setVocab(vocab); err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", vocabTxt, err)
	}
	wpModel, err := wordpiece.NewWordPieceFromFile(vocabTxt, "[UNK]")
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", vocabTxt, err)
	}
	tk := sg.NewTokenizer(wpModel)
	tk.WithNormalizer(normalizer.NewBertNormalizer(true, lowercase, true, lowercase))
	tk.WithPreTokenizer(pretokenizer.NewBertPreTokenizer())
	t.sg = tk
	return t, nil
}

// setVocab builds the id → token table; ids must be dense enough to index.
func (t *Tokenizer) setVocab(vocab map[string]int32) error {
	maxID := int32(-1)
	for _, id := range vocab {
		maxID = max(maxID, id)
	}
	if int(maxID) >= 4*len(vocab)+1024 {
		return fmt.Errorf("vocabulary ids are sparse (max id %d for %d tokens)", maxID, len(vocab))
	}
	t.inv = make([]string, maxID+1)
	for tok, id := range vocab {
		t.inv[id] = tok
	}
	return nil
}

// Encode returns the wordpiece ids of text without special tokens.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.AppendEncode(nil, text)
}

// AppendEncode appends the ids of text to dst (no special tokens).
func (t *Tokenizer) AppendEncode(dst []int32, text string) []int32 {
	if t.generic {
		enc, err := t.sg.EncodeSingle(text, false)
		if err != nil { // sugarme fails only on a missing unk token
			return append(dst, t.wp.unk)
		}
		for _, id := range enc.Ids {
			dst = append(dst, int32(id))
		}
		return dst
	}
	var normBuf, wordBuf []byte
	for from := 0; from <= len(text); {
		seg := text[from:]
		var id int32
		next := len(text) + 1
		if len(t.added.tokens) > 0 {
			if s, e, aid := t.added.find(text, from); s >= 0 {
				seg, id, next = text[from:s], aid, e
			}
		}
		normBuf = t.norm.appendNormalized(normBuf[:0], seg)
		forEachWord(normBuf, func(word []byte) {
			dst, wordBuf = t.wp.appendWord(dst, word, wordBuf)
		})
		if next <= len(text) {
			dst = append(dst, id)
		}
		from = next
	}
	return dst
}

// EncodeSugarme encodes text with sugarme's own pipeline (no special
// tokens); kept to measure and test its divergences from HF.
func (t *Tokenizer) EncodeSugarme(text string) ([]int32, error) {
	enc, err := t.sg.EncodeSingle(text, false)
	if err != nil {
		return nil, fmt.Errorf("tokenize: sugarme: %w", err)
	}
	ids := make([]int32, len(enc.Ids))
	for i, id := range enc.Ids {
		ids[i] = int32(id)
	}
	return ids, nil
}

// TokenID returns the id of a vocabulary or added token.
func (t *Tokenizer) TokenID(tok string) (int, bool) {
	if !t.generic {
		id, ok := t.wp.vocab[tok]
		return int(id), ok
	}
	return t.sg.TokenToId(tok)
}

// Token returns the token string of id ("" when out of range).
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.inv) {
		return ""
	}
	return t.inv[id]
}

// VocabSize is one more than the largest id (the embedding table's rows).
func (t *Tokenizer) VocabSize() int { return len(t.inv) }

// Hash identifies the tokenizer file's content (sha256), so caches of ids
// made with another tokenizer are rejected.
func (t *Tokenizer) Hash() [32]byte { return t.hash }

// Source is the file the tokenizer was read from.
func (t *Tokenizer) Source() string { return t.source }

// mustID returns the id of a required special token.
func (t *Tokenizer) mustID(tok string) (int32, error) {
	id, ok := t.TokenID(tok)
	if !ok {
		return 0, fmt.Errorf("tokenize: %s has no %s token", t.source, tok)
	}
	return int32(id), nil
}
