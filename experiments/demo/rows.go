package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/distill"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/experiments/report"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/colbert-go/colbert/search/rerank"
)

// Row is one system of the comparison table, as rows/<slug>/row.json.
type Row struct {
	Slug   string             `json:"slug"`
	System string             `json:"system"`
	Mean   map[string]float64 `json:"mean"`
	// Queries evaluated.
	Queries int `json:"queries"`
	// IndexBytes is what the system stores to answer queries (0: none).
	IndexBytes int64 `json:"index_bytes"`
	// BytesPerToken of the stored vectors (0 when not token-level).
	BytesPerToken float64 `json:"bytes_per_token"`
	// BytesPerPassage is the index over its passages.
	BytesPerPassage float64 `json:"bytes_per_passage,omitempty"`
	// MSPerQuery is wall time per query including query encoding.
	MSPerQuery float64 `json:"ms_per_query"`
	// LatencyP50/P95 are per-query search latencies when measured, ms.
	LatencyP50 float64 `json:"latency_p50_ms,omitempty"`
	LatencyP95 float64 `json:"latency_p95_ms,omitempty"`
	Note       string  `json:"note,omitempty"`
	// NotRun explains why the row has no numbers.
	NotRun string `json:"not_run,omitempty"`
	// NDCG10 holds per-query nDCG@10 (from the row's metrics.json) for the
	// verdict's significance tests; nil when unknown.
	NDCG10 map[string]float64 `json:"-"`
}

func writeRow(p paths, r Row) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return report.WriteFile(p.row(r.Slug), append(b, '\n'))
}

func readRow(path string) (Row, error) {
	var r Row
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("demo: %s: %w", path, err)
	}
	return r, nil
}

// evalRun scores a run on the test split and writes it with its row.
func evalRun(p paths, ds *data.Dataset, run data.Run, r Row, tag string) error {
	res, err := metrics.Evaluate(ds.Qrels, run, Measures)
	if err != nil {
		return err
	}
	r.Mean, r.Queries = res.Mean, res.NumQueries
	if err := os.MkdirAll(p.rowDir(r.Slug), 0o755); err != nil {
		return err
	}
	if err := data.WriteTRECRun(p.run(r.Slug), run, tag); err != nil {
		return err
	}
	if err := res.WriteJSON(filepath.Join(p.rowDir(r.Slug), "metrics.json")); err != nil {
		return err
	}
	return writeRow(p, r)
}

func testSet(p paths) (*data.Dataset, error) { return data.LoadBEIR(p.benchmark(), "test") }

