package onnx_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/colbert-go/colbert/model/ort"
)

var (
	rtOnce sync.Once
	rt     *ort.Runtime
	rtErr  error
)

func runtime(t testing.TB) *ort.Runtime {
	t.Helper()
	rtOnce.Do(func() { rt, rtErr = ort.NewRuntime("") })
	if rtErr != nil {
		t.Skipf("ONNX Runtime library not available (run make setup): %v", rtErr)
	}
	return rt
}

func reference(t testing.TB) *safetensors.File {
	t.Helper()
	ref, err := safetensors.ReadFile(testassets.Path(t, "models/hf-tiny/reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func export(t testing.TB, ckDir string, kind onnx.Kind) string {
	t.Helper()
	ck, err := model.LoadCheckpoint(testassets.Path(t, ckDir))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), string(kind)+".onnx")
	if err := onnx.WriteFile(path, ck.Config, ck.Params, kind); err != nil {
		t.Fatal(err)
	}
	return path
}

func ints(t *safetensors.Tensor) []int64 { return t.I64 }

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// The exported cross-encoder, run by ONNX Runtime on the reference pairs,
// reproduces PyTorch's logits.
func TestCrossEncoderParity(t *testing.T) {
	r := runtime(t)
	ref := reference(t)
	path := export(t, "models/hf-tiny/cross-encoder", onnx.CrossEncoder)
	sess, err := r.NewSession(path, []string{"input_ids", "attention_mask", "token_type_ids"}, []string{onnx.LogitsOutput}, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	ids := ref.Tensors["ce_input_ids"]
	out, err := sess.Run(ids.Shape[0], ids.Shape[1], [][]int64{ints(ids), ints(ref.Tensors["ce_attention_mask"]), ints(ref.Tensors["ce_token_type_ids"])})
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Shape; len(got) != 2 || got[0] != int64(ids.Shape[0]) || got[1] != 1 {
		t.Fatalf("logits shape %v, want [%d 1]", got, ids.Shape[0])
	}
	want := ref.Tensors["ce_logits"].F32
	d := maxAbsDiff(out[0].Data, want)
	t.Logf("exported cross-encoder vs PyTorch logits: max abs diff %.3g", d)
	if d > 1e-4 {
		t.Errorf("exported cross-encoder vs PyTorch logits: max abs diff %.3g > 1e-4", d)
	}
	// The exported model is a drop-in teacher for the scorer.
	ce, err := r.NewCrossEncoder(path, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("exported model refused as a cross-encoder: %v", err)
	}
	ce.Close()
}

// The exported ColBERT encoder reproduces the reference query and document
// vectors (all positions, the query [MASK] expansions included).
func TestColBERTParity(t *testing.T) {
	r := runtime(t)
	ref := reference(t)
	path := export(t, "models/hf-tiny/colbert", onnx.ColBERT)
	sess, err := r.NewSession(path, []string{"input_ids", "attention_mask", "token_type_ids"}, []string{onnx.VectorsOutput}, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	for _, side := range []string{"query", "doc"} {
		ids := ref.Tensors[side+"_input_ids"]
		n, l := ids.Shape[0], ids.Shape[1]
		out, err := sess.Run(n, l, [][]int64{ints(ids), ints(ref.Tensors[side+"_attention_mask"]), make([]int64, n*l)})
		if err != nil {
			t.Fatal(err)
		}
		want := ref.Tensors[side+"_vectors"]
		if len(out[0].Data) != len(want.F32) {
			t.Fatalf("%s vectors: shape %v, want %v", side, out[0].Shape, want.Shape)
		}
		d := maxAbsDiff(out[0].Data, want.F32)
		t.Logf("%s vectors vs PyTorch: max abs diff %.3g", side, d)
		if d > 1e-4 {
			t.Errorf("%s vectors: max abs diff %.3g > 1e-4", side, d)
		}
	}
}

// onnx.checker (python3-onnx) accepts every kind's export.
func TestONNXChecker(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import onnx").Run(); err != nil {
		t.Skipf("python3-onnx not installed (%s -c 'import onnx' failed): %v", py, err)
	}
	script := `import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print(m.ir_version, m.opset_import[0].version, [i.name for i in m.graph.input], [o.name for o in m.graph.output])`
	for _, c := range []struct {
		dir  string
		kind onnx.Kind
	}{{"models/hf-tiny/cross-encoder", onnx.CrossEncoder}, {"models/hf-tiny/colbert", onnx.ColBERT}} {
		path := export(t, c.dir, c.kind)
		out, err := exec.Command(py, "-c", script, path).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: onnx.checker: %v\n%s", c.kind, err, out)
		}
		want := "8 17 ['input_ids', 'attention_mask', 'token_type_ids']"
		if !strings.HasPrefix(string(out), want) {
			t.Errorf("%s: checker saw %q, want prefix %q", c.kind, out, want)
		}
	}
	// The single-text kinds take no token_type_ids.
	for _, c := range []struct {
		dir  string
		kind onnx.Kind
		outs string
	}{
		{"tiny-splade", onnx.SPLADE, "['sparse']"},
		{"tiny-poly", onnx.PolyEncoder, "['query_context', 'cls']"},
		{"tiny-mvdpr", onnx.MVDPR, "['vectors']"},
	} {
		_, path := exportFixture(t, c.dir, c.kind)
		out, err := exec.Command(py, "-c", script, path).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: onnx.checker: %v\n%s", c.kind, err, out)
		}
		if want := "8 17 ['input_ids', 'attention_mask'] " + c.outs; !strings.HasPrefix(string(out), want) {
			t.Errorf("%s: checker saw %q, want prefix %q", c.kind, out, want)
		}
	}
}

