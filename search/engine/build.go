package engine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/model/colbert"
)

// BuildOptions configure Build.
type BuildOptions struct {
	// Codec is CodecResidual ("" too) for ColBERTv2's residual index, or
	// any flat codec name for a flat index (the float32 vectors every flat
	// codec is applied to when opened).
	Codec string
	// Index are the residual build's settings; Dim and Checkpoint are the
	// model's (set by Build), Threads defaults to Threads. Index.PoolFactor
	// > 1 pools each passage's token vectors (codec/pool) before k-means
	// and compression; the manifest records it.
	Index index.BuildOptions
	// CachePath is the token id cache that lets an interrupted build
	// resume without tokenising again ("" = dir + ".ids"); it is removed
	// after a finished build unless KeepCache.
	CachePath string
	KeepCache bool
	Threads   int
	// NoMetadata leaves the passages' Meta out of a residual index; by
	// default a collection with fields beyond id, title and text gets a
	// metadata database (codec/metadb) for filtered search.
	NoMetadata bool
	// NewBar makes the progress bars of tokenising and indexing; nil is
	// silent.
	NewBar func(label string, total int64, unit string) *progress.Bar
}

// BuildStats report a finished build.
type BuildStats struct {
	Passages  int
	Tokenised time.Duration
	Built     time.Duration
	// Manifest is the residual index's (nil for a flat index).
	Manifest *index.Manifest
}

func (o BuildOptions) bar(label string, total int64, unit string) *progress.Bar {
	if o.NewBar == nil {
		return nil
	}
	return o.NewBar(label, total, unit)
}

// Build encodes passages with m and writes an index to dir that Open
// accepts for m: a residual index (codec/index.Build: resumable, committed
// atomically) or a flat one (codec/flat.Write).
func Build(ctx context.Context, m *colbert.Model, dir string, passages []data.Passage, opt BuildOptions) (*BuildStats, error) {
	if opt.Index.PoolFactor > 1 && m.IsSparse() {
		return nil, fmt.Errorf("engine: pool factor %d pools token vectors; a splade model's index holds term impacts", opt.Index.PoolFactor)
	}
	if opt.Index.PoolFactor > 1 && opt.Codec != "" && opt.Codec != CodecResidual {
		return nil, fmt.Errorf("engine: pool factor %d applies to the residual index, not codec %s", opt.Index.PoolFactor, opt.Codec)
	}
	if !m.IsSparse() && !m.UnitVectors() {
		switch opt.Codec {
		case "":
			opt.Codec = flat.CodecFP32 // see colbert.Model.UnitVectors
		case CodecResidual:
			return nil, errNotUnit(m)
		}
	}
	cache := opt.CachePath
	if cache == "" {
		cache = dir + ".ids"
	}
	start := time.Now()
	bar := opt.bar("tokenise", int64(len(passages)), "passages")
	src, err := colbert.NewSource(ctx, m, passages, colbert.SourceOptions{CachePath: cache, Threads: opt.Threads, Bar: bar})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	st := &BuildStats{Passages: src.Len(), Tokenised: time.Since(start)}
	start = time.Now()
	switch {
	case m.IsSparse():
		if opt.Codec != "" && opt.Codec != CodecSparse {
			return nil, fmt.Errorf("engine: %s is a splade model: its index is codec %s, not %s", m.Dir, CodecSparse, opt.Codec)
		}
		err = buildSparse(ctx, m, dir, src, opt)
	case opt.Codec == "" || opt.Codec == CodecResidual:
		io := opt.Index
		io.Dim, io.Checkpoint = m.Dim(), m.Key // weights, config and tokenizer: see colbert.Model.Key
		if io.Meta == nil && !opt.NoMetadata {
			io.Meta = PassageMeta(passages)
		}
		if io.Threads == 0 {
			io.Threads = opt.Threads
		}
		bar = opt.bar("index", int64(src.Len()), "passages")
		st.Manifest, err = index.Build(ctx, dir, src, io, bar)
		bar.Finish()
	default:
		if !slices.Contains(flat.Codecs, opt.Codec) {
			return nil, fmt.Errorf("engine: codec %q: want %s or one of %v", opt.Codec, CodecResidual, flat.Codecs)
		}
		err = buildFlat(ctx, m, dir, src, opt)
	}
	if err != nil {
		return nil, err
	}
	st.Built = time.Since(start)
	if !opt.KeepCache {
		os.Remove(cache) // only needed to resume; the index is complete
	}
	return st, nil
}

// errNotUnit refuses the residual codec for a model whose passage vectors
// are not unit vectors.
func errNotUnit(m *colbert.Model) error {
	return fmt.Errorf("engine: %s is a %s model: its passage vectors are scored at their own norm, and the residual codec normalises them; use a flat codec (%s, %s)",
		m.Dir, m.Kind, flat.CodecFP32, flat.CodecFP16)
}

// buildFlat encodes every passage of src into a flat index in dir.
func buildFlat(ctx context.Context, m *colbert.Model, dir string, src *colbert.Source, opt BuildOptions) error {
	dim := m.Dim()
	vecs := make([]float32, 0, int(src.NumTokens())*dim)
	doclens := make([]int, 0, src.Len())
	ids := make([]string, src.Len())
	bar := opt.bar("encode", int64(src.Len()), "passages")
	defer bar.Finish()
	const batch = 256
	for lo := 0; lo < src.Len(); lo += batch {
		hi := min(lo+batch, src.Len())
		emb, err := src.Embed(ctx, lo, hi)
		if err != nil {
			return err
		}
		for i, e := range emb {
			vecs = append(vecs, e...)
			doclens = append(doclens, len(e)/dim)
			ids[lo+i] = src.ID(lo + i)
		}
		bar.Add(int64(hi - lo))
	}
	return flat.Write(dir, m.Key, dim, ids, vecs, doclens)
}

// PassageMeta is the index.MetaFunc of the passages' Meta, or nil when no
// passage has any (no metadata database is then written).
func PassageMeta(passages []data.Passage) index.MetaFunc {
	for _, p := range passages {
		if len(p.Meta) > 0 {
			return func(i int) map[string]any { return passages[i].Meta }
		}
	}
	return nil
}
