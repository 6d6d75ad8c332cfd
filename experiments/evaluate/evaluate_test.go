package evaluate

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/data/testassets"
)

// smallCranfield writes a BEIR folder with the passages judged for the
// first queries of Cranfield plus some others, every judged document present.
func smallCranfield(t *testing.T) string {
	t.Helper()
	src := testassets.Path(t, "classic/cranfield")
	ds, err := data.LoadBEIR(src, "test")
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	var qs []data.Query
	qrels := data.Qrels{}
	for _, q := range ds.Queries[:6] {
		qs = append(qs, q)
		qrels[q.ID] = ds.Qrels[q.ID]
		for d := range ds.Qrels[q.ID] {
			keep[d] = true
		}
	}
	var corpus []data.Passage
	for i, p := range ds.Corpus {
		if keep[p.ID] || i < 40 {
			corpus = append(corpus, p)
		}
	}
	for q, docs := range qrels {
		for d := range docs {
			if !keep[d] {
				delete(qrels[q], d)
			}
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "qrels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteCorpusJSONL(filepath.Join(dir, "corpus.jsonl"), corpus); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteQueriesJSONL(filepath.Join(dir, "queries.jsonl"), qs); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteQrelsTSV(filepath.Join(dir, "qrels", "test.tsv"), qrels); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEvaluateCranfieldHFTiny(t *testing.T) {
	ckpt := testassets.Path(t, "models/hf-tiny/colbert")
	ds := smallCranfield(t)
	ctx := context.Background()
	out := t.TempDir()
	idx := filepath.Join(out, "shared-index")
	base := Options{Checkpoint: ckpt, Dataset: ds, Threads: 2, IndexDir: idx, Seed: 7}

	plaid := base
	plaid.Out = filepath.Join(out, "plaid")
	s1, err := Run(ctx, plaid)
	if err != nil {
		t.Fatal(err)
	}
	if s1.IndexReused {
		t.Error("first run reports a reused index")
	}
	if s1.IndexBytes <= 0 || s1.Embeddings <= 0 || s1.BytesPerToken <= 0 {
		t.Errorf("index size not reported: %+v", s1)
	}
	for _, f := range []string{"metrics.json", "run.trec", "summary.json", "report.md", "metrics.png", "latency.png"} {
		if _, err := os.Stat(filepath.Join(plaid.Out, f)); err != nil {
			t.Errorf("result folder lacks %s", f)
		}
	}
	// The files agree with each other: metrics.json is the run's evaluation.
	assertConsistent(t, plaid.Out, ds)

	// Same checkpoint, corpus and settings: the index is reused. Exhaustive
	// search returns every passage, so every judged document is retrieved.
	ex := base
	ex.Out, ex.Search = filepath.Join(out, "exhaustive"), SearchExhaustive
	s2, err := Run(ctx, ex)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.IndexReused {
		t.Error("second run with the same settings rebuilt the index")
	}
	if r := s2.Mean["recall@1000"]; math.Abs(r-1) > 1e-12 {
		t.Errorf("exhaustive recall@1000 over %d passages = %v, want 1", s2.Passages, r)
	}
	report, _ := os.ReadFile(filepath.Join(ex.Out, "report.md"))
	if !strings.Contains(string(report), "reused") || !strings.Contains(string(report), "| ndcg@10 |") {
		t.Errorf("report.md does not say the index was reused or lacks the metrics table:\n%s", report)
	}

	// Different settings (1-bit): the 2-bit index the caller pointed at is
	// not rebuilt over without Reindex — refused, the error saying how,
	// and left as it was; with Reindex it is rebuilt in place.
	manifest := filepath.Join(idx, "manifest.json")
	before, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	one := base
	one.Out, one.NBits = filepath.Join(out, "nbits1"), 1
	if _, err := Run(ctx, one); err == nil || !strings.Contains(err.Error(), idx) || !strings.Contains(err.Error(), "--reindex") {
		t.Fatalf("1-bit run over the 2-bit index without Reindex: %v", err)
	}
	if after, _ := os.ReadFile(manifest); !bytes.Equal(before, after) {
		t.Fatal("a refused run changed the index")
	}
	one.Reindex = true
	s3, err := Run(ctx, one)
	if err != nil {
		t.Fatal(err)
	}
	if s3.IndexReused || s3.NBits != 1 {
		t.Errorf("1-bit run: reused %v, nbits %d", s3.IndexReused, s3.NBits)
	}
	if s3.IndexBytes >= s1.IndexBytes {
		t.Errorf("1-bit index (%d B) not smaller than the 2-bit one (%d B)", s3.IndexBytes, s1.IndexBytes)
	}
}

func TestEvaluateRerankBM25KeepsCandidates(t *testing.T) {
	ckpt := testassets.Path(t, "models/hf-tiny/colbert")
	dsDir := smallCranfield(t)
	out := t.TempDir()
	opt := Options{Checkpoint: ckpt, Dataset: dsDir, Search: SearchRerankBM25, RerankDepth: 10, Out: out, Threads: 2}
	sum, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.IndexDir != "" || sum.IndexBytes != 0 {
		t.Errorf("rerank-bm25 reports an index: %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(out, "index")); err == nil {
		t.Error("rerank-bm25 built an index")
	}
	// Reranking reorders BM25's top 10; it neither adds nor drops documents.
	ds, err := data.LoadBEIR(dsDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := bm25.Build(context.Background(), ds.Corpus, bm25.DefaultParams(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := data.ReadTRECRun(filepath.Join(out, "run.trec"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range ds.Queries {
		want := map[string]bool{}
		for _, d := range ix.Search(q.Text, 10) {
			want[d.DocID] = true
		}
		got := run[q.ID]
		if len(got) != len(want) {
			t.Fatalf("query %s: %d reranked documents, BM25 top 10 has %d", q.ID, len(got), len(want))
		}
		for _, d := range got {
			if !want[d.DocID] {
				t.Errorf("query %s: %s is not in BM25's top 10", q.ID, d.DocID)
			}
		}
	}
	assertConsistent(t, out, dsDir)
}

func assertConsistent(t *testing.T, out, dsDir string) {
	t.Helper()
	ds, err := data.LoadBEIR(dsDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	run, err := data.ReadTRECRun(filepath.Join(out, "run.trec"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := metrics.Evaluate(ds.Qrels, run, DefaultMeasures)
	if err != nil {
		t.Fatal(err)
	}
	got, err := metrics.ReadJSON(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range DefaultMeasures {
		if math.Abs(got.Mean[m]-want.Mean[m]) > 1e-9 {
			t.Errorf("%s: metrics.json %v, run.trec evaluates to %v", m, got.Mean[m], want.Mean[m])
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Run(ctx, Options{Checkpoint: "x", Dataset: dir, Out: dir, Search: "hnsw"}); err == nil || !strings.Contains(err.Error(), "hnsw") {
		t.Errorf("unknown search mode: %v", err)
	}
	if _, err := Run(ctx, Options{Dataset: dir, Out: dir}); err == nil {
		t.Error("missing checkpoint accepted")
	}
	missing := filepath.Join(dir, "nope")
	if _, err := Run(ctx, Options{Checkpoint: "x", Dataset: missing, Out: dir}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing dataset: %v", err)
	}
}
