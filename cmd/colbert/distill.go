package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/distill"
	"github.com/urfave/cli/v2"
)

// distillCommands build distillation data: candidate lists and teacher scores.
func distillCommands() []*cli.Command {
	return []*cli.Command{{
		Name:        "distill",
		Usage:       "build n-way candidate lists and score them with a cross-encoder teacher",
		Subcommands: []*cli.Command{distillCandidatesCommand(), distillScoreCommand(), distillMergeCommand(), distillRerankCommand()},
	}}
}

func distillCandidatesCommand() *cli.Command {
	return &cli.Command{
		Name:  "candidates",
		Usage: "n-way lists: a positive from the qrels + hard negatives from BM25 (or a run file)",
		Description: "For each judged query of the split and each of its positives, the positive first, then nway−1\n" +
			"negatives sampled (seeded) from the top --depth documents of the run that are not judged relevant.\n" +
			"Output: .parquet (query_id, doc_ids) or ColBERT n-way .jsonl.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Required: true, Usage: "BEIR directory, corpus.jsonl or collection.tsv"},
			&cli.StringFlag{Name: "queries", Usage: "queries.jsonl or queries.tsv (default: the BEIR directory's)"},
			&cli.StringFlag{Name: "split", Value: "train", Usage: "qrels split of the BEIR directory"},
			&cli.StringFlag{Name: "qrels", Usage: "qrels file (default: <collection>/qrels/<split>.tsv)"},
			&cli.StringFlag{Name: "run", Usage: "TREC run (or run .parquet) to draw negatives from (default: BM25 over the collection)"},
			&cli.IntFlag{Name: "nway", Value: 16, Usage: "documents per list (1 positive + nway−1 negatives)"},
			&cli.IntFlag{Name: "depth", Value: 100, Usage: "negatives are sampled from the run's top depth"},
			&cli.IntFlag{Name: "max-positives", Usage: "lists per query (0 = one per positive)"},
			&cli.IntFlag{Name: "min-grade", Value: 1, Usage: "smallest qrels grade counted as a positive"},
			&cli.BoolFlag{Name: "positives-only", Usage: "negatives only among documents that are another query's positive (removes the 'is anybody's positive' shortcut of the synthetic benchmark)"},
			&cli.IntFlag{Name: "pool", Usage: "sample the negatives from the first N eligible documents of the top depth (0 = all)"},
			&cli.BoolFlag{Name: "random-negatives", Usage: "draw the negatives uniformly from the whole collection instead of a run (easy negatives: a cross-encoder trained from scratch learns to match on them first)"},
			&cli.IntFlag{Name: "max-queries", Usage: "lists for the first N judged queries only (0 = all)"},
			seedFlag(),
			outFlag("candidates file (.parquet or .jsonl)"),
			threadsFlag(),
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			format, err := distill.FormatFor(c.String("out"))
			if err != nil {
				return err
			}
			coll := c.String("collection")
			qrels, qrelsPath, err := dataset.QrelsFor(coll, c.String("qrels"), c.String("split"))
			if err != nil {
				return err
			}
			var run data.Run
			var queries []data.Query
			var corpus []data.Passage
			source := "bm25"
			switch {
			case c.Bool("random-negatives") && c.String("run") != "":
				return fmt.Errorf("--random-negatives draws from the collection: it cannot be combined with --run")
			case c.String("run") != "":
				source = c.String("run")
				if queries, err = dataset.QueriesFor(coll, c.String("queries")); err != nil {
					return err
				}
				if run, err = dataset.ReadRun(c.String("run")); err != nil {
					return err
				}
			default:
				if c.Bool("random-negatives") {
					source = "random"
				}
				if corpus, queries, err = dataset.Open(coll, c.String("queries"), c.String("split")); err != nil {
					return err
				}
			}
			cfg := distill.CandidateConfig{NWay: c.Int("nway"), Depth: c.Int("depth"), Seed: uint64(c.Int64("seed")),
				MinGrade: c.Int("min-grade"), MaxPositives: c.Int("max-positives"),
				PositivesOnly: c.Bool("positives-only"), Pool: c.Int("pool"),
				Random: c.Bool("random-negatives"), MaxQueries: c.Int("max-queries")}
			exs, st, err := distill.Mine(c.Context, corpus, queries, qrels, cfg, distill.MineOptions{
				Run: run, Threads: c.Int("threads"),
				Bar: barMaker(c),
			})
			if err != nil {
				return err
			}
			w, err := format.Create(c.String("out"), map[string]string{
				"nway": strconv.Itoa(cfg.NWay), "depth": strconv.Itoa(cfg.Depth), "seed": strconv.FormatUint(cfg.Seed, 10),
				"negatives_from": source, "qrels": qrelsPath, "created_by": "colbert-go distill candidates",
				"positives_only": strconv.FormatBool(cfg.PositivesOnly), "pool": strconv.Itoa(cfg.Pool),
				"max_queries": strconv.Itoa(cfg.MaxQueries),
			})
			if err != nil {
				return err
			}
			if err := w.Write(exs); err != nil {
				w.Abort()
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			if cfg.Random {
				fmt.Fprintf(c.App.ErrWriter, "candidates: %d lists of %d for %d queries written to %s, negatives drawn from the %d documents of the collection (skipped: %d queries without positive, %d positives with < %d eligible negatives)\n",
					st.Examples, cfg.NWay, st.Queries, c.String("out"), len(corpus), st.NoPositive, st.TooFewNegs, cfg.NWay-1)
				return nil
			}
			fmt.Fprintf(c.App.ErrWriter, "candidates: %d lists of %d for %d queries written to %s (skipped: %d queries without positive, %d not in run, %d positives with < %d negatives; %d positives in the run's top %d)\n",
				st.Examples, cfg.NWay, st.Queries, c.String("out"), st.NoPositive, st.NoRun, st.TooFewNegs, cfg.NWay-1, st.PositivesInRun, cfg.Depth)
			return nil
		},
	}
}

func distillScoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "score",
		Usage: "score candidate lists with a cross-encoder ONNX model through ONNX Runtime",
		Description: "Pairs are tokenised [CLS] q [SEP] p [SEP] (longest-first truncation to --max-len), sorted by\n" +
			"length into batches, and scored by ONNX Runtime. Output: query_id, doc_ids, teacher_scores, with the\n" +
			"teacher's sha256 and the settings in the metadata. Work is written in shards under <out>.shards with a\n" +
			"manifest: rerunning the same command after a crash or Ctrl-C continues from the last complete shard,\n" +
			"and the result is identical to an uninterrupted run.\n" +
			"With --part i/N the run is split across N workers (e.g. a job array): each scores a contiguous range of\n" +
			"shards into <out>.parts on shared storage (resumable per shard); `colbert distill merge --out OUT` then\n" +
			"writes the same file as an unsplit run.",
		Flags: append(teacherFlags(),
			&cli.StringFlag{Name: "candidates", Required: true, Usage: "candidate lists (.parquet or .jsonl)"},
			&cli.IntFlag{Name: "shard-size", Value: 256, Usage: "lists per resumable shard (memory holds one shard's token ids)"},
			&cli.StringFlag{Name: "part", Usage: "i/N: score only part i of N (0-based) into <out>.parts, for `colbert distill merge`"},
			outFlag("teacher-scored dataset (.parquet or .jsonl)"),
		),
		Action: func(c *cli.Context) error {
			for _, f := range []string{"out", "candidates"} { // before any work
				if _, err := distill.FormatFor(c.String(f)); err != nil {
					return err
				}
			}
			t, texts, err := openTeacher(c)
			if err != nil {
				return err
			}
			defer t.Close()
			bar := newBar(c, "teacher", 0, "pairs")
			job, err := t.Job(c.String("candidates"), c.String("out"), texts, distill.ScoreOptions{
				Pairs: pairOptions(c), ShardSize: c.Int("shard-size"), Bar: bar})
			if err != nil {
				return err
			}
			if p := c.String("part"); p != "" {
				part, nparts, err := data.ParsePart(p)
				if err != nil {
					return err
				}
				st, err := distill.ScorePart(c.Context, job, part, nparts)
				bar.Finish()
				if err != nil {
					return err
				}
				if st.UpToDate {
					fmt.Fprintf(c.App.ErrWriter, "score: %s is already merged and up to date\n", c.String("out"))
					return nil
				}
				fmt.Fprintf(c.App.ErrWriter, "score: part %d/%d: %d shards (%d resumed), %d lists, %d pairs; scored %d pairs in %s; merge with `colbert distill merge --out %s` once all parts are done\n",
					part, nparts, st.Shards, st.ResumedShards, st.Examples, st.Pairs, st.ScoredPairs, st.Elapsed.Round(time.Millisecond), c.String("out"))
				return nil
			}
			st, err := distill.Score(c.Context, job)
			bar.Finish()
			if err != nil {
				return err
			}
			if st.UpToDate {
				fmt.Fprintf(c.App.ErrWriter, "score: %s is up to date (%d lists, %d pairs, same teacher, candidates and settings)\n",
					c.String("out"), st.Examples, st.Pairs)
				return nil
			}
			rate := float64(st.ScoredPairs) / st.Elapsed.Seconds()
			fmt.Fprintf(c.App.ErrWriter, "score: %d lists, %d pairs (%d shards, %d resumed from an earlier run); scored %d pairs in %s (%.0f pairs/s); written to %s\n",
				st.Examples, st.Pairs, st.Shards, st.ResumedShards, st.ScoredPairs, st.Elapsed.Round(time.Millisecond), rate, c.String("out"))
			return nil
		},
	}
}

