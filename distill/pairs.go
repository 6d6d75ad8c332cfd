package distill

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/model/ort"
)

// Scorer gives one relevance logit per row of a tokenised pair batch;
// *ort.CrossEncoder is the production implementation.
type Scorer interface {
	Score(ort.Batch) ([]float32, error)
}

// PairTokenizer encodes one (query, passage) pair as a BERT cross-encoder
// expects — [CLS] q [SEP] p [SEP], token types 0 then 1, truncated to the
// model's maximum length — without padding.
type PairTokenizer func(query, passage string) (ids, typeIDs []int32)

// PairOptions controls batching.
type PairOptions struct {
	// BatchSize caps the pairs per forward pass (default 32).
	BatchSize int
	// MaxTokens, if > 0, also caps a batch's padded size (pairs × longest
	// pair): on CPU, big batches of long pairs cost more per pair (their
	// attention tensors leave the cache) while short pairs gain from
	// batching — see BenchmarkTeacherScoring.
	MaxTokens int
	// Bucket sorts pairs by length before batching so that each batch pads
	// to a similar length; scores are returned in input order either way.
	Bucket bool
	// Threads is the number of tokenising goroutines (default 1).
	Threads int
	// PadID fills padded positions (BERT's [PAD] is 0); they are masked.
	PadID int32
	// Workers is the number of batches scored concurrently (default 1).
	// With ORT, Workers × intra-op threads should not exceed the cores.
	Workers int
}

// ScorePairs scores queries[i] against passages[i] for every i. The batches
// formed depend only on the texts and options (not on Threads), so the
// same inputs always give bit-identical scores.
func ScorePairs(ctx context.Context, queries, passages []string, tok PairTokenizer, teacher Scorer, opt PairOptions, bar *progress.Bar) ([]float32, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("distill: %d queries for %d passages", len(queries), len(passages))
	}
	n := len(queries)
	bs := opt.BatchSize
	if bs <= 0 {
		bs = 32
	}
	ids := make([][]int32, n)
	types := make([][]int32, n)
	if err := parallel(ctx, n, opt.Threads, func(i int) {
		ids[i], types[i] = tok(queries[i], passages[i])
	}); err != nil {
		return nil, err
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if opt.Bucket {
		slices.SortStableFunc(order, func(a, b int) int { return len(ids[a]) - len(ids[b]) })
	}
	batches := cutBatches(order, ids, bs, opt.MaxTokens)
	scores := make([]float32, n)
	nb := len(batches)
	workers := max(1, min(opt.Workers, nb))
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next >= nb {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, ok := take()
				if !ok {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				rows := batches[k]
				s, err := teacher.Score(padBatch(rows, ids, types, opt.PadID))
				if err == nil && len(s) != len(rows) {
					err = fmt.Errorf("distill: teacher returned %d scores for %d pairs", len(s), len(rows))
				}
				if err != nil {
					fail(err)
					return
				}
				for j, i := range rows {
					if math.IsNaN(float64(s[j])) || math.IsInf(float64(s[j]), 0) {
						fail(fmt.Errorf("distill: teacher score %v for pair %d", s[j], i))
						return
					}
					scores[i] = s[j]
				}
				bar.Add(int64(len(rows)))
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return scores, nil
}

// cutBatches splits order into consecutive batches of at most bs pairs and,
// when maxTokens > 0, at most maxTokens padded positions (a single pair
// longer than that still forms its own batch).
func cutBatches(order []int, ids [][]int32, bs, maxTokens int) [][]int {
	var out [][]int
	for start := 0; start < len(order); {
		end, longest := start, 0
		for end < len(order) && end-start < bs {
			l := max(longest, len(ids[order[end]]))
			if maxTokens > 0 && end > start && (end-start+1)*l > maxTokens {
				break
			}
			longest = l
			end++
		}
		out = append(out, order[start:end])
		start = end
	}
	return out
}

// padBatch lays rows out as a right-padded [len(rows), maxLen] batch.
func padBatch(rows []int, ids, types [][]int32, pad int32) ort.Batch {
	l := 0
	for _, i := range rows {
		l = max(l, len(ids[i]))
	}
	b := ort.Batch{N: len(rows), Len: l,
		IDs: make([]int32, len(rows)*l), AttentionMask: make([]int32, len(rows)*l), TokenTypeIDs: make([]int32, len(rows)*l)}
	for r, i := range rows {
		row := b.IDs[r*l : (r+1)*l]
		copy(row, ids[i])
		for k := len(ids[i]); k < l; k++ {
			row[k] = pad
		}
		copy(b.TokenTypeIDs[r*l:], types[i])
		for k := range ids[i] {
			b.AttentionMask[r*l+k] = 1
		}
	}
	return b
}

// parallel runs fn(0..n-1) on up to threads goroutines.
func parallel(ctx context.Context, n, threads int, fn func(i int)) error {
	threads = max(1, min(threads, n))
	var wg sync.WaitGroup
	chunk := (n + threads - 1) / max(threads, 1)
	for t := 0; t < threads; t++ {
		lo, hi := t*chunk, min((t+1)*chunk, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if i%256 == 0 && ctx.Err() != nil {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}
