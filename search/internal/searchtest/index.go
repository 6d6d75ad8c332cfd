// Package searchtest holds the fixtures of search's tests and benchmarks: a
// synthetic clustered collection shaped like ColBERT embeddings
// (Synthesize) and an in-memory index over its exact vectors (Build). The
// index's centroids come from residual.Train, the codec training of the
// on-disk index (codec/index), so PLAID's candidate stages see centroids
// made the way real ones are, while the stored vectors stay exact so that
// tests can check search against brute force over the same vectors.
package searchtest

import (
	"context"
	"fmt"
	"slices"

	"github.com/colbert-go/colbert/codec/kmeans"
	"github.com/colbert-go/colbert/codec/residual"
)

// trainBits is the residual precision the codec is trained at (codec/index's
// default). Only its centroids are used: the index keeps exact vectors.
const trainBits = 2

// Options configures Build.
type Options struct {
	// K is the number of centroids; 0 means ColBERTv2's rule for the number
	// of tokens (kmeans.NumCentroids).
	K int
	// Iters of k-means; 0 means residual.DefaultTrainIters.
	Iters   int
	Seed    uint64
	Threads int // 0 means GOMAXPROCS
}

// Index holds every token vector, its centroid code and the IVF; it
// implements search.Index.
type Index struct {
	dim       int
	centroids []float32 // K×dim unit rows
	offsets   []int     // token offsets, len npass+1
	codes     []int32
	vecs      []float32
	ivf       [][]int32
}

// Build trains a codec on a copy of vecs (Σdoclens × dim, passages back to
// back), assigns every token to its nearest centroid by dot product (as
// residual.Codec.Compress does) and builds the IVF. vecs is kept, not
// copied, and not modified.
func Build(ctx context.Context, vecs []float32, doclens []int, dim int, opt Options) (*Index, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("searchtest: dim %d", dim)
	}
	offsets := make([]int, len(doclens)+1)
	for i, l := range doclens {
		if l < 0 {
			return nil, fmt.Errorf("searchtest: passage %d has length %d", i, l)
		}
		offsets[i+1] = offsets[i] + l
	}
	ntok := offsets[len(doclens)]
	if ntok*dim != len(vecs) {
		return nil, fmt.Errorf("searchtest: doclens sum to %d tokens but vecs hold %d floats (dim %d)", ntok, len(vecs), dim)
	}
	// Train reorders its sample: it gets a copy.
	codec, _, err := residual.Train(ctx, slices.Clone(vecs), dim, residual.TrainOptions{NBits: trainBits, K: opt.K,
		Iters: opt.Iters, Threads: opt.Threads, Seed: opt.Seed})
	if err != nil {
		return nil, fmt.Errorf("searchtest: %w", err)
	}
	codes, err := kmeans.NearestDotContext(ctx, vecs, dim, codec.Centroids, opt.Threads, nil)
	if err != nil {
		return nil, fmt.Errorf("searchtest: assign %d tokens: %w", ntok, err)
	}
	ivf := make([][]int32, codec.NumCentroids())
	for pid := range doclens {
		for _, c := range codes[offsets[pid]:offsets[pid+1]] {
			if l := ivf[c]; len(l) == 0 || l[len(l)-1] != int32(pid) {
				ivf[c] = append(l, int32(pid))
			}
		}
	}
	return &Index{dim: dim, centroids: codec.Centroids, offsets: offsets, codes: codes, vecs: vecs, ivf: ivf}, nil
}

// Dim is the vector dimension.
func (x *Index) Dim() int { return x.dim }

// NumPassages is the number of passages.
func (x *Index) NumPassages() int { return len(x.offsets) - 1 }

// Centroids is the K×dim centroid matrix.
func (x *Index) Centroids() []float32 { return x.centroids }

// IVF is the sorted pid list of centroid c.
func (x *Index) IVF(c int) []int32 { return x.ivf[c] }

// Codes is the code of every token of pid.
func (x *Index) Codes(pid int) []int32 { return x.codes[x.offsets[pid]:x.offsets[pid+1]] }

// Vectors is the token matrix of pid (a view, not a copy).
func (x *Index) Vectors(pid int) []float32 {
	return x.vecs[x.offsets[pid]*x.dim : x.offsets[pid+1]*x.dim]
}

// Decompress copies pid's vectors into dst, growing it if needed.
func (x *Index) Decompress(pid int, dst []float32) ([]float32, error) {
	if pid < 0 || pid >= x.NumPassages() {
		return dst, fmt.Errorf("searchtest: pid %d out of range [0,%d)", pid, x.NumPassages())
	}
	return append(dst[:0], x.Vectors(pid)...), nil
}
