package kmeans

import (
	"context"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/colbert-go/colbert/codec/internal/synth"
)

// benchData is the k-means benchmark collection: 256·K clustered unit
// vectors of dim 128 (faiss' default cap of points per centroid).
func benchData(k int) []float32 {
	data, _ := synth.Clustered(256*k, 128, 4*k, 0.9, 42)
	return data
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkTrain times Lloyd k-means (random init, as faiss) on 256·K points.
// KMEANS_K (default 1024), KMEANS_ITERS (20) and KMEANS_THREADS (2) set the
// shape; KMEANS_DUMP=path writes the data as raw little-endian float32 for
// experiments/peers/kmeans_faiss.py, which runs faiss on the same points.
func BenchmarkTrain(b *testing.B) {
	k, iters, threads := envInt("KMEANS_K", 1024), envInt("KMEANS_ITERS", 20), envInt("KMEANS_THREADS", 2)
	data := benchData(k)
	if path := os.Getenv("KMEANS_DUMP"); path != "" {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	var res *Result
	for i := 0; i < b.N; i++ {
		var err error
		res, err = Train(context.Background(), data, 128, Options{K: k, Iters: iters, Threads: threads, Seed: 123}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU seconds per run: comparable with the peer's on a loaded machine.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(Inertia(data, 128, res.Centroids, threads), "inertia")
	b.ReportMetric(float64(len(data)/128), "points")
	b.Logf("blas=%s K=%d iters=%d threads=%d", BLASName, k, iters, threads)
}

// BenchmarkCancelLatency measures how long Train takes to return after its
// context is cancelled mid-iteration on the benchmark collection (KMEANS_K,
// default 1024: 262 144 points of dim 128), next to the time of one full
// Lloyd iteration, which bounded the wait when ctx was checked only
// between iterations. KMEANS_CANCEL_MS (default 1500) is when the cancel lands.
func BenchmarkCancelLatency(b *testing.B) {
	k, threads := envInt("KMEANS_K", 1024), envInt("KMEANS_THREADS", 2)
	after := time.Duration(envInt("KMEANS_CANCEL_MS", 1500)) * time.Millisecond
	data := benchData(k)
	opt := Options{K: k, Iters: 1, Threads: threads, Seed: 123}
	t0 := time.Now()
	if _, err := Train(context.Background(), data, 128, opt, nil); err != nil {
		b.Fatal(err)
	}
	iter := time.Since(t0)
	opt.Iters = 1000
	b.ResetTimer()
	var worst time.Duration
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		var cancelled time.Time
		timer := time.AfterFunc(after, func() { cancelled = time.Now(); cancel() })
		_, err := Train(ctx, data, 128, opt, nil)
		returned := time.Now()
		timer.Stop()
		cancel()
		if !errors.Is(err, context.Canceled) {
			b.Fatalf("Train: %v, want context.Canceled", err)
		}
		worst = max(worst, returned.Sub(cancelled))
	}
	b.StopTimer()
	b.ReportMetric(float64(worst.Milliseconds()), "cancel-ms")
	b.ReportMetric(iter.Seconds(), "iter-s")
	b.Logf("blas=%s K=%d threads=%d: returned %v after the cancel; one iteration takes %v", BLASName, k, threads, worst, iter)
}
