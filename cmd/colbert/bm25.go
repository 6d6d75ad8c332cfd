package main

import (
	"fmt"
	"time"

	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/urfave/cli/v2"
)

// bm25Commands are the exact-term baseline and the evaluator.
func bm25Commands() []*cli.Command {
	return []*cli.Command{bm25Command(), evalCommand()}
}

func bm25Command() *cli.Command {
	return &cli.Command{
		Name:  "bm25",
		Usage: "rank a collection with BM25 (k1 0.9, b 0.4 as Anserini) and write a TREC run",
		Description: "The collection is a BEIR directory (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), a BEIR\n" +
			"corpus.jsonl, or an MS MARCO collection.tsv. With a directory and no --queries, the queries judged\n" +
			"in qrels/<split>.tsv are searched. Terms: Unicode lower-case, split on non-alphanumerics, no stemming.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Required: true, Usage: "BEIR directory, corpus.jsonl or collection.tsv"},
			&cli.StringFlag{Name: "queries", Usage: "queries.jsonl or queries.tsv (default: the split's queries of the BEIR directory)"},
			&cli.StringFlag{Name: "split", Value: "test", Usage: "qrels split whose queries are searched when --queries is not given"},
			&cli.IntFlag{Name: "k", Value: 1000, Usage: "documents per query"},
			&cli.Float64Flag{Name: "k1", Value: 0.9, Usage: "BM25 k1"},
			&cli.Float64Flag{Name: "b", Value: 0.4, Usage: "BM25 b"},
			&cli.BoolFlag{Name: "stopwords", Usage: "drop Lucene's English stopwords"},
			&cli.StringFlag{Name: "tag", Value: "bm25", Usage: "run tag (last column of the run file)"},
			outFlag("run file to write: TREC text, or Parquet when it ends in .parquet"),
			threadsFlag(),
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			corpus, queries, err := dataset.Open(c.String("collection"), c.String("queries"), c.String("split"))
			if err != nil {
				return err
			}
			p := bm25.Params{K1: c.Float64("k1"), B: c.Float64("b")}
			if c.Bool("stopwords") {
				p.Analyzer.Stopwords = bm25.EnglishStopwords()
			}
			threads := c.Int("threads")
			start := time.Now()
			bar := newBar(c, "bm25 index", int64(len(corpus)), "docs")
			ix, err := bm25.Build(c.Context, corpus, p, threads, bar)
			bar.Finish()
			if err != nil {
				return err
			}
			indexed := time.Since(start)
			start = time.Now()
			bar = newBar(c, "bm25 search", int64(len(queries)), "queries")
			run, err := ix.SearchAll(c.Context, queries, c.Int("k"), threads, bar)
			bar.Finish()
			if err != nil {
				return err
			}
			searched := time.Since(start)
			if err := dataset.WriteRun(c.String("out"), run, c.String("tag"), nil); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "bm25: %d passages indexed in %s (%d terms), %d queries in %s, run written to %s\n",
				ix.Len(), indexed.Round(time.Millisecond), ix.NumTerms(), len(queries), searched.Round(time.Millisecond), c.String("out"))
			return nil
		},
	}
}
