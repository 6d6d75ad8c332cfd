package residual

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/colbert-go/colbert/codec/kmeans"
)

// DefaultTrainIters is ColBERTv2's number of k-means iterations
// (ColBERTConfig.kmeans_niters; the 2.0 index used 20).
const DefaultTrainIters = 4

// sampleStream is the PCG stream of the generator Train makes when the
// caller gives none ("sample").
const sampleStream = 0x73616d706c65

// TrainOptions configures Train; zero fields take the defaults noted.
type TrainOptions struct {
	// NBits is the residual precision: 1, 2 or 4 bits per dimension.
	NBits int
	// K is the number of centroids; 0 means ColBERTv2's rule
	// kmeans.NumCentroids(number of vectors given). A K larger than the
	// k-means training set is halved until it fits, so a power of two
	// stays one.
	K int
	// Iters is the number of k-means iterations; 0 means DefaultTrainIters.
	Iters int
	// Threads is the number of workers; 0 means GOMAXPROCS. The codec does
	// not depend on it.
	Threads int
	// Seed drives k-means, and the held-out split and subsample when Rand
	// is nil.
	Seed uint64
	// Rand draws the held-out split and the subsample; nil means a fresh
	// generator seeded from Seed. codec/index passes the generator that
	// drew its passage sample, whose continued stream its index files were
	// always built from.
	Rand *rand.Rand
}

// TrainInfo is what Train decided, for a build's record.
type TrainInfo struct {
	// K is the number of centroids trained (after any halving).
	K int
	// HeldOut is the number of vectors the buckets were fitted on, kept
	// out of k-means; TrainPoints the number k-means ran on.
	HeldOut, TrainPoints int
	// Inertia is k-means' final objective (kmeans.Result.Inertia).
	Inertia float64
}

// Train is ColBERTv2's codec training, the one every residual index is
// built with: it holds out min(5%, 50 000) of the sample vectors
// (kmeans.HeldOut, at least one), subsamples the rest to at most
// kmeans.DefaultMaxPointsPerCentroid·K points as faiss does, runs k-means
// on them, L2-normalises the centroids and fits the bucket table on the
// held-out residuals (FitContext).
//
// vecs is the n×dim training sample (unit rows). Train reorders its rows
// in place, so that a sample of hundreds of MiB is split and subsampled
// without a copy; pass a copy to keep the order. The codec is a
// deterministic function of the sample, the options and the generator's
// state, whatever the number of threads; it stops with ctx's error when
// ctx is done.
func Train(ctx context.Context, vecs []float32, dim int, opt TrainOptions) (*Codec, TrainInfo, error) {
	if err := checkShape(dim, opt.NBits); err != nil {
		return nil, TrainInfo{}, err
	}
	if len(vecs)%dim != 0 {
		return nil, TrainInfo{}, fmt.Errorf("residual: train: %d values are not n×%d", len(vecs), dim)
	}
	nvec := len(vecs) / dim
	if nvec < 2 {
		return nil, TrainInfo{}, fmt.Errorf("residual: train: %d sample vectors, need ≥ 2 (one held out, one for k-means)", nvec)
	}
	rng := opt.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(opt.Seed, sampleStream))
	}
	iters := opt.Iters
	if iters <= 0 {
		iters = DefaultTrainIters
	}
	swapRows := func(a, b int) {
		ra, rb := vecs[a*dim:(a+1)*dim], vecs[b*dim:(b+1)*dim]
		for t := range ra {
			ra[t], rb[t] = rb[t], ra[t]
		}
	}
	// Hold out vectors for the buckets by a partial in-place shuffle of rows.
	held := max(1, kmeans.HeldOut(nvec))
	for i := 0; i < held; i++ {
		swapRows(i, i+rng.IntN(nvec-i))
	}
	heldout, train := vecs[:held*dim], vecs[held*dim:]
	ntrain := len(train) / dim

	k := opt.K
	if k <= 0 {
		k = kmeans.NumCentroids(nvec)
	}
	for k > ntrain {
		k /= 2
	}
	// Subsample in place to ≤ 256·K points (as faiss) so k-means makes no copy.
	if lim := kmeans.DefaultMaxPointsPerCentroid * k; ntrain > lim {
		for i := 0; i < lim; i++ {
			swapRows(held+i, held+i+rng.IntN(ntrain-i))
		}
		train, ntrain = train[:lim*dim], lim
	}
	res, err := kmeans.Train(ctx, train, dim, kmeans.Options{K: k, Iters: iters, Threads: opt.Threads,
		Seed: opt.Seed, MaxPointsPerCentroid: -1}, nil)
	if err != nil {
		return nil, TrainInfo{}, fmt.Errorf("residual: train: k-means (K %d on %d vectors): %w", k, ntrain, err)
	}
	kmeans.NormalizeRows(res.Centroids, dim)
	c, err := FitContext(ctx, res.Centroids, dim, opt.NBits, heldout, opt.Threads)
	if err != nil {
		return nil, TrainInfo{}, fmt.Errorf("residual: train: buckets on %d held-out vectors: %w", held, err)
	}
	return c, TrainInfo{K: k, HeldOut: held, TrainPoints: ntrain, Inertia: res.Inertia}, nil
}
