package bm25

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
)

// Params are the BM25 parameters and the analyzer used for documents and
// queries alike.
type Params struct {
	K1       float64
	B        float64
	Analyzer Analyzer
}

// DefaultParams are Anserini's BM25 defaults (k1 0.9, b 0.4) with the plain
// analyzer (no stopwords, no stemming).
func DefaultParams() Params { return Params{K1: 0.9, B: 0.4} }

// posting is one (document, term frequency) pair; lists are sorted by doc.
type posting struct {
	doc int32
	tf  int32
}

// Index is an immutable in-memory inverted index. It is safe for concurrent
// searches.
//
// Scoring, per query term t with multiplicity q_t:
//
//	q_t · idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl))
//	idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5))
//
// N and avgdl are over documents with at least one term (Lucene's docCount
// and sumTotalTermFreq/docCount). Lucene ≥ 8 drops the constant (k1+1),
// which does not change rankings, and stores document lengths lossily in one
// byte, so its scores differ from these in the last digits.
type Index struct {
	params Params
	ids    []string
	docLen []int32
	norm   []float64 // k1·(1 − b + b·dl/avgdl) per document
	nDocs  int       // documents with at least one term
	avgdl  float64
	terms  map[string]int32
	df     []int32
	idf    []float64
	post   [][]posting

	pool sync.Pool // *scratch
}

// Build indexes passages (Passage.Content: title + " " + text) with threads
// goroutines, each tokenising a contiguous shard; shards are merged in order,
// so the index does not depend on threads.
func Build(ctx context.Context, passages []data.Passage, p Params, threads int, bar *progress.Bar) (*Index, error) {
	if p.K1 < 0 || p.B < 0 || p.B > 1 {
		return nil, fmt.Errorf("bm25: invalid parameters k1=%g b=%g (need k1 ≥ 0, 0 ≤ b ≤ 1)", p.K1, p.B)
	}
	if threads < 1 {
		threads = 1
	}
	n := len(passages)
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("bm25: %d passages exceed the int32 document ids of the index", n)
	}
	if threads > n && n > 0 {
		threads = n
	}
	ix := &Index{params: p, ids: make([]string, n), docLen: make([]int32, n)}
	seen := make(map[string]int, n)
	for i, ps := range passages {
		if j, dup := seen[ps.ID]; dup {
			return nil, fmt.Errorf("bm25: duplicate passage id %q (passages %d and %d)", ps.ID, j, i)
		}
		seen[ps.ID] = i
		ix.ids[i] = ps.ID
	}

	// Phase 1: each shard builds its own term → postings map.
	shards := make([]map[string][]posting, threads)
	errs := make([]error, threads)
	var wg sync.WaitGroup
	for s := 0; s < threads; s++ {
		lo, hi := s*n/threads, (s+1)*n/threads
		wg.Add(1)
		go func(s, lo, hi int) {
			defer wg.Done()
			local := make(map[string][]posting)
			tf := make(map[string]int32)
			var order []string
			for d := lo; d < hi; d++ {
				if (d-lo)%1024 == 0 {
					if err := ctx.Err(); err != nil {
						errs[s] = err
						return
					}
				}
				clear(tf)
				order = order[:0]
				var dl int32
				p.Analyzer.each(passages[d].Content(), func(tok string) {
					if _, ok := tf[tok]; !ok {
						order = append(order, tok)
					}
					tf[tok]++
					dl++
				})
				ix.docLen[d] = dl
				for _, t := range order {
					local[t] = append(local[t], posting{doc: int32(d), tf: tf[t]})
				}
				if (d-lo)%256 == 255 {
					bar.Add(256)
				}
			}
			bar.Add(int64((hi - lo) % 256))
			shards[s] = local
		}(s, lo, hi)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("bm25: build: %w", err)
		}
	}

	// Phase 2: sorted vocabulary, then per-term concatenation in shard order.
	vocabSet := make(map[string]struct{})
	for _, sh := range shards {
		for t := range sh {
			vocabSet[t] = struct{}{}
		}
	}
	vocab := make([]string, 0, len(vocabSet))
	for t := range vocabSet {
		vocab = append(vocab, t)
	}
	sort.Strings(vocab)
	ix.terms = make(map[string]int32, len(vocab))
	for i, t := range vocab {
		ix.terms[t] = int32(i)
	}
	ix.post = make([][]posting, len(vocab))
	ix.df = make([]int32, len(vocab))
	ix.idf = make([]float64, len(vocab))

	var total int64
	for _, dl := range ix.docLen {
		if dl > 0 {
			ix.nDocs++
			total += int64(dl)
		}
	}
	if ix.nDocs > 0 {
		ix.avgdl = float64(total) / float64(ix.nDocs)
	}
	for s := 0; s < threads; s++ {
		lo, hi := s*len(vocab)/threads, (s+1)*len(vocab)/threads
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			N := float64(ix.nDocs)
			for t := lo; t < hi; t++ {
				var size int
				for _, sh := range shards {
					size += len(sh[vocab[t]])
				}
				list := make([]posting, 0, size)
				for _, sh := range shards {
					list = append(list, sh[vocab[t]]...)
				}
				ix.post[t] = list
				ix.df[t] = int32(size)
				df := float64(size)
				ix.idf[t] = math.Log(1 + (N-df+0.5)/(df+0.5))
			}
		}(lo, hi)
	}
	wg.Wait()

	ix.norm = make([]float64, n)
	for d, dl := range ix.docLen {
		if ix.avgdl > 0 {
			ix.norm[d] = p.K1 * (1 - p.B + p.B*float64(dl)/ix.avgdl)
		}
	}
	return ix, nil
}

// Len is the number of indexed passages.
func (ix *Index) Len() int { return len(ix.ids) }

// DocID returns the id of the i-th passage in collection order.
func (ix *Index) DocID(i int) string { return ix.ids[i] }

// NumTerms is the vocabulary size.
func (ix *Index) NumTerms() int { return len(ix.post) }

// AvgDocLen is the mean length in terms of the non-empty passages.
func (ix *Index) AvgDocLen() float64 { return ix.avgdl }

// DocFreq returns the number of passages containing the analyzed term (0 when
// the term is unknown).
func (ix *Index) DocFreq(term string) int {
	if t, ok := ix.terms[term]; ok {
		return int(ix.df[t])
	}
	return 0
}

// Params returns the parameters the index was built with.
func (ix *Index) Params() Params { return ix.params }
