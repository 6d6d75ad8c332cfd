package tokenize

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/colbert-go/colbert/data/fsx"
	"github.com/colbert-go/colbert/data/progress"
)

// ID cache file layout (little endian), version 1:
//
//	magic    8 bytes  "CBTOKID\x00"
//	version  uint32
//	tokhash  32 bytes Tokenizer.Hash() of the tokenizer that made the ids
//	texthash 32 bytes TextsHash of the texts
//	n        uint64   number of texts
//	total    uint64   number of ids
//	lens     n × uint32
//	ids      total × int32
//	crc      uint32   CRC-32C of every byte before it
const (
	idCacheMagic   = "CBTOKID\x00"
	idCacheVersion = 1
	idCacheHeader  = 8 + 4 + 32 + 32 + 8 + 8
)

// ErrStaleCache means the cache was made by another tokenizer or from other
// texts; the caller should tokenise again.
var ErrStaleCache = errors.New("tokenize: id cache is stale")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// IDCacheKey identifies what an id cache was made from.
type IDCacheKey struct {
	Tokenizer [32]byte // Tokenizer.Hash()
	Texts     [32]byte // TextsHash(texts)
}

// TextsHash is a sha256 over the length-prefixed texts.
func TextsHash(texts []string) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range texts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		io.WriteString(h, s)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// WriteIDCache writes ids atomically and durably (fsx), so a crash never
// leaves a truncated cache under path for a later run to trust.
func WriteIDCache(path string, key IDCacheKey, ids [][]int32) error {
	err := fsx.WriteFile(path, 0o644, func(f io.Writer) error {
		crc := crc32.New(castagnoli)
		w := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
		if err := encodeIDCache(w, key, ids); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return binary.Write(f, binary.LittleEndian, crc.Sum32())
	})
	if err != nil {
		return fmt.Errorf("tokenize: write %s: %w", path, err)
	}
	return nil
}

// encodeIDCache writes everything but the trailing checksum.
func encodeIDCache(w io.Writer, key IDCacheKey, ids [][]int32) error {
	total := 0
	for _, s := range ids {
		total += len(s)
	}
	hdr := make([]byte, 0, idCacheHeader)
	hdr = append(hdr, idCacheMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, idCacheVersion)
	hdr = append(hdr, key.Tokenizer[:]...)
	hdr = append(hdr, key.Texts[:]...)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(ids)))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(total))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, 0, 64*1024)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for _, s := range ids {
		if uint64(len(s)) > 0xffffffff {
			return fmt.Errorf("text with %d ids", len(s))
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
		if len(buf) >= 60*1024 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for _, s := range ids {
		for _, id := range s {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(id))
			if len(buf) >= 60*1024 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// ReadIDCache reads an id cache; it returns ErrStaleCache (wrapped) when
// the cache's key differs from key. The file is streamed, so peak memory is
// the ids themselves.
func ReadIDCache(path string, key IDCacheKey) ([][]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: read id cache: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tokenize: read id cache: %w", err)
	}
	got, ids, err := decodeIDCache(bufio.NewReaderSize(f, 1<<20), st.Size())
	if err != nil {
		return nil, fmt.Errorf("tokenize: read %s: %w", path, err)
	}
	if got != key {
		return nil, fmt.Errorf("%w: %s was made from another tokenizer or collection", ErrStaleCache, path)
	}
	return ids, nil
}

// ParseIDCache decodes an id cache held in memory.
func ParseIDCache(raw []byte) (IDCacheKey, [][]int32, error) {
	return decodeIDCache(bytes.NewReader(raw), int64(len(raw)))
}

// decodeIDCache reads a whole cache of size bytes from r, checking the
// sizes before allocating and the checksum before returning. The returned
// rows share one backing array.
func decodeIDCache(r io.Reader, size int64) (IDCacheKey, [][]int32, error) {
	var key IDCacheKey
	if size < idCacheHeader+4 {
		return key, nil, fmt.Errorf("id cache too short (%d bytes)", size)
	}
	crc := crc32.New(castagnoli)
	tr := io.TeeReader(r, crc)
	hdr := make([]byte, idCacheHeader)
	if _, err := io.ReadFull(tr, hdr); err != nil {
		return key, nil, err
	}
	if string(hdr[:8]) != idCacheMagic {
		return key, nil, errors.New("not an id cache (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != idCacheVersion {
		return key, nil, fmt.Errorf("id cache version %d, want %d", v, idCacheVersion)
	}
	copy(key.Tokenizer[:], hdr[12:44])
	copy(key.Texts[:], hdr[44:76])
	n := binary.LittleEndian.Uint64(hdr[76:])
	total := binary.LittleEndian.Uint64(hdr[84:])
	rest := uint64(size - idCacheHeader - 4)
	if n > rest/4 || total > rest/4 || 4*n+4*total != rest {
		return key, nil, fmt.Errorf("id cache sizes (%d texts, %d ids) do not match its %d bytes", n, total, size)
	}
	lens := make([]uint32, n)
	if err := readUint32s(tr, lens); err != nil {
		return key, nil, err
	}
	all := make([]int32, total)
	if err := readUint32s(tr, all); err != nil {
		return key, nil, err
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return key, nil, err
	}
	if want, got := binary.LittleEndian.Uint32(tail[:]), crc.Sum32(); want != got {
		return key, nil, fmt.Errorf("id cache checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	for i, v := range all {
		if v < 0 {
			return key, nil, fmt.Errorf("id cache: negative id %d at position %d", v, i)
		}
	}
	ids := make([][]int32, n)
	off := uint64(0)
	for i, l := range lens {
		end := off + uint64(l)
		if end > total {
			return key, nil, fmt.Errorf("id cache: text %d overruns the ids (%d+%d > %d)", i, off, l, total)
		}
		ids[i] = all[off:end:end]
		off = end
	}
	if off != total {
		return key, nil, fmt.Errorf("id cache: lengths sum to %d, header says %d ids", off, total)
	}
	return key, ids, nil
}

// readUint32s fills dst with little-endian 32-bit values from r.
func readUint32s[T int32 | uint32](r io.Reader, dst []T) error {
	buf := make([]byte, 64*1024)
	for len(dst) > 0 {
		k := min(len(dst), len(buf)/4)
		if _, err := io.ReadFull(r, buf[:4*k]); err != nil {
			return err
		}
		for i := 0; i < k; i++ {
			dst[i] = T(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		dst = dst[k:]
	}
	return nil
}

// TokenizeCached returns the ids of texts from the cache at cachePath when
// it was made by this tokenizer from the same texts, and otherwise
// tokenises them in parallel and writes the cache.
func (t *Tokenizer) TokenizeCached(ctx context.Context, cachePath string, texts []string, threads int, bar *progress.Bar) ([][]int32, error) {
	key := IDCacheKey{Tokenizer: t.Hash(), Texts: TextsHash(texts)}
	// A missing, stale or damaged cache is rebuilt rather than trusted.
	if ids, err := ReadIDCache(cachePath, key); err == nil {
		bar.Add(int64(len(ids)))
		return ids, nil
	}
	ids, err := t.TokenizeAll(ctx, texts, threads, bar)
	if err != nil {
		return nil, err
	}
	if err := WriteIDCache(cachePath, key, ids); err != nil {
		return nil, err
	}
	return ids, nil
}
