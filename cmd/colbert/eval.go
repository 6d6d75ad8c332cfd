package main

import (
	"fmt"
	"sort"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/urfave/cli/v2"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "evaluate a TREC run against qrels as trec_eval does, print a table and optionally write JSON",
		Description: "Ties are ranked by document id descending, as trec_eval. By default (colbert) queries without a\n" +
			"relevant document are not averaged and judged queries missing from the run count as 0. Conventions:\n" +
			"trec_eval = run∩qrels, no-relevant queries count 0; trec_eval-c = all judged queries, missing count 0;\n" +
			"beir = pytrec_eval on run∩qrels, retrieved ids equal to the query id dropped.\n" +
			"Measures: ndcg@k, mrr@k, mrr, recall@k, success@k, p@k, map, map@k (trec_eval names also accepted).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "qrels", Required: true, Usage: "BEIR qrels TSV or TREC qrels"},
			&cli.StringFlag{Name: "run", Required: true, Usage: "TREC run file, or a Parquet run (.parquet)"},
			&cli.StringSliceFlag{Name: "measures", Aliases: []string{"m"}, Usage: "measures, comma-separated (default " + fmt.Sprint(metrics.DefaultMeasures) + ")"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write means and per-query values as JSON"},
			&cli.StringFlag{Name: "convention", Value: "colbert", Usage: "which queries are averaged: colbert, trec_eval, trec_eval-c or beir (see --help)"},
			&cli.BoolFlag{Name: "skip-missing", Usage: "leave judged queries absent from the run out of the mean (trec_eval default, pytrec_eval, BEIR)"},
			&cli.IntFlag{Name: "level", Value: 1, Usage: "minimum grade counted as relevant (trec_eval -l)"},
			&cli.BoolFlag{Name: "markdown", Usage: "print a Markdown table"},
			&cli.BoolFlag{Name: "per-query", Usage: "also print each query's values"},
		},
		Action: func(c *cli.Context) error {
			qrels, err := data.ReadQrels(c.String("qrels"))
			if err != nil {
				return err
			}
			run, err := dataset.ReadRun(c.String("run"))
			if err != nil {
				return err
			}
			ms := c.StringSlice("measures")
			if len(ms) == 0 {
				ms = metrics.DefaultMeasures
			}
			opt, err := metrics.Convention(c.String("convention"))
			if err != nil {
				return err
			}
			opt.SkipMissing = opt.SkipMissing || c.Bool("skip-missing")
			opt.RelevanceLevel = c.Int("level")
			res, err := metrics.EvaluateWith(qrels, run, ms, opt)
			if err != nil {
				return fmt.Errorf("eval %s: %w", c.String("run"), err)
			}
			w := c.App.Writer
			if c.Bool("per-query") {
				qids := make([]string, 0, len(res.PerQuery))
				for q := range res.PerQuery {
					qids = append(qids, q)
				}
				sort.Slice(qids, func(i, j int) bool { return data.CompareIDs(qids[i], qids[j]) < 0 })
				for _, q := range qids {
					for _, m := range res.Measures {
						fmt.Fprintf(w, "%-12s\t%s\t%.4f\n", m, q, res.PerQuery[q][m])
					}
				}
			}
			fmt.Fprint(w, res.Table(c.Bool("markdown")))
			if len(res.Missing) > 0 {
				fmt.Fprintf(c.App.ErrWriter, "eval: %d judged queries are missing from the run and count as 0 (--skip-missing to leave them out)\n", len(res.Missing))
			}
			if out := c.String("out"); out != "" {
				return res.WriteJSON(out)
			}
			return nil
		},
	}
}
