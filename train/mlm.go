package train

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/graph"
)

// mlmVocab is what masking needs to know of the tokenizer: which ids are
// special (never chosen, never drawn as a random replacement) and the id of
// [MASK].
type mlmVocab struct {
	mask    int32
	special []bool  // by id
	normal  []int32 // the non-special ids, replacement candidates
}

// isSpecialToken says whether a vocabulary entry is one of BERT's bracketed
// special or reserved tokens ([PAD], [CLS], [SEP], [MASK], [UNK],
// [unusedN], added markers such as [Q]). WordPiece splits brackets off as
// punctuation, so no word of a text can look like this.
func isSpecialToken(s string) bool {
	return len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' && !strings.ContainsAny(s[1:len(s)-1], "[] ")
}

// newMLMVocab classifies tok's ids. jsonPath, when not empty, is the
// tokenizer.json tok came from: its added tokens flagged special are
// special too, whatever their spelling.
func newMLMVocab(tok *tokenize.Tokenizer, jsonPath string) (*mlmVocab, error) {
	mask, ok := tok.TokenID("[MASK]")
	if !ok {
		return nil, fmt.Errorf("train: loss mlm: the tokenizer has no [MASK] token")
	}
	v := &mlmVocab{mask: int32(mask), special: make([]bool, tok.VocabSize())}
	added := map[int]bool{}
	if jsonPath != "" {
		raw, err := os.ReadFile(jsonPath)
		if err != nil {
			return nil, fmt.Errorf("train: loss mlm: %w", err)
		}
		var tj struct {
			AddedTokens []struct {
				ID      int  `json:"id"`
				Special bool `json:"special"`
			} `json:"added_tokens"`
		}
		if err := json.Unmarshal(raw, &tj); err != nil {
			return nil, fmt.Errorf("train: loss mlm: %s: %w", jsonPath, err)
		}
		for _, a := range tj.AddedTokens {
			added[a.ID] = a.Special
		}
	}
	for id := range v.special {
		s := tok.Token(id)
		if s == "" || added[id] || isSpecialToken(s) {
			v.special[id] = true
		} else {
			v.normal = append(v.normal, int32(id))
		}
	}
	if len(v.normal) == 0 {
		return nil, fmt.Errorf("train: loss mlm: the tokenizer has no ordinary token to predict")
	}
	return v, nil
}

// mlmBatch is one masked-LM micro-batch: the corrupted pairs, the flat
// positions (row·Len + t) of the chosen tokens and their original ids.
type mlmBatch struct {
	tokens    graph.Tokens
	positions []int
	labels    []int
	// original holds the uncorrupted ids (tests check the 80/10/10 split).
	original []int
}

// mlmRNG is the random stream of the k-th example drawn in an MLM run: it
// picks the passage and then masks that pair, so a batch depends only on
// (seed, k) and a resumed run draws exactly what the uninterrupted one did.
func mlmRNG(seed uint64, k int64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6d6c6d<<40|uint64(k)))
}

// makeMLMBatch packs examples k0 … k0+n-1 (n = batch_size × nway) as
// [CLS] q [SEP] p [SEP] pairs, p the positive or, with probability
// mlm_negative_fraction, a uniformly drawn negative of the example, and
// masks them as BERT does: each non-special token is chosen with
// probability mlm_probability and becomes [MASK] (80 %), a random ordinary
// token (10 %) or stays (10 %). A batch where nothing was chosen gets one
// random position, so the loss is always defined.
func makeMLMBatch(d *Data, tok *tokenize.Tokenizer, v *mlmVocab, cfg Config, ord *order, k0 int64) (*batch, error) {
	n := cfg.BatchSize * cfg.NWay
	pq, pd := make([]string, n), make([]string, n)
	rngs := make([]*rand.Rand, n)
	for i := range n {
		k := k0 + int64(i)
		ex := d.Examples[ord.at(k)]
		r := mlmRNG(cfg.Seed, k)
		doc := ex.DocIDs[0]
		if len(ex.DocIDs) > 1 && r.Float64() < cfg.MLMNegativeFraction {
			doc = ex.DocIDs[1+r.IntN(len(ex.DocIDs)-1)]
		}
		pq[i], pd[i], rngs[i] = d.QueryText[ex.QueryID], d.DocText[doc], r
	}
	pb, err := tok.EncodePairs(pq, pd, cfg.PairMaxLen)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m := &mlmBatch{tokens: graph.Tokens{B: pb.N, L: pb.Len, IDs: ints(pb.IDs), Types: ints(pb.TokenTypeIDs),
		Mask: floats(pb.AttentionMask)}}
	m.original = append([]int(nil), m.tokens.IDs...)
	maskable := func(p int) bool {
		id := m.original[p]
		return pb.AttentionMask[p] != 0 && (id >= len(v.special) || !v.special[id])
	}
	corrupt := func(p int, r *rand.Rand) {
		m.positions = append(m.positions, p)
		m.labels = append(m.labels, m.original[p])
		switch u := r.Float64(); {
		case u < 0.8:
			m.tokens.IDs[p] = int(v.mask)
		case u < 0.9:
			m.tokens.IDs[p] = int(v.normal[r.IntN(len(v.normal))])
		}
	}
	var cands []int
	for i := range n {
		for t := range pb.Len {
			p := i*pb.Len + t
			if !maskable(p) {
				continue
			}
			cands = append(cands, p)
			if rngs[i].Float64() < cfg.MLMProbability {
				corrupt(p, rngs[i])
			}
		}
	}
	if len(m.positions) == 0 {
		if len(cands) == 0 {
			return nil, fmt.Errorf("train: loss mlm: examples %d–%d have no maskable token (empty texts?)", k0, k0+int64(n)-1)
		}
		r := rngs[0]
		corrupt(cands[r.IntN(len(cands))], r)
	}
	return &batch{mlm: m}, nil
}

// ensureMLMHead gives a cross-encoder checkpoint the MLM head when it has
// none: as BERT initialises it (dense weight normal with std
// initializer_range, zero biases, LayerNorm 1 and 0, zero output bias),
// drawn from the run's seed.
func ensureMLMHead(ck *model.Checkpoint, seed uint64) error {
	shapes := model.MLMHeadShapes(ck.Config)
	have := 0
	for n := range shapes {
		if _, ok := ck.Params[n]; ok {
			have++
		}
	}
	if have == len(shapes) {
		return nil
	}
	if have > 0 {
		return fmt.Errorf("train: checkpoint has an incomplete MLM head (%d of %d cls.predictions tensors)", have, len(shapes))
	}
	std := ck.Config.InitializerRange
	if std <= 0 {
		std = 0.02
	}
	r := rand.New(rand.NewPCG(seed, 0x6d6c6d68656164)) // "mlmhead"
	for n, s := range shapes {
		t := &model.Tensor{Shape: append([]int(nil), s...)}
		t.Data = make([]float32, t.Len())
		switch n {
		case model.MLMDenseWeight:
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64() * std)
			}
		case model.MLMNormWeight:
			for i := range t.Data {
				t.Data[i] = 1
			}
		}
		ck.Params[n] = t
	}
	return nil
}
