package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/codec/metadb"
	"github.com/colbert-go/colbert/data/progress"
)

// AppendOptions configures Append; zero fields take Build's defaults.
type AppendOptions struct {
	ChunkSize, EmbedBatch, Threads int
	// Meta gives the new passages' metadata fields. An index with a
	// metadata database gets a row per new passage either way; one
	// without gets a database (a row per live passage) when Meta is set.
	Meta MetaFunc
}

// Append adds src's passages to the index in dir without retraining: they
// are compressed with the index's centroids and buckets into new chunks,
// get the next pids, and the IVF is extended. The new state becomes visible
// atomically when the manifest is replaced; an interrupted append leaves the
// old index intact. Ids must not collide with live passages. Only one
// update runs at a time (the index's update lock; another is refused with
// ErrUpdating); open readers keep their snapshot.
func Append(ctx context.Context, dir string, src Source, opt AppendOptions, bar *progress.Bar) (*Manifest, error) {
	unlock, err := disk.LockUpdate(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	old := ix.man
	bo := BuildOptions{Dim: old.Dim, NBits: old.NBits, ChunkSize: opt.ChunkSize, EmbedBatch: opt.EmbedBatch, Threads: opt.Threads}
	bo.fill()
	src = poolSource(src, old.PoolFactor, old.Dim, bo.Threads)
	n := src.Len()
	if err := disk.CheckNewIDs(dir, n, src.ID, ix.PID); err != nil {
		return nil, err
	}
	bar.SetTotal(int64(n))

	m := *old
	m.Generation++
	m.IVF = ivfName(m.Generation)
	m.Files = diskfile.Without(old.Files, old.IVF)
	m.Chunks = slices.Clone(old.Chunks)
	first := len(m.Chunks)
	var written []string
	cleanup := func() {
		for _, f := range written {
			os.Remove(filepath.Join(dir, f))
		}
	}
	for lo := 0; lo < n; lo += bo.ChunkSize {
		hi := min(n, lo+bo.ChunkSize)
		ci := len(m.Chunks)
		shifted := offsetSource{src, m.NumPassages - lo}
		info, files, err := writeChunk(ctx, dir, ci, m.NumPassages, m.NumPassages+hi-lo, shifted, ix.codec, bo, bar)
		os.Remove(filepath.Join(dir, diskfile.MarkerName(ci)))
		for _, f := range chunkFiles(ci) {
			written = append(written, f)
		}
		if err != nil {
			cleanup()
			return nil, err
		}
		m.Chunks = append(m.Chunks, info)
		m.NumPassages += info.Passages
		m.NumEmbeddings += info.Embeddings
		for k, v := range files {
			m.Files[k] = v
		}
	}
	fi, err := writeIVF(dir, &m, &ivfPrev{view: ix.ivf, chunks: first})
	written = append(written, m.IVF)
	if err != nil {
		cleanup()
		return nil, err
	}
	m.Files[m.IVF] = fi
	if old.Metadata != "" || opt.Meta != nil {
		add := metaRows(src, old.NumPassages, opt.Meta)
		if old.Metadata != "" {
			err = updateMeta(ctx, dir, old, &m, add, nil)
		} else {
			var rows []metadb.Row
			for p := 0; p < old.NumPassages; p++ {
				if !ix.deleted[p] {
					rows = append(rows, metadb.Row{PID: p, ID: ix.ids[p]})
				}
			}
			err = createMeta(ctx, dir, &m, m.Generation, append(rows, add...))
		}
		if err != nil {
			cleanup()
			return nil, err
		}
		written = append(written, m.Metadata)
	}
	if err := commitManifest(dir, &m); err != nil {
		cleanup()
		return nil, err
	}
	os.Remove(filepath.Join(dir, old.IVF))
	if old.Metadata != "" {
		os.Remove(filepath.Join(dir, old.Metadata))
	}
	return &m, nil
}

// offsetSource renumbers a source's passages so writeChunk can address them
// by their new pids.
type offsetSource struct {
	Source
	shift int // new pid − source index
}

func (o offsetSource) ID(pid int) string { return o.Source.ID(pid - o.shift) }

func (o offsetSource) Embed(ctx context.Context, start, end int) ([][]float32, error) {
	return o.Source.Embed(ctx, start-o.shift, end-o.shift)
}

// Delete tombstones the passages with the given string ids: they keep their
// pids and bytes but are skipped by search and by PID. Unknown or already
// deleted ids are an error and nothing is changed.
func Delete(dir string, ids []string) (*Manifest, error) {
	unlock, err := disk.LockUpdate(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	old := ix.man
	dead, err := disk.Tombstone(dir, ix.deleted, ix.PID, ids)
	if err != nil {
		return nil, err
	}
	m := *old
	m.Generation++
	if m.Tombstones, m.Files, err = disk.NextTombstones(dir, m.Generation, old.Files, old.Tombstones, dead); err != nil {
		return nil, err
	}
	m.NumDeleted = len(dead)
	if old.Metadata != "" {
		del := make([]int, 0, len(ids))
		for _, id := range ids {
			p, _ := ix.PID(id)
			del = append(del, p)
		}
		if err := updateMeta(context.Background(), dir, old, &m, nil, del); err != nil {
			os.Remove(filepath.Join(dir, m.Tombstones))
			return nil, err
		}
	}
	if err := commitManifest(dir, &m); err != nil {
		os.Remove(filepath.Join(dir, m.Tombstones))
		if m.Metadata != old.Metadata {
			os.Remove(filepath.Join(dir, m.Metadata))
		}
		return nil, err
	}
	if old.Tombstones != "" {
		os.Remove(filepath.Join(dir, old.Tombstones))
	}
	if old.Metadata != "" {
		os.Remove(filepath.Join(dir, old.Metadata))
	}
	return &m, nil
}

// commitManifest validates m and atomically replaces dir's manifest.
func commitManifest(dir string, m *Manifest) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("index: internal error, updated manifest invalid: %w", err)
	}
	return disk.WriteManifest(dir, m)
}
