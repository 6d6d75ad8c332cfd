package onnx_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/colbert-go/colbert/model/ort"
)

// modelsDir holds the PyTorch fixture of the SPLADE, poly-encoder and
// MV-DPR heads (experiments/peers/make_models_fixture.py, float64), the one
// model/encode's parity tests read.
const modelsDir = "../testdata"

// textBatch is one side (queries or documents) of the fixture's inputs.
type textBatch struct {
	n, l      int
	ids, mask []int64
}

func (b textBatch) encode() encode.Batch {
	return encode.Batch{N: b.n, Len: b.l, IDs: narrow(b.ids), AttentionMask: narrow(b.mask)}
}

// modelsFixture reads the fixture's inputs (tiny-reference.safetensors) and
// the heads' reference outputs (tiny-models-reference.safetensors).
func modelsFixture(t *testing.T) (sides map[string]textBatch, out *safetensors.File) {
	t.Helper()
	in, err := safetensors.ReadFile(filepath.Join(modelsDir, "tiny-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	out, err = safetensors.ReadFile(filepath.Join(modelsDir, "tiny-models-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sides = map[string]textBatch{}
	for _, side := range []string{"query", "doc"} {
		ids, mask := in.Tensors[side+"_input_ids"], in.Tensors[side+"_attention_mask"]
		if ids == nil || mask == nil || ids.I64 == nil || mask.I64 == nil {
			t.Fatalf("fixture has no integer %s_input_ids / %s_attention_mask", side, side)
		}
		sides[side] = textBatch{n: ids.Shape[0], l: ids.Shape[1], ids: ids.I64, mask: mask.I64}
	}
	return sides, out
}

// exportFixture loads the fixture checkpoint dir and exports it as kind with
// the head sizes it records.
func exportFixture(t *testing.T, dir string, kind onnx.Kind) (*model.Checkpoint, string) {
	t.Helper()
	ck, err := model.LoadCheckpoint(filepath.Join(modelsDir, dir))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), string(kind)+".onnx")
	if err := onnx.WriteFileWith(path, ck.Config, ck.Params, kind, onnx.OptionsOf(ck)); err != nil {
		t.Fatalf("export %s as %s: %v", dir, kind, err)
	}
	return ck, path
}

