package main

import (
	"fmt"
	"strings"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/urfave/cli/v2"
)

// evaluateCommands is `colbert evaluate`: one checkpoint on one BEIR folder, end to end.
func evaluateCommands() []*cli.Command {
	return []*cli.Command{{
		Name:  "evaluate",
		Usage: "encode a BEIR folder with a checkpoint, build (or reuse) the index, search, score, and write a result folder",
		Description: "Documents are title + \" \" + text. The index lives in OUT/index (or --index) and is reused when it was\n" +
			"built from the same checkpoint, tokenizer, corpus and settings; an interrupted build resumes. --codec fp32,\n" +
			"fp16 or pca-int8 stores the float32 vectors once and searches them exhaustively through that codec. PLAID's\n" +
			"--ncells, --ndocs and --threshold (alias --centroid-score-threshold) default to ColBERT's values for --k. Writes\n" +
			"metrics.json, run.trec, summary.json, report.md, metrics.png and latency.png into --out.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "checkpoint", Required: true, Usage: "checkpoint directory: colbert, mv-dpr, poly-encoder, splade or bi-encoder"},
			&cli.StringFlag{Name: "tokenizer", Usage: "tokenizer.json (default: the checkpoint's own)"},
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Required: true, Usage: "BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)"},
			&cli.StringFlag{Name: "split", Value: "test", Usage: "qrels split"},
			&cli.IntFlag{Name: "nbits", Value: index.DefaultNBits, Usage: "residual bits per dimension: 1, 2 or 4 (codec residual)"},
			&cli.StringFlag{Name: "codec", Usage: strings.Join(evaluate.Codecs, " | ") +
				": residual is ColBERTv2's; the flat ones have no centroids and need --search exhaustive; sparse is SPLADE's (default: the model kind's: residual, fp32 for a poly-encoder, sparse for splade)"},
			&cli.IntFlag{Name: "pca-components", Usage: "int8 components per token of --codec pca-int8 (default: dim/4)"},
			&cli.IntFlag{Name: "pool-factor", Usage: "token pooling of the residual index: each passage's vectors clustered into max(1, n/F) means (0 or 1 = off)"},
			&cli.StringFlag{Name: "search", Usage: strings.Join(evaluate.Modes, " | ") + " (default: the model kind's: plaid, exhaustive for a poly-encoder, pruned for splade)"},
			&cli.IntFlag{Name: "k", Value: 1000, Usage: "passages retrieved per query"},
			&cli.IntFlag{Name: "depth", Value: 100, Usage: "BM25 candidates rescored with --search rerank-bm25"},
			&cli.StringFlag{Name: "index", Usage: "index directory (default: OUT/index); an index there built with these settings is reused, one built otherwise is refused unless --reindex"},
			&cli.BoolFlag{Name: "reindex", Usage: "replace a complete index in --index that was built with other settings (or not by evaluate)"},
			&cli.StringFlag{Name: "name", Usage: "system name in report.md (default: the checkpoint's folder name)"},
			outFlag("result folder"),
			seedFlag(),
			threadsFlag(),
			quietFlag(),
		}, append(plaidFlags(), encoderFlags()...)...),
		Action: func(c *cli.Context) error {
			// c.Context is main's: the first SIGINT/SIGTERM ends it.
			opt := evaluate.Options{
				Checkpoint: c.String("checkpoint"), Tokenizer: c.String("tokenizer"), Dataset: c.String("dataset"),
				Split: c.String("split"), NBits: c.Int("nbits"), Codec: c.String("codec"), PCAComponents: c.Int("pca-components"),
				Search: c.String("search"), Params: plaidParams(c, c.Int("k")), PoolFactor: c.Int("pool-factor"),
				RerankDepth: c.Int("depth"), Out: c.String("out"), IndexDir: c.String("index"), Reindex: c.Bool("reindex"), Name: c.String("name"),
				Threads: c.Int("threads"), Seed: uint64(c.Int64("seed")), Log: c.App.ErrWriter,
				Encoder: c.String("encoder"), ORTLibrary: c.String("onnxruntime-lib"),
				NewBar: barMaker(c),
			}
			sum, err := evaluate.Run(c.Context, opt)
			if err != nil {
				return err
			}
			w := c.App.Writer
			fmt.Fprintf(w, "%s on %s (%s, %d queries, %s):", sum.System, sum.Dataset, sum.Split, sum.Queries, sum.Search)
			for _, m := range evaluate.DefaultMeasures {
				if v, ok := sum.Mean[m]; ok {
					fmt.Fprintf(w, " %s %.4f", m, v)
				}
			}
			fmt.Fprintln(w)
			if sum.Params != nil {
				fmt.Fprintf(w, "plaid: ncells %d, ndocs %d, centroid score threshold %g\n", sum.Params.NCells, sum.Params.NDocs, sum.Params.EffectiveThreshold())
			}
			if enc := sum.Seconds["encode_passages"]; enc > 0 {
				fmt.Fprintf(w, "encode: passages in %.1f s (%.0f tokens/s, %s encoder)\n", enc, sum.EncodeTokensPerSec, sum.Encoder)
			}
			if sum.IndexDir != "" {
				pooled := ""
				if sum.PoolFactor > 1 {
					pooled = fmt.Sprintf(", pool factor %d", sum.PoolFactor)
				}
				fmt.Fprintf(w, "index: %s codec%s, %s (%d B), %d embeddings, %.1f bytes/token (reused: %v)\n", sum.Codec, pooled,
					evaluate.FormatBytes(sum.IndexBytes), sum.IndexBytes, sum.Embeddings, sum.BytesPerToken, sum.IndexReused)
			}
			fmt.Fprintf(w, "latency: p50 %.2f ms, p95 %.2f ms, %.2f ms/query overall\nreport: %s/report.md\n", sum.LatencyP50, sum.LatencyP95, sum.MeanMS, opt.Out)
			return nil
		},
	}}
}
