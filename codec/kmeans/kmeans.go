// Package kmeans trains the centroids of a ColBERTv2 index: Lloyd's
// algorithm whose assignment step is one batched matrix product per block of
// points (BLAS sgemm), run in parallel across cores, deterministic for a seed
// whatever the number of threads.
package kmeans

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"

	"github.com/colbert-go/colbert/data/progress"
)

// Init selects how the first centroids are chosen.
type Init int

const (
	// InitRandom picks K distinct training points at random (faiss' default).
	InitRandom Init = iota
	// InitPlusPlus is greedy k-means++ (D² sampling, best of 2+ln K draws).
	// It costs a few Lloyd iterations without BLAS, sequential in K, so it
	// pays off only for small K.
	InitPlusPlus
)

// DefaultMaxPointsPerCentroid caps the training set at 256·K points, as faiss.
const DefaultMaxPointsPerCentroid = 256

// Options configures Train. The zero value of every field but K is usable.
type Options struct {
	K     int  // number of centroids (required)
	Iters int  // Lloyd iterations; 0 means 20
	Init  Init // initialisation
	// Threads is the number of workers; 0 means GOMAXPROCS. The result does
	// not depend on it.
	Threads int
	Seed    uint64
	// Spherical L2-normalises the centroids after every update (faiss
	// spherical=True). ColBERT normalises only once, after training.
	Spherical bool
	// MaxPointsPerCentroid subsamples the data to K·this points before
	// training; 0 means DefaultMaxPointsPerCentroid, negative disables it.
	MaxPointsPerCentroid int
}

// Result holds trained centroids.
type Result struct {
	K, Dim    int
	Centroids []float32 // K×Dim, row-major
	// Inertia is the sum of squared L2 distances of the training points to
	// their nearest centroid measured in the last assignment step (before the
	// last update), which is what faiss reports as its final objective.
	Inertia float64
	// History holds the inertia of every iteration's assignment step.
	History []float64
	// Sizes is the number of training points per centroid in the last step.
	Sizes []int
	// Repaired counts empty clusters that were re-seeded over all iterations.
	Repaired int
	// TrainPoints is the number of points actually used (after subsampling).
	TrainPoints int
}

// NumCentroids is ColBERTv2's default number of partitions for a collection
// of numEmbeddings vectors: 2^floor(log2(16·sqrt(numEmbeddings))).
func NumCentroids(numEmbeddings int) int {
	if numEmbeddings < 1 {
		return 1
	}
	return 1 << int(math.Floor(math.Log2(16*math.Sqrt(float64(numEmbeddings)))))
}

// SamplePassages is ColBERTv2's number of passages embedded to train the
// centroids: min(1 + 16·sqrt(120·numPassages), numPassages).
func SamplePassages(numPassages int) int {
	n := 1 + int(16*math.Sqrt(120*float64(numPassages)))
	return min(n, numPassages)
}

// HeldOut is ColBERTv2's number of sample vectors kept apart from k-means to
// fit the residual buckets: min(5% of the sample, 50 000).
func HeldOut(sampleVectors int) int {
	return int(min(0.05*float64(sampleVectors), 50000))
}

