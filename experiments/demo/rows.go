package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/colbert-go/colbert/codec"
	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/codec/pcaq"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/distill"
	"github.com/colbert-go/colbert/distill/ort"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/experiments/report"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/indexer"
	"github.com/colbert-go/colbert/search/memindex"
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
	sum, err := evaluate.Run(ctx, evaluate.Options{
		Checkpoint: ckpt, Tokenizer: p.vocab(), Dataset: p.benchmark(), Split: "test", NBits: opt.Config.NBits,
		Search: evaluate.SearchPLAID, K: opt.Config.K, Out: p.j("eval", slug), IndexDir: p.j(indexName),
		Threads: opt.Threads, Seed: opt.Config.IndexSeed, Measures: Measures, Name: system, Log: opt.Log,
	})
	if err != nil {
		return err
	}
	run, err := data.ReadTRECRun(filepath.Join(p.j("eval", slug), "run.trec"))
	if err != nil {
		return err
	}
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	// Latency with Threads queries in flight; ms/query counts one core per query.
	return evalRun(p, ds, run, Row{Slug: slug, System: system, IndexBytes: sum.IndexBytes, BytesPerToken: sum.BytesPerToken,
		MSPerQuery: sum.MeanMS * float64(opt.Threads), LatencyP50: sum.LatencyP50, LatencyP95: sum.LatencyP95,
		Note: fmt.Sprintf("ncells %d, ndocs %d, threshold %g", sum.Params.NCells, sum.Params.NDocs, sum.Params.EffectiveThreshold())}, slug)
}

