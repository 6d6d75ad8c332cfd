package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/codec/metadb"
	"github.com/colbert-go/colbert/codec/sparse"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/urfave/cli/v2"
)

// indexCommands builds, inspects and updates PLAID indexes.
func indexCommands() []*cli.Command {
	return []*cli.Command{{
		Name:      "index",
		Usage:     "build (default), inspect or update a compressed ColBERTv2 index",
		UsageText: "colbert index [build] --checkpoint CKPT --collection corpus.jsonl --out idx/ [--nbits 2]\n   colbert index plan --checkpoint CKPT --collection corpus.jsonl --out plan/   (then, on N machines)\n   colbert index encode --plan plan/ --part i/N   (then)   colbert index merge --plan plan/ --out idx/\n   colbert index info idx/\n   colbert index append --index idx/ --checkpoint CKPT --collection new.jsonl\n   colbert index delete --index idx/ --ids a,b,c",
		Description: "Without a subcommand, `colbert index` is `colbert index build`. A build interrupted (Ctrl-C, kill,\n" +
			"crash) resumes after its last finished chunk when the same command is run again.",
		Flags:  indexBuildFlags(false),
		Action: indexBuildAction,
		Subcommands: []*cli.Command{
			{Name: "build", Usage: "encode a collection and write an index", Flags: indexBuildFlags(true), Action: indexBuildAction},
			indexPlanCommand(),
			indexEncodeCommand(),
			indexMergeCommand(),
			indexInfoCommand(),
			indexAppendCommand(),
			indexDeleteCommand(),
			indexMetadataCommand(),
		},
	}}
}

// colbertModelFlags are the checkpoint and encoder settings shared by index, search and rerank.
func colbertModelFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "checkpoint", Usage: "ColBERT checkpoint directory (HF layout or ours)", Required: true},
		&cli.StringFlag{Name: "tokenizer", Usage: "tokenizer.json (default: the checkpoint's own)"},
		&cli.IntFlag{Name: "batch-tokens", Value: 0, Usage: "tokens per encoder forward batch (0 = encoder default)"},
	}, encoderFlags()...)
}

func indexBuildFlags(required bool) []cli.Flag {
	fl := []cli.Flag{
		&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Required: required, Usage: "BEIR directory, corpus.jsonl, collection.tsv or passages .parquet"},
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: required, Usage: "index directory to write"},
		&cli.IntFlag{Name: "nbits", Value: index.DefaultNBits, Usage: "residual bits per dimension: 1, 2 or 4"},
		&cli.IntFlag{Name: "kmeans-iters", Value: index.DefaultKMeansIters, Usage: "k-means iterations (ColBERT's kmeans_niters; the 2.0 index used 20)"},
		&cli.IntFlag{Name: "centroids", Usage: "number of centroids (0 = 2^floor(log2(16·sqrt(#embeddings))))"},
		&cli.IntFlag{Name: "sample", Usage: "passages sampled for k-means (0 = min(1+16·sqrt(120·N), N))"},
		&cli.IntFlag{Name: "chunk-size", Value: index.DefaultChunkSize, Usage: "passages per chunk (the unit of resume)"},
		&cli.IntFlag{Name: "embed-batch", Value: index.DefaultEmbedBatch, Usage: "passages per encoder call (grouped by length inside)"},
		&cli.StringFlag{Name: "id-cache", Usage: "token id cache file (default: OUT.ids, removed after a finished build)"},
		&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing index at --out"},
		&cli.IntFlag{Name: "pool-factor", Usage: "token pooling: cluster each passage's vectors (Ward, cosine) into max(1, n/F) means before indexing (0 or 1 = off)"},
		&cli.StringFlag{Name: "shard", Usage: "i/N: index only the i-th of N contiguous slices of the collection (one shard for `colbert serve --shards`)"},
		seedFlag(),
		threadsFlag(),
		quietFlag(),
	}
	fl = append(fl, metadataFlags()...)
	for _, f := range colbertModelFlags() {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "checkpoint" {
			sf.Required = required
		}
		fl = append(fl, f)
	}
	return fl
}

// openEngine opens --index for queries encoded by --checkpoint (see
// loadColBERT), --no-verify skipping the checksum pass.
func openEngine(c *cli.Context) (*engine.Engine, error) {
	m, err := loadColBERT(c)
	if err != nil {
		return nil, err
	}
	return engine.Open(m, c.String("index"), engine.OpenOptions{SkipVerify: c.Bool("no-verify")})
}

