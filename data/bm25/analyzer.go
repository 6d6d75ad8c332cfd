// Package bm25 is an in-memory BM25 retriever over a collection: the
// exact-term baseline of every experiment and the hard-negative miner of the
// training pipeline. Scoring follows Anserini's defaults (k1 0.9, b 0.4) with
// Lucene's idf, so figures are comparable with the BM25 rows users know.
package bm25

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Analyzer turns text into index terms: Unicode lower-casing, then splitting
// on every rune that is neither a letter nor a digit ("F-16's" → "f", "16",
// "s"). There is no stemming. Stopwords, when set, are dropped after
// lower-casing; the zero Analyzer keeps every token (the default, because
// the built-in benchmark and the sanity figures in the assets README use it).
type Analyzer struct {
	Stopwords map[string]struct{}
}

// EnglishStopwords returns Lucene's classic English stopword set (the one
// EnglishAnalyzer and Anserini's default analyzer use), for Analyzer.Stopwords.
func EnglishStopwords() map[string]struct{} {
	words := []string{
		"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in",
		"into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the",
		"their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
	}
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

// Tokens returns the terms of text in order, duplicates kept.
func (a Analyzer) Tokens(text string) []string {
	var out []string
	a.each(text, func(tok string) { out = append(out, tok) })
	return out
}

// each calls fn for every term of text. Pure-ASCII tokens are lower-cased
// without allocating a Builder; other tokens go through unicode.ToLower.
func (a Analyzer) each(text string, fn func(string)) {
	start := -1
	ascii := true
	emit := func(end int) {
		tok := text[start:end]
		if ascii {
			tok = lowerASCII(tok)
		} else {
			tok = strings.ToLower(tok)
		}
		if a.Stopwords != nil {
			if _, stop := a.Stopwords[tok]; stop {
				return
			}
		}
		fn(tok)
	}
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if word {
			if start < 0 {
				start, ascii = i, true
			}
			if r >= utf8.RuneSelf {
				ascii = false
			}
		} else if start >= 0 {
			emit(i)
			start = -1
		}
		i += size
	}
	if start >= 0 {
		emit(len(text))
	}
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