// Train runs k-means on n = len(data)/dim points. data is not modified.
func Train(ctx context.Context, data []float32, dim int, opt Options, bar *progress.Bar) (*Result, error) {
	if dim <= 0 || len(data)%dim != 0 {
		return nil, fmt.Errorf("kmeans: data length %d is not a multiple of dim %d", len(data), dim)
	}
	n := len(data) / dim
	k := opt.K
	if k <= 0 {
		return nil, fmt.Errorf("kmeans: K must be positive, got %d", k)
	}
	if n < k {
		return nil, fmt.Errorf("kmeans: %d points cannot make %d centroids", n, k)
	}
	iters := opt.Iters
	if iters == 0 {
		iters = 20
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x636f6c62657274)) // "colbert"

	mp := opt.MaxPointsPerCentroid
	if mp == 0 {
		mp = DefaultMaxPointsPerCentroid
	}
	if mp > 0 && n > k*mp {
		perm := rng.Perm(n)[:k*mp]
		sort.Ints(perm) // keep memory order for locality; the subset is what matters
		sub := make([]float32, len(perm)*dim)
		for i, p := range perm {
			copy(sub[i*dim:(i+1)*dim], data[p*dim:(p+1)*dim])
		}
		data, n = sub, len(perm)
	}

	cent := make([]float32, k*dim)
	switch opt.Init {
	case InitRandom:
		for i, p := range rng.Perm(n)[:k] {
			copy(cent[i*dim:(i+1)*dim], data[p*dim:(p+1)*dim])
		}
	case InitPlusPlus:
		if err := plusPlus(ctx, data, dim, cent, k, threads, rng); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("kmeans: unknown init %d", opt.Init)
	}
	if opt.Spherical {
		normalizeRows(cent, dim)
	}

	res := &Result{K: k, Dim: dim, TrainPoints: n}
	assign := make([]int32, n)
	dist := make([]float32, n)
	bar.SetTotal(int64(iters))
	for it := 0; it < iters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// One iteration of a large sample takes minutes; ctx is also
		// checked per block of the assignment and per task of the update.
		inertia, err := assignL2(ctx, data, dim, cent, k, threads, assign, dist)
		if err != nil {
			return nil, err
		}
		res.History = append(res.History, inertia)
		if res.Sizes, err = update(ctx, data, dim, cent, k, threads, assign); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Repaired += repairEmpty(data, dim, cent, res.Sizes, dist)
		if opt.Spherical {
			normalizeRows(cent, dim)
		}
		bar.Add(1)
	}
	res.Centroids = cent
	res.Inertia = res.History[len(res.History)-1]
	return res, nil
}

// Inertia is the sum of squared L2 distances of every point to its nearest
// centroid (what k-means minimises), for comparing trained centroids.
func Inertia(data []float32, dim int, centroids []float32, threads int) float64 {
	n, k := len(data)/dim, len(centroids)/dim
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	in, _ := assignL2(context.Background(), data, dim, centroids, k, threads, make([]int32, n), make([]float32, n))
	return in
}

// NearestDot writes into codes the index of the centroid with the largest dot
// product with each point (ColBERT's code; equal to the nearest centroid when
// the centroids are unit vectors) and returns codes.
func NearestDot(data []float32, dim int, centroids []float32, threads int, codes []int32) []int32 {
	codes, _ = NearestDotContext(context.Background(), data, dim, centroids, threads, codes)
	return codes
}

// NearestDotContext is NearestDot that stops between blocks of points when
// ctx is done and returns ctx's error (codes then partly written).
func NearestDotContext(ctx context.Context, data []float32, dim int, centroids []float32, threads int, codes []int32) ([]int32, error) {
	n, k := len(data)/dim, len(centroids)/dim
	if cap(codes) < n {
		codes = make([]int32, n)
	}
	codes = codes[:n]
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	err := blocked(ctx, data, dim, centroids, k, threads, func(row int, scores []float32) {
		best, bi := float32(math.Inf(-1)), 0
		for j, s := range scores {
			if s > best {
				best, bi = s, j
			}
		}
		codes[row] = int32(bi)
	})
	return codes, err
}

// blockRows chooses a fixed block height (independent of the thread count so
// that results are reproducible) keeping each worker's score block ≤ 4 MiB.
func blockRows(k int) int {
	return max(16, min(512, (1<<20)/k))
}

