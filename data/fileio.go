package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/colbert-go/colbert/data/fsx"
)

// AtomicFile is a file that appears at its final path only when Commit
// succeeds, so a crash or an error never leaves a half-written output that a
// later stage would mistake for a finished one. It is fsx.File: the one
// atomic writer of the pipeline.
type AtomicFile = fsx.File

// CreateAtomic opens a temporary file beside path for writing; Commit gives
// it mode 0644 and moves it to path.
func CreateAtomic(path string) (*AtomicFile, error) { return fsx.Create(path, 0o644) }

// WriteFileAtomic writes path through fn with a buffered writer, replacing
// the file only when fn and every flush succeed.
func WriteFileAtomic(path string, fn func(w *bufio.Writer) error) error {
	a, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer a.Abort()
	bw := bufio.NewWriterSize(a, 1<<16)
	if err := fn(bw); err != nil {
		return fmt.Errorf("data: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("data: write %s: %w", path, err)
	}
	return a.Commit()
}

// openText opens a text file for line reading; a ".gz" suffix is decompressed
// transparently (BEIR and MS MARCO distribute gzipped files).
func openText(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: read %s: %w", path, err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data: read %s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// lineReader yields lines without their "\n" or "\r\n", strips a UTF-8 BOM
// from the first line, and counts lines (1-based) for error messages. Lines
// may be arbitrarily long (MS MARCO documents exceed bufio.Scanner's limit).
type lineReader struct {
	r    *bufio.Reader
	name string
	line int
	buf  []byte
	err  error
}

func newLineReader(r io.Reader, name string) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<16), name: name}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// next returns the next line; the slice is valid until the following call.
// ok is false at EOF or on a read error (see lr.err).
func (lr *lineReader) next() (line []byte, ok bool) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		lr.buf = append(lr.buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			lr.err = lr.errorf("%w", err)
			return nil, false
		}
		if err == io.EOF && len(lr.buf) == 0 {
			return nil, false
		}
		break
	}
	lr.line++
	b := lr.buf
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if lr.line == 1 {
		b = bytes.TrimPrefix(b, utf8BOM)
	}
	return b, true
}

// errorf wraps an error with the file name and the current line number.
func (lr *lineReader) errorf(format string, args ...any) error {
	return &LineError{File: lr.name, Line: lr.line, Err: fmt.Errorf(format, args...)}
}

// LineError is a parse error at one line of a text file.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("data: read %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("data: read %s line %d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// isBlank reports whether a line holds only spaces and tabs; blank lines
// (trailing ones are common) are skipped by every reader.
func isBlank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}

// withFile runs parse on the opened file and names the file in errors that
// do not carry it yet.
func withFile[T any](path string, parse func(r io.Reader, name string) (T, error)) (T, error) {
	var zero T
	rc, err := openText(path)
	if err != nil {
		return zero, err
	}
	defer rc.Close()
	v, err := parse(rc, path)
	if err != nil {
		var le *LineError
		if !errors.As(err, &le) {
			err = fmt.Errorf("data: read %s: %w", path, err)
		}
		return zero, err
	}
	return v, nil
}

// CompareIDs orders ids so that written files are deterministic and read
// naturally: ids made only of ASCII digits come first, in numeric order
// ("2" before "10"), then all other ids in byte order. It is a total order.
func CompareIDs(a, b string) int {
	na, nb := isDigits(a), isDigits(b)
	switch {
	case na && !nb:
		return -1
	case !na && nb:
		return 1
	case na && nb:
		ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(ta) != len(tb) {
			if len(ta) < len(tb) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(ta, tb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// SortedIDs returns the keys of m in CompareIDs order.
func SortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return CompareIDs(ids[i], ids[j]) < 0 })
	return ids
}

// checkFieldID rejects ids that would corrupt a tab- or line-separated file.
func checkFieldID(kind, id string, whitespace bool) error {
	if id == "" {
		return fmt.Errorf("empty %s", kind)
	}
	// At the start of a file it would be read back as the file's byte-order
	// mark and dropped (lineReader), changing the id.
	if strings.HasPrefix(id, "\ufeff") {
		return fmt.Errorf("%s %q starts with a byte-order mark (U+FEFF)", kind, id)
	}
	// Readers split whitespace-separated lines with strings.Fields and trim
	// tab-separated fields with strings.TrimSpace, both by Unicode's
	// White_Space (U+3000 and U+0085 too), so the checks use the same.
	if whitespace {
		if strings.IndexFunc(id, unicode.IsSpace) >= 0 {
			return fmt.Errorf("%s %q contains whitespace", kind, id)
		}
	} else if strings.ContainsAny(id, "\t\r\n") {
		return fmt.Errorf("%s %q contains a tab or newline", kind, id)
	} else if strings.TrimSpace(id) != id {
		return fmt.Errorf("%s %q begins or ends with whitespace", kind, id)
	}
	return nil
}
