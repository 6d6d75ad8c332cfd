package sparse

import (
	"errors"
	"path/filepath"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
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
	maps    diskfile.Maps
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
	if !diskfile.HostLittleEndian {
		return nil, errors.New("sparse: big-endian hosts are not supported")
	}
	mpath, mb, err := disk.ReadManifest(dir, "colbert-go sparse index")
	if err != nil {
		return nil, err
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
	if err := disk.CheckAll(dir, m.Files, opt.SkipVerify); err != nil {
		return nil, err
	}
	ix.maps = disk.Maps(dir)
	mp := ix.maps.Map
	n := m.NumPassages
	ix.ids = make([]string, 0, n)
	for ci, c := range m.Chunks {
		b, err := mp(idsName(ci))
		if err != nil {
			return nil, err
		}
		ids, err := disk.ParseIDs(filepath.Join(dir, idsName(ci)), b, c.Passages)
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
	ix.post, err = parsePostings(filepath.Join(dir, m.Postings), m.VocabSize, n, m.BlockSize, m.NumBlocks, pb[0], pb[1], pb[2], pb[3])
	if err != nil {
		return nil, err
	}
	// Each chunk's posting count is its passages' terms; the postings
	// must hold exactly the chunks' sum (checked by the manifest) — a
	// per-chunk recount would need a forward index, which is not kept.
	if ix.deleted, err = ix.maps.Deleted(m.Tombstones, n); err != nil {
		return nil, err
	}
	if ix.idToPID, err = disk.LiveIDs(dir, ix.ids, ix.deleted, m.NumDeleted); err != nil {
		return nil, err
	}
	for q := range ix.deq {
		ix.deq[q] = float32(q) * m.Scale
	}
	return ix, nil
}

// Close unmaps the files. Slices obtained from the index become invalid.
func (ix *Index) Close() error { return ix.maps.Close() }

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
