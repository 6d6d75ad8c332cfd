package synth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/data/parquetio"
	"github.com/colbert-go/colbert/experiments/synth"
)

// The default benchmark and its BM25 index, made once for the tests that
// need the real default sizes.
var (
	defaultOnce  sync.Once
	defaultBench *synth.Benchmark
	defaultIx    *bm25.Index
	defaultErr   error
)

func makeDefault() {
	defaultBench, defaultErr = synth.Generate(context.Background(), synth.DefaultConfig(), 2, nil)
	if defaultErr == nil {
		defaultIx, defaultErr = bm25.Build(context.Background(), defaultBench.Corpus, bm25.DefaultParams(), 2, nil)
	}
}

func defaultBenchmark(t *testing.T) *synth.Benchmark {
	defaultOnce.Do(makeDefault)
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultBench
}

func defaultIndex(t *testing.T) *bm25.Index {
	defaultOnce.Do(makeDefault)
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultIx
}

// small is a reduced configuration for the structural tests.
func small(seed int64) synth.Config {
	c := synth.DefaultConfig()
	c.Seed, c.Passages, c.Topics, c.Train, c.Dev, c.Test = seed, 3000, 8, 400, 60, 60
	return c
}

func generate(t *testing.T, cfg synth.Config, threads int) *synth.Benchmark {
	t.Helper()
	b, err := synth.Generate(context.Background(), cfg, threads, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeDir(t *testing.T, b *synth.Benchmark) string {
	t.Helper()
	dir := t.TempDir()
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// readTree returns every file under dir by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		buf, err := os.ReadFile(p)
		out[rel] = buf
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeterminism: the same seed gives byte-identical files whatever the
// thread count; another seed gives different files.
func TestDeterminism(t *testing.T) {
	a := readTree(t, writeDir(t, generate(t, small(3), 1)))
	b := readTree(t, writeDir(t, generate(t, small(3), 2)))
	want := []string{"README.md", "corpus.jsonl", "manifest.json", "queries.jsonl", "qrels/dev.tsv", "qrels/test.tsv", "qrels/train.tsv",
		"train_candidates.jsonl", "corpus.parquet", "queries.parquet", "train_candidates.parquet"}
	for _, f := range want {
		if len(a[f]) == 0 {
			t.Errorf("file %s missing or empty", f)
		}
	}
	if len(a) != len(b) {
		t.Fatalf("%d files vs %d", len(a), len(b))
	}
	for f, buf := range a {
		if !bytes.Equal(buf, b[f]) {
			t.Errorf("%s differs between two runs with seed 3", f)
		}
	}
	c := readTree(t, writeDir(t, generate(t, small(4), 2)))
	for _, f := range []string{"corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "train_candidates.jsonl", "corpus.parquet"} {
		if bytes.Equal(a[f], c[f]) {
			t.Errorf("%s identical for seeds 3 and 4", f)
		}
	}
}

// TestStructure checks the promises of the format: ids exist, grades,
// candidates, the split sizes, and the files read back with the data readers.
func TestStructure(t *testing.T) {
	cfg := small(5)
	b := generate(t, cfg, 2)
	dir := writeDir(t, b)
	if !synth.UpToDate(dir, cfg) {
		t.Fatal("UpToDate false right after Write")
	}
	other := cfg
	other.Seed++
	if synth.UpToDate(dir, other) {
		t.Fatal("UpToDate true for another seed")
	}

	corpus, err := data.ReadCorpusJSONL(filepath.Join(dir, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(corpus, b.Corpus) {
		t.Fatal("corpus.jsonl does not read back to the generated corpus")
	}
	ids := map[string]bool{}
	for _, p := range corpus {
		n := len(strings.Fields(p.Text))
		if n < cfg.MinLen || n > cfg.MaxLen {
			t.Fatalf("passage %s has %d words, want %d–%d", p.ID, n, cfg.MinLen, cfg.MaxLen)
		}
		ids[p.ID] = true
	}
	queries := map[string]bool{}
	for _, q := range b.Queries {
		queries[q.ID] = true
	}
	sizes := map[string]int{"train": cfg.Train, "dev": cfg.Dev, "test": cfg.Test}
	seenQ := map[string]string{}
	for split, n := range sizes {
		ds, err := data.LoadBEIR(dir, split)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Qrels) != n || len(ds.Queries) != n || len(b.SplitQueries(split)) != n {
			t.Fatalf("%s: %d qrels queries, %d loaded, want %d", split, len(ds.Qrels), len(ds.Queries), n)
		}
		for qid, judged := range ds.Qrels {
			if prev, dup := seenQ[qid]; dup {
				t.Fatalf("query %s in %s and %s", qid, prev, split)
			}
			seenQ[qid] = split
			twos := 0
			for d, g := range judged {
				if !ids[d] {
					t.Fatalf("%s: qrels doc %s not in corpus", split, d)
				}
				if g != 1 && g != 2 {
					t.Fatalf("%s: grade %d", split, g)
				}
				if g == 2 {
					twos++
				}
			}
			if twos != 1 {
				t.Fatalf("%s: query %s has %d grade-2 passages", split, qid, twos)
			}
		}
	}
	exs, err := data.ReadExamples(filepath.Join(dir, "train_candidates.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	pqCorpus, meta, err := parquetio.ReadPassages(filepath.Join(dir, "corpus.parquet"))
	if err != nil || !reflect.DeepEqual(pqCorpus, b.Corpus) || meta["seed"] != "5" {
		t.Fatalf("corpus.parquet: %v, meta %v, equal %v", err, meta, reflect.DeepEqual(pqCorpus, b.Corpus))
	}
	pqQueries, _, err := parquetio.ReadQueries(filepath.Join(dir, "queries.parquet"))
	if err != nil || !reflect.DeepEqual(pqQueries, b.Queries) {
		t.Fatalf("queries.parquet: %v", err)
	}
	pqExs, _, err := parquetio.ReadExamples(filepath.Join(dir, "train_candidates.parquet"))
	if err != nil || !reflect.DeepEqual(pqExs, exs) {
		t.Fatalf("train_candidates.parquet differs from the JSONL: %v", err)
	}
	if len(exs) != cfg.Train {
		t.Fatalf("%d training examples, want %d", len(exs), cfg.Train)
	}
	train := b.Qrels["train"]
	for _, ex := range exs {
		if len(ex.DocIDs) != cfg.NWay || ex.TeacherScores != nil {
			t.Fatalf("example %s: %d docs, scores %v", ex.QueryID, len(ex.DocIDs), ex.TeacherScores)
		}
		if train[ex.QueryID][ex.DocIDs[0]] != 2 {
			t.Fatalf("example %s: first doc %s is not the positive", ex.QueryID, ex.DocIDs[0])
		}
		uniq := map[string]bool{}
		for _, d := range ex.DocIDs {
			if uniq[d] || !ids[d] {
				t.Fatalf("example %s: doc %s repeated or unknown", ex.QueryID, d)
			}
			uniq[d] = true
		}
		for _, d := range ex.DocIDs[1:] {
			if train[ex.QueryID][d] > 0 {
				t.Fatalf("example %s: negative %s is judged relevant", ex.QueryID, d)
			}
		}
	}
}

// TestBM25Middling: on the default benchmark BM25 must be neither useless
// nor near-perfect (a generator that leaks the answer or breaks the synonym
// link fails), and its hard negatives must really be hard (share terms).
func TestBM25Middling(t *testing.T) {
	b, ix := defaultBenchmark(t), defaultIndex(t)
	if v := b.Vocab.Size(); v < 1000 || v > 5000 {
		t.Errorf("vocabulary of %d words, want a few thousand", v)
	}
	run, err := ix.SearchAll(context.Background(), b.SplitQueries("test"), 1000, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := metrics.Evaluate(b.Qrels["test"], run, []string{"ndcg@10", "mrr@10", "recall@100"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BM25 on the default benchmark (test): %v", r.Mean)
	if n := r.Mean["ndcg@10"]; n < 0.2 || n > 0.45 {
		t.Errorf("BM25 nDCG@10 %.3f outside [0.2, 0.45]", n)
	}
	if rc := r.Mean["recall@100"]; rc > 0.85 {
		t.Errorf("BM25 recall@100 %.3f: synonyms do not hide enough", rc)
	}
}

// TestGoldenBytes pins the generator's output: these hashes are of files
// written before the candidates moved to distill.Mine (data/synth at
// c5b3c00), with a BM25 depth so shallow that many lists are topped up at
// random. A change here changes every benchmark: bump Version.
func TestGoldenBytes(t *testing.T) {
	cfg := synth.Config{Seed: 9, Passages: 2000, Train: 300, Dev: 10, Test: 10, NWay: 16, MineDepth: 16}
	files := readTree(t, writeDir(t, generate(t, cfg, 2)))
	for f, want := range map[string]string{
		"corpus.jsonl":             "db165863e33d2feea5210701f87d9abe31742a2b82171de2147e775588293fbc",
		"queries.jsonl":            "7a5bab12169716fc144a60db08224e09080724d41a8022c9b1c96b48279db447",
		"qrels/train.tsv":          "0f5e56915413fe9d0c1bff5fac1b77fa1873e8c4cfc2c6c8ff0dc7c9aa7b4bab",
		"train_candidates.jsonl":   "d2d545a221f262bb8535a61e1b931afb4750b418fee6812a8baef7d77dfdb99d",
		"train_candidates.parquet": "f795b350081ddf4bf1d608140d48a812c08ae313454b58259aab1de1eed10e59",
	} {
		sum := sha256.Sum256(files[f])
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, want %s", f, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []func(*synth.Config){
		func(c *synth.Config) { c.Passages = 100 }, // fewer passages than queries
		func(c *synth.Config) { c.MinLen, c.MaxLen = 50, 40 },
		func(c *synth.Config) { c.SynonymRate = 1.5 },
		func(c *synth.Config) { c.NWay = 1 },
		func(c *synth.Config) { c.MineDepth = 8 },
	}
	for i, f := range bad {
		c := small(1)
		f(&c)
		if _, err := synth.Generate(context.Background(), c, 1, nil); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
}

// BenchmarkGenerate times the default benchmark (20k passages, 4,600
// queries, BM25 mining of 4,000 train queries on 2 threads).
func BenchmarkGenerate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := synth.Generate(context.Background(), synth.DefaultConfig(), 2, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/benchmark")
}
