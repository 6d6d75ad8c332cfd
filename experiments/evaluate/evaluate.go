// Package evaluate runs one ColBERT checkpoint end to end on a BEIR-layout
// folder — encode the collection, build (or reuse) a compressed index,
// search the split's queries, score the run — and writes a result folder a
// researcher can cite: metrics.json, run.trec, summary.json, report.md and
// PNG plots. It is `colbert evaluate`; the demo uses it for its ColBERT rows.
package evaluate

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/experiments/metrics"
	"github.com/colbert-go/colbert/experiments/stage"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/indexer"
	"github.com/colbert-go/colbert/search/rerank"
)

// Search modes.
const (
	SearchPLAID      = "plaid"       // PLAID over the compressed index
	SearchExhaustive = "exhaustive"  // every passage of the compressed index decompressed and scored
	SearchRerankBM25 = "rerank-bm25" // BM25 top RerankDepth rescored by exact MaxSim, no index
)

// Modes lists the accepted Search values.
var Modes = []string{SearchPLAID, SearchExhaustive, SearchRerankBM25}

// DefaultMeasures are the columns of seed 000's comparison table.
var DefaultMeasures = []string{"mrr@10", "ndcg@10", "recall@100", "recall@1000"}

// Options configure one evaluation.
type Options struct {
	Checkpoint string // ColBERT checkpoint directory
	Tokenizer  string // tokenizer.json; "" = the checkpoint's own
	Dataset    string // BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv
	Split      string // "" = test
	NBits      int    // residual bits: 1, 2 or 4 (0 = 2); residual codec only
	// Codec of the index: residual, fp32, fp16 or pca-int8 ("" =
	// residual). Only residual has centroids, so the others need Search
	// exhaustive.
	Codec string
	// PCAComponents is the number of int8 components per token of codec
	// pca-int8 (0 = dim/4: 32 at dim 128).
	PCAComponents int
	Search        string // plaid | exhaustive | rerank-bm25 ("" = plaid)
	K             int    // passages retrieved per query (0 = 1000)
	// PLAID's knobs, named as ColBERT's Searcher config: ncells, ndocs,
	// centroid_score_threshold. 0 (nil for Threshold) = ColBERT's default
	// for K (search.DefaultParams). Threshold is a pointer because 0 is a
	// legal threshold of its own (prune centroids whose best score is
	// negative). Setting any of them in another search mode is an error.
	NCells    int
	NDocs     int
	Threshold *float64
	// RerankDepth is the BM25 depth rescored in rerank-bm25 mode (0 = 100).
	RerankDepth int
	// Out receives the result folder.
	Out string
	// IndexDir holds the index ("" = Out/index). A complete index there
	// built from the same checkpoint, tokenizer, corpus and settings is
	// reused; otherwise it is (re)built, resuming an interrupted build.
	IndexDir string
	Threads  int
	Seed     uint64 // k-means and sampling seed of the index build
	Measures []string
	// Name labels the system in report.md ("" = the checkpoint's folder name).
	Name string
	// Log receives stage lines; nil is silent.
	Log io.Writer
	// NewBar makes a progress bar for a long step; nil is silent.
	NewBar func(label string, total int64, unit string) *progress.Bar
}

