package model

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
)

// withHead adds a random MLM head to ck.
func withHead(ck *Checkpoint) {
	i := 0
	for n, s := range MLMHeadShapes(ck.Config) {
		t := &Tensor{Shape: s}
		t.Data = make([]float32, t.Len())
		for j := range t.Data {
			i++
			t.Data[j] = float32(i%17) / 17
		}
		ck.Params[n] = t
	}
}

// editStored rewrites dir/model.safetensors through edit.
func editStored(t *testing.T, dir string, edit func(map[string]*safetensors.Tensor)) {
	t.Helper()
	p := filepath.Join(dir, "model.safetensors")
	f, err := safetensors.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edit(f.Tensors)
	if err := safetensors.WriteFile(p, f.Tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
}

// TestMLMHeadRoundTrip: a cross-encoder keeps its MLM head through save and
// load under HF BertForMaskedLM's names, without a decoder weight copy.
func TestMLMHeadRoundTrip(t *testing.T) {
	ck := tinyCheckpoint(t, KindCrossEncoder)
	withHead(ck)
	if !HasMLMHead(ck.Params) {
		t.Fatal("HasMLMHead false after adding the head")
	}
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, ck); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range MLMHeadShapes(ck.Config) {
		if _, ok := f.Tensors[n]; !ok {
			t.Errorf("saved file lacks %s", n)
		}
	}
	if _, ok := f.Tensors["cls.predictions.decoder.weight"]; ok {
		t.Error("tied decoder weight saved as a copy")
	}
	back, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, ck.Params, back.Params)
	if len(back.Ignored) != 0 {
		t.Errorf("ignored %v", back.Ignored)
	}
	if back.Hash() != ck.Hash() {
		t.Error("hash changed through save/load")
	}
	dropped := DropMLMHead(back.Params)
	if len(dropped) != 5 || HasMLMHead(back.Params) || back.Validate() != nil {
		t.Errorf("DropMLMHead removed %v; head left %v; valid %v", dropped, HasMLMHead(back.Params), back.Validate())
	}
}

// TestMLMHeadHFNames loads HF's layout: the tied copies
// cls.predictions.decoder.{weight,bias} beside (or instead of)
// cls.predictions.bias; a ColBERT model ignores the head.
func TestMLMHeadHFNames(t *testing.T) {
	ck := tinyCheckpoint(t, KindCrossEncoder)
	withHead(ck)
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, ck); err != nil {
		t.Fatal(err)
	}
	bias := ck.Params[MLMBias]
	editStored(t, dir, func(m map[string]*safetensors.Tensor) {
		w := ck.Params["embeddings.word_embeddings.weight"]
		m["cls.predictions.decoder.weight"] = &safetensors.Tensor{DType: "F32", Shape: w.Shape, F32: w.Data}
		m["cls.predictions.decoder.bias"] = &safetensors.Tensor{DType: "F32", Shape: bias.Shape, F32: bias.Data}
		delete(m, MLMBias)
		m["cls.seq_relationship.weight"] = &safetensors.Tensor{DType: "F32", Shape: []int{2, 8}, F32: make([]float32, 16)}
	})
	back, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, ck.Params, back.Params)
	want := []string{"cls.predictions.decoder.weight", "cls.seq_relationship.weight"}
	if !slices.Equal(back.Ignored, want) {
		t.Errorf("ignored %v, want %v", back.Ignored, want)
	}

	col := tinyCheckpoint(t, KindColBERT)
	cdir := filepath.Join(t.TempDir(), "col")
	if err := SaveCheckpoint(cdir, col); err != nil {
		t.Fatal(err)
	}
	editStored(t, cdir, func(m map[string]*safetensors.Tensor) {
		for n, s := range MLMHeadShapes(col.Config) {
			n0 := 1
			for _, d := range s {
				n0 *= d
			}
			m[n] = &safetensors.Tensor{DType: "F32", Shape: s, F32: make([]float32, n0)}
		}
	})
	cb, err := LoadCheckpoint(cdir)
	if err != nil {
		t.Fatal(err)
	}
	if HasMLMHead(cb.Params) || len(cb.Ignored) != 5 {
		t.Errorf("ColBERT model kept the MLM head: params %v, ignored %v", HasMLMHead(cb.Params), cb.Ignored)
	}
	col.Params[MLMBias] = &Tensor{Shape: []int{50}, Data: make([]float32, 50)}
	if err := col.Validate(); err == nil {
		t.Error("ColBERT model with an MLM head validated")
	}
}

// TestMLMHeadRefused: a head of the wrong shape or an incomplete one is an
// error naming the tensor.
func TestMLMHeadRefused(t *testing.T) {
	for _, c := range []struct {
		edit func(m map[string]*safetensors.Tensor)
		want string
	}{
		{func(m map[string]*safetensors.Tensor) {
			m[MLMBias] = &safetensors.Tensor{DType: "F32", Shape: []int{49}, F32: make([]float32, 49)}
		}, MLMBias},
		{func(m map[string]*safetensors.Tensor) { delete(m, MLMNormWeight) }, MLMNormWeight},
	} {
		ck := tinyCheckpoint(t, KindCrossEncoder)
		withHead(ck)
		dir := filepath.Join(t.TempDir(), "ck")
		if err := SaveCheckpoint(dir, ck); err != nil {
			t.Fatal(err)
		}
		editStored(t, dir, c.edit)
		if _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("load: %v, want an error naming %s", err, c.want)
		}
	}
}
