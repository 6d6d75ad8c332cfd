package index

import (
	"context"
	"fmt"
	"sync"

	"github.com/colbert-go/colbert/codec/pool"
)

// PoolKeepFirst is the number of leading vectors of each passage that
// pooling leaves alone (its [CLS] token's, as PyLate's protected_tokens);
// recorded in the manifest as pool_keep. On the demo benchmark it turns
// factor 2's nDCG@10 loss of 1.4% (everything pooled) into none
// (BENCHMARKS.md).
const PoolKeepFirst = 1

// pooledSource pools each passage's token vectors by factor (codec/pool,
// Ward linkage, the first PoolKeepFirst vectors kept) before the codec sees them, for the k-means sample and
// the chunks alike: an index built with BuildOptions.PoolFactor stores
// about 1/factor of the tokens. Passages are pooled on up to threads
// goroutines; the result depends only on the vectors.
type pooledSource struct {
	Source
	factor, dim, threads int
}

// poolSource wraps src when factor > 1.
func poolSource(src Source, factor, dim, threads int) Source {
	if factor <= 1 {
		return src
	}
	return &pooledSource{Source: src, factor: factor, dim: dim, threads: max(1, threads)}
}

func (p *pooledSource) Embed(ctx context.Context, start, end int) ([][]float32, error) {
	e, err := p.Source.Embed(ctx, start, end)
	if err != nil {
		return nil, err
	}
	return p.pool(ctx, e, func(i int) int { return start + i })
}

// EmbedPIDs keeps the inner source's batched sampling (Picker).
func (p *pooledSource) EmbedPIDs(ctx context.Context, pids []int) ([][]float32, error) {
	e, err := embedPIDs(ctx, p.Source, pids)
	if err != nil {
		return nil, err
	}
	return p.pool(ctx, e, func(i int) int { return pids[i] })
}

func (p *pooledSource) pool(ctx context.Context, embs [][]float32, pid func(int) int) ([][]float32, error) {
	out := make([][]float32, len(embs))
	errs := make([]error, len(embs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(p.threads, len(embs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				v, err := pool.PoolKeep(embs[i], p.dim, p.factor, PoolKeepFirst, pool.Ward)
				if err != nil {
					err = fmt.Errorf("index: pool passage %q: %w", p.ID(pid(i)), err)
				}
				out[i], errs[i] = v, err
			}
		}()
	}
	for i := range embs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
