package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/urfave/cli/v2"
)

// searchCommands is PLAID (or exhaustive) retrieval over an index.
func searchCommands() []*cli.Command {
	return []*cli.Command{searchCommand()}
}

func searchCommand() *cli.Command {
	return &cli.Command{
		Name:  "search",
		Usage: "retrieve the top k passages of an index for every query (PLAID, or exhaustive MaxSim) into a run file",
		Description: "Queries: queries.jsonl, queries.tsv, a Parquet queries file, or a BEIR directory (the queries judged in\n" +
			"qrels/<split>.tsv). The run is TREC text, or Parquet when --out ends in .parquet. PLAID's ncells, ndocs and\n" +
			"threshold default by k (k ≤ 10: 1, 768, 0.5; ≤ 100: 2, 1024, 0.45; else 4, max(4k, 4096), 0.4).\n" +
			"Per-query latency (search only, one query per worker) is summarised at the end. --filter and --filter-ids restrict\n" +
			"every query to the passages they select; a selection of at most max(2·max(ndocs/4, k), 1024) passages is scored exhaustively (exact).",
		Flags: append(append(append(colbertModelFlags(), plaidFlags()...),
			&cli.StringFlag{Name: "index", Required: true, Usage: "index directory"},
			&cli.StringFlag{Name: "queries", Required: true, Usage: "queries.jsonl, queries.tsv, .parquet or BEIR directory"},
			&cli.StringFlag{Name: "split", Value: "test", Usage: "qrels split whose queries are searched when --queries is a BEIR directory"},
			&cli.IntFlag{Name: "k", Value: 100, Usage: "passages per query"},
			&cli.BoolFlag{Name: "exhaustive", Usage: "decompress and score every passage (exact; the recall reference)"},
			&cli.StringFlag{Name: "candidates", Usage: "rerank this first-stage run (TREC or Parquet: BM25, PLAID, …) from the index's stored vectors instead of searching: exact MaxSim, or the poly-encoder's score (its reranker, as the seed uses it); the top --k of each query's candidates are kept"},
			&cli.BoolFlag{Name: "no-verify", Usage: "skip the checksum pass when opening the index"},
			&cli.BoolFlag{Name: "verbose", Usage: "also print the mean time of each stage of a query (encode, candidates, centroid interaction, decompression, MaxSim)"},
			&cli.StringFlag{Name: "tag", Value: "colbert", Usage: "run tag (last column of a TREC run)"},
			outFlag("run file to write (.trec/.txt, or .parquet)"),
			threadsFlag(),
			quietFlag(),
		), filterFlags()...),
		Action: func(c *cli.Context) error {
			ctx := c.Context
			k := c.Int("k")
			if k <= 0 {
				return fmt.Errorf("search: --k must be positive, got %d", k)
			}
			qs, err := dataset.Queries(c.String("queries"), c.String("split"))
			if err != nil {
				return err
			}
			if len(qs) == 0 {
				return fmt.Errorf("search: %s holds no queries", c.String("queries"))
			}
			filter, err := searchFilter(c)
			if err != nil {
				return fmt.Errorf("search: %w", err)
			}
			e, err := openEngine(c)
			if err != nil {
				return err
			}
			m := e.Model()
			defer e.Close()
			p := plaidParams(c, k)
			bar := newBar(c, "search", int64(len(qs)), "queries")
			opt := engine.SearchOptions{Threads: c.Int("threads"), Exhaustive: c.Bool("exhaustive"), Bar: bar, Filter: filter}
			var r *engine.Results
			if path := c.String("candidates"); path != "" {
				if !filter.IsZero() || c.Bool("exhaustive") {
					return fmt.Errorf("search: --candidates reranks a given run; --filter, --filter-ids and --exhaustive do not apply")
				}
				var first data.Run
				if first, err = dataset.ReadRun(path); err != nil {
					return fmt.Errorf("search: --candidates: %w", err)
				}
				r, err = e.Rerank(ctx, qs, first, k, opt)
			} else {
				r, err = e.Search(ctx, qs, p, opt)
			}
			bar.Finish()
			if err != nil {
				return err
			}
			run, res := r.Run, r.PerQuery
			if r.Params != nil {
				p = *r.Params
			}
			mode := fmt.Sprintf("plaid ncells=%d ndocs=%d threshold=%g no_prune=%v", p.NCells, p.NDocs, p.EffectiveThreshold(), p.NoPrune)
			switch {
			case c.String("candidates") != "":
				mode = "rerank " + c.String("candidates") + " from stored vectors"
			case e.Stats().Codec == engine.CodecSparse && !c.Bool("exhaustive"):
				mode = "sparse, exact top k by dynamic pruning"
			case e.Stats().Codec == engine.CodecSparse:
				mode = "sparse, exhaustive"
			case r.Params == nil || c.Bool("exhaustive"):
				mode = "exhaustive"
			}
			if r.Filter != nil {
				mode += fmt.Sprintf(" filter=%q (%d passages)", filter, r.Filter.Len())
			}
			meta := map[string]string{"index": c.String("index"), "checkpoint": m.Hash, "k": fmt.Sprint(k), "mode": mode}
			if err := dataset.WriteRun(c.String("out"), run, c.String("tag"), meta); err != nil {
				return err
			}
			if r.Filter != nil {
				fmt.Fprintf(c.App.ErrWriter, "search: filter %q selected %d passages in %.2f ms (once for all queries)\n", filter, r.Filter.Len(), millis(r.FilterTime))
			}
			pc := search.Percentiles(res, 50, 95, 99)
			w := c.App.ErrWriter
			fmt.Fprintf(w, "search: %d queries, k %d, %s over %d passages (%d threads)\n", len(qs), k, mode, e.Stats().Passages, c.Int("threads"))
			fmt.Fprintf(w, "search: encode %.2f ms/query; search latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms; %.1f queries/s; run written to %s\n",
				millis(r.Encode)/float64(len(qs)), millis(pc[0]), millis(pc[1]), millis(pc[2]), float64(len(qs))/r.Search.Seconds(), c.String("out"))
			if r.Params != nil { // a PLAID search
				var tr [4]float64
				for _, r := range res {
					tr[0] += float64(r.Trace.Cells)
					tr[1] += float64(r.Trace.Candidates)
					tr[2] += float64(r.Trace.Approx)
					tr[3] += float64(r.Trace.Exact)
				}
				n := float64(len(res))
				fmt.Fprintf(w, "search: PLAID per query (mean): %.0f cells probed, %.0f candidates, %.0f after pruned centroid interaction, %.0f scored exactly\n",
					tr[0]/n, tr[1]/n, tr[2]/n, tr[3]/n)
				if c.Bool("verbose") {
					fmt.Fprintln(w, stageMeans(res))
				}
			}
			return nil
		},
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// stageMeans is the line of `search --verbose`: the mean time of each
// stage of a query (search.StageTimes) and their share of the sum.
func stageMeans(res []search.Result) string {
	var sum search.StageTimes
	for _, r := range res {
		sum = sum.Add(r.Trace.Time)
	}
	var total time.Duration
	sum.Each(func(_ string, d time.Duration) { total += d })
	var parts []string
	n := float64(max(1, len(res)))
	sum.Each(func(name string, d time.Duration) {
		parts = append(parts, fmt.Sprintf("%s %.3f ms (%.0f%%)", strings.ReplaceAll(name, "_", " "), millis(d)/n, 100*float64(d)/float64(max(1, total))))
	})
	return "search: stages per query (mean): " + strings.Join(parts, ", ")
}