// runBM25 ranks the test queries of the written benchmark with BM25, reading
// the files back as any user's BEIR folder would be read.
func runBM25(ctx context.Context, p paths, k, threads int) error {
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	ix, err := bm25.Build(ctx, ds.Corpus, bm25.DefaultParams(), threads, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	run, err := ix.SearchAll(ctx, ds.Queries, k, threads, nil)
	if err != nil {
		return err
	}
	el := time.Since(start)
	return evalRun(p, ds, run, Row{Slug: "bm25", System: "BM25 (k1 0.9, b 0.4)", MSPerQuery: msPer(el, len(ds.Queries)) * float64(threads),
		Note: "in-memory inverted index, not counted as index size"}, "bm25")
}

func msPer(d time.Duration, n int) float64 {
	return float64(d) / float64(time.Millisecond) / float64(max(1, n))
}

// plaidRow evaluates a student with a 2-bit index and PLAID through
// experiments/evaluate (the same code as `colbert evaluate`).
func plaidRow(ctx context.Context, p paths, opt Options, slug, system, ckpt, indexName string) error {
	return evaluatedRow(ctx, p, opt, evaluate.Options{Checkpoint: ckpt, NBits: opt.Config.NBits, Search: evaluate.SearchPLAID,
		IndexDir: p.j(indexName), Name: system}, slug, "")
}

// evaluatedRow runs `colbert evaluate`'s code (experiments/evaluate) on the
// test split with o's checkpoint, index and search settings, and records
// the result as row slug.
func evaluatedRow(ctx context.Context, p paths, opt Options, o evaluate.Options, slug, note string) error {
	o.Tokenizer, o.Dataset, o.Split, o.Params.K = p.vocab(), p.benchmark(), "test", opt.Config.K
	o.Out, o.Threads, o.Seed, o.Measures, o.Log = p.j("eval", slug), opt.Threads, opt.Config.IndexSeed, Measures, opt.Log
	o.Reindex = true // the demo's index directories are its own, rebuilt when their stage's settings change
	sum, err := evaluate.Run(ctx, o)
	if err != nil {
		return err
	}
	run, err := data.ReadTRECRun(filepath.Join(o.Out, "run.trec"))
	if err != nil {
		return err
	}
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	switch {
	case sum.Params != nil:
		note = fmt.Sprintf("ncells %d, ndocs %d, threshold %g", sum.Params.NCells, sum.Params.NDocs, sum.Params.EffectiveThreshold())
	case sum.Codec == evaluate.CodecSparse:
		note = fmt.Sprintf("%.0f postings per passage (uint8 impacts), %s", float64(sum.Embeddings)/float64(max(1, sum.Passages)), sum.Search)
	}
	// Latency with Threads queries in flight; ms/query counts one core per query.
	bpt := sum.BytesPerToken
	if sum.Codec == evaluate.CodecSparse || sum.Model == string(model.KindPolyEncoder) || sum.Model == string(model.KindBiEncoder) {
		bpt = 0 // not token vectors: BytesPerPassage says it
	}
	return evalRun(p, ds, run, Row{Slug: slug, System: o.Name, IndexBytes: sum.IndexBytes, BytesPerToken: bpt, BytesPerPassage: sum.BytesPerPassage,
		MSPerQuery: sum.MeanMS * float64(opt.Threads), LatencyP50: sum.LatencyP50, LatencyP95: sum.LatencyP95, Note: note}, slug)
}

// uncompressedRows are ColBERT without the residual index: every kept token
// vector stored as fp32, fp16 or PCA+int8 in one flat index (codec/flat),
// searched exhaustively through experiments/evaluate (the "naive index" of
// the seed's latency analysis). The faiss peer row reads the same vectors.
func uncompressedRows(ctx context.Context, p paths, opt Options, ckpt string) error {
	for _, r := range []struct{ slug, system, note string }{
		{evaluate.CodecFP32, "ColBERT uncompressed fp32, exhaustive", "exact MaxSim over every passage"},
		{evaluate.CodecFP16, "ColBERT fp16 (naive index), exhaustive", "vectors decoded once; the scan is over the decoded float32"},
		{evaluate.CodecPCAInt8, fmt.Sprintf("ColBERT PCA-%d + int8, exhaustive", opt.Config.PCAComponents), "vectors decoded once; the scan is over the decoded float32"},
	} {
		if err := evaluatedRow(ctx, p, opt, evaluate.Options{Checkpoint: ckpt, Codec: r.slug, PCAComponents: opt.Config.PCAComponents,
			Search: evaluate.SearchExhaustive, IndexDir: p.j("index-flat"), Name: r.system, DecodeOnce: true}, r.slug, r.note); err != nil {
			return err
		}
	}
	m, err := colbert.Load(ckpt, p.vocab(), encode.Options{Threads: opt.Threads})
	if err != nil {
		return err
	}
	v, err := flat.ReadVectors(p.j("index-flat"), m.Key, m.Dim())
	if err != nil {
		return err
	}
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	qv, err := m.EncodeQueries(ctx, ds.Queries)
	if err != nil {
		return err
	}
	return dumpVectors(p.j("vectors"), v, qv, ds.Queries)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// biEncoderRow is the single-vector baseline through experiments/evaluate
// (the same code as `colbert evaluate`): one [CLS] vector per passage in a
// flat fp32 index, searched exhaustively (exact dot products).
func biEncoderRow(ctx context.Context, p paths, opt Options, ckpt string) error {
	return evaluatedRow(ctx, p, opt, evaluate.Options{Checkpoint: ckpt, Codec: evaluate.CodecFP32, Search: evaluate.SearchExhaustive,
		IndexDir: p.j("index-bi-encoder"), Name: "single-vector bi-encoder ([CLS], from the KL student's encoder, KL on the same teacher scores)"},
		"bi-encoder", "fp32 vectors, exhaustive dot product")
}

// hybridRow fuses BM25 and ColBERTv2 runs: w·norm(BM25) + (1−w)·norm(ColBERT).
func hybridRow(p paths, w float64) error {
	return fusionRow(p, "bm25", "colbertv2", w, "hybrid", fmt.Sprintf("hybrid %.1f BM25 + %.1f ColBERTv2 (min-max fusion)", w, 1-w),
		"BM25 and PLAID runs fused per query")
}

// fusionRow fuses two rows' runs per query, w·norm(a) + (1−w)·norm(b)
// (rerank.Fuse), as row slug; it stores both indexes and costs both.
func fusionRow(p paths, a, b string, w float64, slug, system, note string) error {
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	runA, err := data.ReadTRECRun(p.run(a))
	if err != nil {
		return err
	}
	runB, err := data.ReadTRECRun(p.run(b))
	if err != nil {
		return err
	}
	ra, err := readRow(p.row(a))
	if err != nil {
		return err
	}
	rb, err := readRow(p.row(b))
	if err != nil {
		return err
	}
	return evalRun(p, ds, rerank.Fuse(runA, runB, w), Row{Slug: slug, System: system,
		IndexBytes: ra.IndexBytes + rb.IndexBytes, MSPerQuery: ra.MSPerQuery + rb.MSPerQuery, Note: note}, slug)
}

// exportTeacher writes the trained cross-encoder as ONNX.
func exportTeacher(ckpt, out string) error {
	ck, err := model.LoadCheckpoint(ckpt)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return onnx.WriteFile(out, ck.Config, ck.Params, onnx.CrossEncoder)
}

// openTeacher opens the exported teacher with the demo's vocabulary, and
// the benchmark's texts it reads.
func openTeacher(p paths, opt Options, maxLen int) (*distill.Teacher, data.Texts, error) {
	t, err := distill.OpenTeacher(distill.TeacherOptions{Model: p.teacherONNX(), Tokenizer: p.vocab(), MaxLen: maxLen,
		Name: "demo teacher", Library: opt.ORTLibrary, IntraOpThreads: opt.Threads})
	if err != nil {
		return nil, data.Texts{}, err
	}
	fail := func(err error) (*distill.Teacher, data.Texts, error) { t.Close(); return nil, data.Texts{}, err }
	corpus, err := data.ReadCorpusJSONL(p.corpus())
	if err != nil {
		return fail(err)
	}
	qs, err := data.ReadQueriesJSONL(p.queries())
	if err != nil {
		return fail(err)
	}
	return t, data.NewTexts(qs, corpus), nil
}

// teacherPairs batches the teacher's forward passes.
func teacherPairs(opt Options) distill.PairOptions {
	return distill.PairOptions{BatchSize: opt.Config.ScoreBatch, Bucket: true, Threads: opt.Threads, Workers: 1}
}

// scoreCandidates scores the training candidates with the ONNX teacher.
func scoreCandidates(ctx context.Context, p paths, opt Options, maxLen int) error {
	t, texts, err := openTeacher(p, opt, maxLen)
	if err != nil {
		return err
	}
	defer t.Close()
	_, err = t.ScoreFile(ctx, p.trainLists(), p.scores(), texts, distill.ScoreOptions{Pairs: teacherPairs(opt)})
	return err
}

// teacherRerankRow is the quality ceiling: the teacher reranks BM25's top
// RerankDepth of every test query.
func teacherRerankRow(ctx context.Context, p paths, opt Options, maxLen int) error {
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	t, texts, err := openTeacher(p, opt, maxLen)
	if err != nil {
		return err
	}
	defer t.Close()
	bm, err := data.ReadTRECRun(p.run("bm25"))
	if err != nil {
		return err
	}
	rb, err := readRow(p.row("bm25"))
	if err != nil {
		return err
	}
	start := time.Now()
	run, err := t.Rerank(ctx, bm, texts, opt.Config.RerankDepth, teacherPairs(opt), nil)
	if err != nil {
		return err
	}
	el := time.Since(start)
	return evalRun(p, ds, run, Row{Slug: "teacher-rerank", System: fmt.Sprintf("teacher cross-encoder reranking BM25 top %d (ceiling)", opt.Config.RerankDepth),
		MSPerQuery: rb.MSPerQuery + msPer(el, len(ds.Queries))*float64(opt.Threads), Note: "ONNX Runtime; recall@1000 is bounded by the rerank depth"}, "teacher-rerank")
}

// drawCandidates writes n-way training lists to out (the ones the teacher
// scores, or the teacher's own) for the train queries, drawn by
// distill.Mine as `colbert distill candidates` draws them.
func drawCandidates(ctx context.Context, p paths, cfg distill.CandidateConfig, out string, threads int) error {
	ds, err := data.LoadBEIR(p.benchmark(), "train")
	if err != nil {
		return err
	}
	exs, _, err := distill.Mine(ctx, ds.Corpus, ds.Queries, ds.Qrels, cfg, distill.MineOptions{Threads: threads})
	if err != nil {
		return err
	}
	if len(exs) == 0 {
		return fmt.Errorf("demo: no candidate list could be drawn for %s", out)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return data.WriteExamplesJSONL(out, exs)
}
