package sparse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/data/progress"
)

// Append adds src's passages to the index in dir. They get the next pids,
// are quantised with the index's scale (weights above 255·Scale are clamped
// to 255 and counted in Manifest.Clamped), and a new postings generation is
// written: the old lists followed by the new passages' postings. The new
// state becomes visible atomically when the manifest is replaced; an
// interrupted or failed append leaves the old index intact (it is not
// resumable: run it again). Ids must not collide with live passages. Only
// one update runs at a time (the index's update lock; another is refused
// with ErrUpdating); open readers keep their snapshot (the old
// generation's files are unlinked, not overwritten).
func Append(ctx context.Context, dir string, src Source, bar *progress.Bar) (*Manifest, error) {
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
	n := src.NumPassages()
	if int64(old.NumPassages)+int64(n) > maxPassages {
		return nil, fmt.Errorf("sparse: append to %s: %d + %d passages exceed %d", dir, old.NumPassages, n, maxPassages)
	}
	if err := disk.CheckNewIDs(dir, n, src.ID, ix.PID); err != nil {
		return nil, err
	}
	bar.SetTotal(int64(n))

	m := *old
	m.Generation++
	m.Postings = postingsName(m.Generation)
	oldPostings := postingsFiles(old.Postings)
	m.Files = diskfile.Without(old.Files, oldPostings[:]...)
	m.Chunks = slices.Clone(old.Chunks)
	first := len(m.Chunks)
	var written, temporary []string
	cleanup := func() {
		for _, f := range append(written, temporary...) {
			os.Remove(filepath.Join(dir, f))
		}
	}
	for lo := 0; lo < n; lo += m.ChunkSize {
		hi := min(n, lo+m.ChunkSize)
		ci := len(m.Chunks)
		mk, err := writeChunk(ctx, dir, ci, m.NumPassages, src, lo, hi, m.VocabSize, bar)
		f := forwardFiles(ci)
		temporary = append(temporary, f[0], f[1], f[2], diskfile.MarkerName(ci))
		written = append(written, idsName(ci))
		if err != nil {
			cleanup()
			return nil, err
		}
		m.Chunks = append(m.Chunks, mk.Chunk)
		m.NumPassages += mk.Chunk.Passages
		m.NumPostings += mk.Chunk.Postings
		m.Files[idsName(ci)] = mk.Files[idsName(ci)]
	}
	fwd, unmap, err := mapForward(dir, m.Chunks, first)
	if err != nil {
		cleanup()
		return nil, err
	}
	st, err := writePostings(ctx, dir, m.Postings, m.VocabSize, m.BlockSize, m.Scale, ix.post, fwd)
	unmap()
	for _, f := range postingsFiles(m.Postings) {
		written = append(written, f)
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	m.NumBlocks = st.blocks
	m.Clamped += st.clamped
	for k, v := range st.files {
		m.Files[k] = v
	}
	if err := commitManifest(dir, &m); err != nil {
		cleanup()
		return nil, err
	}
	for _, f := range temporary {
		os.Remove(filepath.Join(dir, f))
	}
	for _, f := range oldPostings {
		os.Remove(filepath.Join(dir, f))
	}
	return &m, nil
}

// Delete tombstones the passages with the given string ids: they keep their
// pids and postings but are never returned by search nor found by PID.
// Unknown, already deleted or repeated ids are an error and nothing is
// changed. The new tombstones file is a new generation, committed with the
// manifest.
func Delete(ctx context.Context, dir string, ids []string) (*Manifest, error) {
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := *old
	m.Generation++
	if m.Tombstones, m.Files, err = disk.NextTombstones(dir, m.Generation, old.Files, old.Tombstones, dead); err != nil {
		return nil, err
	}
	m.NumDeleted = len(dead)
	if err := commitManifest(dir, &m); err != nil {
		if m.Tombstones != "" {
			os.Remove(filepath.Join(dir, m.Tombstones))
		}
		return nil, err
	}
	if old.Tombstones != "" {
		os.Remove(filepath.Join(dir, old.Tombstones))
	}
	return &m, nil
}

// commitManifest validates m and atomically replaces dir's manifest.
func commitManifest(dir string, m *Manifest) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("sparse: internal error, updated manifest invalid: %w", err)
	}
	return disk.WriteManifest(dir, m)
}
