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
	"github.com/colbert-go/colbert/codec/residual"
	"github.com/colbert-go/colbert/data/progress"
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
	// NBits > 0 stores ColBERTv2 residuals (codec/residual, 1, 2 or 4 bits)
	// with buckets fitted on a held-out sample instead of float32 vectors.
	NBits int
	// Bar advances by one per token encoded; nil is silent.
	Bar *progress.Bar
}

// Index holds every token vector, its centroid code and the IVF.
type Index struct {
	dim       int
	centroids []float32
	offsets   []int // token offsets, len npass+1
	codes     []int32
	vecs      []float32       // float32 storage, or nil
	codec     *residual.Codec // residual storage, or nil
	packed    []byte          // packed residuals, codec.PackedSize() per token
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
	x := &Index{dim: dim, centroids: cent, offsets: offsets}
	if opt.NBits > 0 {
		if err := x.compress(ctx, vecs, threads, opt); err != nil {
			return nil, err
		}
	} else {
		codes, err := Assign(ctx, vecs, dim, cent, threads)
		if err != nil {
			return nil, err
		}
		x.codes, x.vecs = codes, vecs
		opt.Bar.Add(int64(ntok))
	}
	codes := x.codes
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
	x.ivf = ivf
	return x, nil
}

// compress fits the residual buckets on a held-out sample (min(5%, 50k)
// vectors, as ColBERTv2) and compresses every vector in chunks.
func (x *Index) compress(ctx context.Context, vecs []float32, threads int, opt Options) error {
	dim := x.dim
	ntok := len(vecs) / dim
	held := samplePoints(vecs, dim, max(1, min(ntok/20, 50000)), opt.Seed+1)
	codec, err := residual.Fit(x.centroids, dim, opt.NBits, held, threads)
	if err != nil {
		return fmt.Errorf("memindex: %w", err)
	}
	ps := codec.PackedSize()
	x.codec = codec
	x.codes = make([]int32, ntok)
	x.packed = make([]byte, ntok*ps)
	const chunk = 1 << 16
	for lo := 0; lo < ntok; lo += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+chunk, ntok)
		codec.Compress(vecs[lo*dim:hi*dim], threads, x.codes[lo:hi], x.packed[lo*ps:hi*ps])
		opt.Bar.Add(int64(hi - lo))
	}
	return nil
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

// Vectors is the float32 token matrix of pid (not a copy), or nil when the
// index stores residuals.
func (x *Index) Vectors(pid int) []float32 {
	if x.vecs == nil {
		return nil
	}
	return x.vecs[x.offsets[pid]*x.dim : x.offsets[pid+1]*x.dim]
}

// BytesPerToken is the storage per token: code + residual, or 4 bytes per
// dimension for float32.
func (x *Index) BytesPerToken() int {
	if x.codec != nil {
		return 4 + x.codec.PackedSize()
	}
	return 4 * x.dim
}

// Decompress writes pid's vectors into dst.
func (x *Index) Decompress(pid int, dst []float32) ([]float32, error) {
	if pid < 0 || pid >= x.NumPassages() {
		return dst, fmt.Errorf("memindex: pid %d out of range [0,%d)", pid, x.NumPassages())
	}
	lo, hi := x.offsets[pid], x.offsets[pid+1]
	n := (hi - lo) * x.dim
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	if x.codec != nil {
		ps := x.codec.PackedSize()
		x.codec.Decompress(x.codes[lo:hi], x.packed[lo*ps:hi*ps], dst)
		return dst, nil
	}
	copy(dst, x.vecs[lo*x.dim:hi*x.dim])
	return dst, nil
}

// Codec is the residual codec, or nil for float32 storage.
func (x *Index) Codec() *residual.Codec { return x.codec }

// Residuals is pid's packed residuals (nil for float32 storage).
func (x *Index) Residuals(pid int) []byte {
	if x.codec == nil {
		return nil
	}
	ps := x.codec.PackedSize()
	return x.packed[x.offsets[pid]*ps : x.offsets[pid+1]*ps]
}
