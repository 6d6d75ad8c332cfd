// Command benchtrain times one training step of the demo's KL student
// (experiments/quality.StudentConfig: the model, batch, in-batch negatives,
// gradient clipping and AdamW) and OpenBLAS sgemm at the step's largest
// matrix product; experiments/bench_train.sh (`make bench-train`) runs it
// next to the PyTorch peer experiments/peers/train_step_bench.py and prints
// the comparison. Build with -tags openblas.
//
//	benchtrain [shape flags] -mode step   one JSON line: median wall seconds per step, FLOPs
//	benchtrain [shape flags] -mode sgemm  one JSON line: GFLOP/s of the largest GEMM at -threads OpenBLAS threads
//	benchtrain -mode core                 the OpenBLAS core (openblas_get_corename)
//	benchtrain [shape flags] -mode flops  the FLOP count, GEMM by GEMM
//
// The step runs as `colbert train` does: OpenBLAS at 1 thread, GOMAXPROCS
// -threads (model/graph splits the big GEMMs over goroutines). FLOPs are
// counted by Shape.Flops (flops.go), the same formula for both sides.
//
// Documents have mixed lengths with -doc-len-min below -doc-len: document
// i gets Shape.DocLens()[i] real tokens (SplitMix64 from -doc-len-seed,
// uniform on [-doc-len-min, -doc-len]; train_step_bench.py draws the same
// list) then padding, as the trainer's batches are; the JSON reports the
// lengths and their mean.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"syscall"
	"time"

	"gonum.org/v1/gonum/blas"

	"github.com/colbert-go/colbert/experiments/quality"
	"github.com/colbert-go/colbert/train"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchtrain:", err)
		os.Exit(1)
	}
}

func run() error {
	st := quality.StudentConfig("", "", "", "")
	s := Shape{Batch: st.BatchSize, NWay: st.NWay, QueryLen: st.QueryMaxLen, QueryAttended: 20, DocLen: st.DocMaxLen,
		Vocab: quality.VocabSize, Layers: st.Layers, Hidden: st.Hidden, Heads: st.Hidden / 32, Intermediate: 4 * st.Hidden,
		Dim: st.Dim, InBatch: st.InBatchNegatives}
	mode := flag.String("mode", "step", "step, sgemm, core or flops")
	threads := flag.Int("threads", 2, "cores: GOMAXPROCS for the step (OpenBLAS 1 thread), OpenBLAS threads for sgemm")
	warmup := flag.Int("warmup", 2, "untimed steps (or sgemm calls) first")
	steps := flag.Int("steps", 7, "timed steps; the median is reported")
	flag.IntVar(&s.Batch, "batch", s.Batch, "queries per step")
	flag.IntVar(&s.NWay, "nway", s.NWay, "documents per query")
	flag.IntVar(&s.QueryLen, "query-len", s.QueryLen, "query tokens ([MASK]-padded)")
	flag.IntVar(&s.QueryAttended, "query-attended", s.QueryAttended, "attended query tokens ([CLS] [Q] … [SEP]); the rest is [MASK] padding")
	flag.IntVar(&s.DocLen, "doc-len", s.DocLen, "document tokens (the longest document's)")
	flag.IntVar(&s.DocLenMin, "doc-len-min", 0, "shortest document's tokens: document i has min + splitmix64_i(seed) mod (doc-len − min + 1) real tokens, then padding (0: -doc-len, every document full)")
	flag.Uint64Var(&s.DocLenSeed, "doc-len-seed", 1, "seed of the document lengths (the same lengths as train_step_bench.py --doc-len-seed)")
	flag.IntVar(&s.Vocab, "vocab", s.Vocab, "vocabulary size")
	flag.BoolVar(&s.InBatch, "in-batch-negatives", s.InBatch, "add ColBERT's in-batch CE loss")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps (-mode step) to this file")
	flag.Parse()
	if *threads < 1 || *steps < 1 || *warmup < 0 {
		return fmt.Errorf("-threads and -steps must be ≥ 1, -warmup ≥ 0")
	}
	if s.DocLenMin == 0 {
		s.DocLenMin = s.DocLen
	}
	if s.DocLenMin < 3 || s.DocLenMin > s.DocLen {
		return fmt.Errorf("need 3 ≤ -doc-len-min ≤ -doc-len (%d, %d)", s.DocLenMin, s.DocLen)
	}
	out := json.NewEncoder(os.Stdout)
	switch *mode {
	case "core":
		fmt.Println(blasCore())
		return nil
	case "flops":
		type row struct {
			GEMM
			GFlops float64 `json:"forward_gflops"`
		}
		var rows []row
		for _, g := range s.GEMMs() {
			rows = append(rows, row{g, g.Flops() / 1e9})
		}
		return out.Encode(map[string]any{"shape": s, "tokens": s.Tokens(), "doc_len_mean": s.DocLenMean(), "doc_lens": s.DocLens(),
			"flops": s.Flops(), "largest": s.Largest(), "gemms": rows})
	case "sgemm":
		if !haveOpenBLAS {
			return fmt.Errorf("-mode sgemm needs the openblas build tag")
		}
		setBLASThreads(*threads)
		return out.Encode(timeSgemm(s.Largest(), *threads, *warmup, *steps))
	case "step":
		if !haveOpenBLAS {
			return fmt.Errorf("-mode step needs the openblas build tag")
		}
		runtime.GOMAXPROCS(*threads)
		setBLASThreads(1)
		train.TuneGC() // as colbert train does
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		res, err := timeStep(s, *warmup, *steps)
		if err != nil {
			return err
		}
		res["gomaxprocs"], res["blas_threads"], res["blas_core"] = runtime.GOMAXPROCS(0), blasThreads(), blasCore()
		return out.Encode(res)
	}
	return fmt.Errorf("unknown -mode %q", *mode)
}

