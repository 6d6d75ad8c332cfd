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

	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/experiments/stage"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/colbert-go/colbert/search/rerank"
)

// Codecs of the index: ColBERTv2's residual one (PLAID or exhaustive) and
// the flat baselines of codec/flat (no centroids: exhaustive only).
const (
	CodecResidual = engine.CodecResidual
	CodecFP32     = flat.CodecFP32
	CodecFP16     = flat.CodecFP16
	CodecPCAInt8  = flat.CodecPCAInt8
	// CodecSparse is SPLADE's inverted index (codec/sparse), the only one
	// a splade checkpoint has.
	CodecSparse = engine.CodecSparse
)

// Codecs lists the accepted Codec values.
var Codecs = append(append([]string{CodecResidual}, flat.Codecs...), CodecSparse)

// Search modes.
const (
	SearchPLAID      = "plaid"       // PLAID over the compressed index
	SearchExhaustive = "exhaustive"  // every passage of the compressed index decompressed and scored
	SearchRerankBM25 = "rerank-bm25" // BM25 top RerankDepth rescored by exact MaxSim, no index (poly-encoder: from its stored vectors)
	SearchPruned     = "pruned"      // SPLADE: exact top k by dynamic pruning over the inverted index
)

// Modes lists the accepted Search values.
var Modes = []string{SearchPLAID, SearchExhaustive, SearchRerankBM25, SearchPruned}

// DefaultMeasures are the columns of seed 000's comparison table.
var DefaultMeasures = []string{"mrr@10", "ndcg@10", "recall@100", "recall@1000"}

