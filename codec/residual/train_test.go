package residual

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/synth"
	"github.com/colbert-go/colbert/codec/kmeans"
)

func sameCodec(t *testing.T, what string, a, b *Codec) {
	t.Helper()
	for _, p := range []struct {
		name string
		x, y []float32
	}{{"centroids", a.Centroids, b.Centroids}, {"cutoffs", a.Cutoffs, b.Cutoffs}, {"weights", a.Weights, b.Weights}, {"avg residual", a.AvgResidual, b.AvgResidual}} {
		if !slices.Equal(p.x, p.y) {
			t.Fatalf("%s: %s differ", what, p.name)
		}
	}
}

// TestTrainSplitsSubsamplesAndIsReproducible checks the split Train
// reports (5% held out, the rest capped at 256·K), unit centroids, a
// codec independent of the thread count, and that the sample comes back
// reordered, not altered.
func TestTrainSplitsSubsamplesAndIsReproducible(t *testing.T) {
	const dim, n = 32, 3000
	vecs, _ := synth.Clustered(n, dim, 8, 0.6, 1)
	var first *Codec
	var firstInfo TrainInfo
	for _, threads := range []int{1, 4} {
		sample := slices.Clone(vecs)
		c, info, err := Train(context.Background(), sample, dim, TrainOptions{NBits: 2, K: 8, Threads: threads, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		wantHeld := kmeans.HeldOut(n)
		if info.K != 8 || c.NumCentroids() != 8 || info.HeldOut != wantHeld ||
			info.TrainPoints != min(n-wantHeld, kmeans.DefaultMaxPointsPerCentroid*8) || !(info.Inertia > 0) {
			t.Fatalf("threads %d: info %+v, want K 8, %d held out, %d training points", threads, info, wantHeld, kmeans.DefaultMaxPointsPerCentroid*8)
		}
		for i := 0; i < 8; i++ {
			var s float64
			for _, v := range c.Centroids[i*dim : (i+1)*dim] {
				s += float64(v) * float64(v)
			}
			if math.Abs(s-1) > 1e-5 {
				t.Fatalf("centroid %d has norm² %v", i, s)
			}
		}
		if first == nil {
			first, firstInfo = c, info
		} else {
			sameCodec(t, "threads 1 vs 4", first, c)
			if info != firstInfo {
				t.Fatalf("threads 1 vs 4: info %+v vs %+v", firstInfo, info)
			}
		}
		if slices.Equal(sample, vecs) {
			t.Fatal("sample order unchanged: the held-out split did not move rows")
		}
		if !sameRows(sample, vecs, dim) {
			t.Fatal("sample rows altered, not only reordered")
		}
	}
}

// sameRows reports whether a and b hold the same rows in any order.
func sameRows(a, b []float32, dim int) bool {
	rows := func(m []float32) [][]float32 {
		var out [][]float32
		for i := 0; i+dim <= len(m); i += dim {
			out = append(out, m[i:i+dim])
		}
		slices.SortFunc(out, slices.Compare)
		return out
	}
	return slices.EqualFunc(rows(a), rows(b), slices.Equal)
}

// TestTrainDefaultKAndHalving checks ColBERTv2's K rule and the halving
// of a K the tiny training set cannot support.
func TestTrainDefaultKAndHalving(t *testing.T) {
	const dim, n = 16, 40
	vecs, _ := synth.Clustered(n, dim, 4, 0.5, 2)
	ntrain := n - max(1, kmeans.HeldOut(n))
	for _, tc := range []struct{ k, want int }{
		{0, 32},   // NumCentroids(40) = 64 > 39 training points
		{100, 25}, // 100 → 50 → 25
		{16, 16},
	} {
		if tc.k == 0 && kmeans.NumCentroids(n) != 64 {
			t.Fatalf("NumCentroids(%d) = %d; the case expects 64", n, kmeans.NumCentroids(n))
		}
		c, info, err := Train(context.Background(), slices.Clone(vecs), dim, TrainOptions{NBits: 1, K: tc.k, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if info.K != tc.want || c.NumCentroids() != tc.want || info.TrainPoints != ntrain {
			t.Errorf("K %d: trained %d centroids (codec %d) on %d points, want %d on %d", tc.k, info.K, c.NumCentroids(), info.TrainPoints, tc.want, ntrain)
		}
	}
}

// TestTrainUsesTheGivenGenerator checks that a nil Rand is the documented
// default and that a caller's generator decides the split (codec/index
// relies on it to keep its bytes).
func TestTrainUsesTheGivenGenerator(t *testing.T) {
	const dim = 32
	vecs, _ := synth.Clustered(2000, dim, 8, 0.6, 3)
	opt := TrainOptions{NBits: 2, K: 8, Threads: 2, Seed: 9}
	train := func(r *rand.Rand) *Codec {
		o := opt
		o.Rand = r
		c, _, err := Train(context.Background(), slices.Clone(vecs), dim, o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	def := train(nil)
	sameCodec(t, "nil Rand vs the default stream", def, train(rand.New(rand.NewPCG(opt.Seed, sampleStream))))
	other := train(rand.New(rand.NewPCG(opt.Seed, 1)))
	if slices.Equal(def.AvgResidual, other.AvgResidual) {
		t.Fatal("another generator held out the same vectors")
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	vecs, _ := synth.Clustered(100, 16, 4, 0.5, 4)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		vecs []float32
		dim  int
		opt  TrainOptions
	}{
		{"nbits 3", vecs, 16, TrainOptions{NBits: 3}},
		{"dim 12", vecs[:12*10], 12, TrainOptions{NBits: 2}},
		{"ragged", vecs[:16*10+3], 16, TrainOptions{NBits: 2}},
		{"one vector", vecs[:16], 16, TrainOptions{NBits: 2}},
	} {
		if c, _, err := Train(ctx, slices.Clone(tc.vecs), tc.dim, tc.opt); err == nil || c != nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := Train(cancelled, slices.Clone(vecs), 16, TrainOptions{NBits: 2, K: 4}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v, want context.Canceled", err)
	}
}
