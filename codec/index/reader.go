package index

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/codec/residual"
)

// OpenOptions tunes Open.
type OpenOptions struct {
	// SkipVerify skips the CRC-32C pass over every file (sizes and the
	// structure of the small files are still checked). Faster loads of large
	// trusted indexes; a corrupt file can then give wrong results.
	SkipVerify bool
}

// Index is an open, read-only, memory-mapped index. All methods are safe for
// concurrent use. Slices it returns alias the mapping: do not modify them and
// do not use them after Close.
type Index struct {
	dir   string
	man   *Manifest
	codec *residual.Codec
	maps  diskfile.Maps

	centroids []float32
	// Per pid: global token offset (NumPassages+1 entries) and chunk index.
	offsets []int64
	chunkOf []int32
	chunks  []chunkView
	ivf     ivfView

	ids     []string
	idToPID map[string]int32 // live passages only
	deleted []bool
}

type chunkView struct {
	firstPID int
	firstTok int64
	codes    []int32
	resid    []byte
	doclens  []uint32
}

// Open maps and validates the index in dir. It refuses a directory that is
// not a colbert-go index, has a newer format, or whose files are missing,
// truncated or corrupt, with an error naming the file.
func Open(dir string, opt OpenOptions) (_ *Index, err error) {
	if !diskfile.HostLittleEndian {
		return nil, errors.New("index: big-endian hosts are not supported")
	}
	mpath, mb, err := disk.ReadManifest(dir, "colbert-go index")
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(mpath, mb)
	if err != nil {
		return nil, err
	}
	ix := &Index{dir: dir, man: m}
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

	cb, err := mp(centroidsFile)
	if err != nil {
		return nil, err
	}
	ix.centroids = diskfile.Float32s(cb)
	bb, err := mp(bucketsFile)
	if err != nil {
		return nil, err
	}
	bv := diskfile.Float32s(bb)
	nb := 1 << m.NBits
	ix.codec, err = residual.New(m.Dim, m.NBits, ix.centroids, bv[:nb-1], bv[nb-1:2*nb-1])
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w", filepath.Join(dir, bucketsFile), err)
	}
	ix.codec.AvgResidual = bv[2*nb-1:]

	n := m.NumPassages
	ix.offsets = make([]int64, n+1)
	ix.chunkOf = make([]int32, n)
	ix.ids = make([]string, 0, n)
	var tok int64
	for ci, c := range m.Chunks {
		fn := chunkFiles(ci)
		var cv chunkView
		cv.firstPID, cv.firstTok = c.FirstPID, tok
		var b [4][]byte
		for j, name := range fn {
			if b[j], err = mp(name); err != nil {
				return nil, err
			}
		}
		cv.codes, cv.resid, cv.doclens = diskfile.Int32s(b[0]), b[1], diskfile.Uint32s(b[2])
		var sum int64
		for i, l := range cv.doclens {
			p := c.FirstPID + i
			ix.offsets[p] = tok + sum
			ix.chunkOf[p] = int32(ci)
			sum += int64(l)
		}
		if sum != c.Embeddings {
			return nil, fmt.Errorf("index: %s: doclens sum to %d, manifest says %d embeddings", filepath.Join(dir, fn[2]), sum, c.Embeddings)
		}
		// Always checked (cheap: 4 bytes per token) so that a bad code can
		// never index outside the centroids later.
		for i, code := range cv.codes {
			if code < 0 || int(code) >= m.NumCentroids {
				return nil, fmt.Errorf("index: %s: token %d has code %d outside 0…%d", filepath.Join(dir, fn[0]), i, code, m.NumCentroids-1)
			}
		}
		ids, err := disk.ParseIDs(filepath.Join(dir, fn[3]), b[3], c.Passages)
		if err != nil {
			return nil, err
		}
		ix.ids = append(ix.ids, ids...)
		tok += sum
		ix.chunks = append(ix.chunks, cv)
	}
	ix.offsets[n] = tok

	ivb, err := mp(m.IVF)
	if err != nil {
		return nil, err
	}
	if ix.ivf, err = parseIVF(filepath.Join(dir, m.IVF), ivb, m.NumCentroids, n); err != nil {
		return nil, err
	}
	if ix.deleted, err = ix.maps.Deleted(m.Tombstones, n); err != nil {
		return nil, err
	}
	if ix.idToPID, err = disk.LiveIDs(dir, ix.ids, ix.deleted, m.NumDeleted); err != nil {
		return nil, err
	}
	return ix, nil
}

// Close unmaps the files. Slices obtained from the index become invalid.
func (ix *Index) Close() error { return ix.maps.Close() }

