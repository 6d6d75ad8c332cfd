package ort

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/onnx"
)

var (
	testRTOnce sync.Once
	testRT     *Runtime
	testRTErr  error
)

// sharedRuntime gives every test of the package the one process-wide
// environment, or skips when the library is absent.
func sharedRuntime(t testing.TB) *Runtime {
	t.Helper()
	testRTOnce.Do(func() { testRT, testRTErr = NewRuntime("") })
	if testRTErr != nil {
		t.Skipf("ONNX Runtime library not available (run make setup): %v", testRTErr)
	}
	return testRT
}

func TestFindLibraryErrors(t *testing.T) {
	_, err := FindLibrary("/nonexistent/libonnxruntime.so.1")
	if err == nil || !strings.Contains(err.Error(), "--onnxruntime-lib") {
		t.Fatalf("explicit missing path: got %v", err)
	}
	t.Setenv(LibEnv, "/nonexistent/lib.so")
	_, err = FindLibrary("")
	if err == nil || !strings.Contains(err.Error(), LibEnv) {
		t.Fatalf("env missing path: got %v", err)
	}
	t.Setenv(LibEnv, "")
	t.Chdir(t.TempDir()) // no repository above: only the binary's dir is tried
	p, err := FindLibrary("")
	if err == nil {
		if _, serr := os.Stat(p); serr != nil {
			t.Fatalf("FindLibrary returned missing %s", p)
		}
	} else if !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("missing library error should say to run make setup: %v", err)
	}
}

func TestFindLibraryRepoDir(t *testing.T) {
	t.Setenv(LibEnv, "")
	root := t.TempDir()
	lib := filepath.Join(root, setupRel)
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(lib, []byte("x"), 0o644)
	sub := filepath.Join(root, "a", "b")
	os.MkdirAll(sub, 0o755)
	t.Chdir(sub)
	got, err := FindLibrary("")
	if err != nil || got != lib {
		t.Fatalf("FindLibrary from %s = %q, %v; want %s", sub, got, err, lib)
	}
}

