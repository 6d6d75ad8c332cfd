package encode

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
)

// FromTokenize views a data/tokenize batch as an encoder batch (same fields).
func FromTokenize(b tokenize.Batch) Batch { return Batch(b) }

// TokenizerConfig is the tokenisation part of a ColBERT configuration.
func TokenizerConfig(c model.ColBERTConfig) tokenize.Config {
	return tokenize.Config{
		QueryMaxLen: c.QueryMaxLen, DocMaxLen: c.DocMaxLen,
		QueryMarker: c.QueryToken, DocMarker: c.DocToken,
		AttendToMaskTokens: c.AttendToMaskTokens, MaskPunctuation: c.MaskPunctuation,
	}
}

// TextColBERT is a ColBERT encoder with the tokenizer of its checkpoint.
type TextColBERT struct {
	*ColBERT
	Tok *tokenize.ColBERT
}

// LoadColBERT loads a ColBERT checkpoint directory and its tokenizer.json
// (tokenizerPath "" = the checkpoint's own) for encoding texts.
func LoadColBERT(dir, tokenizerPath string, opt Options) (*TextColBERT, error) {
	ck, err := model.LoadCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	if tokenizerPath == "" {
		if ck.Tokenizer == "" {
			return nil, fmt.Errorf("encode: checkpoint %s has no tokenizer.json; give one", dir)
		}
		tokenizerPath = ck.Tokenizer
	}
	c, err := NewColBERT(ck, opt)
	if err != nil {
		return nil, err
	}
	tok, err := tokenize.Load(tokenizerPath)
	if err != nil {
		return nil, err
	}
	tc, err := tokenize.NewColBERT(tok, TokenizerConfig(ck.ColBERT))
	if err != nil {
		return nil, fmt.Errorf("encode: %s: %w", filepath.Base(tokenizerPath), err)
	}
	if tc.VocabSize() > ck.Config.VocabSize {
		return nil, fmt.Errorf("encode: tokenizer %s has %d ids but the model's vocab_size is %d", tokenizerPath, tc.VocabSize(), ck.Config.VocabSize)
	}
	return &TextColBERT{ColBERT: c, Tok: tc}, nil
}

// EncodeQueryTexts tokenises queries as ColBERT does and returns
// [N, QueryMaxLen, dim] vectors.
func (t *TextColBERT) EncodeQueryTexts(ctx context.Context, texts []string) ([]float32, error) {
	return t.EncodeQueries(ctx, FromTokenize(t.Tok.EncodeQueries(texts)))
}

// EncodeDocTexts tokenises documents and returns their kept vectors.
func (t *TextColBERT) EncodeDocTexts(ctx context.Context, texts []string) (*DocVectors, error) {
	ids := make([][]int32, len(texts))
	masks := make([][]int32, len(texts))
	for i, s := range texts {
		ids[i], masks[i] = t.Tok.EncodeDoc(s)
	}
	return t.EncodeDocIDs(ctx, ids, masks)
}

// EncodeDocIDs encodes unpadded documents ([CLS] [D] … [SEP] ids with their
// vector masks, as tokenize.ColBERT.EncodeDoc returns) without building a
// padded batch: the way to encode a whole collection.
func (c *ColBERT) EncodeDocIDs(ctx context.Context, ids, vecMasks [][]int32) (*DocVectors, error) {
	if len(ids) != len(vecMasks) {
		return nil, fmt.Errorf("encode: %d documents but %d vector masks", len(ids), len(vecMasks))
	}
	dv := &DocVectors{Dim: c.dim, Offsets: make([]int, len(ids)+1)}
	seqs := make([]Seq, len(ids))
	for i := range ids {
		if len(vecMasks[i]) != len(ids[i]) {
			return nil, fmt.Errorf("encode: document %d has %d ids but %d vector mask values", i, len(ids[i]), len(vecMasks[i]))
		}
		n := 0
		for _, m := range vecMasks[i] {
			if m != 0 {
				n++
			}
		}
		dv.Offsets[i+1] = dv.Offsets[i] + n
		seqs[i] = Seq{IDs: ids[i]}
	}
	dv.Vectors = make([]float32, dv.Offsets[len(ids)]*c.dim)
	err := c.Bert.run(ctx, seqs, c.opt, func(sc *scratch, idx, offs []int, x []float32) error {
		v := c.project(sc, x, offs[len(idx)])
		for k, i := range idx {
			dst := dv.Offsets[i] * c.dim
			for j, m := range vecMasks[i] {
				if m != 0 {
					copy(dv.Vectors[dst:dst+c.dim], v[(offs[k]+j)*c.dim:(offs[k]+j+1)*c.dim])
					dst += c.dim
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dv, nil
}

// ScoreTexts tokenises (query, passage) pairs as [CLS] q [SEP] p [SEP]
// (longest-first truncation to maxLen, 0 = 512) and scores them.
func (ce *CrossEncoder) ScoreTexts(ctx context.Context, tok *tokenize.Tokenizer, queries, passages []string, maxLen int) ([]float32, error) {
	b, err := tok.EncodePairs(queries, passages, maxLen)
	if err != nil {
		return nil, err
	}
	return ce.Score(ctx, FromTokenize(b))
}
