package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/colbert-go/colbert/experiments/sweep"
	"github.com/urfave/cli/v2"
)

// sweepCommands is `colbert sweep`: a resumable grid of train/index/search settings.
func sweepCommands() []*cli.Command {
	return []*cli.Command{{
		Name:      "sweep",
		Usage:     "run a grid or list of training / index / search settings on one BEIR folder, resumably, into one table",
		ArgsUsage: " ",
		Description: "The TOML names a dataset, a checkpoint (search-only sweeps) or training settings (train_config and/or\n" +
			"[train]), evaluation defaults ([eval]: nbits, codec, search, k, ncells, ndocs, threshold, rerank_depth) and\n" +
			"either a [grid] (cartesian product) or [[cells]] over training keys and those evaluation keys (codec fp32, fp16 and\n" +
			"pca-int8 need search = \"exhaustive\": only residual has PLAID's centroids). Cells that share\n" +
			"their training settings share one checkpoint. Every training job and cell is a resumable stage: re-running\n" +
			"the same command after an interruption runs only the missing cells. Writes sweep.md, sweep.csv,\n" +
			"sweep.parquet and PNG plots into --out (default: the config's path without .toml, plus \"-sweep\").",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Required: true, Usage: "sweep TOML"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output directory"},
			&cli.IntFlag{Name: "parallel", Value: 1, Usage: "jobs run at once; --threads is split between them"},
			threadsFlag(),
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("sweep: unexpected argument %q", c.Args().First())
			}
			path := c.String("config")
			cfg, err := sweep.LoadConfig(path)
			if err != nil {
				return err
			}
			out := c.String("out")
			if out == "" {
				out = strings.TrimSuffix(path, filepath.Ext(path)) + "-sweep"
			}
			if c.Int("parallel") < 1 {
				return fmt.Errorf("sweep: --parallel %d: must be ≥ 1", c.Int("parallel"))
			}
			res, err := sweep.Run(c.Context, cfg, sweep.Options{
				Out: out, Parallel: c.Int("parallel"), Threads: c.Int("threads"), Log: c.App.ErrWriter,
				NewBar: barMaker(c),
				OnCell: func(r sweep.Row) {
					if !r.Reused {
						fmt.Fprintf(c.App.ErrWriter, "sweep: cell %d done (nDCG@10 %.4f)\n", r.Cell, r.Mean["ndcg@10"])
					}
				},
			})
			if res != nil {
				fmt.Fprintf(c.App.ErrWriter, "sweep: trained %d (reused %d), evaluated %d cells (reused %d)\n",
					res.TrainRan, res.TrainReused, res.CellsRan, res.CellsReused)
			}
			if err != nil {
				return err
			}
			t, err := sweep.Table(res.Keys, res.Rows)
			if err != nil {
				return err
			}
			fmt.Fprint(c.App.Writer, t.Markdown())
			fmt.Fprintf(c.App.Writer, "\nreport: %s\n", filepath.Join(out, "sweep.md"))
			return nil
		},
	}}
}
