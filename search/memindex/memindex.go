// Package memindex is an in-memory index over raw token vectors that
// implements search.Index. It exists for tests, benchmarks and peer
// comparisons on synthetic data: the on-disk compressed index is
// codec/index. Vectors are kept as float32 (exact) or compressed through a
// caller-supplied Codec.
package memindex

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/colbert-go/colbert/codec/kmeans"
	"github.com/colbert-go/colbert/search/maxsim"
)

// Options configures Build.
type Options struct {
	// K is the number of centroids; 0 means ColBERT's rule for the number
	// of tokens (kmeans.NumCentroids).
	K int
	// Centroids, when set (K×dim, unit rows), are used instead of training.
	Centroids []float32
	// Iters of k-means (0 means 4, ColBERT's default); TrainPoints caps the
	// k-means sample (0 means 64·K).
	Iters, TrainPoints int
	Seed               uint64
	Threads            int
}

// Index holds every token vector, its centroid code and the IVF.
type Index struct {
	dim       int
	centroids []float32
	offsets   []int // token offsets, len npass+1
	codes     []int32
	vecs      []float32
	ivf       [][]int32
}

// Build assigns every token of vecs (Σdoclens × dim, passages back to back)
// to its nearest centroid by dot product and builds the IVF.
func Build(ctx context.Context, vecs []float32, doclens []int, dim int, opt Options) (*Index, error) {
	offsets := make([]int, len(doclens)+1)
	for i, l := range doclens {
		if l < 0 {
			return nil, fmt.Errorf("memindex: passage %d has length %d", i, l)
		}
		offsets[i+1] = offsets[i] + l
	}
	ntok := offsets[len(doclens)]
	if ntok*dim != len(vecs) {
		return nil, fmt.Errorf("memindex: doclens sum to %d tokens but vecs hold %d×%d floats", ntok, len(vecs)/max(dim, 1), dim)
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	cent := opt.Centroids
	if cent == nil {
		k := opt.K
		if k == 0 {
			k = kmeans.NumCentroids(ntok)
		}
		tp := opt.TrainPoints
		if tp == 0 {
			tp = 64 * k
		}
		sample := samplePoints(vecs, dim, tp, opt.Seed)
		iters := opt.Iters
		if iters == 0 {
			iters = 4
		}
		res, err := kmeans.Train(ctx, sample, dim, kmeans.Options{K: k, Iters: iters, Seed: opt.Seed, Threads: threads, MaxPointsPerCentroid: -1}, nil)
		if err != nil {
			return nil, fmt.Errorf("memindex: %w", err)
		}
		cent = res.Centroids
		kmeans.NormalizeRows(cent, dim)
	}
	if len(cent) == 0 || len(cent)%dim != 0 {
		return nil, fmt.Errorf("memindex: %d centroid floats for dim %d", len(cent), dim)
	}
	codes, err := Assign(ctx, vecs, dim, cent, threads)
	if err != nil {
		return nil, err
	}
	k := len(cent) / dim
	ivf := make([][]int32, k)
	for pid := range doclens {
		for t := offsets[pid]; t < offsets[pid+1]; t++ {
			c := codes[t]
			if l := ivf[c]; len(l) == 0 || l[len(l)-1] != int32(pid) {
				ivf[c] = append(l, int32(pid))
			}
		}
	}
	return &Index{dim: dim, centroids: cent, offsets: offsets, codes: codes, vecs: vecs, ivf: ivf}, nil
}

// samplePoints takes n evenly strided vectors (all when n ≥ count).
func samplePoints(vecs []float32, dim, n int, seed uint64) []float32 {
	total := len(vecs) / dim
	if n >= total {
		return vecs
	}
	out := make([]float32, 0, n*dim)
	step := float64(total) / float64(n)
	off := float64(seed%1000) / 1000 * step
	for i := 0; i < n; i++ {
		j := int(off + float64(i)*step)
		out = append(out, vecs[j*dim:(j+1)*dim]...)
	}
	return out
}

// Assign returns the code (argmax dot product over the centroids) of every
// vector, computed with the MaxSim similarity kernel 32 vectors at a time.
func Assign(ctx context.Context, vecs []float32, dim int, cent []float32, threads int) ([]int32, error) {
	n, k := len(vecs)/dim, len(cent)/dim
	codes := make([]int32, n)
	const block = maxsim.Lanes
	nblocks := (n + block - 1) / block
	var wg sync.WaitGroup
	errs := make([]error, threads)
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sim := make([]float32, k*block)
			for b := w; b < nblocks; b += threads {
				if b%256 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				lo, hi := b*block, min((b+1)*block, n)
				q, err := maxsim.NewQuery(vecs[lo*dim:hi*dim], hi-lo, dim)
				if err != nil {
					errs[w] = err
					return
				}
				if err := q.Similarities(cent, sim); err != nil {
					errs[w] = err
					return
				}
				for i := 0; i < hi-lo; i++ {
					best, bi := float32(math.Inf(-1)), int32(0)
					for c := 0; c < k; c++ {
						if v := sim[c*block+i]; v > best {
							best, bi = v, int32(c)
						}
					}
					codes[lo+i] = bi
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// Dim is the vector dimension.
func (x *Index) Dim() int { return x.dim }

// NumPassages is the number of passages.
func (x *Index) NumPassages() int { return len(x.offsets) - 1 }

// NumTokens is the number of token vectors.
func (x *Index) NumTokens() int { return len(x.codes) }

// Centroids is the K×dim centroid matrix.
func (x *Index) Centroids() []float32 { return x.centroids }

// IVF is the sorted pid list of centroid c.
func (x *Index) IVF(c int) []int32 { return x.ivf[c] }

// Codes is the code of every token of pid.
func (x *Index) Codes(pid int) []int32 { return x.codes[x.offsets[pid]:x.offsets[pid+1]] }

// Vectors is the stored token matrix of pid (not a copy).
func (x *Index) Vectors(pid int) []float32 {
	return x.vecs[x.offsets[pid]*x.dim : x.offsets[pid+1]*x.dim]
}

// Decompress copies pid's vectors into dst.
func (x *Index) Decompress(pid int, dst []float32) ([]float32, error) {
	if pid < 0 || pid >= x.NumPassages() {
		return dst, fmt.Errorf("memindex: pid %d out of range [0,%d)", pid, x.NumPassages())
	}
	v := x.Vectors(pid)
	if cap(dst) < len(v) {
		dst = make([]float32, len(v))
	}
	dst = dst[:len(v)]
	copy(dst, v)
	return dst, nil
}
