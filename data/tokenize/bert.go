package tokenize

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bertNorm holds the options of Hugging Face's BertNormalizer.
//
// The pipeline below reproduces HF tokenizers' BertNormalizer +
// BertPreTokenizer + WordPiece rune for rune, because sugarme v0.3.0
// diverges from it in ways that change ids:
//   - "strip_accents": null means "same as lowercase" in HF; sugarme reads
//     null as false, so "café" became [UNK]/"caf ##é" instead of "cafe".
//   - HF turns every Unicode White_Space rune (NBSP, U+2009, U+3000…) into
//     ' ' and splits on it; sugarme replaces whitespace only next to a
//     removed control char and splits on the ASCII-only regexp `\s`.
//   - HF strips accents before lowercasing; sugarme lowercases first.
//   - sugarme's CJK table has 0x2B820 where HF has 0x2B920.
//   - sugarme does not split "[MASK]" typed in the text as the added token.
//
// Beyond the reference ids, the pipeline agrees with HF's tokenizers.js on
// thousands of random multilingual texts (hfjs_test.go).
type bertNorm struct {
	clean        bool
	chinese      bool
	stripAccents bool
	lowercase    bool
}

// isBertWhitespace matches HF: '\t', '\n', '\r' or char::is_whitespace
// (the Unicode White_Space property).
func isBertWhitespace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r':
		return true
	}
	if r < 0x80 {
		return r == '\v' || r == '\f'
	}
	return unicode.Is(unicode.White_Space, r)
}

// isBertControl matches HF's is_control: '\t', '\n', '\r' excepted, the
// unicode_categories crate's is_other, which is Cc, Cf and Co only
// (unassigned code points are kept, unlike Python BERT's "C*").
func isBertControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	if r < 0x80 {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// isBertPunct matches HF's BertPreTokenizer split: ASCII punctuation or any
// Unicode P* category.
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isChinese is the CJK block list of BERT (and HF's is_chinese_char).
func isChinese(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// appendNormalized appends the normalized form of s to dst. Every step of
// HF's BertNormalizer is per character except the NFD of strip_accents,
// which is applied per rune here (identical unless combining marks need
// canonical reordering, and those are removed anyway).
func (n bertNorm) appendNormalized(dst []byte, s string) []byte {
	var tmp [utf8.UTFMax * 8]byte
	for _, r := range s {
		if r < 0x80 {
			if n.clean {
				if r == 0 || isBertControl(r) {
					continue
				}
				if isBertWhitespace(r) {
					r = ' '
				}
			}
			if n.lowercase && r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, byte(r))
			continue
		}
		if n.clean {
			if r == utf8.RuneError || isBertControl(r) {
				continue
			}
			if isBertWhitespace(r) {
				dst = append(dst, ' ')
				continue
			}
		}
		pad := n.chinese && isChinese(r)
		if pad {
			dst = append(dst, ' ')
		}
		if n.stripAccents {
			dec := norm.NFD.AppendString(tmp[:0], string(r))
			for len(dec) > 0 {
				c, size := utf8.DecodeRune(dec)
				dec = dec[size:]
				if unicode.Is(unicode.Mn, c) {
					continue
				}
				dst = n.appendLower(dst, c)
			}
		} else {
			dst = n.appendLower(dst, r)
		}
		if pad {
			dst = append(dst, ' ')
		}
	}
	return dst
}

// appendLower lowercases like Rust's char::to_lowercase, whose only
// multi-rune result is U+0130 → "i̇".
func (n bertNorm) appendLower(dst []byte, r rune) []byte {
	if n.lowercase {
		if r == 0x130 {
			return append(dst, "i\u0307"...)
		}
		r = unicode.ToLower(r)
	}
	return utf8.AppendRune(dst, r)
}

// forEachWord calls fn for every pre-token of the normalized text: runs
// split on whitespace, each punctuation rune a word of its own.
func forEachWord(s []byte, fn func(word []byte)) {
	start := -1
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= 0x80 {
			r, size = utf8.DecodeRune(s[i:])
		}
		switch {
		case r == ' ' || isBertWhitespace(r):
			if start >= 0 {
				fn(s[start:i])
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				fn(s[start:i])
				start = -1
			}
			fn(s[i : i+size])
		default:
			if start < 0 {
				start = i
			}
		}
		i += size
	}
	if start >= 0 {
		fn(s[start:])
	}
}

// wordPiece is HF's WordPiece model: greedy longest-match-first, a word
// with an unmatchable remainder (or too long) becomes a single [UNK].
type wordPiece struct {
	vocab    map[string]int32
	unk      int32
	prefix   string
	maxChars int
}

// appendWord appends the ids of one pre-token; buf is scratch space.
func (wp *wordPiece) appendWord(dst []int32, word []byte, buf []byte) ([]int32, []byte) {
	if utf8.RuneCount(word) > wp.maxChars {
		return append(dst, wp.unk), buf
	}
	mark := len(dst)
	start := 0
	for start < len(word) {
		end := len(word)
		found := false
		for end > start {
			var id int32
			var ok bool
			if start == 0 {
				id, ok = wp.vocab[string(word[:end])]
			} else {
				buf = append(append(buf[:0], wp.prefix...), word[start:end]...)
				id, ok = wp.vocab[string(buf)]
			}
			if ok {
				dst = append(dst, id)
				found = true
				break
			}
			_, size := utf8.DecodeLastRune(word[start:end])
			end -= size
		}
		if !found {
			return append(dst[:mark], wp.unk), buf
		}
		start = end
	}
	return dst, buf
}

// addedToken is a token matched verbatim in the raw text before
// normalization (HF's non-normalized added tokens such as [CLS], [MASK]).
type addedToken struct {
	content    string
	id         int32
	singleWord bool
}

// addedSet is the added tokens, longest first, with their first bytes.
type addedSet struct {
	tokens []addedToken
	first  [256]bool
}

func newAddedSet(tokens []addedToken) addedSet {
	var a addedSet
	a.tokens = append(a.tokens, tokens...)
	// Longest first makes the first match at a position the longest.
	sort.SliceStable(a.tokens, func(i, j int) bool { return len(a.tokens[i].content) > len(a.tokens[j].content) })
	for _, t := range a.tokens {
		a.first[t.content[0]] = true
	}
	return a
}

// find returns the leftmost-longest added token in s at or after from: its
// start, end and id, or start -1.
func (a *addedSet) find(s string, from int) (int, int, int32) {
	for i := from; i < len(s); i++ {
		if !a.first[s[i]] {
			continue
		}
		for _, t := range a.tokens {
			if strings.HasPrefix(s[i:], t.content) && (!t.singleWord || isWordBoundary(s, i, i+len(t.content))) {
				return i, i + len(t.content), t.id
			}
		}
	}
	return -1, -1, 0
}

func isWordBoundary(s string, i, j int) bool {
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWord(r) {
			return false
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if isWord(r) {
			return false
		}
	}
	return true
}
