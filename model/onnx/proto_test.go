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
// prefix (from the counting pass) spans exactly the graph's fields, for
// every kind.
func TestWriteFileMatchesExport(t *testing.T) {
	for _, kind := range Kinds {
		ck := smallCheckpoint(t, kind)
		want, err := ExportWith(ck.Config, ck.Params, kind, OptionsOf(ck))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		path := filepath.Join(t.TempDir(), "m.onnx")
		if err := WriteFileWith(path, ck.Config, ck.Params, kind, OptionsOf(ck)); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: WriteFile wrote %d bytes, Export returns %d, and they differ", kind, len(got), len(want))
		}
		// Walk ModelProto's top-level fields: every length must land on a field.
		fields := map[protowire.Number]int{}
		for b := got; len(b) > 0; {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				t.Fatalf("%s: bad tag at offset %d", kind, len(got)-len(b))
			}
			b = b[n:]
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				t.Fatalf("%s: field %d: bad value at offset %d", kind, num, len(got)-len(b))
			}
			fields[num]++
			b = b[m:]
		}
		if fields[7] != 1 || fields[8] != 1 || fields[1] != 1 {
			t.Errorf("%s: top-level fields %v: want one graph (7), one opset (8), one ir_version (1)", kind, fields)
		}
	}
}

// Every graph is well formed without a runtime: each node input is a graph
// input, an initializer or an earlier node's output (topological order),
// no name is produced twice, every graph output is produced, and every
// initializer is used. ONNX Runtime would refuse the first three; the last
// catches a head that writes a tensor to the file and forgets it.
func TestGraphsWellFormed(t *testing.T) {
	for _, kind := range Kinds {
		ck := smallCheckpoint(t, kind)
		m, err := build(ck.Config, ck.Params, kind, OptionsOf(ck))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		g := &m.graph
		defined := map[string]bool{}
		used := map[string]bool{}
		for _, in := range g.inputs {
			defined[in.name] = true
		}
		for _, init := range g.initializers {
			if defined[init.name] {
				t.Errorf("%s: %q defined twice", kind, init.name)
			}
			defined[init.name] = true
		}
		for _, n := range g.nodes {
			for _, in := range n.inputs {
				if in != "" && !defined[in] {
					t.Errorf("%s: node %s reads %q before it is defined", kind, n.name, in)
				}
				used[in] = true
			}
			for _, out := range n.outputs {
				if defined[out] {
					t.Errorf("%s: node %s redefines %q", kind, n.name, out)
				}
				defined[out] = true
			}
		}
		for _, out := range g.outputs {
			if !defined[out.name] {
				t.Errorf("%s: graph output %q is never produced", kind, out.name)
			}
		}
		for _, init := range g.initializers {
			if !used[init.name] {
				t.Errorf("%s: initializer %q is written but unused", kind, init.name)
			}
		}
		for _, in := range g.inputs {
			if !used[in.name] {
				t.Errorf("%s: graph input %q is unused", kind, in.name)
			}
		}
	}
}

// smallCheckpoint is a fresh one-layer checkpoint of kind (vocabulary 500,
// dim 16, 3 poly codes, 2 MV-DPR vectors), every kind's head included.
func smallCheckpoint(t *testing.T, kind Kind) *model.Checkpoint {
	t.Helper()
	cfg := model.SmallConfig(500)
	cfg.NumHiddenLayers = 1
	col := model.DefaultColBERTConfig()
	col.Dim, col.PolyM, col.MVK = 16, 3, 2
	ck, err := model.NewCheckpoint(cfg, model.Kind(kind), col, 3)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	return ck
}