// Dir is the directory the index was opened from.
func (ix *Index) Dir() string { return ix.dir }

// Manifest returns a copy of the manifest.
func (ix *Index) Manifest() Manifest { return *ix.man }

// Dim is the vector dimension.
func (ix *Index) Dim() int { return ix.man.Dim }

// NBits is the residual bits per dimension.
func (ix *Index) NBits() int { return ix.man.NBits }

// NumPassages counts pids, tombstoned ones included: pids are
// 0…NumPassages−1.
func (ix *Index) NumPassages() int { return ix.man.NumPassages }

// NumEmbeddings is the total token count.
func (ix *Index) NumEmbeddings() int64 { return ix.man.NumEmbeddings }

// NumCentroids is K.
func (ix *Index) NumCentroids() int { return ix.man.NumCentroids }

// Centroids is the K×Dim row-major centroid matrix (unit rows).
func (ix *Index) Centroids() []float32 { return ix.centroids }

// Codec is the residual codec (centroids and bucket table).
func (ix *Index) Codec() *residual.Codec { return ix.codec }

// IVF lists the sorted unique pids having a token whose code is centroid c.
// Tombstoned pids are included; filter them with Deleted.
func (ix *Index) IVF(c int) []int32 {
	return ix.ivf.pids[ix.ivf.offsets[c]:ix.ivf.offsets[c+1]]
}

// DocLen is pid's token count.
func (ix *Index) DocLen(pid int) int { return int(ix.offsets[pid+1] - ix.offsets[pid]) }

// Offset is pid's first token in the global token order (0…NumEmbeddings).
func (ix *Index) Offset(pid int) int64 { return ix.offsets[pid] }

// Codes is the centroid id of every token of pid, in token order.
func (ix *Index) Codes(pid int) []int32 {
	c := &ix.chunks[ix.chunkOf[pid]]
	lo := ix.offsets[pid] - c.firstTok
	return c.codes[lo : lo+int64(ix.DocLen(pid))]
}

// Residuals is pid's packed residuals, DocLen·Dim·NBits/8 bytes.
func (ix *Index) Residuals(pid int) []byte {
	c := &ix.chunks[ix.chunkOf[pid]]
	ps := int64(ix.codec.PackedSize())
	lo := (ix.offsets[pid] - c.firstTok) * ps
	return c.resid[lo : lo+int64(ix.DocLen(pid))*ps]
}

// Decompress writes pid's reconstructed unit vectors (DocLen×Dim) into dst,
// growing it if needed, and returns it.
func (ix *Index) Decompress(pid int, dst []float32) ([]float32, error) {
	if pid < 0 || pid >= ix.man.NumPassages {
		return dst, fmt.Errorf("index: pid %d out of range 0…%d", pid, ix.man.NumPassages-1)
	}
	n := ix.DocLen(pid) * ix.man.Dim
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	ix.codec.Decompress(ix.Codes(pid), ix.Residuals(pid), dst)
	return dst, nil
}

// DecompressBatch decompresses several passages back to back into dst
// (growing it) and returns it with offsets: passage i occupies
// dst[offs[i]·Dim : offs[i+1]·Dim].
func (ix *Index) DecompressBatch(pids []int32, dst []float32, offs []int) ([]float32, []int, error) {
	offs = append(offs[:0], 0)
	total := 0
	for _, p := range pids {
		if p < 0 || int(p) >= ix.man.NumPassages {
			return dst, offs, fmt.Errorf("index: pid %d out of range 0…%d", p, ix.man.NumPassages-1)
		}
		total += ix.DocLen(int(p))
		offs = append(offs, total)
	}
	dim := ix.man.Dim
	if cap(dst) < total*dim {
		dst = make([]float32, total*dim)
	}
	dst = dst[:total*dim]
	for i, p := range pids {
		ix.codec.Decompress(ix.Codes(int(p)), ix.Residuals(int(p)), dst[offs[i]*dim:offs[i+1]*dim])
	}
	return dst, offs, nil
}

// PassageID is pid's string id.
func (ix *Index) PassageID(pid int) string { return ix.ids[pid] }

// PID finds the live pid of a string id.
func (ix *Index) PID(id string) (int, bool) {
	p, ok := ix.idToPID[id]
	return int(p), ok
}

// Deleted reports whether pid is tombstoned.
func (ix *Index) Deleted(pid int) bool { return ix.deleted[pid] }

// NumLive is the number of passages not tombstoned.
func (ix *Index) NumLive() int { return ix.man.NumPassages - ix.man.NumDeleted }
