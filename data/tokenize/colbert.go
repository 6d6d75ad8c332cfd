package tokenize

import (
	"fmt"
)

// Config is the tokenisation part of a ColBERT checkpoint's configuration
// (artifact.metadata). It is defined here because data cannot import model.
type Config struct {
	QueryMaxLen        int    // query length incl. [CLS] [Q] … [SEP] and [MASK] padding
	DocMaxLen          int    // maximum document length incl. [CLS] [D] … [SEP]
	QueryMarker        string // vocab token used as [Q]
	DocMarker          string // vocab token used as [D]
	AttendToMaskTokens bool   // attention mask 1 on the query's [MASK] padding
	MaskPunctuation    bool   // drop punctuation vectors of documents
}

// DefaultConfig is colbert-ir/colbertv2.0's configuration.
func DefaultConfig() Config {
	return Config{QueryMaxLen: 32, DocMaxLen: 180, QueryMarker: "[unused0]", DocMarker: "[unused1]", MaskPunctuation: true}
}

// Batch is a padded batch of token ids, all slices row-major N×Len.
type Batch struct {
	N, Len        int
	IDs           []int32
	AttentionMask []int32
	TokenTypeIDs  []int32
	VectorMask    []int32 // 1 = the position's output vector is scored/indexed
}

// Row returns the ids of row i.
func (b *Batch) Row(i int) []int32 { return b.IDs[i*b.Len : (i+1)*b.Len] }

func newBatch(n, l int) Batch {
	return Batch{N: n, Len: l, IDs: make([]int32, n*l), AttentionMask: make([]int32, n*l),
		TokenTypeIDs: make([]int32, n*l), VectorMask: make([]int32, n*l)}
}

// pythonPunctuation is Python's string.punctuation.
const pythonPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// ColBERT encodes queries and documents as Stanford ColBERT does: markers
// inserted by id after [CLS], queries padded with [MASK] to QueryMaxLen,
// documents truncated to DocMaxLen and punctuation masked out of scoring.
type ColBERT struct {
	tok                           *Tokenizer
	cfg                           Config
	cls, sep, pad, mask, qID, dID int32
	skip                          map[int32]bool
	vocabSize                     int
	addedQMarker, addedDMarker    bool
}

// NewColBERT prepares a ColBERT encoder. When the vocabulary lacks the
// configured markers, "[Q] " and "[D] " become added special tokens with ids
// VocabSize() and VocabSize()+1 (as PyLate adds them); the model must then
// have ColBERT.VocabSize() embedding rows.
func NewColBERT(tok *Tokenizer, cfg Config) (*ColBERT, error) {
	if cfg.QueryMaxLen < 3 || cfg.DocMaxLen < 3 {
		return nil, fmt.Errorf("tokenize: query_maxlen %d and doc_maxlen %d must be at least 3", cfg.QueryMaxLen, cfg.DocMaxLen)
	}
	c := &ColBERT{tok: tok, cfg: cfg, vocabSize: tok.VocabSize()}
	var err error
	for _, s := range []struct {
		name string
		dst  *int32
	}{{"[CLS]", &c.cls}, {"[SEP]", &c.sep}, {"[PAD]", &c.pad}, {"[MASK]", &c.mask}} {
		if *s.dst, err = tok.mustID(s.name); err != nil {
			return nil, err
		}
	}
	if id, ok := tok.TokenID(cfg.QueryMarker); ok && cfg.QueryMarker != "" {
		c.qID = int32(id)
	} else {
		c.qID, c.addedQMarker = int32(c.vocabSize), true
		c.vocabSize++
	}
	if id, ok := tok.TokenID(cfg.DocMarker); ok && cfg.DocMarker != "" {
		c.dID = int32(id)
	} else {
		c.dID, c.addedDMarker = int32(c.vocabSize), true
		c.vocabSize++
	}
	c.skip = make(map[int32]bool)
	if cfg.MaskPunctuation {
		for _, ids := range PunctuationSkiplist(tok) {
			c.skip[ids] = true
		}
	}
	return c, nil
}

// PunctuationSkiplist returns, for every char of Python's
// string.punctuation, its vocab id (if any) and the id of its first
// wordpiece, deduplicated in order — Stanford ColBERT's skiplist.
func PunctuationSkiplist(tok *Tokenizer) []int32 {
	seen := map[int32]bool{}
	var out []int32
	add := func(id int32) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, r := range pythonPunctuation {
		if id, ok := tok.TokenID(string(r)); ok {
			add(int32(id))
		}
		if ids := tok.Encode(string(r)); len(ids) > 0 {
			add(ids[0])
		}
	}
	return out
}

