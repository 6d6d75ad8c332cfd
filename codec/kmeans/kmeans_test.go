package kmeans

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/synth"
)

func TestNumCentroidsAndSampling(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{1, 16}, {4, 32}, {1_000_000, 8192}, {1 << 20, 16384}, {0, 1},
	} {
		if got := NumCentroids(c.n); got != c.want {
			t.Errorf("NumCentroids(%d) = %d, want %d", c.n, got, c.want)
		}
		// Invariant: K is a power of two with K ≤ 16·sqrt(n) < 2K.
		if c.n > 0 {
			k := NumCentroids(c.n)
			x := 16 * math.Sqrt(float64(c.n))
			if k&(k-1) != 0 || float64(k) > x || float64(2*k) <= x {
				t.Errorf("NumCentroids(%d) = %d violates 2^floor(log2(%g))", c.n, k, x)
			}
		}
	}
	if got := SamplePassages(10); got != 10 {
		t.Errorf("SamplePassages(10) = %d, want all 10", got)
	}
	// 1 + 16·sqrt(120·1e6) = 1 + 16·10954.45 = 175272.
	if got := SamplePassages(1_000_000); got != 175272 {
		t.Errorf("SamplePassages(1e6) = %d, want 175272", got)
	}
	if HeldOut(1000) != 50 || HeldOut(10_000_000) != 50000 {
		t.Errorf("HeldOut: got %d, %d", HeldOut(1000), HeldOut(10_000_000))
	}
}

// bruteNearest is the reference for the BLAS assignment.
func bruteNearest(x, cent []float32, dim int) (int, float64) {
	best, bi := math.Inf(1), 0
	for j := 0; j < len(cent)/dim; j++ {
		var d float64
		for t := 0; t < dim; t++ {
			q := float64(x[t]) - float64(cent[j*dim+t])
			d += q * q
		}
		if d < best {
			best, bi = d, j
		}
	}
	return bi, best
}

func TestAssignmentMatchesBruteForce(t *testing.T) {
	const dim, n, k = 128, 700, 37
	data := synth.Random(n, dim, 1)
	cent := synth.Random(k, dim, 2)
	assign := make([]int32, n)
	dist := make([]float32, n)
	inertia, err := assignL2(context.Background(), data, dim, cent, k, 3, assign, dist)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	codes := NearestDot(data, dim, cent, 2, nil)
	for i := 0; i < n; i++ {
		bi, bd := bruteNearest(data[i*dim:(i+1)*dim], cent, dim)
		want += bd
		if int(assign[i]) != bi {
			// Allow a float tie only.
			_, d2 := bruteNearest(data[i*dim:(i+1)*dim], cent[int(assign[i])*dim:(int(assign[i])+1)*dim], dim)
			if math.Abs(d2-bd) > 1e-5 {
				t.Fatalf("point %d: assigned %d (d=%g), brute force %d (d=%g)", i, assign[i], d2, bi, bd)
			}
		}
		// Unit centroids: max dot == min L2.
		if codes[i] != assign[i] {
			t.Fatalf("point %d: NearestDot %d != nearest L2 %d for unit centroids", i, codes[i], assign[i])
		}
	}
	if math.Abs(inertia-want) > 1e-4*want {
		t.Fatalf("inertia %g, brute force %g", inertia, want)
	}
}

