package main

import (
	"fmt"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/search/rerank"
	"github.com/urfave/cli/v2"
)

// rerankCommands is index-free exact-MaxSim reranking of a candidate run.
func rerankCommands() []*cli.Command {
	return []*cli.Command{rerankCommand()}
}

func rerankCommand() *cli.Command {
	return &cli.Command{
		Name:  "rerank",
		Usage: "rescore a run's candidates (e.g. BM25 top-1000) by exact ColBERT MaxSim, no index needed",
		Description: "Every candidate is encoded with the checkpoint and scored against its query by exact MaxSim; scores\n" +
			"are written exactly (shortest round-trip decimal). --hybrid w writes w·norm(run score) + (1−w)·norm(MaxSim)\n" +
			"with per-query min-max normalisation over the reranked list (a constant list normalises to 1).\n" +
			"Queries come from --queries, or from the BEIR directory given as --collection (every query of queries.jsonl).\n" +
			"A run naming a query or passage that is not in the inputs is an error.",
		Flags: append(colbertModelFlags(),
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Required: true, Usage: "BEIR directory, corpus.jsonl, collection.tsv or passages .parquet"},
			&cli.StringFlag{Name: "queries", Usage: "queries.jsonl, queries.tsv or .parquet (default: the BEIR directory's queries.jsonl)"},
			&cli.StringFlag{Name: "run", Required: true, Usage: "candidate run (TREC or .parquet)"},
			&cli.IntFlag{Name: "depth", Usage: "rerank each query's top depth candidates (0 = all)"},
			&cli.Float64Flag{Name: "hybrid", Usage: "weight of the run's own (e.g. BM25) scores in a min-max fusion, 0…1 (0 = pure ColBERT)"},
			&cli.StringFlag{Name: "tag", Value: "colbert-rerank", Usage: "run tag (last column of a TREC run)"},
			outFlag("run file to write (.trec/.txt, or .parquet)"),
			threadsFlag(),
			quietFlag(),
		),
		Action: func(c *cli.Context) error {
			run, err := dataset.ReadRun(c.String("run"))
			if err != nil {
				return err
			}
			if len(run) == 0 {
				return fmt.Errorf("rerank: %s holds no candidates", c.String("run"))
			}
			qs, err := dataset.QueriesFor(c.String("collection"), c.String("queries"))
			if err != nil {
				return err
			}
			ps, err := dataset.Passages(c.String("collection"))
			if err != nil {
				return err
			}
			texts := data.NewTexts(qs, ps)
			m, err := loadColBERT(c)
			if err != nil {
				return err
			}
			pairs := 0
			for _, docs := range run {
				if d := c.Int("depth"); d > 0 && len(docs) > d {
					pairs += d
				} else {
					pairs += len(docs)
				}
			}
			bar := newBar(c, "rerank", 0, "passages")
			start := time.Now()
			out, err := rerank.Rerank(c.Context, m, texts.Queries, texts.Passages, run, rerank.Options{
				Depth: c.Int("depth"), Hybrid: c.Float64("hybrid"), Threads: c.Int("threads"), Bar: bar})
			bar.Finish()
			if err != nil {
				return err
			}
			el := time.Since(start)
			meta := map[string]string{"checkpoint": m.Hash, "candidates": c.String("run"), "hybrid": fmt.Sprint(c.Float64("hybrid")), "depth": fmt.Sprint(c.Int("depth"))}
			if err := dataset.WriteRun(c.String("out"), out, c.String("tag"), meta); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "rerank: %d queries, %d pairs in %s (%.0f pairs/s), run written to %s\n",
				len(out), pairs, el.Round(time.Millisecond), float64(pairs)/el.Seconds(), c.String("out"))
			return nil
		},
	}
}
