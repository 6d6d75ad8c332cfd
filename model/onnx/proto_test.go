package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/colbert-go/colbert/model"
)

// A tensor transposed while written encodes exactly as its transposed copy.
func TestTransposedTensor(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6} // [2, 3]
	lazy := tensorProto{name: "w.T", dtype: dtFloat, dims: []int64{3, 2}, f32: src, trOut: 2}
	copied := tensorProto{name: "w.T", dtype: dtFloat, dims: []int64{3, 2}, f32: []float32{1, 4, 2, 5, 3, 6}}
	if a, b := lazy.marshal(), copied.marshal(); !bytes.Equal(a, b) || len(a) != lazy.size() {
		t.Errorf("transposed tensor: %x (size %d), want %x", a, lazy.size(), b)
	}
}

// WriteFile streams the same bytes Export returns, and the graph's length
// prefix (from the counting pass) spans exactly the graph's fields.
func TestWriteFileMatchesExport(t *testing.T) {
	cfg := model.SmallConfig(500)
	cfg.NumHiddenLayers = 1
	ck, err := model.NewCheckpoint(cfg, model.KindColBERT, model.DefaultColBERTConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Export(ck.Config, ck.Params, ColBERT)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := WriteFile(path, ck.Config, ck.Params, ColBERT); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("WriteFile wrote %d bytes, Export returns %d, and they differ", len(got), len(want))
	}
	// Walk ModelProto's top-level fields: every length must land on a field.
	fields := map[protowire.Number]int{}
	for b := got; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag at offset %d", len(got)-len(b))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			t.Fatalf("field %d: bad value at offset %d", num, len(got)-len(b))
		}
		fields[num]++
		b = b[m:]
	}
	if fields[7] != 1 || fields[8] != 1 || fields[1] != 1 {
		t.Errorf("top-level fields %v: want one graph (7), one opset (8), one ir_version (1)", fields)
	}
}
