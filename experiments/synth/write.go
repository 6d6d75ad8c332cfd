package synth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/data/parquetio"
)

// Generator names this package in manifest.json.
const Generator = "colbert-go data synth"

// Extra writes additional files into dir and returns their paths relative
// to dir, so that they are listed (and hashed) in manifest.json.
type Extra func(dir string, b *Benchmark) ([]string, error)

// Manifest describes a written benchmark. It is written last, so its
// presence with matching file hashes means the directory is complete.
type Manifest struct {
	Generator string          `json:"generator"`
	Version   int             `json:"version"`
	Config    Config          `json:"config"`
	Counts    map[string]int  `json:"counts"`
	Files     map[string]File `json:"files"`
}

// File is one output file's size and SHA-256.
type File struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Write stores the benchmark in BEIR layout (corpus.jsonl, queries.jsonl,
// qrels/{train,dev,test}.tsv), the training candidates as ColBERT n-way
// JSONL (train_candidates.jsonl: [qid, pos, neg, …]), Parquet copies of the
// corpus, queries and candidates (with generator, version and seed as
// key-value metadata), a README.md and manifest.json. Each file is written
// atomically; manifest.json comes last.
//
// extra writers, if any, add files of their own (nil entries are skipped).
func (b *Benchmark) Write(dir string, extra ...Extra) error {
	if err := os.MkdirAll(filepath.Join(dir, "qrels"), 0o755); err != nil {
		return fmt.Errorf("synth: write %s: %w", dir, err)
	}
	files := []string{"corpus.jsonl", "queries.jsonl"}
	if err := data.WriteCorpusJSONL(filepath.Join(dir, "corpus.jsonl"), b.Corpus); err != nil {
		return err
	}
	if err := data.WriteQueriesJSONL(filepath.Join(dir, "queries.jsonl"), b.Queries); err != nil {
		return err
	}
	for _, s := range Splits {
		rel := filepath.Join("qrels", s+".tsv")
		if err := data.WriteQrelsTSV(filepath.Join(dir, rel), b.Qrels[s]); err != nil {
			return err
		}
		files = append(files, rel)
	}
	if err := data.WriteExamplesJSONL(filepath.Join(dir, "train_candidates.jsonl"), b.Candidates); err != nil {
		return err
	}
	files = append(files, "train_candidates.jsonl")
	meta := map[string]string{"generator": Generator, "version": fmt.Sprint(Version), "seed": fmt.Sprint(b.Config.Seed)}
	if err := parquetio.WritePassages(filepath.Join(dir, "corpus.parquet"), b.Corpus, meta); err != nil {
		return err
	}
	if err := parquetio.WriteQueries(filepath.Join(dir, "queries.parquet"), b.Queries, meta); err != nil {
		return err
	}
	if err := parquetio.WriteExamples(filepath.Join(dir, "train_candidates.parquet"), b.Candidates, meta); err != nil {
		return err
	}
	files = append(files, "corpus.parquet", "queries.parquet", "train_candidates.parquet")
	for _, x := range extra {
		if x == nil {
			continue
		}
		more, err := x(dir, b)
		if err != nil {
			return err
		}
		files = append(files, more...)
	}
	if err := data.WriteFileAtomic(filepath.Join(dir, "README.md"), func(w *bufio.Writer) error {
		_, err := w.WriteString(b.readme())
		return err
	}); err != nil {
		return err
	}
	files = append(files, "README.md")

	m := Manifest{Generator: Generator, Version: Version, Config: b.Config, Counts: b.counts(), Files: map[string]File{}}
	for _, f := range files {
		fi, err := hashFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		m.Files[filepath.ToSlash(f)] = fi
	}
	buf, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: manifest: %w", err)
	}
	return data.WriteFileAtomic(filepath.Join(dir, "manifest.json"), func(w *bufio.Writer) error {
		_, err := w.Write(append(buf, '\n'))
		return err
	})
}

// UpToDate reports whether dir already holds a complete benchmark made by
// this generator version with cfg (defaults applied): manifest.json matches
// and every listed file has its recorded size and hash. Commands use it to
// skip regeneration on re-runs.
func UpToDate(dir string, cfg Config) bool {
	buf, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return false
	}
	var m Manifest
	if json.Unmarshal(buf, &m) != nil || m.Generator != Generator || m.Version != Version || m.Config != cfg.withDefaults() {
		return false
	}
	for f, want := range m.Files {
		got, err := hashFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil || got != want {
			return false
		}
	}
	return len(m.Files) > 0
}

