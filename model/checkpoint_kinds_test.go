package model

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestLoadOtherKinds loads the committed SPLADE (BertForMaskedLM layout,
// with HF's tied decoder copy), poly-encoder and MV-DPR fixtures
// (experiments/peers/make_models_fixture.py), checks kind, head sizes and
// that a save/load round trip keeps kind, settings and weights.
func TestLoadOtherKinds(t *testing.T) {
	for _, c := range []struct {
		dir        string
		kind       Kind
		polyM, mvK int
		dim        int
		head       string
	}{
		{"tiny-splade", KindSPLADE, 0, 0, 0, MLMDenseWeight},
		{"tiny-poly", KindPolyEncoder, 3, 0, 32, PolyCodes},
		{"tiny-mvdpr", KindMVDPR, 0, 3, 16, MVProjection},
	} {
		ck, err := LoadCheckpoint(filepath.Join("testdata", c.dir))
		if err != nil {
			t.Fatalf("%s: %v", c.dir, err)
		}
		if ck.Kind != c.kind || ck.ColBERT.PolyM != c.polyM || ck.ColBERT.MVK != c.mvK || c.dim != 0 && ck.ColBERT.Dim != c.dim {
			t.Errorf("%s: kind %s poly_m %d mv_k %d dim %d, want %s %d %d %d", c.dir, ck.Kind, ck.ColBERT.PolyM, ck.ColBERT.MVK, ck.ColBERT.Dim, c.kind, c.polyM, c.mvK, c.dim)
		}
		if ck.Params[c.head] == nil {
			t.Errorf("%s: head tensor %s not loaded", c.dir, c.head)
		}
		if c.kind == KindSPLADE && !slices.Contains(ck.Ignored, "cls.predictions.decoder.weight") {
			t.Errorf("%s: the tied decoder copy should be ignored, ignored = %v", c.dir, ck.Ignored)
		}
		out := filepath.Join(t.TempDir(), "saved")
		if err := SaveCheckpoint(out, ck); err != nil {
			t.Fatal(err)
		}
		back, err := LoadCheckpoint(out)
		if err != nil {
			t.Fatalf("%s round trip: %v", c.dir, err)
		}
		if back.Kind != ck.Kind || back.ColBERT != ck.ColBERT || back.Hash() != ck.Hash() {
			t.Errorf("%s round trip: kind %s→%s, settings %+v→%+v, hash equal %v", c.dir, ck.Kind, back.Kind, ck.ColBERT, back.ColBERT, back.Hash() == ck.Hash())
		}
	}
}

// TestNewKindsInitAndHead: fresh checkpoints of the new kinds validate, a
// missing size is refused, and a SPLADE made from an MLM-carrying
// checkpoint keeps its head while a ColBERT made from SPLADE drops it.
func TestNewKindsInitAndHead(t *testing.T) {
	cfg := SmallConfig(50)
	cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.NumHiddenLayers = 32, 2, 64, 1
	col := DefaultColBERTConfig()
	col.Dim, col.PolyM, col.MVK = 8, 4, 2
	for _, k := range []Kind{KindSPLADE, KindPolyEncoder, KindMVDPR} {
		ck, err := NewCheckpoint(cfg, k, col, 1)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if k == KindPolyEncoder && (ck.ColBERT.Dim != 32 || ck.Params[PolyCodes].Shape[0] != 4) {
			t.Errorf("poly: dim %d codes %v", ck.ColBERT.Dim, ck.Params[PolyCodes].Shape)
		}
		if k == KindSPLADE {
			w := ck.Params[MLMDenseWeight].Data
			if w[0] != 1 || w[1] != 0 || w[33] != 1 || w[32*32-1] != 1 {
				t.Errorf("splade: MLM transform does not start as the identity")
			}
		}
		if k == KindMVDPR && !slices.Equal(ck.Params[MVProjection].Shape, []int{16, 32}) {
			t.Errorf("mv-dpr projection %v, want [16 32]", ck.Params[MVProjection].Shape)
		}
	}
	bad := col
	bad.PolyM = 0
	if _, err := NewCheckpoint(cfg, KindPolyEncoder, bad, 1); err == nil {
		t.Error("poly-encoder without poly_m accepted")
	}
	bad = col
	bad.MVK = 0
	if _, err := NewCheckpoint(cfg, KindMVDPR, bad, 1); err == nil {
		t.Error("mv-dpr without mv_k accepted")
	}
	spl, err := NewCheckpoint(cfg, KindSPLADE, col, 2)
	if err != nil {
		t.Fatal(err)
	}
	spl.Params[MLMDenseWeight].Data[0] = 42
	again, _, err := spl.WithHead(KindSPLADE, col, 3)
	if err != nil || again.Params[MLMDenseWeight].Data[0] != 42 {
		t.Errorf("SPLADE from SPLADE lost the MLM head (err %v)", err)
	}
	cb, _, err := spl.WithHead(KindColBERT, col, 3)
	if err != nil || HasMLMHead(cb.Params) {
		t.Errorf("ColBERT from SPLADE: err %v, MLM head kept %v", err, HasMLMHead(cb.Params))
	}
}
