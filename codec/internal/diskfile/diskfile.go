// Package diskfile is the on-disk plumbing shared by the index formats of
// codec/index (residual) and codec/sparse (SPLADE): files written through
// data/fsx with a running size and CRC-32C, checked against a manifest's
// FileInfo on open, mapped read-only and viewed in place as little-endian
// numbers; the passage id records and the tombstones file; the JSON
// manifest's framing (format and version first, canonical bytes); and the
// unfinished build's directory and its commit.
//
// Errors begin with an Owner, the name of the package whose index it is
// ("index: …", "sparse: …"), and name the file.
package diskfile

import (
	"bufio"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sort"
	"syscall"
	"unsafe"

	"github.com/colbert-go/colbert/data/fsx"
)

// Owner is the name of the package whose files these are; every error
// begins with it.
type Owner string

func (o Owner) errorf(format string, args ...any) error {
	return fmt.Errorf(string(o)+": "+format, args...)
}

// FileInfo is a file's size and CRC-32C (Castagnoli) checksum, as a
// manifest lists it.
type FileInfo struct {
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// HostLittleEndian: the mapped views require it.
var HostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Writer writes a file through fsx, tracking size and CRC-32C; Commit
// makes it durable under its final name, so a file either is complete or
// does not exist under that name.
type Writer struct {
	owner Owner
	path  string
	f     *fsx.File
	bw    *bufio.Writer
	crc   hash.Hash32
	n     int64
}

// Create starts the file path.
func (o Owner) Create(path string) (*Writer, error) {
	f, err := fsx.Create(path, 0o644)
	if err != nil {
		return nil, o.errorf("%w", err)
	}
	return &Writer{owner: o, path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}, nil
}

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.bw.Write(p)
	w.crc.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		return n, w.owner.errorf("write %s: %w", w.path, err)
	}
	return n, nil
}

// Commit makes the file durable under its name and returns its FileInfo.
func (w *Writer) Commit() (FileInfo, error) {
	if err := w.bw.Flush(); err != nil {
		w.f.Abort()
		return FileInfo{}, w.owner.errorf("write %s: %w", w.path, err)
	}
	if err := w.f.Commit(); err != nil {
		return FileInfo{}, w.owner.errorf("%w", err)
	}
	return FileInfo{Size: w.n, CRC32C: w.crc.Sum32()}, nil
}

// Abort discards the file.
func (w *Writer) Abort() { w.f.Abort() }

// WriteFile writes the concatenation of parts atomically to path and
// returns its FileInfo.
func (o Owner) WriteFile(path string, parts ...[]byte) (FileInfo, error) {
	w, err := o.Create(path)
	if err != nil {
		return FileInfo{}, err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			w.Abort()
			return FileInfo{}, err
		}
	}
	return w.Commit()
}

// Group is files written side by side (a chunk's), committed together.
type Group struct {
	names []string
	ws    []*Writer
}

// CreateGroup starts the files names in dir.
func (o Owner) CreateGroup(dir string, names ...string) (*Group, error) {
	g := &Group{names: names}
	for _, name := range names {
		w, err := o.Create(Join(dir, name))
		if err != nil {
			g.Abort()
			return nil, err
		}
		g.ws = append(g.ws, w)
	}
	return g, nil
}

// WriteEach appends parts[i] to file i.
func (g *Group) WriteEach(parts ...[]byte) error {
	for i, p := range parts {
		if _, err := g.ws[i].Write(p); err != nil {
			return err
		}
	}
	return nil
}

// Abort discards every file.
func (g *Group) Abort() {
	for _, w := range g.ws {
		w.Abort()
	}
}

// Commit commits the files in order (discarding the rest after a failure)
// and returns their FileInfos by name.
func (g *Group) Commit() (map[string]FileInfo, error) {
	files := make(map[string]FileInfo, len(g.ws))
	for i, w := range g.ws {
		fi, err := w.Commit()
		if err != nil {
			for _, w2 := range g.ws[i+1:] {
				w2.Abort()
			}
			return nil, err
		}
		files[g.names[i]] = fi
	}
	return files, nil
}

// Checksum reads r to its end and returns the size and CRC-32C read.
func Checksum(r io.Reader) (FileInfo, error) {
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, r)
	return FileInfo{Size: n, CRC32C: h.Sum32()}, err
}

// Check verifies the size and (unless skipCRC) the checksum of the file
// path.
func (o Owner) Check(path string, want FileInfo, skipCRC bool) error {
	f, err := os.Open(path)
	if err != nil {
		return o.errorf("%w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return o.errorf("%w", err)
	}
	if st.Size() != want.Size {
		return o.errorf("%s: size %d, manifest says %d (truncated or replaced)", path, st.Size(), want.Size)
	}
	if skipCRC {
		return nil
	}
	got, err := Checksum(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return o.errorf("read %s: %w", path, err)
	}
	if got.CRC32C != want.CRC32C {
		return o.errorf("%s: checksum mismatch (corrupt file)", path)
	}
	return nil
}

// CheckAll checks every file of files in dir, in name order, and returns
// the first error.
func (o Owner) CheckAll(dir string, files map[string]FileInfo, skipCRC bool) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := o.Check(Join(dir, name), files[name], skipCRC); err != nil {
			return err
		}
	}
	return nil
}

// Intact reports whether every one of names is listed in files and its
// file in dir has that size and (unless sizesOnly) checksum.
func (o Owner) Intact(dir string, names []string, files map[string]FileInfo, sizesOnly bool) bool {
	for _, name := range names {
		fi, ok := files[name]
		if !ok || o.Check(Join(dir, name), fi, sizesOnly) != nil {
			return false
		}
	}
	return true
}

// Map maps a whole file read-only. An empty file yields nil.
func (o Owner) Map(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, o.errorf("%w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, o.errorf("%w", err)
	}
	if st.Size() == 0 {
		return nil, nil
	}
	if st.Size() > math.MaxInt {
		return nil, o.errorf("%s too large to map", path)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, o.errorf("mmap %s: %w", path, err)
	}
	return b, nil
}

// Unmap releases a mapping of Map (nil is a no-op).
func Unmap(b []byte) {
	if b != nil {
		_ = syscall.Munmap(b)
	}
}

// Maps are the mappings an open index holds, released together by Close.
type Maps struct {
	owner Owner
	dir   string
	maps  [][]byte
}

// Maps starts an open index's mappings of files in dir.
func (o Owner) Maps(dir string) Maps { return Maps{owner: o, dir: dir} }

// Map maps the file name of the directory (nil when empty) and keeps it
// until Close.
func (m *Maps) Map(name string) ([]byte, error) {
	b, err := m.owner.Map(Join(m.dir, name))
	if err == nil && b != nil {
		m.maps = append(m.maps, b)
	}
	return b, err
}

// Close unmaps every file and returns the first error.
func (m *Maps) Close() error {
	var first error
	for _, b := range m.maps {
		if err := syscall.Munmap(b); err != nil && first == nil {
			first = err
		}
	}
	m.maps = nil
	return first
}