func (o *Options) fill() error {
	if o.Split == "" {
		o.Split = "test"
	}
	if o.NBits == 0 {
		o.NBits = index.DefaultNBits
	}
	if o.NBits != 1 && o.NBits != 2 && o.NBits != 4 {
		return fmt.Errorf("evaluate: nbits %d: want 1, 2 or 4", o.NBits)
	}
	if o.Search == "" {
		o.Search = SearchPLAID
	}
	if !slices.Contains(Modes, o.Search) {
		return fmt.Errorf("evaluate: search mode %q: want one of %s", o.Search, strings.Join(Modes, ", "))
	}
	if o.Codec == "" {
		o.Codec = CodecResidual
	}
	if !slices.Contains(Codecs, o.Codec) {
		return fmt.Errorf("evaluate: codec %q: want one of %s", o.Codec, strings.Join(Codecs, ", "))
	}
	if o.Codec != CodecResidual {
		switch o.Search {
		case SearchPLAID:
			return fmt.Errorf("evaluate: codec %s keeps no centroids, so PLAID cannot search it: use search %s, or codec %s for PLAID",
				o.Codec, SearchExhaustive, CodecResidual)
		case SearchRerankBM25:
			return fmt.Errorf("evaluate: search %s builds no index, so codec %s does not apply", o.Search, o.Codec)
		}
		o.NBits = 0 // not a residual index
	}
	if o.PCAComponents < 0 {
		return fmt.Errorf("evaluate: pca components %d: must be positive", o.PCAComponents)
	}
	if o.NCells < 0 || o.NDocs < 0 {
		return fmt.Errorf("evaluate: ncells %d, ndocs %d: must be positive (0 = ColBERT's default for k)", o.NCells, o.NDocs)
	}
	if o.Threshold != nil && (math.IsNaN(*o.Threshold) || math.IsInf(*o.Threshold, 0)) {
		return fmt.Errorf("evaluate: centroid score threshold %v: want a finite number", *o.Threshold)
	}
	if o.Search != SearchPLAID && (o.NCells != 0 || o.NDocs != 0 || o.Threshold != nil) {
		return fmt.Errorf("evaluate: ncells, ndocs and centroid score threshold are PLAID settings; search %s does not use them", o.Search)
	}
	if o.K <= 0 {
		o.K = 1000
	}
	if o.RerankDepth <= 0 {
		o.RerankDepth = 100
	}
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if len(o.Measures) == 0 {
		o.Measures = DefaultMeasures
	}
	if o.Checkpoint == "" || o.Dataset == "" || o.Out == "" {
		return fmt.Errorf("evaluate: checkpoint, dataset and out are required")
	}
	if o.IndexDir == "" {
		o.IndexDir = filepath.Join(o.Out, "index")
	}
	if o.Name == "" {
		o.Name = filepath.Base(filepath.Clean(o.Checkpoint))
	}
	return nil
}

func (o *Options) bar(label string, total int64, unit string) *progress.Bar {
	if o.NewBar == nil {
		return nil
	}
	return o.NewBar(label, total, unit)
}

// Summary is everything report.md says, as summary.json.
type Summary struct {
	System     string `json:"system"`
	Checkpoint string `json:"checkpoint"` // directory
	ModelHash  string `json:"model_hash"`
	Dataset    string `json:"dataset"`
	Split      string `json:"split"`
	Search     string `json:"search"`
	K          int    `json:"k"`
	NBits      int    `json:"nbits,omitempty"`
	Codec      string `json:"codec,omitempty"` // "" in rerank-bm25 mode
	// PCAComponents are codec pca-int8's bytes per token.
	PCAComponents int `json:"pca_components,omitempty"`
	// Params are the PLAID knobs searched with (plaid mode only), every
	// one set (Threshold included).
	Params   *search.Params     `json:"plaid,omitempty"`
	Passages int                `json:"passages"`
	Queries  int                `json:"queries"`
	Mean     map[string]float64 `json:"mean"`
	// Index (zero in rerank-bm25 mode).
	IndexDir      string  `json:"index_dir,omitempty"`
	IndexReused   bool    `json:"index_reused"`
	IndexBytes    int64   `json:"index_bytes"`
	Embeddings    int64   `json:"embeddings"`
	BytesPerToken float64 `json:"bytes_per_token"`
	// Seconds per stage: load, index (tokenise + encode + compress),
	// encode_queries, search, evaluate.
	Seconds map[string]float64 `json:"seconds"`
	// Per-query search latency (one query at a time per worker), ms.
	LatencyP50 float64   `json:"latency_p50_ms"`
	LatencyP95 float64   `json:"latency_p95_ms"`
	MeanMS     float64   `json:"ms_per_query"` // encode + search wall time / queries
	Latencies  []float64 `json:"-"`
	Threads    int       `json:"threads"`
	Finished   time.Time `json:"finished"`
}

