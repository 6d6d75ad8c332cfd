package flat

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
)

// flatFixture is a valid flat index file for checkpoint "h", dim 4,
// passages of 2, 0 and 1 tokens.
func flatFixture() (map[string]*safetensors.Tensor, map[string]string) {
	vecs := make([]float32, 3*4)
	for i := range vecs {
		vecs[i] = float32(i) / 10
	}
	return map[string]*safetensors.Tensor{
		"vectors": {DType: "F32", Shape: []int{3, 4}, F32: vecs},
		"doclens": {DType: "I64", Shape: []int{3}, I64: []int64{2, 0, 1}},
	}, map[string]string{"format": format, "checkpoint": "h", "dim": "4"}
}

func TestCheckFlat(t *testing.T) {
	tensors, meta := flatFixture()
	off, vecs, err := check(&safetensors.File{Tensors: tensors, Metadata: meta}, "h", 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(off) != 4 || off[1] != 2 || off[2] != 2 || off[3] != 3 || len(vecs) != 12 {
		t.Errorf("offsets %v, %d floats", off, len(vecs))
	}
	for _, c := range []struct {
		name string
		edit func(map[string]*safetensors.Tensor, map[string]string)
		hash string
		dim  int
		want string
	}{
		{"other checkpoint", nil, "h2", 4, "built with encoder h, opened with h2"},
		{"other dim", nil, "h", 8, "[tokens, 8]"},
		{"foreign file", func(_ map[string]*safetensors.Tensor, m map[string]string) { delete(m, "format") }, "h", 4, "format"},
		{"no doclens", func(ts map[string]*safetensors.Tensor, _ map[string]string) { delete(ts, "doclens") }, "h", 4, "doclens"},
		{"overrun", func(ts map[string]*safetensors.Tensor, _ map[string]string) { ts["doclens"].I64[2] = 5 }, "h", 4, "doclens[2] = 5 overruns"},
		{"negative", func(ts map[string]*safetensors.Tensor, _ map[string]string) { ts["doclens"].I64[1] = -1 }, "h", 4, "doclens[1] = -1"},
		{"short sum", func(ts map[string]*safetensors.Tensor, _ map[string]string) { ts["doclens"].I64[0] = 1 }, "h", 4, "sum to 2 tokens, vectors hold 3"},
		{"passages", func(ts map[string]*safetensors.Tensor, _ map[string]string) {
			ts["doclens"] = &safetensors.Tensor{DType: "I64", Shape: []int{2}, I64: []int64{2, 1}}
		}, "h", 4, "2 passages, ids.txt lists 3"},
	} {
		ts, m := flatFixture()
		if c.edit != nil {
			c.edit(ts, m)
		}
		_, _, err := check(&safetensors.File{Tensors: ts, Metadata: m}, c.hash, c.dim, 3)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// Any bytes that parse as safetensors are either refused by check or
// give offsets that tile the vectors exactly.
func FuzzCheck(f *testing.F) {
	tensors, meta := flatFixture()
	path := filepath.Join(f.TempDir(), VectorsFile)
	if err := safetensors.WriteFile(path, tensors, meta); err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	bad := append([]byte(nil), raw...)
	bad[8+binary.LittleEndian.Uint64(raw)] ^= 0x40 // doclens[0] (tensors are stored by name)
	f.Add(bad)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		file, err := safetensors.Parse(raw)
		if err != nil {
			return
		}
		off, vecs, err := check(file, "h", 4, 3)
		if err != nil {
			return
		}
		if len(off) != 4 || off[0] != 0 || off[3]*4 != len(vecs) {
			t.Fatalf("offsets %v for %d floats", off, len(vecs))
		}
		for i := 1; i < len(off); i++ {
			if off[i] < off[i-1] {
				t.Fatalf("offsets %v not monotone", off)
			}
		}
	})
}

// TestWriteOpen round-trips a flat index through every codec: fp32 gives
// the vectors back exactly, fp16 and pca-int8 closely, with the ids; the
// wrong encoder key or dimension is refused.
func TestWriteOpen(t *testing.T) {
	dir := t.TempDir()
	const dim = 8
	ids := []string{"a", "b", "c"}
	doclens := []int{2, 0, 3}
	vecs := make([]float32, 5*dim)
	for i := range vecs {
		vecs[i] = float32((i*37)%11)/11 - 0.5
	}
	if err := Write(dir, "key", dim, ids, vecs, doclens); err != nil {
		t.Fatal(err)
	}
	for _, name := range Codecs {
		x, err := Open(dir, "key", dim, name, OpenOptions{PCAComponents: 4})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Decoding once at open gives the same vectors and size.
		once, err := Open(dir, "key", dim, name, OpenOptions{PCAComponents: 4, DecodeOnce: true})
		if err != nil {
			t.Fatalf("%s decode once: %v", name, err)
		}
		for pid := range 3 {
			a, _ := x.Decompress(pid, nil)
			b, _ := once.Decompress(pid, nil)
			if !slices.Equal(a, b) || once.Bytes() != x.Bytes() {
				t.Fatalf("%s pid %d: decoded once %v (%d B), per passage %v (%d B)", name, pid, b, once.Bytes(), a, x.Bytes())
			}
		}
		if x.NumPassages() != 3 || x.NumTokens() != 5 || x.PassageID(2) != "c" || x.Bytes() <= 0 {
			t.Fatalf("%s: %d passages, %d tokens, id %q, %d bytes", name, x.NumPassages(), x.NumTokens(), x.PassageID(2), x.Bytes())
		}
		got, err := x.Decompress(2, nil)
		if err != nil || len(got) != 3*dim {
			t.Fatalf("%s: decompress: %d floats, %v", name, len(got), err)
		}
		tol := map[string]float64{CodecFP32: 0, CodecFP16: 1e-3, CodecPCAInt8: 0.2}[name]
		for i, v := range got {
			if d := math.Abs(float64(v - vecs[2*dim+i])); d > tol {
				t.Fatalf("%s: value %d: %v, want %v ± %v", name, i, v, vecs[2*dim+i], tol)
			}
		}
		if _, err := x.Decompress(3, nil); err == nil {
			t.Errorf("%s: pid 3 of 3 decompressed", name)
		}
	}
	if _, err := Open(dir, "other", dim, CodecFP32, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "built with encoder key") {
		t.Errorf("other key: %v", err)
	}
	if _, err := Open(dir, "key", dim, "int4", OpenOptions{}); err == nil || !strings.Contains(err.Error(), "int4") {
		t.Errorf("unknown codec: %v", err)
	}
	if err := Write(t.TempDir(), "key", dim, []string{"a", "b\nc", "d"}, vecs, doclens); err == nil || !strings.Contains(err.Error(), "passage 2") {
		t.Errorf("an id with a newline: %v, want an error naming passage 2", err)
	}
	if err := Write(t.TempDir(), "key", dim, []string{"a", "b\nc", "d"}, vecs, []int{1, 1, 1}); err == nil {
		t.Errorf("doclens not matching the vectors: no error")
	}
}