func TestTrainRecoversClusters(t *testing.T) {
	const dim, n, k = 128, 4000, 16
	data, labels := synth.Clustered(n, dim, k, 0.3, 3)
	// Inertia of the generating partition with its own means: k-means must
	// reach (about) this optimum on well-separated clusters.
	ideal := partitionInertia(data, dim, labels, k)
	res, err := Train(context.Background(), data, dim, Options{K: k, Iters: 25, Init: InitPlusPlus, Seed: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	final := Inertia(data, dim, res.Centroids, 2)
	if final > ideal*1.02 {
		t.Fatalf("inertia %g > 1.02 × generating partition %g", final, ideal)
	}
	for i := 1; i < len(res.History); i++ {
		if res.History[i] > res.History[i-1]*(1+1e-6) {
			t.Fatalf("inertia rose at iteration %d: %v", i, res.History)
		}
	}
	if final > res.Inertia*(1+1e-6) {
		t.Fatalf("inertia after the last update %g exceeds the last assignment's %g", final, res.Inertia)
	}
}

func partitionInertia(data []float32, dim int, labels []int, k int) float64 {
	mean := make([]float64, k*dim)
	cnt := make([]float64, k)
	for i, l := range labels {
		cnt[l]++
		for d := 0; d < dim; d++ {
			mean[l*dim+d] += float64(data[i*dim+d])
		}
	}
	var s float64
	for i, l := range labels {
		for d := 0; d < dim; d++ {
			q := float64(data[i*dim+d]) - mean[l*dim+d]/cnt[l]
			s += q * q
		}
	}
	return s
}

func TestDeterministicAcrossThreads(t *testing.T) {
	const dim = 128
	data, _ := synth.Clustered(3000, dim, 40, 0.6, 4)
	var first *Result
	for _, threads := range []int{1, 2, 5} {
		for _, init := range []Init{InitRandom, InitPlusPlus} {
			res, err := Train(context.Background(), data, dim, Options{K: 64, Iters: 6, Threads: threads, Seed: 11, Init: init, Spherical: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if init != InitRandom {
				continue
			}
			if first == nil {
				first = res
				continue
			}
			if !slices.Equal(first.Centroids, res.Centroids) || first.Inertia != res.Inertia {
				t.Fatalf("threads=%d gives different centroids than threads=1", threads)
			}
		}
	}
	other, _ := Train(context.Background(), data, dim, Options{K: 64, Iters: 6, Seed: 12, Spherical: true}, nil)
	if slices.Equal(first.Centroids, other.Centroids) {
		t.Fatal("different seeds gave identical centroids")
	}
	for j := 0; j < first.K; j++ {
		row := first.Centroids[j*dim : (j+1)*dim]
		if nn := math.Sqrt(float64(dot(row, row))); math.Abs(nn-1) > 1e-5 {
			t.Fatalf("spherical centroid %d has norm %g", j, nn)
		}
	}
}

func TestEmptyClusterRepair(t *testing.T) {
	// Three distinct locations, each repeated: random init often draws two
	// copies of one location, leaving an empty cluster after assignment.
	const dim = 8
	base := synth.Random(3, dim, 5)
	var data []float32
	for i := 0; i < 60; i++ {
		data = append(data, base[(i%3)*dim:(i%3+1)*dim]...)
	}
	repaired := 0
	for seed := uint64(0); seed < 20; seed++ {
		res, err := Train(context.Background(), data, dim, Options{K: 3, Iters: 5, Seed: seed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		repaired += res.Repaired
		if in := Inertia(data, dim, res.Centroids, 1); in > 1e-4 { // float cancellation only; a wrong cluster costs ≈ 1 per point
			t.Fatalf("seed %d: inertia %g, want 0 (3 exact locations, K=3, repaired %d)", seed, in, res.Repaired)
		}
	}
	if repaired == 0 {
		t.Fatal("no seed produced an empty cluster: the test no longer exercises the repair")
	}
}

func TestTrainErrorsAndCancel(t *testing.T) {
	data := synth.Random(10, 4, 1)
	if _, err := Train(context.Background(), data, 4, Options{K: 11}, nil); err == nil {
		t.Error("K > n accepted")
	}
	if _, err := Train(context.Background(), data[:7], 4, Options{K: 2}, nil); err == nil {
		t.Error("ragged data accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, data, 4, Options{K: 2}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}

// cancelAfter is a context whose Err reports context.Canceled from its
// n+1-th call on: a cancel that lands at a known point inside a pass.
type cancelAfter struct {
	context.Context
	left atomic.Int64
}

func newCancelAfter(n int64) *cancelAfter {
	c := &cancelAfter{Context: context.Background()}
	c.left.Store(n)
	return c
}

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestCancelWithinIteration checks that a cancel during the single Lloyd
// iteration (or during k-means++ seeding) is noticed inside it, not at the
// next iteration: with one iteration there is no next one, so training that
// checked ctx only between iterations would return centroids and no error.
func TestCancelWithinIteration(t *testing.T) {
	const dim = 32
	data := synth.Random(4096, dim, 5)
	for _, c := range []struct {
		name   string
		opt    Options
		checks int64 // ctx.Err calls that still report nil
	}{
		{"assignment", Options{K: 64, Iters: 1, Threads: 2}, 1},
		{"assignment, one thread", Options{K: 64, Iters: 1, Threads: 1}, 3},
		{"after the assignment", Options{K: 256, Iters: 1, Threads: 1}, int64(1 + 4096/blockRows(256))},
		{"k-means++ seeding", Options{K: 8, Iters: 1, Init: InitPlusPlus}, 3},
	} {
		res, err := Train(newCancelAfter(c.checks), data, dim, c.opt, nil)
		if !errors.Is(err, context.Canceled) || res != nil {
			t.Errorf("%s: cancelled after %d checks: result %v, error %v; want context.Canceled", c.name, c.checks, res != nil, err)
		}
	}
	// The same runs with a live context train normally.
	if _, err := Train(newCancelAfter(1<<40), data, dim, Options{K: 64, Iters: 1, Init: InitPlusPlus}, nil); err != nil {
		t.Fatal(err)
	}
	codes, err := NearestDotContext(newCancelAfter(0), data, dim, synth.Random(64, dim, 6), 2, nil)
	if !errors.Is(err, context.Canceled) || len(codes) != 4096 {
		t.Errorf("NearestDotContext with a cancelled context: %d codes, %v", len(codes), err)
	}
}

func TestSubsampling(t *testing.T) {
	data := synth.Random(1000, 16, 9)
	res, err := Train(context.Background(), data, 16, Options{K: 4, Iters: 2, MaxPointsPerCentroid: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TrainPoints != 40 {
		t.Fatalf("trained on %d points, want 4·10", res.TrainPoints)
	}
}