// Options configure one evaluation.
type Options struct {
	// Checkpoint is the model directory: ColBERT, or one of the seed's
	// other models (mv-dpr, poly-encoder, splade; see forKind for what
	// each searches with).
	Checkpoint string
	Tokenizer  string // tokenizer.json; "" = the checkpoint's own
	Dataset    string // BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv
	Split      string // "" = test
	NBits      int    // residual bits: 1, 2 or 4 (0 = 2); residual codec only
	// Codec of the index: residual, fp32, fp16, pca-int8 or sparse ("" =
	// the model kind's: residual for ColBERT and MV-DPR, fp32 for the
	// poly-encoder, sparse for SPLADE). Only residual has centroids, so
	// the flat ones need Search exhaustive.
	Codec string
	// DecodeOnce searches a flat codec's vectors decoded once at open
	// (the codec's quality at fp32 scan speed) instead of decoding every
	// passage as it is scored (the codec's search cost).
	DecodeOnce bool
	// PCAComponents is the number of int8 components per token of codec
	// pca-int8 (0 = dim/4: 32 at dim 128).
	PCAComponents int
	// Search is plaid | exhaustive | rerank-bm25 | pruned ("" = the model
	// kind's: plaid for ColBERT and MV-DPR, exhaustive for the
	// poly-encoder, pruned for SPLADE).
	Search string
	// Params.K is the number of passages retrieved per query (0 = 1000);
	// its PLAID knobs (ncells, ndocs, threshold, no-prune) left unset are
	// ColBERT's defaults for K (search.Params.Resolve). Setting one in
	// another search mode is an error.
	Params search.Params
	// RerankDepth is the BM25 depth rescored in rerank-bm25 mode (0 = 100).
	RerankDepth int
	// Out receives the result folder.
	Out string
	// IndexDir holds the index ("" = Out/index). A complete index there
	// built from the same checkpoint, tokenizer, corpus and settings is
	// reused; an interrupted build is resumed; a complete index built
	// otherwise (other settings, or not by evaluate) is replaced only with
	// Reindex, else refused with an error saying so: an index the user
	// points at is never rebuilt over silently. Out/index, the result
	// folder's own, is always replaced as the folder is.
	IndexDir string
	// Reindex lets a complete index in IndexDir built otherwise be
	// replaced (`colbert evaluate --reindex`; the demo and sweeps, which
	// own their index directories, set it).
	Reindex bool
	Threads int
	Seed    uint64 // k-means and sampling seed of the index build
	// PoolFactor > 1 pools each passage's token vectors into
	// max(1, n/PoolFactor) cluster means before indexing
	// (index.BuildOptions.PoolFactor); residual codec only.
	PoolFactor int
	Measures   []string
	// Name labels the system in report.md ("" = the checkpoint's folder name).
	Name string
	// Log receives stage lines; nil is silent.
	Log io.Writer
	// Encoder is the ColBERT encoder backend, go, ort or auto ("" = auto;
	// model/colbert.Options.Encoder); ORTLibrary is ONNX Runtime's shared
	// library ("" = $ONNXRUNTIME_LIB, then .deps/onnxruntime).
	Encoder, ORTLibrary string
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
	if o.Search != "" && !slices.Contains(Modes, o.Search) {
		return fmt.Errorf("evaluate: search mode %q: want one of %s", o.Search, strings.Join(Modes, ", "))
	}
	if o.Codec != "" && !slices.Contains(Codecs, o.Codec) {
		return fmt.Errorf("evaluate: codec %q: want one of %s", o.Codec, strings.Join(Codecs, ", "))
	}
	if o.Codec != "" && o.Codec != CodecResidual && o.Codec != CodecSparse {
		switch o.Search {
		case SearchPLAID, "":
			return fmt.Errorf("evaluate: codec %s keeps no centroids, so PLAID cannot search it: use search %s, or codec %s for PLAID",
				o.Codec, SearchExhaustive, CodecResidual)
		case SearchRerankBM25:
			// The poly-encoder reranks BM25 from its stored fp32 vectors
			// (decided by forKind once the checkpoint's kind is known).
			if o.Codec != CodecFP32 {
				return fmt.Errorf("evaluate: search %s builds no index, so codec %s does not apply", o.Search, o.Codec)
			}
		}
		o.NBits = 0 // not a residual index
	}
	if o.PoolFactor < 0 {
		return fmt.Errorf("evaluate: pool factor %d: must be ≥ 0 (0 and 1 = no pooling)", o.PoolFactor)
	}
	if o.PoolFactor == 1 {
		o.PoolFactor = 0
	}
	if o.PoolFactor > 1 && o.Codec != CodecResidual && o.Codec != "" {
		return fmt.Errorf("evaluate: pool factor %d applies to the residual index, not codec %s", o.PoolFactor, o.Codec)
	}
	if o.PCAComponents < 0 {
		return fmt.Errorf("evaluate: pca components %d: must be positive", o.PCAComponents)
	}
	p := o.Params
	if p.NCells < 0 || p.NDocs < 0 {
		return fmt.Errorf("evaluate: ncells %d, ndocs %d: must be positive (0 = ColBERT's default for k)", p.NCells, p.NDocs)
	}
	if p.Threshold != nil && (math.IsNaN(float64(*p.Threshold)) || math.IsInf(float64(*p.Threshold), 0)) {
		return fmt.Errorf("evaluate: centroid score threshold %v: want a finite number", *p.Threshold)
	}
	if o.Search != SearchPLAID && o.Search != "" && (p.NCells != 0 || p.NDocs != 0 || p.Threshold != nil || p.NoPrune) {
		return fmt.Errorf("evaluate: ncells, ndocs, threshold and no-prune are PLAID settings; search %s does not use them", o.Search)
	}
	if o.Params.K <= 0 {
		o.Params.K = 1000
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
		o.Reindex = true
	}
	if o.Name == "" {
		o.Name = filepath.Base(filepath.Clean(o.Checkpoint))
	}
	return nil
}

// KindDefaults are the codec and search mode a model kind is evaluated
// with when none is given: SPLADE its inverted index, pruned; the
// poly-encoder its fp32 candidate vectors, exhaustively; the single-vector
// bi-encoder its fp32 vectors, exhaustively (exact dense retrieval, one dot
// product per passage); ColBERT and MV-DPR the 2-bit residual index with
// PLAID.
func KindDefaults(k model.Kind) (codec, search string) {
	switch k {
	case model.KindSPLADE:
		return CodecSparse, SearchPruned
	case model.KindPolyEncoder, model.KindBiEncoder:
		return CodecFP32, SearchExhaustive
	}
	return CodecResidual, SearchPLAID
}