// Run evaluates opt.Checkpoint on opt.Dataset and writes the result folder.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	sum := &Summary{System: opt.Name, Checkpoint: opt.Checkpoint, Dataset: opt.Dataset, Split: opt.Split,
		Search: opt.Search, K: opt.K, Seconds: map[string]float64{}, Threads: opt.Threads}
	t0 := time.Now()
	ds, err := data.LoadBEIR(opt.Dataset, opt.Split)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if len(ds.Queries) == 0 {
		return nil, fmt.Errorf("evaluate: %s has no judged queries in split %s", opt.Dataset, opt.Split)
	}
	if len(ds.Corpus) == 0 {
		return nil, fmt.Errorf("evaluate: %s has an empty corpus", opt.Dataset)
	}
	m, err := indexer.Load(opt.Checkpoint, opt.Tokenizer, encode.Options{Threads: opt.Threads})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	sum.ModelHash, sum.Passages, sum.Queries = m.Hash, len(ds.Corpus), len(ds.Queries)
	sum.Seconds["load"] = time.Since(t0).Seconds()
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}

	var run data.Run
	if opt.Search == SearchRerankBM25 {
		run, err = rerankBM25(ctx, opt, m, ds, sum)
	} else {
		run, err = searchIndex(ctx, opt, m, ds, sum)
	}
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	res, err := metrics.Evaluate(ds.Qrels, run, opt.Measures)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	sum.Seconds["evaluate"] = time.Since(t0).Seconds()
	sum.Mean = res.Mean
	sum.Finished = time.Now().UTC()
	if err := data.WriteTRECRun(filepath.Join(opt.Out, "run.trec"), run, "colbert-"+opt.Search); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if err := res.WriteJSON(filepath.Join(opt.Out, "metrics.json")); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if err := WriteResults(opt.Out, sum, res); err != nil {
		return nil, err
	}
	return sum, nil
}

// indexKey fingerprints what the index's bytes depend on: the encoder
// (indexer.Model.Key: weights, config, tokenizer file and settings), the
// corpus, the storage and the codec settings.
func indexKey(opt Options, m *indexer.Model, ds *data.Dataset) (string, error) {
	texts := make([]string, 0, 2*len(ds.Corpus))
	for _, p := range ds.Corpus {
		texts = append(texts, p.ID, p.Content())
	}
	corpus := tokenize.TextsHash(texts)
	k := struct {
		Encoder, Corpus string
		// Storage is "" for the residual index and "flat" for the float32
		// vectors every flat codec is encoded from when opened.
		Storage string `json:",omitempty"`
		NBits   int
		Seed    uint64
	}{m.Key, hex.EncodeToString(corpus[:]), "", opt.NBits, opt.Seed}
	if opt.Codec != CodecResidual {
		k.Storage, k.Seed = "flat", 0 // no sampling, no k-means
	}
	b, err := json.Marshal(k)
	return string(b), err
}

// plaidParams are ColBERT's defaults for K with the knobs opt sets.
func plaidParams(opt Options) search.Params {
	p := search.DefaultParams(opt.K)
	if opt.NCells > 0 {
		p.NCells = opt.NCells
	}
	if opt.NDocs > 0 {
		p.NDocs = opt.NDocs
	}
	if opt.Threshold != nil {
		p.Threshold = new(float32(*opt.Threshold)) // 0 is a threshold of its own
	}
	return p
}

