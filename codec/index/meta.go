package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/codec/metadb"
	"github.com/colbert-go/colbert/data/fsx"
)

// MetaFunc gives passage i's metadata fields (nil: none) for the metadata
// database (codec/metadb) an index keeps beside its vectors.
type MetaFunc func(i int) map[string]any

// metaName is the metadata database of generation gen.
func metaName(gen int) string { return fmt.Sprintf("meta.%05d.sqlite", gen) }

// MetadataPath is the path of the index's metadata database (codec/metadb:
// table meta keyed by pid), or "" when it has none.
func (ix *Index) MetadataPath() string {
	if ix.man.Metadata == "" {
		return ""
	}
	return filepath.Join(ix.dir, ix.man.Metadata)
}

// writeMeta makes the database file name in dir with fill (given a new,
// hidden path beside it), then makes it durable under its name and returns
// its size and CRC-32C. A failure leaves no file behind.
func writeMeta(dir, name string, fill func(path string) error) (FileInfo, error) {
	final := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return FileInfo{}, fmt.Errorf("index: %w", err)
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp) // metadb creates the file itself
	fail := func(err error) (FileInfo, error) {
		os.Remove(tmp)
		return FileInfo{}, err
	}
	if err := fill(tmp); err != nil {
		return fail(err)
	}
	g, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fail(fmt.Errorf("index: %w", err))
	}
	fi, err := diskfile.Checksum(g)
	if err == nil {
		err = g.Chmod(0o644)
	}
	if err == nil {
		err = g.Sync()
	}
	if cerr := g.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		return fail(fmt.Errorf("index: write %s: %w", final, err))
	}
	if err := fsx.SyncDir(filepath.Dir(final)); err != nil {
		return FileInfo{}, fmt.Errorf("index: %w", err)
	}
	return fi, nil
}

// metaRows are the rows of pids first… for src's passages.
func metaRows(src Source, first int, meta MetaFunc) []metadb.Row {
	rows := make([]metadb.Row, src.Len())
	for i := range rows {
		rows[i] = metadb.Row{PID: first + i, ID: src.ID(i)}
		if meta != nil {
			rows[i].Meta = meta(i)
		}
	}
	return rows
}

// createMeta writes generation gen's database with rows into dir and
// records it in m.
func createMeta(ctx context.Context, dir string, m *Manifest, gen int, rows []metadb.Row) error {
	name := metaName(gen)
	os.Remove(filepath.Join(dir, name)) // left by an interrupted build
	fi, err := writeMeta(dir, name, func(p string) error { return metadb.Create(ctx, p, rows) })
	if err != nil {
		return fmt.Errorf("index: metadata: %w", err)
	}
	m.Metadata, m.Files[name] = name, fi
	return nil
}

// updateMeta writes generation m.Generation's database into dir: old's
// rows, then add, without del; m then names it instead of old's.
func updateMeta(ctx context.Context, dir string, old, m *Manifest, add []metadb.Row, del []int) error {
	name := metaName(m.Generation)
	fi, err := writeMeta(dir, name, func(p string) error {
		return metadb.Update(ctx, filepath.Join(dir, old.Metadata), p, add, del)
	})
	if err != nil {
		return fmt.Errorf("index: metadata: %w", err)
	}
	delete(m.Files, old.Metadata)
	m.Metadata, m.Files[name] = name, fi
	return nil
}

// SetMetadata replaces the metadata database of the index in dir (or gives
// it one) with a row per live passage, meta(id) giving its fields (nil:
// none), as a new generation committed atomically like Delete: readers
// that opened the index before keep their snapshot.
func SetMetadata(ctx context.Context, dir string, meta func(id string) map[string]any) (*Manifest, error) {
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
	rows := make([]metadb.Row, 0, ix.NumLive())
	for p, id := range ix.ids {
		if !ix.deleted[p] {
			rows = append(rows, metadb.Row{PID: p, ID: id, Meta: meta(id)})
		}
	}
	m := *old
	m.Generation++
	m.Files = diskfile.Without(old.Files, old.Metadata)
	if err := createMeta(ctx, dir, &m, m.Generation, rows); err != nil {
		return nil, err
	}
	if err := commitManifest(dir, &m); err != nil {
		os.Remove(filepath.Join(dir, m.Metadata))
		return nil, err
	}
	if old.Metadata != "" {
		os.Remove(filepath.Join(dir, old.Metadata))
	}
	return &m, nil
}