// loadColBERT loads --checkpoint with --tokenizer for encoding on --threads
// with --encoder.
func loadColBERT(c *cli.Context) (*colbert.Model, error) {
	return colbert.LoadWith(c.String("checkpoint"), c.String("tokenizer"), colbertOptions(c, c.Int("threads"), c.Int("batch-tokens")))
}

func indexBuildAction(c *cli.Context) error {
	for _, name := range []string{"checkpoint", "collection", "out"} {
		if c.String(name) == "" {
			return fmt.Errorf("index build: --%s is required", name)
		}
	}
	ctx := c.Context
	out := filepath.Clean(c.String("out"))
	if _, err := os.Stat(out); err == nil && !c.Bool("overwrite") {
		return fmt.Errorf("index build: %s already exists (use --overwrite to replace it)", out)
	}
	m, err := loadColBERT(c)
	if err != nil {
		return err
	}
	ps, err := dataset.Passages(c.String("collection"))
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return fmt.Errorf("index build: %s holds no passages", c.String("collection"))
	}
	if err := sideMetadata(c, ps); err != nil {
		return fmt.Errorf("index build: %w", err)
	}
	if sh := c.String("shard"); sh != "" {
		part, nparts, err := data.ParsePart(sh)
		if err != nil {
			return fmt.Errorf("index build: --shard: %w", err)
		}
		lo, hi := data.PartRange(len(ps), part, nparts)
		if lo == hi {
			return fmt.Errorf("index build: shard %d/%d of %d passages is empty", part, nparts, len(ps))
		}
		fmt.Fprintf(c.App.ErrWriter, "index: shard %d/%d: passages %d…%d of %d\n", part, nparts, lo, hi-1, len(ps))
		ps = ps[lo:hi]
	}
	bs, err := engine.Build(ctx, m, out, ps, engine.BuildOptions{Index: indexBuildOptions(c),
		CachePath: c.String("id-cache"), KeepCache: c.String("id-cache") != "", Threads: c.Int("threads"),
		NoMetadata: c.Bool("no-metadata"), NewBar: barMaker(c)})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("index build interrupted: run the same command again to resume (%w)", err)
		}
		return err
	}
	mf, tokenised, built := bs.Manifest, bs.Tokenised, bs.Built
	took := fmt.Sprintf("tokenised in %s, built in %s", tokenised.Round(time.Millisecond), built.Round(time.Millisecond))
	switch {
	case mf == nil && m.IsSparse(): // SPLADE's inverted index
		return printSparseInfo(c.App.ErrWriter, out, false, took)
	case mf == nil: // a flat index: the poly-encoder's or bi-encoder's vectors (colbert.Model.UnitVectors)
		e, err := engine.Open(m, out, engine.OpenOptions{})
		if err != nil {
			return err
		}
		defer e.Close()
		st := e.Stats()
		fmt.Fprintf(c.App.ErrWriter, "index: %d passages, %d vectors, flat %s (a %s model's vectors are not unit vectors: no residual codec); %s\n",
			st.Passages, st.Tokens, st.Codec, m.Kind, took)
		fmt.Fprintf(c.App.ErrWriter, "index: %s (%d B), %.1f bytes/passage, written to %s\n", evaluate.FormatBytes(st.Bytes), st.Bytes, st.BytesPerPassage, out)
		return nil
	}
	st, err := index.Stat(out) // the one size: every file of the directory, as `index info` reports
	if err != nil {
		return err
	}
	if mf.PoolFactor > 1 {
		fmt.Fprintf(c.App.ErrWriter, "index: token pooling by %d\n", mf.PoolFactor)
	}
	fmt.Fprintf(c.App.ErrWriter, "index: %d passages, %d embeddings (%.1f per passage), %d centroids, %d-bit; tokenised in %s, built in %s (%.0f tokens/s)\n",
		mf.NumPassages, mf.NumEmbeddings, float64(mf.NumEmbeddings)/float64(max(1, mf.NumPassages)), mf.NumCentroids, mf.NBits,
		tokenised.Round(time.Millisecond), built.Round(time.Millisecond), float64(mf.NumEmbeddings)/built.Seconds())
	fmt.Fprintf(c.App.ErrWriter, "index: %s (%d B), %.1f bytes/token, written to %s\n", evaluate.FormatBytes(st.TotalBytes), st.TotalBytes, st.BytesPerToken, out)
	return nil
}

