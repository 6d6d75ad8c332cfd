package main

import (
	"context"
	"fmt"
	"time"

	"github.com/colbert-go/colbert/experiments/synth"
	"github.com/urfave/cli/v2"
)

// synthCommand is `colbert data synth` (hung under `data` by main.go).
func synthCommand() *cli.Command {
	d := synth.DefaultConfig()
	return &cli.Command{
		Name:  "synth",
		Usage: "generate the built-in benchmark (BEIR layout + Parquet), deterministic from --seed",
		Description: "An invented language with topics, synonym groups, homonyms and distractor words; passages;\n" +
			"train/dev/test queries written mostly with synonyms of their source passage's words; graded qrels\n" +
			"(2 = source, 1 = covers all the query's concepts); BM25 hard negatives for every train query.\n" +
			"The same seed and options give byte-identical files; a complete directory is not regenerated.",
		Flags: []cli.Flag{
			outFlag("directory to write the benchmark into"),
			seedFlag(),
			&cli.IntFlag{Name: "passages", Value: d.Passages, Usage: "number of passages"},
			&cli.IntFlag{Name: "topics", Value: d.Topics, Usage: "number of topics"},
			&cli.IntFlag{Name: "concepts", Value: d.ConceptsPerTopic, Usage: "concepts per topic (each with 2–4 synonyms)"},
			&cli.IntFlag{Name: "train", Value: d.Train, Usage: "train queries"},
			&cli.IntFlag{Name: "dev", Value: d.Dev, Usage: "dev queries"},
			&cli.IntFlag{Name: "test", Value: d.Test, Usage: "test queries"},
			&cli.IntFlag{Name: "nway", Value: d.NWay, Usage: "candidates per training example (positive + nway−1 BM25 negatives)"},
			&cli.Float64Flag{Name: "synonym-rate", Value: d.SynonymRate, Usage: "probability that a query word is a synonym the source passage does not use"},
			&cli.BoolFlag{Name: "force", Usage: "regenerate even when --out already holds this benchmark"},
			threadsFlag(),
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			cfg := synth.DefaultConfig()
			cfg.Seed = c.Int64("seed")
			cfg.Passages, cfg.Topics, cfg.ConceptsPerTopic = c.Int("passages"), c.Int("topics"), c.Int("concepts")
			cfg.Train, cfg.Dev, cfg.Test, cfg.NWay = c.Int("train"), c.Int("dev"), c.Int("test"), c.Int("nway")
			cfg.SynonymRate = c.Float64("synonym-rate")
			out := c.String("out")
			if !c.Bool("force") && synth.UpToDate(out, cfg) {
				fmt.Fprintf(c.App.ErrWriter, "synth: %s is up to date (seed %d); --force to regenerate\n", out, cfg.Seed)
				return nil
			}
			start := time.Now()
			bar := newBar(c, "synth: mining negatives", int64(cfg.Train), "queries")
			b, err := synth.Generate(c.Context, cfg, c.Int("threads"), bar) // finishes bar
			if err != nil {
				return err
			}
			if err := b.Write(out); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "synth: %d passages, %d/%d/%d queries, %d-word vocabulary written to %s in %s\n",
				len(b.Corpus), cfg.Train, cfg.Dev, cfg.Test, b.Vocab.Size(), out, time.Since(start).Round(time.Millisecond))
			return printBM25Baseline(c, b)
		},
	}
}

// printBM25Baseline shows what exact-term matching achieves on the test split.
func printBM25Baseline(c *cli.Context, b *synth.Benchmark) error {
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := b.BM25Baseline(ctx, c.Int("threads"))
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, "BM25 on the test split:")
	fmt.Fprint(c.App.Writer, res.Table(false))
	return nil
}