// Config returns the encoder's configuration.
func (c *ColBERT) Config() Config { return c.cfg }

// Tokenizer returns the underlying tokenizer.
func (c *ColBERT) Tokenizer() *Tokenizer { return c.tok }

// VocabSize counts the tokenizer's ids plus any added marker tokens.
func (c *ColBERT) VocabSize() int { return c.vocabSize }

// MarkerIDs returns the [Q] and [D] ids and whether they were added.
func (c *ColBERT) MarkerIDs() (q, d int32, added bool) {
	return c.qID, c.dID, c.addedQMarker || c.addedDMarker
}

// Skip reports whether id is in the punctuation skiplist.
func (c *ColBERT) Skip(id int32) bool { return c.skip[id] }

// EncodeQueries tokenises queries into a N×QueryMaxLen batch.
func (c *ColBERT) EncodeQueries(texts []string) Batch {
	ids := make([][]int32, len(texts))
	for i, s := range texts {
		ids[i] = c.tok.Encode(s)
	}
	return c.PackQueries(ids)
}

// PackQueries builds the query batch from wordpiece ids (e.g. from a
// cache): [CLS] [Q] ids[:QueryMaxLen-3] [SEP] [MASK]…; all positions have
// VectorMask 1 (query augmentation scores the [MASK] vectors too).
func (c *ColBERT) PackQueries(ids [][]int32) Batch {
	L := c.cfg.QueryMaxLen
	b := newBatch(len(ids), L)
	for i, toks := range ids {
		toks = toks[:min(len(toks), L-3)]
		row, att, vm := b.IDs[i*L:(i+1)*L], b.AttentionMask[i*L:(i+1)*L], b.VectorMask[i*L:(i+1)*L]
		row[0], row[1] = c.cls, c.qID
		copy(row[2:], toks)
		row[2+len(toks)] = c.sep
		for j := 3 + len(toks); j < L; j++ {
			row[j] = c.mask
		}
		for j := range row {
			vm[j] = 1
			if j < 3+len(toks) || c.cfg.AttendToMaskTokens {
				att[j] = 1
			}
		}
	}
	return b
}

// EncodeDoc returns one document's unpadded ids [CLS] [D] … [SEP]
// (at most DocMaxLen) and its vector mask, for length bucketing.
func (c *ColBERT) EncodeDoc(text string) (ids []int32, vecMask []int32) {
	return c.PackDoc(c.tok.Encode(text))
}

// PackDoc is EncodeDoc from wordpiece ids.
func (c *ColBERT) PackDoc(toks []int32) (ids []int32, vecMask []int32) {
	toks = toks[:min(len(toks), c.cfg.DocMaxLen-3)]
	ids = make([]int32, 0, len(toks)+3)
	ids = append(ids, c.cls, c.dID)
	ids = append(ids, toks...)
	ids = append(ids, c.sep)
	vecMask = make([]int32, len(ids))
	for i, id := range ids {
		if !c.skip[id] {
			vecMask[i] = 1
		}
	}
	return ids, vecMask
}

// EncodeDocs tokenises documents into a batch padded with [PAD] to its
// longest document.
func (c *ColBERT) EncodeDocs(texts []string) Batch {
	ids := make([][]int32, len(texts))
	for i, s := range texts {
		ids[i] = c.tok.Encode(s)
	}
	return c.PackDocs(ids)
}

// PackDocs is EncodeDocs from wordpiece ids.
func (c *ColBERT) PackDocs(toks [][]int32) Batch {
	rows := make([][]int32, len(toks))
	masks := make([][]int32, len(toks))
	L := 0
	for i, t := range toks {
		rows[i], masks[i] = c.PackDoc(t)
		L = max(L, len(rows[i]))
	}
	b := newBatch(len(toks), L)
	for i := range rows {
		row := b.IDs[i*L : (i+1)*L]
		copy(row, rows[i])
		copy(b.VectorMask[i*L:], masks[i])
		for j := range row {
			if j < len(rows[i]) {
				b.AttentionMask[i*L+j] = 1
			} else {
				row[j] = c.pad
			}
		}
	}
	return b
}