// blocked computes scores = X·Cᵀ block by block in parallel and calls visit
// for every row with its K scores. visit is called concurrently for
// different rows. Workers check ctx before every block (≤ 2^20 scores, a
// fraction of a second), so a cancel stops the pass promptly with ctx's
// error; visit has then not seen every row.
func blocked(ctx context.Context, data []float32, dim int, cent []float32, k, threads int, visit func(row int, scores []float32)) error {
	n := len(data) / dim
	if n == 0 {
		return ctx.Err()
	}
	br := blockRows(k)
	nb := (n + br - 1) / br
	// gonum's sgemm is faster on X·C with C stored dim×K than on X·Cᵀ;
	// OpenBLAS is the other way round (blasTransposed says which).
	tB, cm, ldc := blas.Trans, cent, dim
	if !blasTransposed {
		tB, ldc = blas.NoTrans, k
		cm = make([]float32, k*dim)
		for j := 0; j < k; j++ {
			for t := 0; t < dim; t++ {
				cm[t*k+j] = cent[j*dim+t]
			}
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var stop atomic.Pointer[error]
	for w := 0; w < min(threads, nb); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]float32, min(br, n)*k)
			for {
				b := int(next.Add(1) - 1)
				if b >= nb || stop.Load() != nil {
					return
				}
				if err := ctx.Err(); err != nil {
					stop.CompareAndSwap(nil, &err)
					return
				}
				lo, hi := b*br, min(n, (b+1)*br)
				m := hi - lo
				blasImpl.Sgemm(blas.NoTrans, tB, m, k, dim, 1, data[lo*dim:hi*dim], dim, cm, ldc, 0, buf[:m*k], k)
				for r := 0; r < m; r++ {
					visit(lo+r, buf[r*k:(r+1)*k])
				}
			}
		}()
	}
	wg.Wait()
	if err := stop.Load(); err != nil {
		return *err
	}
	return nil
}

// assignL2 assigns every point to its nearest centroid in L2 and returns
// the inertia; dist receives each point's squared distance. It returns
// ctx's error, with assign and dist partly written, when ctx is done.
func assignL2(ctx context.Context, data []float32, dim int, cent []float32, k, threads int, assign []int32, dist []float32) (float64, error) {
	cnorm := make([]float32, k)
	for j := range cnorm {
		cnorm[j] = dot(cent[j*dim:(j+1)*dim], cent[j*dim:(j+1)*dim])
	}
	err := blocked(ctx, data, dim, cent, k, threads, func(row int, scores []float32) {
		best, bi := float32(math.Inf(1)), 0
		for j, s := range scores {
			if d := cnorm[j] - 2*s; d < best {
				best, bi = d, j
			}
		}
		x := data[row*dim : (row+1)*dim]
		assign[row] = int32(bi)
		dist[row] = max(0, best+dot(x, x))
	})
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, d := range dist {
		sum += float64(d)
	}
	return sum, nil
}

