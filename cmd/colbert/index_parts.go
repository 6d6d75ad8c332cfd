package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/urfave/cli/v2"
)

// Plan metadata keys: what an encode worker needs to rebuild the Source.
const (
	planMetaCheckpoint  = "checkpoint"
	planMetaTokenizer   = "tokenizer"
	planMetaCollection  = "collection"
	planMetaBatchTokens = "batch_tokens"
)

func indexPlanCommand() *cli.Command {
	var fl []cli.Flag
	for _, f := range indexBuildFlags(true) {
		switch f.Names()[0] {
		case "id-cache", "overwrite", "shard":
		case "out":
			fl = append(fl, &cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "plan directory to write (shared storage every encode worker sees)"})
		default:
			fl = append(fl, f)
		}
	}
	return &cli.Command{
		Name:  "plan",
		Usage: "step 1 of a split build: sample, k-means and buckets into a plan directory on shared storage",
		Description: "Takes the same settings as `colbert index build`. Then run `colbert index encode --plan DIR --part i/N`\n" +
			"for i = 0…N−1 (any machines that see DIR and the checkpoint and collection paths), then\n" +
			"`colbert index merge --plan DIR --out idx/`: the index is byte-identical to `colbert index build`'s.",
		Flags: fl,
		Action: func(c *cli.Context) error {
			ctx := c.Context
			m, err := loadColBERT(c)
			if err != nil {
				return err
			}
			ps, err := dataset.Passages(c.String("collection"))
			if err != nil {
				return err
			}
			if len(ps) == 0 {
				return fmt.Errorf("index plan: %s holds no passages", c.String("collection"))
			}
			meta := map[string]string{planMetaCollection: absPath(c.String("collection")), planMetaCheckpoint: absPath(c.String("checkpoint"))}
			if t := c.String("tokenizer"); t != "" {
				meta[planMetaTokenizer] = absPath(t)
			}
			if bt := c.Int("batch-tokens"); bt != 0 {
				meta[planMetaBatchTokens] = fmt.Sprint(bt)
			}
			bar := newBar(c, "tokenise", int64(len(ps)), "passages")
			src, err := colbert.NewSource(ctx, m, ps, colbert.SourceOptions{Threads: c.Int("threads"), Bar: bar})
			bar.Finish()
			if err != nil {
				return err
			}
			start := time.Now()
			bar = newBar(c, "plan", 0, "passages")
			opt := indexBuildOptions(c)
			opt.Dim, opt.Checkpoint = m.Dim(), m.Key // as engine.Build sets them
			pi, err := index.WritePlan(ctx, c.String("out"), src, opt, meta, bar)
			bar.Finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "index plan: %d passages in %d chunks of %d, %d centroids, written to %s in %s\n",
				pi.Passages, pi.Chunks, pi.Options.ChunkSize, pi.NumCentroids, pi.Dir, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(c.App.ErrWriter, "index plan: next run `colbert index encode --plan %s --part i/N` for i = 0…N−1 (N ≤ %d), then `colbert index merge --plan %s --out IDX`\n",
				pi.Dir, pi.Chunks, pi.Dir)
			return nil
		},
	}
}

