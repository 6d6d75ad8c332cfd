package sparse

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

// The helpers below mirror codec/index's (unexported there): files written
// through fsx with a running CRC-32C, checked on open, mapped read-only and
// viewed in place.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// hostLittleEndian: the mapped uint32/uint64 views require it.
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
		return nil, fmt.Errorf("sparse: %w", err)
	}
	return &fileWriter{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}, nil
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.bw.Write(p)
	w.crc.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("sparse: write %s: %w", w.path, err)
	}
	return n, nil
}

func (w *fileWriter) commit() (FileInfo, error) {
	if err := w.bw.Flush(); err != nil {
		w.f.Abort()
		return FileInfo{}, fmt.Errorf("sparse: write %s: %w", w.path, err)
	}
	if err := w.f.Commit(); err != nil {
		return FileInfo{}, fmt.Errorf("sparse: %w", err)
	}
	return FileInfo{Size: w.n, CRC32C: w.crc.Sum32()}, nil
}

func (w *fileWriter) abort() { w.f.Abort() }

// writeFile writes the concatenation of parts atomically and returns its
// FileInfo.
func writeFile(path string, parts ...[]byte) (FileInfo, error) {
	w, err := createFile(path)
	if err != nil {
		return FileInfo{}, err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			w.abort()
			return FileInfo{}, err
		}
	}
	return w.commit()
}

// checkFile verifies size and (unless skipCRC) checksum of an existing file.
func checkFile(path string, want FileInfo, skipCRC bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sparse: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sparse: %w", err)
	}
	if st.Size() != want.Size {
		return fmt.Errorf("sparse: %s: size %d, manifest says %d (truncated or replaced)", path, st.Size(), want.Size)
	}
	if skipCRC {
		return nil
	}
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("sparse: read %s: %w", path, err)
	}
	if h.Sum32() != want.CRC32C {
		return fmt.Errorf("sparse: %s: checksum mismatch (corrupt file)", path)
	}
	return nil
}

// mapFile maps a whole file read-only. An empty file yields nil.
func mapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sparse: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sparse: %w", err)
	}
	if st.Size() == 0 {
		return nil, nil
	}
	if st.Size() > math.MaxInt {
		return nil, fmt.Errorf("sparse: %s too large to map", path)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("sparse: mmap %s: %w", path, err)
	}
	return b, nil
}

func munmap(b []byte) {
	if b != nil {
		_ = syscall.Munmap(b)
	}
}

// The views below read little-endian bytes in place. Mapped regions are
// page-aligned; a slice that is not suitably aligned (a fuzzer's input, a
// sub-slice) is copied first, so every view is aligned.

func uint32s(b []byte) []uint32 {
	if len(b) < 4 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		v := make([]uint32, len(b)/4)
		for i := range v {
			v[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
		return v
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func float32s(b []byte) []float32 {
	u := uint32s(b)
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&u[0])), len(u))
}

func uint64s(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		v := make([]uint64, len(b)/8)
		for i := range v {
			v[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		return v
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

func u32Bytes(v []uint32) []byte {
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

func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func u64Bytes(v []uint64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))
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
			return nil, fmt.Errorf("sparse: %s: record %d: bad length prefix", name, i)
		}
		b = b[k:]
		if l > uint64(len(b)) {
			return nil, fmt.Errorf("sparse: %s: record %d: length %d beyond end of file", name, i, l)
		}
		ids = append(ids, string(b[:l]))
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("sparse: %s: %d trailing bytes after %d records", name, len(b), n)
	}
	return ids, nil
}

// parseTombstones checks a strictly increasing list of pids < numPassages.
func parseTombstones(name string, b []byte, numPassages int) ([]uint32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("sparse: %s: size %d not a multiple of 4", name, len(b))
	}
	t := uint32s(b)
	for i, p := range t {
		if int64(p) >= int64(numPassages) || (i > 0 && p <= t[i-1]) {
			return nil, fmt.Errorf("sparse: %s: entry %d (pid %d) unsorted or out of range", name, i, p)
		}
	}
	return t, nil
}

func joinDir(dir, name string) string { return filepath.Join(dir, name) }