func hashFile(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("synth: hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("synth: hash %s: %w", path, err)
	}
	return File{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func (b *Benchmark) counts() map[string]int {
	c := map[string]int{
		"passages":         len(b.Corpus),
		"queries":          len(b.Queries),
		"vocabulary_words": b.Vocab.Size(),
		"concepts":         len(b.Vocab.Concepts),
		"homonyms":         b.Vocab.Homonyms,
		"train_candidates": len(b.Candidates),
	}
	for _, s := range Splits {
		n := 0
		for _, j := range b.Qrels[s] {
			n += len(j)
		}
		c["qrels_"+s] = n
		c["queries_"+s] = len(b.Qrels[s])
	}
	return c
}

func (b *Benchmark) readme() string {
	c := b.Config
	var sb strings.Builder
	fmt.Fprintf(&sb, `# Synthetic retrieval benchmark (colbert-go)

Generated by `+"`colbert data synth`"+` (%s, generator version %d, seed %d). The same version, seed and
options always produce byte-identical files; manifest.json lists every file with its SHA-256.

## What it is
An invented language: %d topics, each with %d topic words and %d concepts; every concept has 2–4
interchangeable surface words (synonyms), %d surface words are homonyms shared by concepts of two topics,
%d topic-less distractor words follow a Zipf law, and real English function words glue the text.
Passages (%d–%d words) are about 3–4 concepts of one topic, sometimes plus one concept of a second topic,
and mostly use one preferred synonym per concept. Each query names three concepts of its source passage,
each with a synonym the passage does not prefer with probability %.2f, plus at times a topic word, a
distractor and function words.

Relevance: 2 = the query's source passage; 1 = any other passage that covers all three of the query's
concepts. Exact-term matching (BM25) therefore gets part of the way; a model that learns which words are
synonyms can do much better (an oracle that maps synonyms to one word lifts BM25's nDCG@10 from about
0.3 to about 0.85 at the default settings).

## What it is not
Natural language or a substitute for BEIR / MS MARCO: absolute figures say nothing about real collections.
Use it to check that training, distillation, indexing and search work end to end, and to compare methods
on a task with a known structure.

## Files
| file | content |
|---|---|
| corpus.jsonl | BEIR corpus: _id, title, text |
| queries.jsonl | BEIR queries (train, dev and test) |
| qrels/{train,dev,test}.tsv | BEIR qrels with header, graded 2 / 1 |
| train_candidates.jsonl | ColBERT n-way examples [qid, positive, %d BM25 hard negatives] (no teacher scores) |
| corpus.parquet, queries.parquet, train_candidates.parquet | the same as Parquet (query_id, doc_ids list<string>) |
| manifest.json | generator, version, configuration, counts, file sizes and hashes |

## Counts
`, Generator, Version, c.Seed, c.Topics, c.TopicWords, c.ConceptsPerTopic, b.Vocab.Homonyms, c.Distractors,
		c.MinLen, c.MaxLen, c.SynonymRate, c.NWay-1)
	counts := b.counts()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sb.WriteString("| count | value |\n|---|---:|\n")
	for _, k := range keys {
		fmt.Fprintf(&sb, "| %s | %d |\n", k, counts[k])
	}
	return sb.String()
}

// BM25Baseline is what exact-term matching achieves on the test split:
// BM25 (k1 0.9, b 0.4) top 1000, scored with nDCG@10, MRR@10, R@100, MAP.
func (b *Benchmark) BM25Baseline(ctx context.Context, threads int) (metrics.Result, error) {
	ix, err := bm25.Build(ctx, b.Corpus, bm25.DefaultParams(), threads, nil)
	if err != nil {
		return metrics.Result{}, err
	}
	run, err := ix.SearchAll(ctx, b.SplitQueries("test"), 1000, threads, nil)
	if err != nil {
		return metrics.Result{}, err
	}
	return metrics.Evaluate(b.Qrels["test"], run, []string{"ndcg@10", "mrr@10", "recall@100", "map"})
}