func distillMergeCommand() *cli.Command {
	return &cli.Command{
		Name:  "merge",
		Usage: "merge the parts of `colbert distill score --part i/N` into the dataset an unsplit run writes",
		Flags: []cli.Flag{outFlag("teacher-scored dataset given to every score --part (.parquet or .jsonl)")},
		Action: func(c *cli.Context) error {
			format, err := distill.FormatFor(c.String("out"))
			if err != nil {
				return err
			}
			st, err := distill.MergeParts(c.Context, c.String("out"), format)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "merge: %d lists, %d pairs from %d shards written to %s in %s\n",
				st.Examples, st.Pairs, st.Shards, c.String("out"), st.Elapsed.Round(time.Millisecond))
			return nil
		},
	}
}

// teacherFlags are shared by the commands that run a cross-encoder teacher.
func teacherFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "teacher", Required: true, Usage: "cross-encoder model.onnx (inputs input_ids, attention_mask[, token_type_ids]; output logits)"},
		&cli.StringFlag{Name: "tokenizer", Required: true, Usage: "the teacher's HF tokenizer.json"},
		&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Required: true, Usage: "BEIR directory, corpus.jsonl or collection.tsv"},
		&cli.StringFlag{Name: "queries", Usage: "queries.jsonl or queries.tsv (default: the BEIR directory's queries.jsonl)"},
		&cli.IntFlag{Name: "max-len", Value: tokenize.DefaultPairMaxLen, Usage: "maximum pair length in tokens"},
		&cli.IntFlag{Name: "batch-size", Value: 32, Usage: "at most this many pairs per forward pass (pairs are sorted by length first)"},
		&cli.IntFlag{Name: "batch-tokens", Value: 2048, Usage: "at most this many padded tokens per forward pass (0: no limit)"},
		&cli.BoolFlag{Name: "no-bucket", Usage: "do not sort pairs by length before batching"},
		&cli.IntFlag{Name: "intra-op-threads", Usage: "ONNX Runtime threads per operator (0: all cores)"},
		&cli.IntFlag{Name: "workers", Value: 1, Usage: "batches scored concurrently (workers × intra-op threads ≤ cores)"},
		&cli.StringFlag{Name: "onnxruntime-lib", Usage: "path of libonnxruntime.so.1 (default: $ONNXRUNTIME_LIB, then .deps/onnxruntime from make setup)"},
		threadsFlag(),
		quietFlag(),
	}
}

// openTeacher opens the teacher the flags name, and the texts of the
// collection and queries it reads.
// The teacher is opened first: a model that is not a cross-encoder is
// refused before the collection is read.
func openTeacher(c *cli.Context) (*distill.Teacher, data.Texts, error) {
	t, err := distill.OpenTeacher(distill.TeacherOptions{
		Model: c.String("teacher"), Tokenizer: c.String("tokenizer"), MaxLen: c.Int("max-len"),
		Library: c.String("onnxruntime-lib"), IntraOpThreads: c.Int("intra-op-threads"),
	})
	if err != nil {
		return nil, data.Texts{}, err
	}
	fail := func(err error) (*distill.Teacher, data.Texts, error) { t.Close(); return nil, data.Texts{}, err }
	corpus, err := dataset.Passages(c.String("collection"))
	if err != nil {
		return fail(err)
	}
	queries, err := dataset.QueriesFor(c.String("collection"), c.String("queries"))
	if err != nil {
		return fail(err)
	}
	return t, data.NewTexts(queries, corpus), nil
}

// pairOptions are the batching flags of teacherFlags.
func pairOptions(c *cli.Context) distill.PairOptions {
	return distill.PairOptions{BatchSize: c.Int("batch-size"), MaxTokens: c.Int("batch-tokens"), Bucket: !c.Bool("no-bucket"),
		Threads: c.Int("threads"), Workers: c.Int("workers")}
}

func distillRerankCommand() *cli.Command {
	return &cli.Command{
		Name:  "rerank",
		Usage: "rerank a run's top documents with the teacher (to judge the teacher, e.g. nDCG@10 over BM25 top-100)",
		Flags: append(teacherFlags(),
			&cli.StringFlag{Name: "run", Required: true, Usage: "TREC run (or run .parquet) to rerank"},
			&cli.IntFlag{Name: "depth", Value: 100, Usage: "documents per query to rerank"},
			outFlag("reranked TREC run"),
		),
		Action: func(c *cli.Context) error {
			run, err := dataset.ReadRun(c.String("run"))
			if err != nil {
				return err
			}
			t, texts, err := openTeacher(c)
			if err != nil {
				return err
			}
			defer t.Close()
			pairs := 0
			for _, docs := range run {
				pairs += min(len(docs), c.Int("depth"))
			}
			bar := newBar(c, "rerank", int64(pairs), "pairs")
			start := time.Now()
			out, err := t.Rerank(c.Context, run, texts, c.Int("depth"), pairOptions(c), bar)
			bar.Finish()
			if err != nil {
				return err
			}
			if err := data.WriteTRECRun(c.String("out"), out, "teacher"); err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(c.App.ErrWriter, "rerank: %d queries, %d pairs in %s (%.0f pairs/s), run written to %s\n",
				len(out), pairs, el.Round(time.Millisecond), float64(pairs)/el.Seconds(), c.String("out"))
			return nil
		},
	}
}