// runSides runs the exported model on the fixture's queries and documents,
// returning each side's outputs in outNames' order.
func runSides(t *testing.T, path string, outNames []string, sides map[string]textBatch) map[string][]ort.Output {
	t.Helper()
	sess, err := runtime(t).NewSession(path, []string{"input_ids", "attention_mask"}, outNames, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	res := map[string][]ort.Output{}
	for side, b := range sides {
		out, err := sess.Run(b.n, b.l, [][]int64{b.ids, b.mask})
		if err != nil {
			t.Fatalf("%s: %v", side, err)
		}
		res[side] = out
	}
	return res
}

// parity compares got with want (shape and values, ≤ 1e-4) and logs the
// figure.
func parity(t *testing.T, label string, got ort.Output, wantShape []int64, want []float32) {
	t.Helper()
	if !slices.Equal(got.Shape, wantShape) || len(got.Data) != len(want) {
		t.Fatalf("%s: ORT output %s has shape %v (%d values), want %v (%d)", label, got.Name, got.Shape, len(got.Data), wantShape, len(want))
	}
	d := maxAbsDiff(got.Data, want)
	t.Logf("%s: max abs diff %.3g", label, d)
	if d > 1e-4 {
		t.Errorf("%s: max abs diff %.3g > 1e-4", label, d)
	}
}

func refTensor(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	x, ok := f.Tensors[name]
	if !ok || x.F32 == nil {
		t.Fatalf("fixture has no float tensor %s", name)
	}
	return x.F32
}

// The exported SPLADE graph in ORT gives the PyTorch sparse vectors (dense
// over the vocabulary) and the Go encoder's.
func TestSPLADEExportParity(t *testing.T) {
	runtime(t)
	sides, ref := modelsFixture(t)
	ck, path := exportFixture(t, "tiny-splade", onnx.SPLADE)
	out := runSides(t, path, []string{onnx.SparseOutput}, sides)
	goEnc, err := encode.NewSPLADE(ck, encode.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	V := int64(goEnc.VocabSize())
	for side, b := range sides {
		shape := []int64{int64(b.n), V}
		parity(t, "splade "+side+" vs PyTorch", out[side][0], shape, refTensor(t, ref, "splade_"+side))
		sp, err := goEnc.Encode(context.Background(), b.encode())
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, b.n*int(V))
		nonzero := 0
		for i, s := range sp {
			for k, term := range s.Terms {
				want[i*int(V)+int(term)] = s.Weights[k]
			}
			nonzero += len(s.Terms)
		}
		if nonzero == 0 || nonzero == len(want) {
			t.Fatalf("splade %s: %d of %d weights non-zero: the fixture should be neither empty nor dense", side, nonzero, len(want))
		}
		parity(t, "splade "+side+" vs Go encoder", out[side][0], shape, want)
	}
}

// The exported poly-encoder gives the PyTorch query context vectors and
// passage [CLS] states, and the Go encoder's, from one graph.
func TestPolyEncoderExportParity(t *testing.T) {
	runtime(t)
	sides, ref := modelsFixture(t)
	ck, path := exportFixture(t, "tiny-poly", onnx.PolyEncoder)
	out := runSides(t, path, []string{onnx.QueryContextOutput, onnx.CLSOutput}, sides)
	goEnc, err := encode.NewPolyEncoder(ck, encode.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, h := int64(goEnc.M()), int64(goEnc.Dim())
	q, d := sides["query"], sides["doc"]
	parity(t, "poly query_context vs PyTorch", out["query"][0], []int64{int64(q.n), m, h}, refTensor(t, ref, "poly_query"))
	parity(t, "poly doc cls vs PyTorch", out["doc"][1], []int64{int64(d.n), h}, refTensor(t, ref, "poly_doc"))
	wantQ, err := goEnc.EncodeQueries(context.Background(), q.encode())
	if err != nil {
		t.Fatal(err)
	}
	wantD, err := goEnc.EncodeDocs(context.Background(), d.encode())
	if err != nil {
		t.Fatal(err)
	}
	parity(t, "poly query_context vs Go encoder", out["query"][0], []int64{int64(q.n), m, h}, wantQ)
	parity(t, "poly doc cls vs Go encoder", out["doc"][1], []int64{int64(d.n), h}, wantD)
}

// The exported MV-DPR graph gives the PyTorch k normalised vectors per text
// and the Go encoder's, queries and documents alike.
func TestMVDPRExportParity(t *testing.T) {
	runtime(t)
	sides, ref := modelsFixture(t)
	ck, path := exportFixture(t, "tiny-mvdpr", onnx.MVDPR)
	out := runSides(t, path, []string{onnx.VectorsOutput}, sides)
	goEnc, err := encode.NewMVDPR(ck, encode.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	k, dim := int64(goEnc.K()), int64(goEnc.Dim())
	q, d := sides["query"], sides["doc"]
	parity(t, "mv-dpr query vs PyTorch", out["query"][0], []int64{int64(q.n), k, dim}, refTensor(t, ref, "mvdpr_query"))
	parity(t, "mv-dpr doc vs PyTorch", out["doc"][0], []int64{int64(d.n), k, dim}, refTensor(t, ref, "mvdpr_doc"))
	wantQ, err := goEnc.EncodeQueries(context.Background(), q.encode())
	if err != nil {
		t.Fatal(err)
	}
	wantD, err := goEnc.EncodeDocs(context.Background(), d.encode())
	if err != nil {
		t.Fatal(err)
	}
	parity(t, "mv-dpr query vs Go encoder", out["query"][0], []int64{int64(q.n), k, dim}, wantQ)
	parity(t, "mv-dpr doc vs Go encoder", out["doc"][0], []int64{int64(d.n), k, dim}, wantD.Vectors)
}

// Padding is inert: a text padded further (more masked positions at the
// end) keeps its outputs, so batches of mixed lengths are safe. The
// fixture's queries, padded to the documents' length, must give what they
// give unpadded.
func TestModelsExportPaddingInert(t *testing.T) {
	runtime(t)
	sides, _ := modelsFixture(t)
	q, d := sides["query"], sides["doc"]
	padded := textBatch{n: q.n, l: d.l, ids: make([]int64, q.n*d.l), mask: make([]int64, q.n*d.l)}
	for i := 0; i < q.n; i++ {
		copy(padded.ids[i*d.l:], q.ids[i*q.l:(i+1)*q.l])
		copy(padded.mask[i*d.l:], q.mask[i*q.l:(i+1)*q.l])
	}
	for _, c := range []struct {
		dir  string
		kind onnx.Kind
		outs []string
	}{
		{"tiny-splade", onnx.SPLADE, []string{onnx.SparseOutput}},
		{"tiny-poly", onnx.PolyEncoder, []string{onnx.QueryContextOutput, onnx.CLSOutput}},
		{"tiny-mvdpr", onnx.MVDPR, []string{onnx.VectorsOutput}},
	} {
		_, path := exportFixture(t, c.dir, c.kind)
		out := runSides(t, path, c.outs, map[string]textBatch{"short": q, "padded": padded})
		for i := range c.outs {
			if dd := maxAbsDiff(out["short"][i].Data, out["padded"][i].Data); dd > 1e-5 {
				t.Errorf("%s %s: padding the queries from %d to %d positions changed them by %.3g", c.kind, c.outs[i], q.l, d.l, dd)
			}
		}
	}
}

func TestModelsExportErrors(t *testing.T) {
	for _, k := range []string{"splade", "poly-encoder", "mv-dpr"} {
		if got, err := onnx.ParseKind(k); err != nil || string(got) != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := onnx.ParseKind("sparse"); err == nil || !strings.Contains(err.Error(), "mv-dpr") {
		t.Errorf("ParseKind of an unknown kind should list the kinds: %v", err)
	}
	load := func(dir string) *model.Checkpoint {
		ck, err := model.LoadCheckpoint(filepath.Join(modelsDir, dir))
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	mv, poly, col := load("tiny-mvdpr"), load("tiny-poly"), load("tiny-colbert")
	// MV-DPR's projection rows do not say how many vectors they make.
	if _, err := onnx.Export(mv.Config, mv.Params, onnx.MVDPR); err == nil || !strings.Contains(err.Error(), "mv_k") {
		t.Errorf("mv-dpr export without mv_k: %v", err)
	}
	// One of MVK and Dim is enough; a split that does not divide is refused.
	if _, err := onnx.ExportWith(mv.Config, mv.Params, onnx.MVDPR, onnx.Options{Dim: mv.ColBERT.Dim}); err != nil {
		t.Errorf("mv-dpr export with dim only: %v", err)
	}
	if _, err := onnx.ExportWith(mv.Config, mv.Params, onnx.MVDPR, onnx.Options{MVK: 5}); err == nil || !strings.Contains(err.Error(), "mv_k 5") {
		t.Errorf("mv-dpr export with mv_k 5 of 48 rows: %v", err)
	}
	// The codes' rows must agree with poly_m; with none given they set it.
	if _, err := onnx.ExportWith(poly.Config, poly.Params, onnx.PolyEncoder, onnx.Options{PolyM: 4}); err == nil || !strings.Contains(err.Error(), model.PolyCodes) {
		t.Errorf("poly-encoder export with poly_m 4 of 3 codes: %v", err)
	}
	if _, err := onnx.Export(poly.Config, poly.Params, onnx.PolyEncoder); err != nil {
		t.Errorf("poly-encoder export inferring poly_m: %v", err)
	}
	// A head that is not there is named.
	for kind, want := range map[onnx.Kind]string{onnx.SPLADE: model.MLMDenseWeight, onnx.PolyEncoder: model.PolyCodes, onnx.MVDPR: model.MVProjection} {
		if _, err := onnx.ExportWith(col.Config, col.Params, kind, onnx.Options{PolyM: 3, MVK: 2}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s export of a ColBERT checkpoint: %v (want it to name %s)", kind, err, want)
		}
	}
}

// The exported bi-encoder graph gives model/encode's bi-encoder embeddings
// ([CLS] through linear.weight, not normalised), queries and documents
// alike, for the fixture's encoder under a fresh bi-encoder head, and the
// [CLS] state itself for a checkpoint without the projection.
func TestBiEncoderExportParity(t *testing.T) {
	runtime(t)
	sides, _ := modelsFixture(t)
	src, err := model.LoadCheckpoint(filepath.Join(modelsDir, "tiny-mvdpr"))
	if err != nil {
		t.Fatal(err)
	}
	col := src.ColBERT
	col.Dim = 24
	ck, _, err := src.WithHead(model.KindBiEncoder, col, 5)
	if err != nil {
		t.Fatal(err)
	}
	plain := &model.Checkpoint{Kind: model.KindBiEncoder, Config: ck.Config, Params: model.Params{}}
	for name, p := range ck.Params {
		if name != "linear.weight" {
			plain.Params[name] = p
		}
	}
	for _, c := range []struct {
		name string
		ck   *model.Checkpoint
		dim  int64
	}{{"linear", ck, 24}, {"cls", plain, int64(ck.Config.HiddenSize)}} {
		path := filepath.Join(t.TempDir(), c.name+".onnx")
		if err := onnx.WriteFile(path, c.ck.Config, c.ck.Params, onnx.BiEncoder); err != nil {
			t.Fatal(err)
		}
		out := runSides(t, path, []string{onnx.EmbeddingOutput}, sides)
		goEnc, err := encode.NewBiEncoder(c.ck, encode.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, side := range []string{"query", "doc"} {
			b := sides[side]
			want, err := goEnc.Encode(context.Background(), b.encode())
			if err != nil {
				t.Fatal(err)
			}
			parity(t, "bi-encoder ("+c.name+") "+side+" vs Go encoder", out[side][0], []int64{int64(b.n), c.dim}, want)
		}
	}
}
