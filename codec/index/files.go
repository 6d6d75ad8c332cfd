package index

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"github.com/colbert-go/colbert/data/fsx"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// hostLittleEndian: the mmapped int32/float32 views require it.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// fileWriter writes a file through fsx, tracking size and CRC-32C; commit
// makes it durable under its final name, so a file either is complete or
// does not exist under that name.
type fileWriter struct {
	path string
	f    *fsx.File
	bw   *bufio.Writer
	crc  hash.Hash32
	n    int64
}

func createFile(path string) (*fileWriter, error) {
	f, err := fsx.Create(path, 0o644)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return &fileWriter{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}, nil
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.bw.Write(p)
	w.crc.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("index: write %s: %w", w.path, err)
	}
	return n, nil
}

func (w *fileWriter) commit() (FileInfo, error) {
	if err := w.bw.Flush(); err != nil {
		w.f.Abort()
		return FileInfo{}, fmt.Errorf("index: write %s: %w", w.path, err)
	}
	if err := w.f.Commit(); err != nil {
		return FileInfo{}, fmt.Errorf("index: %w", err)
	}
	return FileInfo{Size: w.n, CRC32C: w.crc.Sum32()}, nil
}

func (w *fileWriter) abort() { w.f.Abort() }

// writeFile writes data atomically and returns its FileInfo.
func writeFile(path string, data []byte) (FileInfo, error) {
	w, err := createFile(path)
	if err != nil {
		return FileInfo{}, err
	}
	if _, err := w.Write(data); err != nil {
		w.abort()
		return FileInfo{}, err
	}
	return w.commit()
}

// checkFile verifies size and (unless skipCRC) checksum of an existing file.
func checkFile(path string, want FileInfo, skipCRC bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if st.Size() != want.Size {
		return fmt.Errorf("index: %s: size %d, manifest says %d (truncated or replaced)", path, st.Size(), want.Size)
	}
	if skipCRC {
		return nil
	}
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("index: read %s: %w", path, err)
	}
	if h.Sum32() != want.CRC32C {
		return fmt.Errorf("index: %s: checksum mismatch (corrupt file)", path)
	}
	return nil
}

// syncDir makes dir's entries durable (fsx.SyncDir).
func syncDir(dir string) error { return fsx.SyncDir(dir) }

// mapFile maps a whole file read-only. An empty file yields nil.
func mapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if st.Size() == 0 {
		return nil, nil
	}
	if st.Size() > math.MaxInt {
		return nil, fmt.Errorf("index: %s too large to map", path)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("index: mmap %s: %w", path, err)
	}
	return b, nil
}

// int32s, uint32s and float32s view little-endian bytes in place (mmap
// regions are page-aligned, so the views are aligned).
func int32s(b []byte) []int32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func uint32s(b []byte) []uint32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func float32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func uint64s(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func i32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func u32Bytes(v []uint32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// appendID appends one passage id record (uvarint length + bytes).
func appendID(dst []byte, id string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	return append(dst, id...)
}

// parseIDs decodes exactly n id records from b; name is used in errors.
func parseIDs(name string, b []byte, n int) ([]string, error) {
	ids := make([]string, 0, min(n, len(b)+1))
	for i := 0; i < n; i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, fmt.Errorf("index: %s: record %d: bad length prefix", name, i)
		}
		b = b[k:]
		if l > uint64(len(b)) {
			return nil, fmt.Errorf("index: %s: record %d: length %d beyond end of file", name, i, l)
		}
		ids = append(ids, string(b[:l]))
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("index: %s: %d trailing bytes after %d records", name, len(b), n)
	}
	return ids, nil
}

// ivfView is a parsed IVF file: offsets[c]…offsets[c+1] index pids.
type ivfView struct {
	offsets []uint64
	pids    []int32
}

// parseIVF checks an IVF file's structure: monotone offsets covering all
// pids, each list strictly increasing with pids < numPassages.
func parseIVF(name string, b []byte, k, numPassages int) (ivfView, error) {
	hdr := 8 * (k + 1)
	if len(b) < hdr || (len(b)-hdr)%4 != 0 {
		return ivfView{}, fmt.Errorf("index: %s: size %d impossible for %d centroids", name, len(b), k)
	}
	v := ivfView{offsets: uint64s(b[:hdr]), pids: int32s(b[hdr:])}
	if v.offsets[0] != 0 || v.offsets[k] != uint64(len(v.pids)) {
		return ivfView{}, fmt.Errorf("index: %s: offsets do not span the %d pids", name, len(v.pids))
	}
	for c := 0; c < k; c++ {
		lo, hi := v.offsets[c], v.offsets[c+1]
		if hi < lo || hi > uint64(len(v.pids)) {
			return ivfView{}, fmt.Errorf("index: %s: centroid %d: offsets %d…%d out of order", name, c, lo, hi)
		}
		prev := int32(-1)
		for _, p := range v.pids[lo:hi] {
			if p <= prev || int(p) >= numPassages {
				return ivfView{}, fmt.Errorf("index: %s: centroid %d: pid %d unsorted or out of range", name, c, p)
			}
			prev = p
		}
	}
	return v, nil
}

// parseTombstones checks a strictly increasing list of pids < numPassages.
func parseTombstones(name string, b []byte, numPassages int) ([]uint32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("index: %s: size %d not a multiple of 4", name, len(b))
	}
	t := uint32s(b)
	for i, p := range t {
		if int64(p) >= int64(numPassages) || (i > 0 && p <= t[i-1]) {
			return nil, fmt.Errorf("index: %s: entry %d (pid %d) unsorted or out of range", name, i, p)
		}
	}
	return t, nil
}

func joinDir(dir, name string) string { return filepath.Join(dir, name) }
