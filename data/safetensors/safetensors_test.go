package safetensors

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data/testassets"
)

func TestReadReferenceCheckpoint(t *testing.T) {
	p := testassets.Path(t, "models/hf-tiny/reference.safetensors")
	f, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	q := f.Tensors["query_input_ids"]
	if q == nil || len(q.Shape) != 2 || q.Shape[0] != 24 || q.Shape[1] != 32 {
		t.Fatalf("query_input_ids: %+v", q)
	}
	// Every query starts [CLS] [unused0] in bert-base-uncased ids.
	for i := 0; i < 24; i++ {
		if q.I64[i*32] != 101 || q.I64[i*32+1] != 1 {
			t.Fatalf("query %d starts %d %d", i, q.I64[i*32], q.I64[i*32+1])
		}
	}
	m, err := ReadDir(filepath.Dir(testassets.Path(t, "models/hf-tiny/colbert/model.safetensors")))
	if err != nil {
		t.Fatal(err)
	}
	if w := m.Tensors["linear.weight"]; w == nil || w.Shape[0] != 128 || w.Shape[1] != 128 || len(w.F32) != 128*128 {
		t.Fatalf("linear.weight: %+v", w)
	}
}

func TestRoundTripAndShards(t *testing.T) {
	dir := t.TempDir()
	in := map[string]*Tensor{
		"a.weight": {Shape: []int{2, 3}, F32: []float32{1, -2, 3.5, 0, 1e-8, -7}},
		"b":        {Shape: []int{2}, I64: []int64{-1, 1 << 40}},
	}
	p := filepath.Join(dir, "model.safetensors")
	if err := WriteFile(p, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range in["a.weight"].F32 {
		if f.Tensors["a.weight"].F32[i] != v {
			t.Fatalf("a.weight[%d] = %v want %v", i, f.Tensors["a.weight"].F32[i], v)
		}
	}
	if f.Tensors["b"].I64[1] != 1<<40 || f.Metadata["format"] != "pt" {
		t.Fatalf("round trip lost data: %+v %v", f.Tensors["b"], f.Metadata)
	}
	// Sharded: split across two files with an index.
	sdir := t.TempDir()
	if err := WriteFile(filepath.Join(sdir, "model-00001-of-00002.safetensors"), map[string]*Tensor{"a.weight": in["a.weight"]}, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(sdir, "model-00002-of-00002.safetensors"), map[string]*Tensor{"b": in["b"]}, nil); err != nil {
		t.Fatal(err)
	}
	idx := `{"metadata":{},"weight_map":{"a.weight":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(sdir, "model.safetensors.index.json"), []byte(idx), 0o644)
	s, err := ReadDir(sdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tensors) != 2 || s.Tensors["a.weight"].F32[2] != 3.5 {
		t.Fatalf("sharded read: %+v", s.Tensors)
	}
	// A shard that is missing a listed tensor is refused.
	idx = `{"weight_map":{"a.weight":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(sdir, "model.safetensors.index.json"), []byte(idx), 0o644)
	if _, err := ReadDir(sdir); err == nil {
		t.Fatal("missing tensor c not reported")
	}
}

func TestHalfPrecision(t *testing.T) {
	cases := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: float32(math.Pow(2, -24)), 0x0000: 0, 0x3555: 0.33325195}
	for h, want := range cases {
		if got := HalfToFloat32(h); got != want {
			t.Errorf("half %#04x = %v want %v", h, got, want)
		}
	}
	if !math.IsInf(float64(HalfToFloat32(0x7c00)), 1) || !math.IsNaN(float64(HalfToFloat32(0x7e00))) {
		t.Error("inf/nan not preserved")
	}
	// BF16 and F16 tensors decode to the float32 values they encode.
	hdr := `{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}`
	raw := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	raw = append(raw, hdr...)
	raw = binary.LittleEndian.AppendUint16(raw, 0x3c00)
	raw = binary.LittleEndian.AppendUint16(raw, 0xc000)
	raw = binary.LittleEndian.AppendUint16(raw, uint16(math.Float32bits(-1.5)>>16))
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Tensors["h"].F32[0] != 1 || f.Tensors["h"].F32[1] != -2 || f.Tensors["b"].F32[0] != -1.5 {
		t.Fatalf("decoded %v %v", f.Tensors["h"].F32, f.Tensors["b"].F32)
	}
}

func FuzzParse(f *testing.F) {
	hdr := `{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	seed := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	seed = append(append(seed, hdr...), 0, 0, 128, 63)
	f.Add(seed)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, '{'})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		for name, tt := range file.Tensors {
			if tt.Len() != len(tt.F32)+len(tt.I64) {
				t.Fatalf("tensor %q: %d values for shape %v", name, len(tt.F32)+len(tt.I64), tt.Shape)
			}
		}
	})
}
