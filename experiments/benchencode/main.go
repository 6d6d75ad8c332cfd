// Command benchencode times ColBERT encoding of a bert-base-shaped
// checkpoint: experiments/bench_encode.sh (`make bench-encode`) runs it next
// to the PyTorch peer experiments/peers/encode_bench.py on the same weights
// and inputs and prints the comparison. Build with -tags openblas.
//
//	benchencode -mode checkpoint -out DIR   write a random bert-base ColBERT checkpoint (colbertv2.0 layout)
//	benchencode -mode docs -checkpoint DIR  one JSON line: documents of mixed lengths, tokens/s
//	benchencode -mode queries -checkpoint DIR
//	benchencode -mode inputs                the inputs' lengths and digests (JSON)
//	benchencode -mode core                  the OpenBLAS core (openblas_get_corename)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"syscall"
	"time"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchencode:", err)
		os.Exit(1)
	}
}

// BertBase is bert-base-uncased's shape (colbert-ir/colbertv2.0's encoder).
func BertBase() model.BertConfig {
	c := model.SmallConfig(30522)
	c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 768, 12, 12, 3072
	return c
}

func run() error {
	in := Inputs{}
	mode := flag.String("mode", "docs", "checkpoint, docs, queries, inputs or core")
	out := flag.String("out", "", "checkpoint directory to write (-mode checkpoint)")
	ckDir := flag.String("checkpoint", "", "checkpoint directory to encode with")
	tokenizer := flag.String("tokenizer", "", "tokenizer.json to copy into the checkpoint (-mode checkpoint; optional)")
	seed := flag.Uint64("seed", 1, "weights seed (-mode checkpoint)")
	backend := flag.String("encoder", "auto", "go, ort or auto (model/colbert's choice)")
	threads := flag.Int("threads", 2, "cores")
	warmup := flag.Int("warmup", 1, "untimed passes first")
	reps := flag.Int("reps", 3, "timed passes; the median is reported")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the timed passes to this file")
	flag.IntVar(&in.Docs, "docs", 64, "documents")
	flag.IntVar(&in.DocMin, "doc-min", 20, "shortest document (tokens)")
	flag.IntVar(&in.DocMax, "doc-max", 180, "longest document (tokens; doc_maxlen)")
	flag.IntVar(&in.Queries, "queries", 128, "queries")
	flag.IntVar(&in.QueryMin, "query-min", 6, "fewest attended query tokens")
	flag.IntVar(&in.QueryLen, "query-len", 32, "query positions (query_maxlen; [MASK]-padded)")
	flag.Uint64Var(&in.Seed, "input-seed", 1, "seed of the inputs (splitmix64; the peer draws the same)")
	flag.Parse()
	if *threads < 1 || *reps < 1 || *warmup < 0 {
		return fmt.Errorf("-threads and -reps must be ≥ 1, -warmup ≥ 0")
	}
	if in.DocMin < 1 || in.DocMin > in.DocMax || in.QueryMin < 1 || in.QueryMin > in.QueryLen {
		return fmt.Errorf("need 1 ≤ -doc-min ≤ -doc-max and 1 ≤ -query-min ≤ -query-len")
	}
	enc := json.NewEncoder(os.Stdout)
	switch *mode {
	case "core":
		fmt.Println(blasCore())
		return nil
	case "checkpoint":
		if *out == "" {
			return fmt.Errorf("-mode checkpoint needs -out")
		}
		return writeCheckpoint(*out, *tokenizer, *seed)
	case "inputs":
		docs, queries := in.Draw()
		return enc.Encode(inputsReport(docs, queries))
	case "docs", "queries":
	default:
		return fmt.Errorf("unknown -mode %q", *mode)
	}
	if *ckDir == "" {
		return fmt.Errorf("-mode %s needs -checkpoint", *mode)
	}
	runtime.GOMAXPROCS(*threads)
	setBLASThreads(1) // parallelism is the encoder's (Options.Threads), as `colbert index` runs
	ck, err := model.LoadCheckpoint(*ckDir)
	if err != nil {
		return err
	}
	e, name, err := colbert.NewEncoder(ck, colbert.Options{Encode: encode.Options{Threads: *threads}, Encoder: *backend})
	if err != nil {
		return err
	}
	defer e.Close()
	ctx := context.Background()
	docs, queries := in.Draw()
	ids, masks := docBatch(docs)
	qb := queryBatch(queries, in.QueryLen)
	pass := func() error {
		_, err := e.EncodeDocIDs(ctx, ids, masks)
		return err
	}
	tokens := 0
	for _, d := range docs {
		tokens += len(d)
	}
	if *mode == "queries" {
		pass = func() error {
			_, err := e.EncodeQueries(ctx, qb)
			return err
		}
		tokens = in.Queries * in.QueryLen
	}
	for range *warmup {
		if err := pass(); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	times := make([]float64, *reps)
	cpu0 := cpuSeconds()
	for i := range times {
		t0 := time.Now()
		if err := pass(); err != nil {
			return err
		}
		times[i] = time.Since(t0).Seconds()
	}
	cpu := (cpuSeconds() - cpu0) / float64(*reps)
	sorted := append([]float64(nil), times...)
	sort.Float64s(sorted)
	med := sorted[len(sorted)/2]
	r := inputsReport(docs, queries)
	return enc.Encode(map[string]any{
		"side": "go", "encoder": name, "what": *mode, "threads": *threads, "blas_core": blasCore(),
		"tokens": tokens, "median_s": med, "times_s": times, "tokens_per_s": float64(tokens) / med,
		"cpu_tokens_per_s": float64(tokens) / cpu, "docs_digest": r["docs_digest"], "queries_digest": r["queries_digest"],
	})
}

func inputsReport(docs, queries [][]int32) map[string]any {
	lens := make([]int, len(docs))
	for i, d := range docs {
		lens[i] = len(d)
	}
	return map[string]any{"doc_lens": lens, "docs_digest": Digest(docs), "queries_digest": Digest(queries)}
}

func writeCheckpoint(dir, tokenizer string, seed uint64) error {
	ck, err := model.NewCheckpoint(BertBase(), model.KindColBERT, model.DefaultColBERTConfig(), seed)
	if err != nil {
		return err
	}
	ck.Tokenizer = tokenizer
	if err := model.SaveCheckpoint(dir, ck); err != nil {
		return err
	}
	return nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// docBatch is every document unpadded, all positions kept.
func docBatch(docs [][]int32) (ids, masks [][]int32) {
	masks = make([][]int32, len(docs))
	for i, d := range docs {
		masks[i] = make([]int32, len(d))
		for j := range masks[i] {
			masks[i][j] = 1
		}
	}
	return docs, masks
}

// queryBatch packs queries into one [len(queries), L] batch: attention 1
// on each query's ids, [MASK] (103) with attention 0 after, as ColBERT's
// query tokenizer pads.
func queryBatch(queries [][]int32, L int) encode.Batch {
	n := len(queries)
	b := encode.Batch{N: n, Len: L, IDs: make([]int32, n*L), AttentionMask: make([]int32, n*L)}
	for i, s := range queries {
		for j := 0; j < L; j++ {
			if j < len(s) {
				b.IDs[i*L+j], b.AttentionMask[i*L+j] = s[j], 1
			} else {
				b.IDs[i*L+j] = 103
			}
		}
	}
	return b
}
