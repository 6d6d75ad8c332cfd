package tokenize

import "fmt"

// DefaultPairMaxLen is BERT's position limit, the cross-encoders' max_length.
const DefaultPairMaxLen = 512

// EncodePairs builds a cross-encoder batch [CLS] q [SEP] p [SEP] with token
// types 0 then 1, each pair truncated "longest_first" to maxLen as HF
// tokenizers does, padded with [PAD] (type 0, attention 0) to the longest
// pair. maxLen ≤ 0 means DefaultPairMaxLen.
func (t *Tokenizer) EncodePairs(queries, passages []string, maxLen int) (Batch, error) {
	if len(queries) != len(passages) {
		return Batch{}, fmt.Errorf("tokenize: %d queries but %d passages", len(queries), len(passages))
	}
	if maxLen <= 0 {
		maxLen = DefaultPairMaxLen
	}
	if maxLen < 3 {
		return Batch{}, fmt.Errorf("tokenize: pair max length %d < 3", maxLen)
	}
	var ids [3]int32
	var err error
	for i, s := range []string{"[CLS]", "[SEP]", "[PAD]"} {
		if ids[i], err = t.mustID(s); err != nil {
			return Batch{}, err
		}
	}
	cls, sep, pad := ids[0], ids[1], ids[2]
	as := make([][]int32, len(queries))
	bs := make([][]int32, len(queries))
	L := 0
	for i := range queries {
		a, b := truncateLongestFirst(t.Encode(queries[i]), t.Encode(passages[i]), maxLen-3)
		as[i], bs[i] = a, b
		L = max(L, len(a)+len(b)+3)
	}
	out := newBatch(len(queries), L)
	for i := range as {
		row := out.IDs[i*L : (i+1)*L]
		tt := out.TokenTypeIDs[i*L : (i+1)*L]
		att := out.AttentionMask[i*L : (i+1)*L]
		n := 0
		row[n] = cls
		n++
		n += copy(row[n:], as[i])
		row[n] = sep
		n++
		first := n
		n += copy(row[n:], bs[i])
		row[n] = sep
		n++
		for j := range row {
			switch {
			case j >= n:
				row[j] = pad
			case j >= first:
				tt[j], att[j] = 1, 1
			default:
				att[j] = 1
			}
		}
		copy(out.VectorMask[i*L:], att)
	}
	return out, nil
}

// truncateLongestFirst is HF tokenizers' LongestFirst for a pair: if the
// shorter side fits in half the budget the longer one takes the rest,
// otherwise both get half and the longer one the odd token.
func truncateLongestFirst(a, b []int32, target int) ([]int32, []int32) {
	if len(a)+len(b) <= target {
		return a, b
	}
	n1, n2 := len(a), len(b)
	swap := n1 > n2
	if swap {
		n1, n2 = n2, n1
	}
	if n1 <= target/2 {
		n2 = target - n1
	} else {
		n1 = target / 2
		n2 = n1 + target%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return a[:n1], b[:n2]
}