// uncompressedRows are ColBERT without the residual index: every kept token
// vector stored as fp32, fp16 or PCA+int8, searched exhaustively (the
// "naive index" of the seed's latency analysis).
func uncompressedRows(ctx context.Context, p paths, opt Options, ckpt string) error {
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	m, err := indexer.Load(ckpt, p.vocab(), encode.Options{Threads: opt.Threads})
	if err != nil {
		return err
	}
	texts := make([]string, len(ds.Corpus))
	for i, ps := range ds.Corpus {
		texts[i] = ps.Content()
	}
	dv, err := m.EncodeDocTexts(ctx, texts)
	if err != nil {
		return err
	}
	texts = nil
	dim := dv.Dim
	doclens := make([]int, len(ds.Corpus))
	for i := range doclens {
		doclens[i] = dv.Len(i)
	}
	ntok := len(dv.Vectors) / dim
	start := time.Now()
	qv, err := m.EncodeQueries(ctx, ds.Queries)
	if err != nil {
		return err
	}
	qEnc := time.Since(start)
	if err := dumpVectors(p.j("vectors"), dv, qv, ds.Corpus, ds.Queries); err != nil {
		return err
	}
	sample := dv.Vectors[:min(len(dv.Vectors), 100000*dim)]
	pca, err := pcaq.Fit(sample, dim, opt.Config.PCAComponents)
	if err != nil {
		return err
	}
	docBytes := int64(4 * len(doclens)) // doclens
	rows := []struct {
		slug, system string
		c            codec.VectorCodec
		extra        int64
	}{
		{"fp32", "ColBERT uncompressed fp32, exhaustive", flat.FP32{Dim: dim}, 0},
		{"fp16", "ColBERT fp16 (naive index), exhaustive", flat.FP16{Dim: dim}, 0},
		{"pca-int8", fmt.Sprintf("ColBERT PCA-%d + int8, exhaustive", opt.Config.PCAComponents), pca,
			int64(4 * (dim + opt.Config.PCAComponents*dim + opt.Config.PCAComponents))},
	}
	for _, r := range rows {
		vecs := dv.Vectors
		if _, exact := r.c.(flat.FP32); !exact {
			buf := make([]byte, r.c.BytesPerVector()*ntok)
			r.c.Encode(dv.Vectors, buf)
			vecs = make([]float32, len(dv.Vectors))
			r.c.Decode(buf, vecs)
		}
		mi, err := memindex.Build(ctx, vecs, doclens, dim, memindex.Options{K: 8, Seed: opt.Config.IndexSeed, Threads: opt.Threads})
		if err != nil {
			return err
		}
		s, err := search.NewSearcher(mi)
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := s.SearchBatch(ctx, qv, dim, search.DefaultParams(opt.Config.K), search.BatchOptions{Threads: opt.Threads, Exhaustive: true})
		if err != nil {
			return err
		}
		wall := time.Since(start)
		run := make(data.Run, len(ds.Queries))
		for i, q := range ds.Queries {
			docs := make([]data.ScoredDoc, len(res[i].Hits))
			for j, h := range res[i].Hits {
				docs[j] = data.ScoredDoc{DocID: ds.Corpus[h.PID].ID, Score: float64(h.Score)}
			}
			run[q.ID] = docs
		}
		pc := search.Percentiles(res, 50, 95)
		size := int64(r.c.BytesPerVector())*int64(ntok) + docBytes + r.extra
		note := "vectors decoded once; the scan is over the decoded float32"
		if r.slug == "fp32" {
			note = "exact MaxSim over every passage"
		}
		if err := evalRun(p, ds, run, Row{Slug: r.slug, System: r.system, IndexBytes: size, BytesPerToken: float64(size) / float64(ntok),
			MSPerQuery: (msPer(qEnc, len(qv)) + msPer(wall, len(qv))) * float64(opt.Threads),
			LatencyP50: ms(pc[0]), LatencyP95: ms(pc[1]), Note: note}, r.slug); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// biEncoderRow is the single-vector baseline: one [CLS] vector per passage,
// brute-force dot product.
func biEncoderRow(ctx context.Context, p paths, opt Options, ckpt string) error {
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	ck, err := model.LoadCheckpoint(ckpt)
	if err != nil {
		return err
	}
	be, err := encode.NewBiEncoder(ck, encode.Options{Threads: opt.Threads})
	if err != nil {
		return err
	}
	tok, err := tokenize.Load(p.vocab())
	if err != nil {
		return err
	}
	enc, err := tokenize.NewColBERT(tok, encode.TokenizerConfig(ck.ColBERT))
	if err != nil {
		return err
	}
	dim := be.Dim()
	docs := make([]float32, 0, len(ds.Corpus)*dim)
	const block = 256
	for lo := 0; lo < len(ds.Corpus); lo += block {
		hi := min(lo+block, len(ds.Corpus))
		texts := make([]string, 0, hi-lo)
		for _, ps := range ds.Corpus[lo:hi] {
			texts = append(texts, ps.Content())
		}
		v, err := be.Encode(ctx, encode.FromTokenize(enc.EncodeDocs(texts)))
		if err != nil {
			return err
		}
		docs = append(docs, v...)
	}
	k := min(opt.Config.K, len(ds.Corpus))
	run := make(data.Run, len(ds.Queries))
	start := time.Now()
	for _, q := range ds.Queries {
		qv, err := be.Encode(ctx, encode.FromTokenize(enc.EncodeQueries([]string{q.Text})))
		if err != nil {
			return err
		}
		run[q.ID] = topDot(qv, docs, dim, k, ds.Corpus)
	}
	el := time.Since(start)
	size := int64(4 * len(docs))
	return evalRun(p, ds, run, Row{Slug: "bi-encoder", System: "single-vector bi-encoder ([CLS], from the KL student's encoder, KL on the same teacher scores)",
		IndexBytes: size, MSPerQuery: msPer(el, len(ds.Queries)), Note: "fp32 vectors, brute-force dot product, one query at a time"}, "bi-encoder")
}

// topDot returns the k passages with the largest dot product with q.
func topDot(q, docs []float32, dim, k int, corpus []data.Passage) []data.ScoredDoc {
	n := len(docs) / dim
	scores := make([]data.ScoredDoc, n)
	for i := 0; i < n; i++ {
		d := docs[i*dim : (i+1)*dim]
		var s float32
		for j, v := range q {
			s += v * d[j]
		}
		scores[i] = data.ScoredDoc{DocID: corpus[i].ID, Score: float64(s)}
	}
	slices.SortFunc(scores, func(a, b data.ScoredDoc) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return scores[:k]
}

// hybridRow fuses BM25 and ColBERTv2 runs: w·norm(BM25) + (1−w)·norm(ColBERT).
func hybridRow(p paths, w float64) error {
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	a, err := data.ReadTRECRun(p.run("bm25"))
	if err != nil {
		return err
	}
	b, err := data.ReadTRECRun(p.run("colbertv2"))
	if err != nil {
		return err
	}
	ra, err := readRow(p.row("bm25"))
	if err != nil {
		return err
	}
	rb, err := readRow(p.row("colbertv2"))
	if err != nil {
		return err
	}
	return evalRun(p, ds, rerank.Fuse(a, b, w), Row{Slug: "hybrid",
		System:     fmt.Sprintf("hybrid %.1f BM25 + %.1f ColBERTv2 (min-max fusion)", w, 1-w),
		IndexBytes: rb.IndexBytes, MSPerQuery: ra.MSPerQuery + rb.MSPerQuery, Note: "BM25 and PLAID runs fused per query"}, "hybrid")
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

// teacher is the ONNX cross-encoder opened in ONNX Runtime.
type teacher struct {
	rt     *ort.Runtime
	ce     *ort.CrossEncoder
	tok    *tokenize.Tokenizer
	pair   distill.PairTokenizer
	pad    int32
	q, doc map[string]string
}

func (t *teacher) close() {
	if t.ce != nil {
		t.ce.Close()
	}
	if t.rt != nil {
		t.rt.Close()
	}
}

func openTeacher(p paths, opt Options, maxLen int) (*teacher, error) {
	t := &teacher{}
	var err error
	fail := func(err error) (*teacher, error) { t.close(); return nil, err }
	if t.rt, err = ort.NewRuntime(opt.ORTLibrary); err != nil {
		return fail(err)
	}
	if t.ce, err = t.rt.NewCrossEncoder(p.teacherONNX(), ort.Options{IntraOpThreads: opt.Threads}); err != nil {
		return fail(err)
	}
	if t.tok, err = tokenize.Load(p.vocab()); err != nil {
		return fail(err)
	}
	if t.pair, t.pad, err = distill.HFPairTokenizer(t.tok, maxLen); err != nil {
		return fail(err)
	}
	corpus, err := data.ReadCorpusJSONL(p.corpus())
	if err != nil {
		return fail(err)
	}
	qs, err := data.ReadQueriesJSONL(p.queries())
	if err != nil {
		return fail(err)
	}
	t.q, t.doc = make(map[string]string, len(qs)), make(map[string]string, len(corpus))
	for _, q := range qs {
		t.q[q.ID] = q.Text
	}
	for _, ps := range corpus {
		t.doc[ps.ID] = ps.Content()
	}
	return t, nil
}

// scoreCandidates scores the training candidates with the ONNX teacher.
func scoreCandidates(ctx context.Context, p paths, opt Options, maxLen int) error {
	t, err := openTeacher(p, opt, maxLen)
	if err != nil {
		return err
	}
	defer t.close()
	format, err := distill.FormatFor(p.scores())
	if err != nil {
		return err
	}
	in, err := distill.FormatFor(p.trainLists())
	if err != nil {
		return err
	}
	hash, err := distill.FileSHA256(p.teacherONNX())
	if err != nil {
		return err
	}
	_, err = distill.Score(ctx, distill.ScoreJob{
		Candidates: p.trainLists(), Out: p.scores(), Format: format, CandidatesFormat: in,
		Queries: t.q, Passages: t.doc, Tokenize: t.pair, Teacher: t.ce,
		Settings: map[string]string{"teacher": "demo teacher", "teacher_sha256": hash, "tokenizer_sha256": distill.TokenizerHash(t.tok),
			"max_len": strconv.Itoa(maxLen), "teacher_token_ids": strconv.FormatBool(t.ce.UsesTokenTypes())},
		Pairs: distill.PairOptions{BatchSize: opt.Config.ScoreBatch, Bucket: true, Threads: opt.Threads, PadID: t.pad, Workers: 1},
	})
	return err
}

// teacherRerankRow is the quality ceiling: the teacher reranks BM25's top
// RerankDepth of every test query.
func teacherRerankRow(ctx context.Context, p paths, opt Options, maxLen int) error {
	ds, err := testSet(p)
	if err != nil {
		return err
	}
	t, err := openTeacher(p, opt, maxLen)
	if err != nil {
		return err
	}
	defer t.close()
	bm, err := data.ReadTRECRun(p.run("bm25"))
	if err != nil {
		return err
	}
	rb, err := readRow(p.row("bm25"))
	if err != nil {
		return err
	}
	start := time.Now()
	run, err := distill.Rerank(ctx, bm, t.q, t.doc, opt.Config.RerankDepth, t.pair, t.ce,
		distill.PairOptions{BatchSize: opt.Config.ScoreBatch, Bucket: true, Threads: opt.Threads, PadID: t.pad, Workers: 1}, nil)
	if err != nil {
		return err
	}
	el := time.Since(start)
	return evalRun(p, ds, run, Row{Slug: "teacher-rerank", System: fmt.Sprintf("teacher cross-encoder reranking BM25 top %d (ceiling)", opt.Config.RerankDepth),
		MSPerQuery: rb.MSPerQuery + msPer(el, len(ds.Queries))*float64(opt.Threads), Note: "ONNX Runtime; recall@1000 is bounded by the rerank depth"}, "teacher-rerank")
}

// drawCandidates writes n-way training lists to out (the ones the teacher
// scores, or the teacher's own): for each train query, its positive and
// negatives drawn from BM25's top cfg.Depth, as `colbert distill
// candidates` does.
func drawCandidates(ctx context.Context, p paths, cfg distill.CandidateConfig, out string, threads int) error {
	ds, err := data.LoadBEIR(p.benchmark(), "train")
	if err != nil {
		return err
	}
	var exs []data.Example
	if cfg.Random {
		exs, _, err = distill.RandomCandidates(ds.Queries, ds.Qrels, ds.Corpus, cfg)
	} else {
		queries := cfg.FirstQueries(ds.Queries) // no need to search for queries that get no list
		var ix *bm25.Index
		if ix, err = bm25.Build(ctx, ds.Corpus, bm25.DefaultParams(), threads, nil); err != nil {
			return err
		}
		var run data.Run
		if run, err = ix.SearchAll(ctx, queries, cfg.Depth, threads, nil); err != nil {
			return err
		}
		exs, _, err = distill.Candidates(queries, ds.Qrels, run, cfg)
	}
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