// indexBuildOptions are the build settings of --nbits, --sample… (shared by
// build and plan, so a split build gets the same bytes); the model's Dim
// and Key (weights, config and tokenizer: colbert.Model.Key) are set by
// whoever builds with a model (engine.Build, plan).
func indexBuildOptions(c *cli.Context) index.BuildOptions {
	return index.BuildOptions{
		NBits:          c.Int("nbits"),
		SamplePassages: c.Int("sample"), NumCentroids: c.Int("centroids"), KMeansIters: c.Int("kmeans-iters"),
		ChunkSize: c.Int("chunk-size"), EmbedBatch: c.Int("embed-batch"), Threads: c.Int("threads"),
		Seed: uint64(c.Int64("seed")), Overwrite: c.Bool("overwrite"), PoolFactor: c.Int("pool-factor"),
	}
}

func indexInfoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "print an index's settings, counts, sizes and bytes per token (verifying checksums)",
		ArgsUsage: "INDEX_DIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "index", Usage: "index directory (or give it as the argument)"},
			&cli.BoolFlag{Name: "no-verify", Usage: "skip the checksum pass over the files"},
		},
		Action: func(c *cli.Context) error {
			dir := c.String("index")
			if dir == "" {
				dir = c.Args().First()
			}
			if dir == "" || c.NArg() > 1 {
				return fmt.Errorf("index info: give one index directory")
			}
			if f, err := engine.IndexFormat(dir); err == nil && f == engine.CodecSparse {
				return printSparseInfo(c.App.Writer, dir, c.Bool("no-verify"), "")
			}
			ix, err := index.Open(dir, index.OpenOptions{SkipVerify: c.Bool("no-verify")})
			if err != nil {
				return err
			}
			defer ix.Close()
			m := ix.Manifest()
			w := c.App.Writer
			emb := max(1, m.NumEmbeddings)
			fmt.Fprintf(w, "index       %s (%s v%d)\n", dir, m.Format, m.Version)
			fmt.Fprintf(w, "codec       %s, %d bits, dim %d, %d centroids\n", m.Codec, m.NBits, m.Dim, m.NumCentroids)
			fmt.Fprintf(w, "checkpoint  %s\n", m.Checkpoint)
			fmt.Fprintf(w, "passages    %d (%d live, %d deleted), %d chunks, generation %d\n", m.NumPassages, ix.NumLive(), m.NumDeleted, len(m.Chunks), m.Generation)
			if p := ix.MetadataPath(); p != "" {
				md, err := metadb.Open(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "metadata    %d rows, columns %s (%s)\n", md.Rows(), strings.Join(md.Columns(), ", "), ix.Manifest().Metadata)
				md.Close()
			}
			fmt.Fprintf(w, "embeddings  %d (%.1f per passage)\n", m.NumEmbeddings, float64(m.NumEmbeddings)/float64(max(1, m.NumPassages)))
			if m.PoolFactor > 1 {
				fmt.Fprintf(w, "pooling     factor %d (each passage's first %d vector(s) kept, the others clustered into max(1, n/%d) means)\n", m.PoolFactor, m.PoolKeep, m.PoolFactor)
			}
			b := m.Build
			fmt.Fprintf(w, "build       sample %d passages / %d vectors (%d held out), k-means %d iters on %d points, inertia %.6g, seed %d, chunk %d\n",
				b.SamplePassages, b.SampleVectors, b.HeldOut, b.KMeansIters, b.TrainPoints, b.Inertia, b.Seed, b.ChunkSize)
			// Sizes by file kind (chunk.00001.codes → codes), as index.Stat
			// counts them: every file of the directory, the manifest included.
			st, err := index.Stat(dir)
			if err != nil {
				return err
			}
			names := make([]string, 0, len(st.Bytes))
			for k := range st.Bytes {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(w, "  %-11s %12d B  %7.2f B/token\n", k, st.Bytes[k], float64(st.Bytes[k])/float64(emb))
			}
			total := st.TotalBytes
			fp16 := int64(m.Dim) * 2 * m.NumEmbeddings
			fmt.Fprintf(w, "total       %d B (%s), %.2f bytes/token; codes+residuals %.2f B/token; %.1f× smaller than fp16 (%s)\n",
				total, evaluate.FormatBytes(total), st.BytesPerToken, st.CodeBytesPerToken,
				float64(fp16)/float64(max(1, total)), evaluate.FormatBytes(fp16))
			return nil
		},
	}
}

