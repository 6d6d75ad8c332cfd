package tokenize

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/colbert-go/colbert/data/progress"
)

// tokenizeChunk is how many texts a worker takes at a time: large enough
// to amortise scheduling, small enough to balance and to check ctx often.
const tokenizeChunk = 256

// TokenizeAll encodes every text (wordpiece ids, no special tokens) on
// threads goroutines (≤ 0: GOMAXPROCS). The result is in input order. It
// stops early with ctx's error when ctx is cancelled.
func (t *Tokenizer) TokenizeAll(ctx context.Context, texts []string, threads int, bar *progress.Bar) ([][]int32, error) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	out := make([][]int32, len(texts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []int32
			for ctx.Err() == nil {
				start := int(next.Add(tokenizeChunk)) - tokenizeChunk
				if start >= len(texts) {
					return
				}
				end := min(start+tokenizeChunk, len(texts))
				for i := start; i < end; i++ {
					// Encode into scratch and keep an exact-size copy: a
					// collection's ids are held in memory at once.
					buf = t.AppendEncode(buf[:0], texts[i])
					out[i] = append([]int32(nil), buf...)
				}
				bar.Add(int64(end - start))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
