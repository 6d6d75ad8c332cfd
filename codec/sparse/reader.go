package sparse

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"syscall"
)

// OpenOptions tunes Open.
type OpenOptions struct {
	// SkipVerify skips the CRC-32C pass over every file. Sizes and the
	// structure of every file (sorted pids in range, block maxima equal to
	// their postings' maxima) are still checked, so a corrupt index can
	// give wrong scores but never out-of-range accesses or wrong pruning
	// relative to its own postings.
	SkipVerify bool
}

// Index is an open, read-only, memory-mapped sparse index. All methods are
// safe for concurrent use. Slices it returns alias the mapping: do not
// modify them and do not use them after Close.
type Index struct {
	dir     string
	man     *Manifest
	manSize int64 // bytes of the manifest read
	maps    [][]byte
	post    *postings
	deq     [256]float32
	ids     []string
	idToPID map[string]int32 // live passages only
	deleted []bool
}

// Open maps and validates the index in dir. It refuses a directory that is
// not a colbert-go sparse index, has a newer format, or whose files are
// missing, truncated or corrupt, with an error naming the file.
func Open(dir string, opt OpenOptions) (_ *Index, err error) {
	if !hostLittleEndian {
		return nil, errors.New("sparse: big-endian hosts are not supported")
	}
	mpath := joinDir(dir, ManifestName)
	f, err := os.Open(mpath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sparse: %s is not a colbert-go sparse index (no %s)", dir, ManifestName)
		}
		return nil, fmt.Errorf("sparse: %w", err)
	}
	mb, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("sparse: read %s: %w", mpath, err)
	}
	if len(mb) > maxManifest {
		return nil, fmt.Errorf("sparse: %s larger than %d bytes", mpath, maxManifest)
	}
	m, err := ParseManifest(mpath, mb)
	if err != nil {
		return nil, err
	}
	ix := &Index{dir: dir, man: m, manSize: int64(len(mb))}
	defer func() {
		if err != nil {
			ix.Close()
		}
	}()
	names := make([]string, 0, len(m.Files))
	for name := range m.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkFile(joinDir(dir, name), m.Files[name], opt.SkipVerify); err != nil {
			return nil, err
		}
	}
	mp := func(name string) ([]byte, error) {
		b, err := mapFile(joinDir(dir, name))
		if err == nil && b != nil {
			ix.maps = append(ix.maps, b)
		}
		return b, err
	}
	n := m.NumPassages
	ix.ids = make([]string, 0, n)
	for ci, c := range m.Chunks {
		b, err := mp(idsName(ci))
		if err != nil {
			return nil, err
		}
		ids, err := parseIDs(joinDir(dir, idsName(ci)), b, c.Passages)
		if err != nil {
			return nil, err
		}
		ix.ids = append(ix.ids, ids...)
	}
	var pb [4][]byte
	for i, name := range postingsFiles(m.Postings) {
		if pb[i], err = mp(name); err != nil {
			return nil, err
		}
	}
	ix.post, err = parsePostings(joinDir(dir, m.Postings), m.VocabSize, n, m.BlockSize, m.NumBlocks, pb[0], pb[1], pb[2], pb[3])
	if err != nil {
		return nil, err
	}
	// Each chunk's posting count is its passages' terms; the postings
	// must hold exactly the chunks' sum (checked by the manifest) — a
	// per-chunk recount would need a forward index, which is not kept.
	ix.deleted = make([]bool, n)
	if m.Tombstones != "" {
		tb, err := mp(m.Tombstones)
		if err != nil {
			return nil, err
		}
		ts, err := parseTombstones(joinDir(dir, m.Tombstones), tb, n)
		if err != nil {
			return nil, err
		}
		for _, p := range ts {
			ix.deleted[p] = true
		}
	}
	ix.idToPID = make(map[string]int32, n-m.NumDeleted)
	for p, id := range ix.ids {
		if ix.deleted[p] {
			continue
		}
		if q, dup := ix.idToPID[id]; dup {
			return nil, fmt.Errorf("sparse: %s: passage id %q is live at pids %d and %d", dir, id, q, p)
		}
		ix.idToPID[id] = int32(p)
	}
	for q := range ix.deq {
		ix.deq[q] = float32(q) * m.Scale
	}
	return ix, nil
}

// Close unmaps the files. Slices obtained from the index become invalid.
func (ix *Index) Close() error {
	var first error
	for _, b := range ix.maps {
		if err := syscall.Munmap(b); err != nil && first == nil {
			first = err
		}
	}
	ix.maps = nil
	return first
}

// Dir is the directory the index was opened from.
func (ix *Index) Dir() string { return ix.dir }

// Manifest returns a copy of the manifest.
func (ix *Index) Manifest() Manifest { return *ix.man }

// NumPassages counts pids, tombstoned ones included: pids are
// 0…NumPassages−1.
func (ix *Index) NumPassages() int { return ix.man.NumPassages }

// NumLive is the number of passages not tombstoned.
func (ix *Index) NumLive() int { return ix.man.NumPassages - ix.man.NumDeleted }

// VocabSize is the number of term ids.
func (ix *Index) VocabSize() int { return ix.man.VocabSize }

// BlockSize is the number of postings per block (the last block of a term
// may hold fewer).
func (ix *Index) BlockSize() int { return ix.man.BlockSize }

// ID is pid's string id.
func (ix *Index) ID(pid int) string { return ix.ids[pid] }

// PID finds the live pid of a string id.
func (ix *Index) PID(id string) (int, bool) {
	p, ok := ix.idToPID[id]
	return int(p), ok
}

// Deleted reports whether pid is tombstoned.
func (ix *Index) Deleted(pid int) bool { return ix.deleted[pid] }

// Scale is the weight one impact step stands for.
func (ix *Index) Scale() float32 { return ix.man.Scale }

// Dequantise is the weight impact q stands for, float32(q)·Scale. It is
// the one dequantisation: every scorer of the index must use it so that
// exhaustive and pruned scores are the same float32 values.
func (ix *Index) Dequantise(q uint8) float32 { return ix.deq[q] }

// Postings are term t's pids (strictly increasing, tombstoned ones
// included) and impacts; empty for a term outside the vocabulary.
func (ix *Index) Postings(t int) (pids []uint32, impacts []uint8) {
	if t < 0 || t >= ix.man.VocabSize {
		return nil, nil
	}
	p := ix.post
	lo, hi := p.offsets[t], p.offsets[t+1]
	return p.docs[lo:hi], p.imps[lo:hi]
}

// Blocks are term t's block-max metadata: block j covers its postings
// j·BlockSize…min(len, (j+1)·BlockSize)−1, last[j] is the block's last pid
// and maxImpact[j] its largest impact.
func (ix *Index) Blocks(t int) (last []uint32, maxImpact []uint8) {
	if t < 0 || t >= ix.man.VocabSize {
		return nil, nil
	}
	p := ix.post
	lo, hi := p.blockOff[t], p.blockOff[t+1]
	return p.blockLast[lo:hi], p.blockMax[lo:hi]
}

// TermMax is term t's largest impact (0 for a term without postings).
func (ix *Index) TermMax(t int) uint8 {
	if t < 0 || t >= ix.man.VocabSize {
		return 0
	}
	return ix.post.termMax[t]
}