func indexAppendCommand() *cli.Command {
	return &cli.Command{
		Name:  "append",
		Usage: "add passages to an index with its centroids and buckets (no retraining)",
		Flags: append(colbertModelFlags(),
			&cli.StringFlag{Name: "index", Required: true, Usage: "index directory to update"},
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Required: true, Usage: "new passages: BEIR directory, corpus.jsonl, collection.tsv or .parquet"},
			&cli.IntFlag{Name: "chunk-size", Usage: "passages per chunk (0 = build default)"},
			&cli.IntFlag{Name: "embed-batch", Usage: "passages per encoder call (0 = build default)"},
			&cli.StringFlag{Name: "metadata", Usage: "metadata side file for the new passages (JSONL: {\"id\": …, field: value, …} per line), merged over the collection's extra fields"},
			threadsFlag(), quietFlag(),
		),
		Action: func(c *cli.Context) error {
			dir := c.String("index")
			m, err := loadColBERT(c)
			if err != nil {
				return err
			}
			ps, err := dataset.Passages(c.String("collection"))
			if err != nil {
				return err
			}
			if err := sideMetadata(c, ps); err != nil {
				return fmt.Errorf("index append: %w", err)
			}
			start := time.Now()
			bar := newBar(c, "append", int64(len(ps)), "passages")
			up, err := engine.Append(c.Context, m, dir, ps, engine.AppendOptions{ChunkSize: c.Int("chunk-size"), EmbedBatch: c.Int("embed-batch"), Threads: c.Int("threads"), Bar: bar})
			bar.Finish()
			if err != nil {
				return err
			}
			unit := "embeddings"
			if up.Codec == engine.CodecSparse {
				unit = "postings"
			}
			fmt.Fprintf(c.App.ErrWriter, "index append: %d passages added in %s; %s now has %d passages, %d %s\n",
				len(ps), time.Since(start).Round(time.Millisecond), dir, up.Passages, up.Vectors, unit)
			return nil
		},
	}
}

func indexDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:  "delete",
		Usage: "tombstone passages by id (search skips them; no rebuild)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "index", Required: true, Usage: "index directory to update"},
			&cli.StringSliceFlag{Name: "ids", Usage: "passage ids, comma-separated or repeated"},
			&cli.StringFlag{Name: "ids-file", Usage: "file with one passage id per line"},
		},
		Action: func(c *cli.Context) error {
			ids := c.StringSlice("ids")
			if p := c.String("ids-file"); p != "" {
				raw, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("index delete: %w", err)
				}
				for _, l := range strings.Split(string(raw), "\n") {
					if l = strings.TrimSpace(l); l != "" {
						ids = append(ids, l)
					}
				}
			}
			if len(ids) == 0 {
				return fmt.Errorf("index delete: no ids given (--ids or --ids-file)")
			}
			up, err := engine.Delete(c.Context, c.String("index"), ids)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "index delete: %d passages deleted; %d of %d remain live\n",
				len(ids), up.Live, up.Passages)
			return nil
		},
	}
}

// printSparseInfo describes a SPLADE inverted index (codec/sparse): what
// `index info` prints of it, and `index build`'s closing lines.
func printSparseInfo(w io.Writer, dir string, skipVerify bool, built string) error {
	ix, err := sparse.Open(dir, sparse.OpenOptions{SkipVerify: skipVerify})
	if err != nil {
		return err
	}
	defer ix.Close()
	m, st := ix.Manifest(), ix.Stats()
	fmt.Fprintf(w, "index       %s (%s v%d)\n", dir, m.Format, m.Version)
	fmt.Fprintf(w, "codec       sparse: uint8 impacts (scale %.4g, max weight %.4g), vocabulary %d, blocks of %d postings\n", m.Scale, m.MaxWeight, m.VocabSize, m.BlockSize)
	fmt.Fprintf(w, "checkpoint  %s\n", m.Checkpoint)
	fmt.Fprintf(w, "passages    %d (%d live, %d deleted), generation %d\n", st.Passages, st.Live, st.Deleted, st.Generation)
	fmt.Fprintf(w, "postings    %d (%.1f per passage), %d blocks, %d clamped\n", st.Postings, float64(st.Postings)/float64(max(1, st.Passages)), st.Blocks, st.Clamped)
	fmt.Fprintf(w, "total       %d B (%s), %.1f bytes/passage, %.2f bytes/posting\n", st.Bytes, evaluate.FormatBytes(st.Bytes), st.BytesPerPassage, st.BytesPerPosting)
	if built != "" {
		fmt.Fprintf(w, "build       %s\n", built)
	}
	return nil
}