func indexEncodeCommand() *cli.Command {
	return &cli.Command{
		Name:  "encode",
		Usage: "step 2 of a split build: encode and compress part i of N of a plan's chunks (resumable)",
		Description: "Reopens the checkpoint and collection recorded in the plan (override with --checkpoint/--collection\n" +
			"when they are mounted elsewhere on this machine); refuses another model or collection. Parts are\n" +
			"contiguous ranges of chunks and may run at the same time; re-running a part skips its finished chunks.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "plan", Required: true, Usage: "plan directory written by `colbert index plan`"},
			&cli.StringFlag{Name: "part", Required: true, Usage: "i/N: this worker's part, 0 ≤ i < N (e.g. $JOB_COMPLETION_INDEX/4)"},
			&cli.StringFlag{Name: "checkpoint", Usage: "ColBERT checkpoint (default: the plan's)"},
			&cli.StringFlag{Name: "tokenizer", Usage: "tokenizer.json (default: the plan's)"},
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Usage: "collection (default: the plan's)"},
			&cli.IntFlag{Name: "batch-tokens", Usage: "tokens per encoder forward batch (default: the plan's)"},
			threadsFlag(), quietFlag(),
		},
		Action: func(c *cli.Context) error {
			ctx := c.Context
			part, nparts, err := data.ParsePart(c.String("part"))
			if err != nil {
				return err
			}
			pi, err := index.ReadPlan(c.String("plan"))
			if err != nil {
				return err
			}
			pick := func(flag, key string) string {
				if v := c.String(flag); v != "" {
					return v
				}
				return pi.Meta[key]
			}
			ckpt, coll := pick("checkpoint", planMetaCheckpoint), pick("collection", planMetaCollection)
			if ckpt == "" || coll == "" {
				return fmt.Errorf("index encode: the plan %s records no checkpoint or collection; give --checkpoint and --collection", pi.Dir)
			}
			bt := c.Int("batch-tokens")
			if bt == 0 && pi.Meta[planMetaBatchTokens] != "" {
				if _, err := fmt.Sscan(pi.Meta[planMetaBatchTokens], &bt); err != nil {
					return fmt.Errorf("index encode: plan %s: batch_tokens %q: %w", pi.Dir, pi.Meta[planMetaBatchTokens], err)
				}
			}
			m, err := colbert.LoadWith(ckpt, pick("tokenizer", planMetaTokenizer), colbertOptions(c, c.Int("threads"), bt))
			if err != nil {
				return err
			}
			if !m.Matches(pi.Options.Checkpoint) {
				return fmt.Errorf("index encode: checkpoint %s with tokenizer %s (encoder %s) is not the plan's encoder (%s): the weights, config or tokenizer differ",
					ckpt, m.Tok.Tokenizer().Source(), m.Key, pi.Options.Checkpoint)
			}
			ps, err := dataset.Passages(coll)
			if err != nil {
				return err
			}
			lo, hi := pi.PartPassages(part, nparts)
			clo, chi := pi.PartChunks(part, nparts)
			if len(ps) != pi.Passages {
				return fmt.Errorf("index encode: %s holds %d passages, the plan %d", coll, len(ps), pi.Passages)
			}
			// Only this part's passages are tokenised.
			bar := newBar(c, "tokenise", int64(hi-lo), "passages")
			sub, err := colbert.NewSource(ctx, m, ps[lo:hi], colbert.SourceOptions{Threads: c.Int("threads"), Bar: bar})
			bar.Finish()
			if err != nil {
				return err
			}
			src := &windowSource{ps: ps, lo: lo, sub: sub}
			start := time.Now()
			bar = newBar(c, fmt.Sprintf("encode %d/%d", part, nparts), 0, "passages")
			err = index.EncodePart(ctx, pi.Dir, src, part, nparts, c.Int("threads"), bar)
			bar.Finish()
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("index encode interrupted: run the same command again to resume (%w)", err)
				}
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "index encode: part %d/%d: chunks %d…%d (passages %d…%d) done in %s\n",
				part, nparts, clo, chi-1, lo, hi-1, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

func indexMergeCommand() *cli.Command {
	return &cli.Command{
		Name:  "merge",
		Usage: "step 3 of a split build: once every part is encoded, write the IVF and manifest into a new index",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "plan", Required: true, Usage: "plan directory whose parts are all encoded"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "index directory to write (chunk files are hard-linked from the plan when on the same file system)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing index at --out"},
			&cli.StringFlag{Name: "part", Usage: "i/N: write only part i's chunks (as `index encode --part i/N` splits them) as a standalone shard index with the plan's centroids, for `colbert serve --shards`"},
		},
		Action: func(c *cli.Context) error {
			start := time.Now()
			var mf *index.Manifest
			var err error
			if p := c.String("part"); p != "" {
				part, nparts, perr := data.ParsePart(p)
				if perr != nil {
					return fmt.Errorf("index merge: --part: %w", perr)
				}
				mf, err = index.MergeShard(c.Context, c.String("plan"), c.String("out"), part, nparts, c.Bool("overwrite"))
			} else {
				mf, err = index.Merge(c.Context, c.String("plan"), c.String("out"), c.Bool("overwrite"))
			}
			if err != nil {
				return err
			}
			st, err := index.Stat(c.String("out"))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "index merge: %d passages, %d embeddings, %d chunks, %d centroids; %s written to %s in %s\n",
				mf.NumPassages, mf.NumEmbeddings, len(mf.Chunks), mf.NumCentroids, evaluate.FormatBytes(st.TotalBytes), c.String("out"),
				time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

// windowSource presents a Source over passages lo… of a collection as the
// whole collection: ids come from the full passage list (the plan checks
// them), embeddings from sub, which only tokenised the part.
type windowSource struct {
	ps  []data.Passage
	lo  int
	sub *colbert.Source
}

func (w *windowSource) Len() int        { return len(w.ps) }
func (w *windowSource) ID(i int) string { return w.ps[i].ID }
func (w *windowSource) Embed(ctx context.Context, start, end int) ([][]float32, error) {
	if start < w.lo || end > w.lo+w.sub.Len() {
		return nil, fmt.Errorf("index encode: passages %d…%d are outside this part (%d…%d)", start, end-1, w.lo, w.lo+w.sub.Len()-1)
	}
	return w.sub.Embed(ctx, start-w.lo, end-w.lo)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
