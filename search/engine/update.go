package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/codec/sparse"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/model/colbert"
)

// IndexFormat names the kind of index in dir from its manifest: CodecResidual
// (codec/index) or CodecSparse (codec/sparse); an error names the file when
// dir holds neither.
func IndexFormat(dir string) (string, error) {
	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", fmt.Errorf("engine: %s: %w", path, err)
	}
	switch head.Format {
	case index.Format:
		return CodecResidual, nil
	case sparse.Format:
		return CodecSparse, nil
	}
	return "", fmt.Errorf("engine: %s: format %q is neither a residual (%s) nor a sparse (%s) index", path, head.Format, index.Format, sparse.Format)
}

// ErrUpdating is returned by Append, Delete (and Live's) when another
// update of the same index, in this process or another (`colbert index
// append` beside a `serve --writable`), is running: updates write the next
// generation's files under fixed names, so the second is refused and
// changes nothing; run it again once the first has committed.
var ErrUpdating = index.ErrUpdating

// AppendOptions configure Append.
type AppendOptions struct {
	// ChunkSize and EmbedBatch tune the residual index's append (0 = its
	// defaults); Threads encodes.
	ChunkSize, EmbedBatch, Threads int
	// Bar advances by one per passage appended; nil is silent.
	Bar *progress.Bar
}

// Updated is an index after Append or Delete.
type Updated struct {
	Codec          string
	Passages, Live int
	Vectors        int64 // embeddings (residual) or postings (sparse)
	Generation     int
}

// Append encodes passages with m and adds them to the index in dir (the
// residual index with its centroids and buckets, or SPLADE's inverted
// index with its quantisation scale): new pids, ids must not collide with
// live ones, committed atomically; the index must have been built by m.
func Append(ctx context.Context, m *colbert.Model, dir string, passages []data.Passage, opt AppendOptions) (*Updated, error) {
	e, err := Open(m, dir, OpenOptions{SkipVerify: true}) // refuse another model before encoding anything
	if err != nil {
		return nil, err
	}
	e.Close()
	src, err := colbert.NewSource(ctx, m, passages, colbert.SourceOptions{Threads: opt.Threads})
	if err != nil {
		return nil, err
	}
	if m.IsSparse() {
		mf, err := sparse.Append(ctx, dir, &sparseSource{ctx: ctx, src: src, batch: 128}, opt.Bar)
		if err != nil {
			return nil, err
		}
		return &Updated{Codec: CodecSparse, Passages: mf.NumPassages, Live: mf.NumPassages - mf.NumDeleted, Vectors: mf.NumPostings, Generation: mf.Generation}, nil
	}
	mf, err := index.Append(ctx, dir, src, index.AppendOptions{ChunkSize: opt.ChunkSize, EmbedBatch: opt.EmbedBatch, Threads: opt.Threads,
		Meta: PassageMeta(passages)}, opt.Bar)
	if err != nil {
		return nil, err
	}
	return &Updated{Codec: CodecResidual, Passages: mf.NumPassages, Live: mf.NumPassages - mf.NumDeleted, Vectors: mf.NumEmbeddings, Generation: mf.Generation}, nil
}

// Delete tombstones the passages ids in the index in dir, residual or
// sparse: pids stay stable, search skips them, committed atomically.
func Delete(ctx context.Context, dir string, ids []string) (*Updated, error) {
	f, err := IndexFormat(dir)
	if err != nil {
		return nil, err
	}
	if f == CodecSparse {
		mf, err := sparse.Delete(ctx, dir, ids)
		if err != nil {
			return nil, err
		}
		return &Updated{Codec: f, Passages: mf.NumPassages, Live: mf.NumPassages - mf.NumDeleted, Vectors: mf.NumPostings, Generation: mf.Generation}, nil
	}
	mf, err := index.Delete(dir, ids)
	if err != nil {
		return nil, err
	}
	return &Updated{Codec: f, Passages: mf.NumPassages, Live: mf.NumPassages - mf.NumDeleted, Vectors: mf.NumEmbeddings, Generation: mf.Generation}, nil
}
