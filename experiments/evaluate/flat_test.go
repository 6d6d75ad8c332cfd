package evaluate

import (
	"encoding/binary"
	"os"
	"path/filepath"
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
	}, map[string]string{"format": flatFormat, "checkpoint": "h", "dim": "4"}
}

func TestCheckFlat(t *testing.T) {
	tensors, meta := flatFixture()
	off, vecs, err := checkFlat(&safetensors.File{Tensors: tensors, Metadata: meta}, "h", 4, 3)
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
		{"other checkpoint", nil, "h2", 4, "built with checkpoint h, evaluating h2"},
		{"other dim", nil, "h", 8, "[tokens, 8]"},
		{"foreign file", func(_ map[string]*safetensors.Tensor, m map[string]string) { delete(m, "format") }, "h", 4, "format"},
		{"no doclens", func(ts map[string]*safetensors.Tensor, _ map[string]string) { delete(ts, "doclens") }, "h", 4, "doclens"},
		{"overrun", func(ts map[string]*safetensors.Tensor, _ map[string]string) { ts["doclens"].I64[2] = 5 }, "h", 4, "doclens[2] = 5 overruns"},
		{"negative", func(ts map[string]*safetensors.Tensor, _ map[string]string) { ts["doclens"].I64[1] = -1 }, "h", 4, "doclens[1] = -1"},
		{"short sum", func(ts map[string]*safetensors.Tensor, _ map[string]string) { ts["doclens"].I64[0] = 1 }, "h", 4, "sum to 2 tokens, vectors hold 3"},
		{"passages", func(ts map[string]*safetensors.Tensor, _ map[string]string) {
			ts["doclens"] = &safetensors.Tensor{DType: "I64", Shape: []int{2}, I64: []int64{2, 1}}
		}, "h", 4, "2 passages, the corpus has 3"},
	} {
		ts, m := flatFixture()
		if c.edit != nil {
			c.edit(ts, m)
		}
		_, _, err := checkFlat(&safetensors.File{Tensors: ts, Metadata: m}, c.hash, c.dim, 3)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// Any bytes that parse as safetensors are either refused by checkFlat or
// give offsets that tile the vectors exactly.
func FuzzCheckFlat(f *testing.F) {
	tensors, meta := flatFixture()
	path := filepath.Join(f.TempDir(), flatFile)
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
		off, vecs, err := checkFlat(file, "h", 4, 3)
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