// forKind fills Codec and Search with the model kind's defaults and
// refuses what the kind cannot do: SPLADE has only its sparse index
// (searched pruned or exhaustively); the poly-encoder's score has no
// centroid pruning (exhaustive over its stored vectors, or reranking
// BM25's top RerankDepth from them); ColBERT and MV-DPR are multi-vector
// MaxSim models (every codec and mode but pruned).
func (o *Options) forKind(k model.Kind) error {
	refuse := func(what, val string) error {
		return fmt.Errorf("evaluate: %s %s does not apply to a %s model", what, val, k)
	}
	codec, search := KindDefaults(k)
	if o.Codec == "" {
		o.Codec = codec
	}
	if o.Search == "" {
		o.Search = search
	}
	switch k {
	case model.KindSPLADE:
		if o.Codec != CodecSparse {
			return refuse("codec", o.Codec)
		}
		if o.Search != SearchPruned && o.Search != SearchExhaustive {
			return refuse("search", o.Search)
		}
	case model.KindPolyEncoder, model.KindBiEncoder:
		// Their passage vectors are scored at their own norm; the residual
		// codec normalises (colbert.Model.UnitVectors).
		if o.Codec == CodecSparse || o.Codec == CodecResidual {
			return refuse("codec", o.Codec+" (its passage vectors are not unit vectors: use fp32 or fp16)")
		}
		if k == model.KindBiEncoder && o.Search != SearchExhaustive {
			return refuse("search", o.Search+" (one vector per passage in a flat index: use exhaustive)")
		}
		if o.Search != SearchExhaustive && o.Search != SearchRerankBM25 {
			return refuse("search", o.Search+" (its score has no centroid pruning: use exhaustive or rerank-bm25)")
		}
	default:
		if o.Codec == CodecSparse || o.Search == SearchPruned {
			return refuse("codec/search", o.Codec+"/"+o.Search)
		}
		if o.Search == SearchRerankBM25 && o.Codec != CodecResidual {
			return fmt.Errorf("evaluate: search %s builds no index, so codec %s does not apply", o.Search, o.Codec)
		}
	}
	if o.Codec != CodecResidual {
		o.NBits = 0 // not a residual index
		if o.PoolFactor > 1 {
			return fmt.Errorf("evaluate: pool factor %d applies to the residual index, not codec %s", o.PoolFactor, o.Codec)
		}
	}
	p := o.Params
	if o.Search != SearchPLAID && (p.NCells != 0 || p.NDocs != 0 || p.Threshold != nil || p.NoPrune) {
		return fmt.Errorf("evaluate: ncells, ndocs, threshold and no-prune are PLAID settings; search %s does not use them", o.Search)
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
	System string `json:"system"`
	// Model is the checkpoint's kind (colbert, mv-dpr, poly-encoder, splade).
	Model      string `json:"model_kind,omitempty"`
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
	// PoolFactor > 1: the index stores pooled token vectors.
	PoolFactor int `json:"pool_factor,omitempty"`
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
	// BytesPerPassage is IndexBytes over the live passages (SPLADE's and
	// the poly-encoder's natural unit).
	BytesPerPassage float64 `json:"bytes_per_passage,omitempty"`
	// Seconds per stage: load, index (tokenise + encode + compress),
	// encode_passages (the encoder's share of index, when built here),
	// encode_queries, search, evaluate.
	Seconds map[string]float64 `json:"seconds"`
	// Encoder is the ColBERT encoder backend used (go or ort);
	// EncodeTokensPerSec is the passages' kept vectors per second of
	// encoder time when the index was built here (0 when reused).
	Encoder            string  `json:"encoder"`
	EncodeTokensPerSec float64 `json:"encode_tokens_per_s,omitempty"`
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
		Search: opt.Search, K: opt.Params.K, Seconds: map[string]float64{}, Threads: opt.Threads}
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
	m, err := colbert.LoadWith(opt.Checkpoint, opt.Tokenizer,
		colbert.Options{Encode: encode.Options{Threads: opt.Threads}, Encoder: opt.Encoder, ORTLibrary: opt.ORTLibrary})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	defer m.Close()
	if err := opt.forKind(m.Kind); err != nil {
		return nil, err
	}
	sum.Search = opt.Search
	sum.Model = string(m.Kind)
	sum.Encoder = m.Encoder
	sum.ModelHash, sum.Passages, sum.Queries = m.Hash, len(ds.Corpus), len(ds.Queries)
	sum.Seconds["load"] = time.Since(t0).Seconds()
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}

	var run data.Run
	if opt.Search == SearchRerankBM25 && m.Kind != model.KindPolyEncoder {
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
// (colbert.Model.Key: weights, config, tokenizer file and settings), the
// corpus, the storage and the codec settings.
func indexKey(opt Options, m *colbert.Model, ds *data.Dataset) (string, error) {
	texts := make([]string, 0, 2*len(ds.Corpus))
	for _, p := range ds.Corpus {
		texts = append(texts, p.ID, p.Content())
	}
	corpus := tokenize.TextsHash(texts)
	k := struct {
		Encoder, Corpus string
		// Storage is "" for the residual index and "flat-ids" for the
		// float32 vectors every flat codec is encoded from when opened
		// (with their passage ids; "flat" was the format without them).
		Storage string `json:",omitempty"`
		NBits   int
		Seed    uint64
		// PoolFactor > 1 (absent otherwise, so unpooled keys are as before).
		PoolFactor int `json:",omitempty"`
		PoolKeep   int `json:",omitempty"` // index.PoolKeepFirst when pooled
	}{m.Key, hex.EncodeToString(corpus[:]), "", opt.NBits, opt.Seed, opt.PoolFactor, 0}
	if opt.PoolFactor > 1 {
		k.PoolKeep = index.PoolKeepFirst
	}
	switch opt.Codec {
	case CodecResidual:
	case CodecSparse:
		k.Storage, k.Seed = "sparse", 0
	default:
		k.Storage, k.Seed = "flat-ids", 0 // no sampling, no k-means
	}
	b, err := json.Marshal(k)
	return string(b), err
}

// searchIndex builds or reuses the index, then runs PLAID or exhaustive
// search through the engine.
func searchIndex(ctx context.Context, opt Options, m *colbert.Model, ds *data.Dataset, sum *Summary) (data.Run, error) {
	key, err := indexKey(opt, m, ds)
	if err != nil {
		return nil, err
	}
	if opt.Codec == CodecPCAInt8 && opt.PCAComponents == 0 {
		opt.PCAComponents = max(1, m.Dim()/4)
	}
	sum.NBits, sum.Codec, sum.PCAComponents, sum.IndexDir = opt.NBits, opt.Codec, opt.PCAComponents, opt.IndexDir
	sum.PoolFactor = opt.PoolFactor
	idxDir := filepath.Clean(opt.IndexDir)
	output := filepath.Join(idxDir, "manifest.json")
	if opt.Codec != CodecResidual && opt.Codec != CodecSparse {
		output = filepath.Join(idxDir, flat.VectorsFile)
	}
	enc0 := m.PassageStats()
	build := func(ctx context.Context) error {
		_, err := engine.Build(ctx, m, idxDir, ds.Corpus, engine.BuildOptions{Codec: opt.Codec, Threads: opt.Threads, NewBar: opt.NewBar,
			Index: index.BuildOptions{NBits: opt.NBits, Seed: opt.Seed, Overwrite: true, PoolFactor: opt.PoolFactor}})
		return err
	}
	r := &stage.Runner{StampDir: filepath.Join(filepath.Dir(idxDir), ".stages"), Log: opt.Log}
	indexStage := stage.Stage{Name: "index-" + filepath.Base(idxDir), Key: key, Outputs: []string{output}, Run: build}
	if _, done := r.Done(indexStage); !done && !opt.Reindex {
		if _, err := os.Stat(output); err == nil {
			return nil, fmt.Errorf("evaluate: %s already holds a complete index that was built with other settings (checkpoint, tokenizer, corpus, codec, nbits, seed or pooling) or not by colbert evaluate; "+
				"pass --reindex to replace it, or give another --index", idxDir)
		}
	}
	results, err := r.Run(ctx, indexStage)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	sum.IndexReused = results[0].Reused
	sum.Seconds["index"] = results[0].Seconds
	if enc := m.PassageStats().Sub(enc0); !sum.IndexReused && enc.Passages > 0 {
		sum.Seconds["encode_passages"] = enc.Time.Seconds()
		sum.EncodeTokensPerSec = enc.TokensPerSecond()
	}

	e, err := engine.Open(m, idxDir, engine.OpenOptions{Codec: opt.Codec, PCAComponents: opt.PCAComponents, DecodeOnce: opt.DecodeOnce})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	defer e.Close()
	st := e.Stats()
	sum.IndexBytes, sum.Embeddings, sum.BytesPerToken = st.Bytes, st.Tokens, st.BytesPerToken
	if opt.Codec != CodecResidual && opt.Codec != CodecSparse {
		sum.Seconds["encode_index"] = st.OpenSeconds // read + codec fit + encode
	}
	var res *engine.Results
	var firstStage time.Duration
	if opt.Search == SearchRerankBM25 { // the poly-encoder's reranker over its stored vectors
		var cand data.Run
		if cand, firstStage, err = bm25Candidates(ctx, opt, ds, sum); err != nil {
			return nil, err
		}
		bar := opt.bar("rerank", int64(len(ds.Queries)), "queries")
		res, err = e.Rerank(ctx, ds.Queries, cand, opt.RerankDepth, engine.SearchOptions{Threads: opt.Threads, Bar: bar})
		bar.Finish()
		sum.K = opt.RerankDepth
	} else {
		bar := opt.bar("search", int64(len(ds.Queries)), "queries")
		res, err = e.Search(ctx, ds.Queries, opt.Params, engine.SearchOptions{Exhaustive: opt.Search == SearchExhaustive, Threads: opt.Threads, Bar: bar})
		bar.Finish()
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	sum.BytesPerPassage = st.BytesPerPassage
	if firstStage > 0 {
		sum.Seconds["first_stage"] = firstStage.Seconds()
	}
	sum.Params = res.Params
	sum.Seconds["encode_queries"] = res.Encode.Seconds()
	sum.Seconds["search"] = res.Search.Seconds()
	pc := search.Percentiles(res.PerQuery, 50, 95)
	sum.LatencyP50, sum.LatencyP95 = ms(pc[0]), ms(pc[1])
	sum.MeanMS = ms(res.Encode+res.Search+firstStage) / float64(len(ds.Queries))
	sum.Latencies = make([]float64, len(res.PerQuery))
	for i, r := range res.PerQuery {
		sum.Latencies[i] = ms(r.Latency)
	}
	return res.Run, nil
}

// bm25Candidates is BM25's top RerankDepth of every query (the first
// stage of rerank-bm25) and the time searching took.
func bm25Candidates(ctx context.Context, opt Options, ds *data.Dataset, sum *Summary) (data.Run, time.Duration, error) {
	t0 := time.Now()
	ix, err := bm25.Build(ctx, ds.Corpus, bm25.DefaultParams(), opt.Threads, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("evaluate: bm25: %w", err)
	}
	sum.Seconds["bm25_index"] = time.Since(t0).Seconds()
	t0 = time.Now()
	cand, err := ix.SearchAll(ctx, ds.Queries, opt.RerankDepth, opt.Threads, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("evaluate: bm25: %w", err)
	}
	return cand, time.Since(t0), nil
}

// rerankBM25 rescores BM25's top RerankDepth by exact MaxSim (no index).
func rerankBM25(ctx context.Context, opt Options, m *colbert.Model, ds *data.Dataset, sum *Summary) (data.Run, error) {
	cand, firstStage, err := bm25Candidates(ctx, opt, ds, sum)
	if err != nil {
		return nil, err
	}
	texts := data.NewTexts(ds.Queries, ds.Corpus)
	bar := opt.bar("rerank", 0, "passages")
	t0 := time.Now()
	run, err := rerank.Rerank(ctx, m, texts.Queries, texts.Passages, cand, rerank.Options{Depth: opt.RerankDepth, Threads: opt.Threads, Bar: bar})
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