// update recomputes every centroid as the mean of its points. Points are
// grouped by cluster with a counting sort and each cluster is summed in point
// order, so the result is independent of the thread count. Empty clusters
// keep their previous centroid (repairEmpty re-seeds them). A done ctx
// stops it between tasks of 64 clusters with ctx's error.
func update(ctx context.Context, data []float32, dim int, cent []float32, k, threads int, assign []int32) ([]int, error) {
	sizes := make([]int, k)
	for _, a := range assign {
		sizes[a]++
	}
	start := make([]int, k+1)
	for j := 0; j < k; j++ {
		start[j+1] = start[j] + sizes[j]
	}
	order := make([]int32, len(assign))
	fill := append([]int(nil), start[:k]...)
	for i, a := range assign {
		order[fill[a]] = int32(i)
		fill[a]++
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var stop atomic.Pointer[error]
	const clustersPerTask = 64
	tasks := (k + clustersPerTask - 1) / clustersPerTask
	for w := 0; w < min(threads, tasks); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc := make([]float64, dim)
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks || stop.Load() != nil {
					return
				}
				if err := ctx.Err(); err != nil {
					stop.CompareAndSwap(nil, &err)
					return
				}
				for j := t * clustersPerTask; j < min(k, (t+1)*clustersPerTask); j++ {
					if sizes[j] == 0 {
						continue
					}
					clear(acc)
					for _, p := range order[start[j]:start[j+1]] {
						x := data[int(p)*dim : (int(p)+1)*dim]
						for d, v := range x {
							acc[d] += float64(v)
						}
					}
					inv := 1 / float64(sizes[j])
					c := cent[j*dim : (j+1)*dim]
					for d := range c {
						c[d] = float32(acc[d] * inv)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := stop.Load(); err != nil {
		return nil, *err
	}
	return sizes, nil
}

// repairEmpty re-seeds every empty cluster with the point currently farthest
// from its centroid (each point used once), the classic fix that also lowers
// the inertia. It returns the number of clusters repaired.
func repairEmpty(data []float32, dim int, cent []float32, sizes []int, dist []float32) int {
	var empty []int
	for j, s := range sizes {
		if s == 0 {
			empty = append(empty, j)
		}
	}
	if len(empty) == 0 {
		return 0
	}
	idx := make([]int, len(dist))
	for i := range idx {
		idx[i] = i
	}
	// Stable order: by distance descending, ties by index.
	sort.SliceStable(idx, func(a, b int) bool { return dist[idx[a]] > dist[idx[b]] })
	for e, j := range empty {
		p := idx[e%len(idx)]
		copy(cent[j*dim:(j+1)*dim], data[p*dim:(p+1)*dim])
	}
	return len(empty)
}

// plusPlus is greedy k-means++ (as scikit-learn): every next centroid is
// the best, by resulting potential, of 2+ln(K) candidates drawn with
// probability proportional to the squared distance to the nearest chosen
// centroid. Plain D² sampling often puts two seeds in one cluster.
func plusPlus(ctx context.Context, data []float32, dim int, cent []float32, k, threads int, rng *rand.Rand) error {
	n := len(data) / dim
	trials := 2 + int(math.Log(float64(k)))
	minD := make([]float64, n)
	for i := range minD {
		minD[i] = math.Inf(1)
	}
	first := rng.IntN(n)
	copy(cent[:dim], data[first*dim:(first+1)*dim])
	newD := func(c []float32, out []float64) {
		var wg sync.WaitGroup
		per := (n + threads - 1) / threads
		for w := 0; w < threads; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w * per; i < min(n, (w+1)*per); i++ {
					x := data[i*dim : (i+1)*dim]
					var d float32
					for t, v := range x {
						q := v - c[t]
						d += q * q
					}
					out[i] = min(minD[i], float64(d))
				}
			}(w)
		}
		wg.Wait()
	}
	newD(cent[:dim], minD)
	cand := make([][]float64, trials)
	for i := range cand {
		cand[i] = make([]float64, n)
	}
	for c := 1; c < k; c++ {
		// Summed sequentially so that the draws are thread-independent.
		var total float64
		for _, d := range minD {
			total += d
		}
		bestPot, best := math.Inf(1), -1
		for tr := 0; tr < trials; tr++ {
			// Each trial is a pass over every point: check ctx as often.
			if err := ctx.Err(); err != nil {
				return err
			}
			r := rng.Float64() * total
			pick := n - 1
			var acc float64
			for i, d := range minD {
				acc += d
				if acc > r {
					pick = i
					break
				}
			}
			newD(data[pick*dim:(pick+1)*dim], cand[tr])
			var pot float64
			for _, d := range cand[tr] {
				pot += d
			}
			if pot < bestPot {
				bestPot, best = pot, tr
				copy(cent[c*dim:(c+1)*dim], data[pick*dim:(pick+1)*dim])
			}
		}
		copy(minD, cand[best])
	}
	return nil
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func normalizeRows(m []float32, dim int) {
	for r := 0; r+dim <= len(m); r += dim {
		row := m[r : r+dim]
		nn := math.Sqrt(float64(dot(row, row)))
		if nn == 0 {
			continue
		}
		inv := float32(1 / nn)
		for i := range row {
			row[i] *= inv
		}
	}
}

// NormalizeRows L2-normalises every dim-long row of m in place (zero rows are
// left as they are); ColBERT normalises its centroids after k-means.
func NormalizeRows(m []float32, dim int) { normalizeRows(m, dim) }