// The hf-tiny cross-encoder exported by torch.onnx.export, fed the reference
// token ids, must reproduce the logits Python's ONNX Runtime computed.
func TestCrossEncoderReference(t *testing.T) {
	rt := sharedRuntime(t)
	model := testassets.Path(t, "models/hf-tiny/cross-encoder/model.onnx")
	ref, err := safetensors.ReadFile(testassets.Path(t, "models/hf-tiny/reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ce, err := rt.NewCrossEncoder(model, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ce.Close()
	if !ce.UsesTokenTypes() {
		t.Fatal("hf-tiny cross-encoder takes token_type_ids")
	}
	ids := ref.Tensors["ce_input_ids"]
	n, l := ids.Shape[0], ids.Shape[1]
	b := Batch{N: n, Len: l, IDs: narrow(ids.I64), AttentionMask: narrow(ref.Tensors["ce_attention_mask"].I64),
		TokenTypeIDs: narrow(ref.Tensors["ce_token_type_ids"].I64)}
	got, err := ce.Score(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, tol := range map[string]float64{"ce_logits_onnxruntime": 1e-5, "ce_logits": 1e-4} {
		want := ref.Tensors[name].F32
		if len(want) != n {
			t.Fatalf("%s has %d values, want %d", name, len(want), n)
		}
		var maxd float64
		for i := range want {
			maxd = max(maxd, math.Abs(float64(got[i]-want[i])))
		}
		if maxd > tol {
			t.Errorf("%s: max abs diff %.3g > %g", name, maxd, tol)
		}
	}
	// A row scored alone without its padding agrees with the padded batch:
	// padding must not leak into a row's logit.
	i := n - 1
	k := 0
	for _, m := range b.AttentionMask[i*l : (i+1)*l] {
		k += int(m)
	}
	one := Batch{N: 1, Len: k, IDs: b.IDs[i*l : i*l+k], AttentionMask: b.AttentionMask[i*l : i*l+k], TokenTypeIDs: b.TokenTypeIDs[i*l : i*l+k]}
	s, err := ce.Score(one)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(float64(s[0] - got[i])); d > 1e-5 || k == l {
		t.Errorf("row %d alone (%d of %d positions): %v vs batched %v", i, k, l, s[0], got[i])
	}
	if _, err := ce.Score(Batch{N: 2, Len: 3, IDs: make([]int32, 5), AttentionMask: make([]int32, 6)}); err == nil {
		t.Error("Score accepted a batch with the wrong number of ids")
	}
}

func TestRefusesNonCrossEncoder(t *testing.T) {
	rt := sharedRuntime(t)
	// Variants of the real model's description that a cross-encoder
	// scorer cannot drive.
	model := testassets.Path(t, "models/hf-tiny/cross-encoder/model.onnx")
	in, out, err := rt.Inspect(model)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCrossEncoder(in, out); err != nil {
		t.Fatalf("real cross-encoder refused: %v", err)
	}
	out2 := append(out[:0:0], out...)
	out2[0].Name = "last_hidden_state"
	if err := CheckCrossEncoder(in, out2); err == nil || !strings.Contains(err.Error(), "logits") {
		t.Errorf("model without logits accepted: %v", err)
	}
	out3 := append(out[:0:0], out...)
	out3[0].Dimensions = []int64{-1, -1, 128}
	if err := CheckCrossEncoder(in, out3); err == nil {
		t.Error("logits of rank 3 accepted")
	}
	in2 := append(in[:0:0], in...)
	in2 = in2[1:] // drop input_ids
	if err := CheckCrossEncoder(in2, out); err == nil || !strings.Contains(err.Error(), "input_ids") {
		t.Errorf("model without input_ids accepted: %v", err)
	}
	in3 := append(in[:0:0], in...)
	in3[0].DataType = out[0].DataType // float ids
	if err := CheckCrossEncoder(in3, out); err == nil {
		t.Error("float input_ids accepted")
	}
	// Opening a file that is not a model fails with the path in the message.
	junk := filepath.Join(t.TempDir(), "junk.onnx")
	os.WriteFile(junk, []byte("not a model"), 0o644)
	if _, err := rt.NewCrossEncoder(junk, Options{}); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("junk model: %v", err)
	}
}

func narrow(x []int64) []int32 {
	y := make([]int32, len(x))
	for i, v := range x {
		y[i] = int32(v)
	}
	return y
}

// The environment is process-wide: a second Runtime cannot load it while
// the first holds it, and a Runtime refuses to close under open sessions.
func TestRuntimeOwnership(t *testing.T) {
	rt := sharedRuntime(t)
	model := testassets.Path(t, "models/hf-tiny/cross-encoder/model.onnx")
	ce, err := rt.NewCrossEncoder(model, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err == nil || !strings.Contains(err.Error(), "sessions") {
		t.Errorf("Close with an open session: %v", err)
	}
	if err := ce.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := NewRuntime(rt.Library())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Inspect(model); err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Errorf("second runtime: %v", err)
	}
	if err := other.Close(); err != nil {
		t.Errorf("closing an unused runtime: %v", err)
	}
	// The shared runtime still works after the other one closed.
	if _, _, err := rt.Inspect(model); err != nil {
		t.Errorf("shared runtime after the other closed: %v", err)
	}
}

// The hf-tiny ColBERT checkpoint exported by model/onnx encodes the
// reference documents to the reference vectors through Encoder; a
// cross-encoder is refused as an encoder.
func TestEncoderReference(t *testing.T) {
	rt := sharedRuntime(t)
	ck, err := model.LoadCheckpoint(testassets.Path(t, "models/hf-tiny/colbert"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "colbert.onnx")
	if err := onnx.WriteFile(path, ck.Config, ck.Params, onnx.ColBERT); err != nil {
		t.Fatal(err)
	}
	enc, err := rt.NewEncoder(path, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	ref, err := safetensors.ReadFile(testassets.Path(t, "models/hf-tiny/reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ids := ref.Tensors["doc_input_ids"]
	n, l := 4, ids.Shape[1]
	got, err := enc.Encode(Batch{N: n, Len: l, IDs: narrow(ids.I64[:n*l]), AttentionMask: narrow(ref.Tensors["doc_attention_mask"].I64[:n*l])})
	if err != nil {
		t.Fatal(err)
	}
	want := ref.Tensors["doc_vectors"].F32[:n*l*enc.Dim()]
	var d float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i]-want[i])))
	}
	if enc.Dim() != 128 || d > 1e-4 {
		t.Errorf("dim %d, max abs diff to doc_vectors %.3g", enc.Dim(), d)
	}
	if _, err := rt.NewEncoder(testassets.Path(t, "models/hf-tiny/cross-encoder/model.onnx"), Options{}); err == nil || !strings.Contains(err.Error(), "vectors") {
		t.Errorf("cross-encoder accepted as an encoder: %v", err)
	}
}