func TestExportErrors(t *testing.T) {
	ck, err := model.LoadCheckpoint(testassets.Path(t, "models/hf-tiny/cross-encoder"))
	if err != nil {
		t.Fatal(err)
	}
	// A missing tensor is named.
	p := model.Params{}
	for k, v := range ck.Params {
		p[k] = v
	}
	delete(p, "encoder.layer.1.output.dense.weight")
	if _, err := onnx.Export(ck.Config, p, onnx.CrossEncoder); err == nil || !strings.Contains(err.Error(), "encoder.layer.1.output.dense.weight") {
		t.Errorf("missing tensor: %v", err)
	}
	// A shape mismatch names the tensor and both shapes.
	p["encoder.layer.1.output.dense.weight"] = &model.Tensor{Shape: []int{3, 4}, Data: make([]float32, 12)}
	if _, err := onnx.Export(ck.Config, p, onnx.CrossEncoder); err == nil || !strings.Contains(err.Error(), "[3 4]") {
		t.Errorf("bad shape: %v", err)
	}
	// A cross-encoder checkpoint has no ColBERT projection.
	if _, err := onnx.Export(ck.Config, ck.Params, onnx.ColBERT); err == nil || !strings.Contains(err.Error(), "linear.weight") {
		t.Errorf("colbert export of a cross-encoder: %v", err)
	}
	if _, err := onnx.ParseKind("dense-retriever"); err == nil {
		t.Error("ParseKind accepted an unknown kind")
	}
	// A failed export leaves no file behind.
	dir := t.TempDir()
	if err := onnx.WriteFile(filepath.Join(dir, "m.onnx"), ck.Config, ck.Params, onnx.ColBERT); err == nil {
		t.Fatal("WriteFile succeeded on a bad export")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed export left %d files", len(ents))
	}
}