// searchIndex builds or reuses the index, then runs PLAID or exhaustive search.
func searchIndex(ctx context.Context, opt Options, m *indexer.Model, ds *data.Dataset, sum *Summary) (data.Run, error) {
	key, err := indexKey(opt, m, ds)
	if err != nil {
		return nil, err
	}
	if opt.Codec == CodecPCAInt8 && opt.PCAComponents == 0 {
		opt.PCAComponents = max(1, m.Dim()/4)
	}
	sum.NBits, sum.Codec, sum.PCAComponents, sum.IndexDir = opt.NBits, opt.Codec, opt.PCAComponents, opt.IndexDir
	idxDir := filepath.Clean(opt.IndexDir)
	r := &stage.Runner{StampDir: filepath.Join(filepath.Dir(idxDir), ".stages"), Log: opt.Log}
	output, build := filepath.Join(idxDir, "manifest.json"), func(ctx context.Context) error {
		cache := idxDir + ".ids"
		bar := opt.bar("tokenise", int64(len(ds.Corpus)), "passages")
		src, err := indexer.NewSource(ctx, m, ds.Corpus, indexer.SourceOptions{CachePath: cache, Threads: opt.Threads, Bar: bar})
		bar.Finish()
		if err != nil {
			return err
		}
		bar = opt.bar("index", int64(src.Len()), "passages")
		_, err = index.Build(ctx, idxDir, src, index.BuildOptions{Dim: m.Dim(), NBits: opt.NBits, Checkpoint: m.Key,
			Threads: opt.Threads, Seed: opt.Seed, Overwrite: true}, bar)
		bar.Finish()
		if err != nil {
			return err
		}
		os.Remove(cache) // only needed to resume
		return nil
	}
	if opt.Codec != CodecResidual {
		output = filepath.Join(idxDir, flatFile)
		build = func(ctx context.Context) error { return buildFlat(ctx, idxDir, m, ds.Corpus, opt) }
	}
	results, err := r.Run(ctx, stage.Stage{Name: "index-" + filepath.Base(idxDir), Key: key, Outputs: []string{output}, Run: build})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	sum.IndexReused = results[0].Reused
	sum.Seconds["index"] = results[0].Seconds

	var s *search.Searcher
	passageID := func(pid int) string { return ds.Corpus[pid].ID }
	if opt.Codec == CodecResidual {
		st, err := index.Stat(idxDir)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		sum.IndexBytes, sum.Embeddings, sum.BytesPerToken = st.TotalBytes, st.Manifest.NumEmbeddings, st.BytesPerToken
		var ix *index.Index
		if s, ix, err = m.OpenSearcher(idxDir, index.OpenOptions{}); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		defer ix.Close()
		passageID = ix.PassageID
	} else {
		t0 := time.Now()
		fx, err := openFlat(idxDir, m, opt.Codec, opt.PCAComponents, len(ds.Corpus))
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		sum.Seconds["encode_index"] = time.Since(t0).Seconds() // read + codec fit + encode
		sum.IndexBytes, sum.Embeddings = fx.bytes, int64(fx.NumTokens())
		sum.BytesPerToken = float64(fx.bytes) / float64(max(1, fx.NumTokens()))
		if s, err = search.NewSearcher(fx); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
	}
	t0 := time.Now()
	qv, err := m.EncodeQueries(ctx, ds.Queries)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	encoded := time.Since(t0)
	sum.Seconds["encode_queries"] = encoded.Seconds()
	p := plaidParams(opt)
	if opt.Search == SearchPLAID {
		sum.Params = &p
	}
	bar := opt.bar("search", int64(len(qv)), "queries")
	t0 = time.Now()
	res, err := s.SearchBatch(ctx, qv, m.Dim(), p, search.BatchOptions{Threads: opt.Threads, Exhaustive: opt.Search == SearchExhaustive, Bar: bar})
	bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	wall := time.Since(t0)
	sum.Seconds["search"] = wall.Seconds()
	pc := search.Percentiles(res, 50, 95)
	sum.LatencyP50, sum.LatencyP95 = ms(pc[0]), ms(pc[1])
	sum.MeanMS = ms(encoded+wall) / float64(len(qv))
	run := make(data.Run, len(ds.Queries))
	sum.Latencies = make([]float64, len(res))
	for i, q := range ds.Queries {
		docs := make([]data.ScoredDoc, len(res[i].Hits))
		for j, h := range res[i].Hits {
			docs[j] = data.ScoredDoc{DocID: passageID(h.PID), Score: float64(h.Score)}
		}
		run[q.ID] = docs
		sum.Latencies[i] = ms(res[i].Latency)
	}
	return run, nil
}

// rerankBM25 rescores BM25's top RerankDepth by exact MaxSim (no index).
func rerankBM25(ctx context.Context, opt Options, m *indexer.Model, ds *data.Dataset, sum *Summary) (data.Run, error) {
	t0 := time.Now()
	ix, err := bm25.Build(ctx, ds.Corpus, bm25.DefaultParams(), opt.Threads, nil)
	if err != nil {
		return nil, fmt.Errorf("evaluate: bm25: %w", err)
	}
	sum.Seconds["bm25_index"] = time.Since(t0).Seconds()
	t0 = time.Now()
	cand, err := ix.SearchAll(ctx, ds.Queries, opt.RerankDepth, opt.Threads, nil)
	if err != nil {
		return nil, fmt.Errorf("evaluate: bm25: %w", err)
	}
	firstStage := time.Since(t0)
	queries := make(map[string]string, len(ds.Queries))
	for _, q := range ds.Queries {
		queries[q.ID] = q.Text
	}
	passages := make(map[string]string, len(ds.Corpus))
	for _, p := range ds.Corpus {
		passages[p.ID] = p.Content()
	}
	bar := opt.bar("rerank", 0, "passages")
	t0 = time.Now()
	run, err := rerank.Rerank(ctx, m, queries, passages, cand, rerank.Options{Depth: opt.RerankDepth, Threads: opt.Threads, Bar: bar})
	bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	el := time.Since(t0)
	sum.Seconds["search"] = (firstStage + el).Seconds()
	// Reranking encodes each candidate passage at query time; there is no
	// per-query latency, only the mean.
	sum.MeanMS = ms(firstStage+el) / float64(len(ds.Queries))
	sum.K = opt.RerankDepth
	return run, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
