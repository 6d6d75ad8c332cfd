package index

import (
	"bufio"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/colbert-go/colbert/codec/internal/synth"
)

// genSource generates passage i's embeddings on demand from seed i (tokens
// around shared centres), so the benchmark holds no collection in memory;
// the time spent generating is tracked to exclude it like encoding.
type genSource struct {
	n, minLen, maxLen int
	centres           []float32
	genNanos          atomic.Int64
}

func (g *genSource) Len() int        { return g.n }
func (g *genSource) ID(i int) string { return "p" + strconv.Itoa(i) }

func (g *genSource) doc(i int) []float32 {
	rng := rand.New(rand.NewPCG(uint64(i), 77))
	l := g.minLen + rng.IntN(g.maxLen-g.minLen+1)
	v, _ := synth.Around(g.centres, 128, l, 0.8, uint64(i)+1e9)
	return v
}

func (g *genSource) Embed(ctx context.Context, start, end int) ([][]float32, error) {
	t0 := time.Now()
	out := make([][]float32, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, g.doc(i))
	}
	g.genNanos.Add(int64(time.Since(t0)))
	return out, ctx.Err()
}

func (g *genSource) EmbedPIDs(ctx context.Context, pids []int) ([][]float32, error) {
	t0 := time.Now()
	out := make([][]float32, 0, len(pids))
	for _, p := range pids {
		out = append(out, g.doc(p))
	}
	g.genNanos.Add(int64(time.Since(t0)))
	return out, ctx.Err()
}

// cpuTime is the process' user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads VmHWM (kB) from /proc/self/status.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return math.NaN()
}

// BenchmarkBuild indexes a synthetic clustered collection of BUILD_PASSAGES
// passages (default 10 000, 50–150 tokens: ≈1M tokens) with the default
// options (2 bits unless BUILD_NBITS) and reports indexing throughput
// excluding embedding generation, peak RSS, and the on-disk size. Run it
// alone (-run '^$' -bench BenchmarkBuild -benchtime 1x) so that the peak RSS
// is the build's.
func BenchmarkBuild(b *testing.B) {
	n := envInt("BUILD_PASSAGES", 10000)
	nbits := envInt("BUILD_NBITS", 2)
	// Reset the peak-RSS watermark (Linux ≥ 4.0) so setup does not count.
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	for i := 0; i < b.N; i++ {
		src := &genSource{n: n, minLen: 50, maxLen: 150, centres: synth.Random(4096, 128, 5)}
		dir := filepath.Join(b.TempDir(), "idx")
		t0, cpu0 := time.Now(), cpuTime()
		m, err := Build(context.Background(), dir, src, BuildOptions{NBits: nbits, Seed: DefaultSeed}, nil)
		if err != nil {
			b.Fatal(err)
		}
		wall, cpu := time.Since(t0), cpuTime()-cpu0
		build := wall - time.Duration(src.genNanos.Load())
		var size, codesRes int64
		for name, f := range m.Files {
			size += f.Size
			if strings.HasSuffix(name, ".codes") || strings.HasSuffix(name, ".residuals") {
				codesRes += f.Size
			}
		}
		b.ReportMetric(float64(m.NumEmbeddings)/build.Seconds(), "tokens/s")
		// CPU time (generation included) is robust to a shared, loaded machine.
		b.ReportMetric(float64(m.NumEmbeddings)/cpu.Seconds(), "tokens/cpu-s")
		b.ReportMetric(float64(m.NumEmbeddings), "tokens")
		b.ReportMetric(peakRSS(), "peakRSS-MB")
		b.ReportMetric(float64(size)/(1<<20), "index-MB")
		b.ReportMetric(float64(size)/float64(m.NumEmbeddings), "B/token-all")
		b.ReportMetric(float64(codesRes)/float64(m.NumEmbeddings), "B/token-codes+res")
		b.Logf("K=%d sample=%d vectors (%d passages) kmeans points=%d build=%.1fs (generation %.1fs excluded)",
			m.NumCentroids, m.Build.SampleVectors, m.Build.SamplePassages, m.Build.TrainPoints, build.Seconds(),
			time.Duration(src.genNanos.Load()).Seconds())
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
