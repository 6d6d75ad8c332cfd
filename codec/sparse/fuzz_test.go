package sparse

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// fuzzIndex is a small built index (with a delete and an append, so every
// kind of file) shared by the fuzz targets, built once per process; each
// input works on a private copy.
var fuzzIndex struct {
	once  sync.Once
	files map[string][]byte
	names []string
	err   error
}

func smallIndexFiles(t testing.TB) (map[string][]byte, []string) {
	fuzzIndex.once.Do(func() {
		dir, err := os.MkdirTemp("", "colbert-fuzz-sparse")
		if err != nil {
			fuzzIndex.err = err
			return
		}
		defer os.RemoveAll(dir)
		idx := filepath.Join(dir, "idx")
		ctx := context.Background()
		if _, err = Build(ctx, idx, randomSource(40, 60, 12, 11, "f"), BuildOptions{VocabSize: 60, ChunkSize: 16, BlockSize: 4}, nil); err == nil {
			if _, err = Append(ctx, idx, randomSource(10, 60, 12, 12, "g"), nil); err == nil {
				_, err = Delete(ctx, idx, []string{"f1", "g3"})
			}
		}
		if err != nil {
			fuzzIndex.err = err
			return
		}
		ents, _ := os.ReadDir(idx)
		fuzzIndex.files = map[string][]byte{}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(idx, e.Name()))
			if err != nil {
				fuzzIndex.err = err
				return
			}
			fuzzIndex.files[e.Name()] = b
			fuzzIndex.names = append(fuzzIndex.names, e.Name())
		}
		sort.Strings(fuzzIndex.names)
	})
	if fuzzIndex.err != nil {
		t.Fatal(fuzzIndex.err)
	}
	return fuzzIndex.files, fuzzIndex.names
}

func FuzzParseManifest(f *testing.F) {
	files, _ := smallIndexFiles(f)
	f.Add(files[ManifestName])
	f.Add([]byte(`{"format":"colbert-go-sparse-index","version":1}`))
	f.Add([]byte(`{"format":"colbert-go-sparse-index","version":1,"vocab_size":1,"max_weight":1,"scale":0.1,"block_size":1,"chunk_size":1,"postings":"postings.00000","files":{"postings.00000.offsets":{"size":16},"postings.00000.docs":{"size":0},"postings.00000.impacts":{"size":0},"postings.00000.blocks":{"size":0}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest("fuzz", b)
		if err != nil {
			return
		}
		// A valid manifest survives its own encoding unchanged.
		out, err := diskfile.MarshalManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest("fuzz2", out)
		if err != nil {
			t.Fatalf("re-encoded manifest rejected: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("manifest changed through marshal: %+v vs %+v", m, m2)
		}
	})
}

// FuzzParsePostings feeds the four postings files (one blob split at three
// cut points) to the parser: it must refuse or accept a structure whose
// every list and block is consistent.
func FuzzParsePostings(f *testing.F) {
	files, _ := smallIndexFiles(f)
	m, err := ParseManifest("m", files[ManifestName])
	if err != nil {
		f.Fatal(err)
	}
	p := postingsFiles(m.Postings)
	var blob []byte
	var cuts [3]uint32
	for i, name := range p {
		blob = append(blob, files[name]...)
		if i < 3 {
			cuts[i] = uint32(len(blob))
		}
	}
	f.Add(blob, cuts[0], cuts[1], cuts[2], uint16(m.VocabSize), uint16(m.NumPassages), uint8(m.BlockSize), uint16(m.NumBlocks))
	f.Add(make([]byte, 16), uint32(16), uint32(16), uint32(16), uint16(1), uint16(0), uint8(1), uint16(0))
	f.Add([]byte{}, uint32(0), uint32(0), uint32(0), uint16(0), uint16(0), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, c0, c1, c2 uint32, vocab, n uint16, bs uint8, nb uint16) {
		cs := []int{int(c0) % (len(b) + 1), int(c1) % (len(b) + 1), int(c2) % (len(b) + 1)}
		sort.Ints(cs)
		ob, db, ib, bb := b[:cs[0]], b[cs[0]:cs[1]], b[cs[1]:cs[2]], b[cs[2]:]
		ps, err := parsePostings("fuzz", int(vocab), int(n), int(bs), int64(nb), ob, db, ib, bb)
		if err != nil {
			return
		}
		for term := 0; term < int(vocab); term++ {
			lo, hi := ps.offsets[term], ps.offsets[term+1]
			for i := lo; i < hi; i++ {
				if int(ps.docs[i]) >= int(n) || (i > lo && ps.docs[i] <= ps.docs[i-1]) || ps.imps[i] == 0 {
					t.Fatalf("accepted term %d with bad posting %d", term, i)
				}
				blk := ps.blockOff[term] + int64(i-lo)/int64(bs)
				if ps.blockMax[blk] < ps.imps[i] || ps.blockLast[blk] < ps.docs[i] || ps.termMax[term] < ps.imps[i] {
					t.Fatalf("accepted term %d whose block %d does not bound posting %d", term, blk, i)
				}
			}
		}
	})
}

// FuzzOpen damages one file of a real index (one byte changed, or
// truncated) and opens it: verified opening must refuse every change to a
// binary file, and nothing may panic, verified or not.
func FuzzOpen(f *testing.F) {
	files, names := smallIndexFiles(f)
	for i := range names {
		f.Add(uint8(i), uint32(7), uint8(0x55), false)
		f.Add(uint8(i), uint32(1), uint8(0), true)
	}
	f.Fuzz(func(t *testing.T, which uint8, off uint32, xor uint8, truncate bool) {
		name := names[int(which)%len(names)]
		dir := t.TempDir()
		for n, b := range files {
			if n == name {
				b = bytes.Clone(b)
				switch {
				case len(b) == 0:
				case truncate:
					b = b[:int(off)%len(b)]
				default:
					b[int(off)%len(b)] ^= xor
				}
			}
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		changed := len(files[name]) > 0 && (truncate || xor != 0)
		ix, err := Open(dir, OpenOptions{})
		if err == nil {
			if changed && name != ManifestName {
				t.Fatalf("verified Open accepted a damaged %s", name)
			}
			exercise(ix)
		}
		if ix, err := Open(dir, OpenOptions{SkipVerify: true}); err == nil {
			exercise(ix)
		}
	})
}

// exercise reads every part of an index (must not panic).
func exercise(ix *Index) {
	defer ix.Close()
	for p := 0; p < ix.NumPassages(); p++ {
		_, _ = ix.ID(p), ix.Deleted(p)
	}
	for t := -1; t <= ix.VocabSize(); t++ {
		pids, imps := ix.Postings(t)
		for i := range pids {
			_ = ix.Deleted(int(pids[i]))
			_ = ix.Dequantise(imps[i])
		}
		ix.Blocks(t)
		ix.TermMax(t)
	}
	_ = ix.Stats()
}
