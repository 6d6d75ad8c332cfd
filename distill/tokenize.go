package distill

import (
	"encoding/hex"
	"fmt"

	"github.com/colbert-go/colbert/data/tokenize"
)

// HFPairTokenizer adapts an HF BERT tokenizer to PairTokenizer: [CLS] q
// [SEP] p [SEP], truncated longest-first to maxLen (≤ 0: 512) as HF does.
// It also returns the [PAD] id for PairOptions.PadID.
func HFPairTokenizer(tok *tokenize.Tokenizer, maxLen int) (PairTokenizer, int32, error) {
	// EncodePairs fails only on a tokenizer without [CLS]/[SEP]/[PAD] or a
	// bad maxLen: check once, so the per-pair calls cannot fail.
	if _, err := tok.EncodePairs([]string{""}, []string{""}, maxLen); err != nil {
		return nil, 0, fmt.Errorf("distill: tokenizer %s cannot encode cross-encoder pairs: %w", tok.Source(), err)
	}
	pad, _ := tok.TokenID("[PAD]")
	return func(q, p string) ([]int32, []int32) {
		b, _ := tok.EncodePairs([]string{q}, []string{p}, maxLen)
		return b.IDs[:b.Len], b.TokenTypeIDs[:b.Len]
	}, int32(pad), nil
}

// TokenizerHash identifies a tokenizer in run settings.
func TokenizerHash(tok *tokenize.Tokenizer) string {
	h := tok.Hash()
	return hex.EncodeToString(h[:])
}