// timeStep runs warmup untimed and steps timed training steps.
func timeStep(s Shape, warmup, steps int) (map[string]any, error) {
	cfg := quality.StudentConfig("", "", "", "") // lr, alpha; AdamW and clipping from train.DefaultConfig
	ck, err := newStudent(s, cfg.Seed)
	if err != nil {
		return nil, err
	}
	b, err := newBatch(s, cfg.Seed)
	if err != nil {
		return nil, err
	}
	opt := train.NewAdamW(cfg.AdamBeta1, cfg.AdamBeta2, cfg.AdamEps, cfg.WeightDecay)
	var times []float64
	var loss float32
	var cpu0 float64
	for i := 0; i < warmup+steps; i++ {
		if i == warmup {
			cpu0 = cpuSeconds()
		}
		t0 := time.Now()
		if loss, err = trainStep(ck, opt, cfg, b); err != nil {
			return nil, err
		}
		if i >= warmup {
			times = append(times, time.Since(t0).Seconds())
		}
	}
	cpu := (cpuSeconds() - cpu0) / float64(steps)
	med := median(times)
	return map[string]any{"peer": "go " + runtime.Version(), "median_s": med, "min_s": minOf(times), "times_s": times,
		"cpu_s_per_step": cpu, "steps": steps, "warmup": warmup, "loss": loss, "tokens": s.Tokens(),
		"doc_len_mean": s.DocLenMean(), "doc_lens": s.DocLens(),
		"flops": s.Flops(), "gflops": s.Flops() / med / 1e9}, nil
}

// timeSgemm times C = A·Bᵀ (A [M,K], B [N,K] row-major: a linear layer's
// product, as model/graph calls it) with one sgemm call over the whole
// matrix, at the OpenBLAS thread count set by the caller.
func timeSgemm(g GEMM, threads, warmup, reps int) map[string]any {
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = r.Float32() - 0.5
		}
		return v
	}
	a, b, c := fill(g.M*g.K), fill(g.N*g.K), make([]float32, g.M*g.N)
	call := func() { sgemm.Sgemm(blas.NoTrans, blas.Trans, g.M, g.N, g.K, 1, a, g.K, b, g.K, 0, c, g.N) }
	for i := 0; i < max(warmup, 1); i++ {
		call()
	}
	var times []float64
	// At least reps calls and at least half a second of them.
	for start := time.Now(); len(times) < reps || time.Since(start) < 500*time.Millisecond; {
		t0 := time.Now()
		call()
		times = append(times, time.Since(t0).Seconds())
	}
	med := median(times)
	return map[string]any{"gemm": g, "trans": "NT", "threads": threads, "blas_threads": blasThreads(), "blas_core": blasCore(),
		"calls": len(times), "median_s": med, "gflops": g.Flops() / med / 1e9}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