// The exported graphs in ORT agree with the Go forward pass (model/encode)
// of the same checkpoint: cross-encoder logits and ColBERT query vectors.
func TestExportMatchesGoForward(t *testing.T) {
	r := runtime(t)
	ref := reference(t)
	ce, err := model.LoadCheckpoint(testassets.Path(t, "models/hf-tiny/cross-encoder"))
	if err != nil {
		t.Fatal(err)
	}
	ids := ref.Tensors["ce_input_ids"]
	n, l := 4, ids.Shape[1] // four pairs keep the Go forward quick
	b := encode.Batch{N: n, Len: l, IDs: narrow(ids.I64[:n*l]), AttentionMask: narrow(ref.Tensors["ce_attention_mask"].I64[:n*l]),
		TokenTypeIDs: narrow(ref.Tensors["ce_token_type_ids"].I64[:n*l])}
	goCE, err := encode.NewCrossEncoder(ce, encode.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := goCE.Logits(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := r.NewCrossEncoder(export(t, "models/hf-tiny/cross-encoder", onnx.CrossEncoder), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	got, err := sess.Score(ort.Batch{N: n, Len: l, IDs: b.IDs, AttentionMask: b.AttentionMask, TokenTypeIDs: b.TokenTypeIDs})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got, want); d > 1e-4 {
		t.Errorf("cross-encoder: ORT vs Go forward max abs diff %.3g > 1e-4", d)
	}

	col, err := model.LoadCheckpoint(testassets.Path(t, "models/hf-tiny/colbert"))
	if err != nil {
		t.Fatal(err)
	}
	qids := ref.Tensors["query_input_ids"]
	n, l = qids.Shape[0], qids.Shape[1]
	qb := encode.Batch{N: n, Len: l, IDs: narrow(qids.I64), AttentionMask: narrow(ref.Tensors["query_attention_mask"].I64)}
	goCol, err := encode.NewColBERT(col, encode.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	wantQ, err := goCol.EncodeQueries(context.Background(), qb)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := r.NewSession(export(t, "models/hf-tiny/colbert", onnx.ColBERT), []string{"input_ids", "attention_mask", "token_type_ids"}, []string{onnx.VectorsOutput}, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer vs.Destroy()
	out, err := vs.Run(n, l, [][]int64{qids.I64, ref.Tensors["query_attention_mask"].I64, make([]int64, n*l)})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(out[0].Data, wantQ); d > 1e-4 {
		t.Errorf("colbert queries: ORT vs Go forward max abs diff %.3g > 1e-4", d)
	}
}

func narrow(x []int64) []int32 {
	y := make([]int32, len(x))
	for i, v := range x {
		y[i] = int32(v)
	}
	return y
}

// Our own checkpoints (fresh BERT-initialised weights, saved and reloaded
// in HF layout, as `colbert train` writes them) export and run in ORT as in
// the Go forward pass.
func TestExportOwnCheckpoint(t *testing.T) {
	r := runtime(t)
	cfg := model.SmallConfig(1000)
	cfg.NumHiddenLayers = 1
	ids := []int32{101, 7, 8, 9, 102, 11, 12, 102, 101, 50, 102, 60, 102, 0, 0, 0}
	mask := []int32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}
	types := []int32{0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0}
	wide := func(x []int32) []int64 {
		y := make([]int64, len(x))
		for i, v := range x {
			y[i] = int64(v)
		}
		return y
	}
	for _, kind := range []model.Kind{model.KindCrossEncoder, model.KindColBERT} {
		ck, err := model.NewCheckpoint(cfg, kind, model.DefaultColBERTConfig(), 11)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "ck")
		if err := model.SaveCheckpoint(dir, ck); err != nil {
			t.Fatal(err)
		}
		if ck, err = model.LoadCheckpoint(dir); err != nil {
			t.Fatal(err)
		}
		k, err := onnx.ParseKind(string(ck.Kind))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "m.onnx")
		if err := onnx.WriteFile(path, ck.Config, ck.Params, k); err != nil {
			t.Fatal(err)
		}
		b := encode.Batch{N: 2, Len: 8, IDs: ids, AttentionMask: mask, TokenTypeIDs: types}
		var want []float32
		outName := onnx.LogitsOutput
		if kind == model.KindCrossEncoder {
			ge, err := encode.NewCrossEncoder(ck, encode.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			want, err = ge.Logits(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
		} else {
			outName = onnx.VectorsOutput
			gc, err := encode.NewColBERT(ck, encode.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			want, err = gc.EncodeQueries(context.Background(), b) // all positions
			if err != nil {
				t.Fatal(err)
			}
		}
		sess, err := r.NewSession(path, []string{"input_ids", "attention_mask", "token_type_ids"}, []string{outName}, ort.Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.Run(2, 8, [][]int64{wide(ids), wide(mask), wide(types)})
		sess.Destroy()
		if err != nil {
			t.Fatal(err)
		}
		if len(out[0].Data) != len(want) {
			t.Fatalf("%s: ORT gave %d values, Go %d", kind, len(out[0].Data), len(want))
		}
		if d := maxAbsDiff(out[0].Data, want); d > 1e-4 {
			t.Errorf("%s: ORT vs Go forward max abs diff %.3g > 1e-4", kind, d)
		}
	}
}
