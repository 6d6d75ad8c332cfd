package index

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

// fuzzIndex is a small built index shared by the fuzz targets (built once
// per process; each input works on a private copy).
var fuzzIndex struct {
	once  sync.Once
	files map[string][]byte
	names []string
	err   error
}

func smallIndexFiles(t testing.TB) (map[string][]byte, []string) {
	fuzzIndex.once.Do(func() {
		dir, err := os.MkdirTemp("", "colbert-fuzz-index")
		if err != nil {
			fuzzIndex.err = err
			return
		}
		defer os.RemoveAll(dir)
		opt := testOpts
		opt.NumCentroids, opt.ChunkSize = 16, 16
		idx := filepath.Join(dir, "idx")
		if _, err := Build(context.Background(), idx, newSource(40, 12, 11, "f"), opt, nil); err != nil {
			fuzzIndex.err = err
			return
		}
		if _, err := Delete(idx, []string{"f1", "f30"}); err != nil {
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
	f.Add([]byte(`{"format":"colbert-go-index","version":1}`))
	f.Add([]byte(`{"format":"colbert-go-index","version":1,"codec":"residual","nbits":2,"dim":8,"num_centroids":1,"ivf":"ivf.00000.bin","files":{"centroids.f32":{"size":32},"buckets.f32":{"size":60},"ivf.00000.bin":{"size":16}}}`))
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

func FuzzParseIVF(f *testing.F) {
	files, _ := smallIndexFiles(f)
	var ivf string
	for name := range files {
		if filepath.Ext(name) == ".bin" && name[:3] == "ivf" {
			ivf = name
		}
	}
	f.Add(files[ivf], 16, 40)
	f.Add(make([]byte, 16), 1, 0)
	f.Add([]byte{}, 0, 0)
	f.Fuzz(func(t *testing.T, b []byte, k, n int) {
		if k < 0 || k > 1<<12 || n < 0 {
			return
		}
		v, err := parseIVF("fuzz", b, k, n)
		if err != nil {
			return
		}
		total := 0
		for c := 0; c < k; c++ {
			l := v.pids[v.offsets[c]:v.offsets[c+1]]
			for i, p := range l {
				if int(p) >= n || p < 0 || (i > 0 && l[i-1] >= p) {
					t.Fatalf("accepted list %d with bad pid %d", c, p)
				}
			}
			total += len(l)
		}
		if total != len(v.pids) {
			t.Fatalf("lists cover %d of %d pids", total, len(v.pids))
		}
	})
}

// FuzzOpenCorrupted damages one file of a real index (one byte changed, or
// truncated) and opens it: verified opening must refuse every change to a
// binary file, and nothing may panic, verified or not.
func FuzzOpenCorrupted(f *testing.F) {
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
			exercise(t, ix)
		}
		if ix, err := Open(dir, OpenOptions{SkipVerify: true}); err == nil {
			exercise(t, ix)
		}
	})
}

// exercise reads every part of an index (must not panic).
func exercise(t *testing.T, ix *Index) {
	defer ix.Close()
	var buf []float32
	for p := 0; p < ix.NumPassages(); p++ {
		var err error
		if buf, err = ix.Decompress(p, buf); err != nil {
			t.Fatal(err)
		}
		_ = ix.PassageID(p)
		_ = ix.Deleted(p)
	}
	for c := 0; c < ix.NumCentroids(); c++ {
		_ = ix.IVF(c)
	}
}
