package model

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
)

func tinyConfig() BertConfig {
	c := SmallConfig(50)
	c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.NumHiddenLayers, c.MaxPositionEmbeddings = 8, 2, 16, 1, 20
	return c
}

func tinyCheckpoint(t *testing.T, kind Kind) *Checkpoint {
	t.Helper()
	col := DefaultColBERTConfig()
	col.Dim = 4
	ck, err := NewCheckpoint(tinyConfig(), kind, col, 7)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func sameParams(t *testing.T, a, b Params) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("param count %d vs %d", len(a), len(b))
	}
	for n, x := range a {
		y, ok := b[n]
		if !ok {
			t.Fatalf("param %s missing after round trip", n)
		}
		if !slices.Equal(x.Shape, y.Shape) {
			t.Fatalf("param %s shape %v vs %v", n, x.Shape, y.Shape)
		}
		for i := range x.Data {
			if x.Data[i] != y.Data[i] {
				t.Fatalf("param %s[%d] = %v vs %v", n, i, x.Data[i], y.Data[i])
			}
		}
	}
}

func TestLoadHFTinyColBERT(t *testing.T) {
	dir := testassets.Path(t, "models/hf-tiny/colbert")
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != KindColBERT {
		t.Fatalf("kind %s, want colbert", ck.Kind)
	}
	want := ColBERTConfig{Dim: 128, QueryMaxLen: 32, DocMaxLen: 180, QueryToken: "[unused0]", DocToken: "[unused1]",
		AttendToMaskTokens: false, MaskPunctuation: true, Similarity: "cosine"}
	if ck.ColBERT != want {
		t.Fatalf("colbert config %+v, want %+v", ck.ColBERT, want)
	}
	if ck.Config.HiddenSize != 128 || ck.Config.NumHiddenLayers != 2 || ck.Config.LayerNormEps != 1e-12 {
		t.Fatalf("config %+v", ck.Config)
	}
	// 5 embedding tensors + 16 per layer + linear.weight; nothing dropped.
	if len(ck.Params) != 5+2*16+1 || len(ck.Ignored) != 0 {
		t.Fatalf("%d params, ignored %v", len(ck.Params), ck.Ignored)
	}
	if ck.Tokenizer == "" {
		t.Fatal("tokenizer.json not found")
	}
}

func TestLoadHFTinyCrossEncoder(t *testing.T) {
	dir := testassets.Path(t, "models/hf-tiny/cross-encoder")
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != KindCrossEncoder || ck.NumLabels != 1 {
		t.Fatalf("kind %s labels %d", ck.Kind, ck.NumLabels)
	}
	for _, n := range []string{"pooler.dense.weight", "classifier.weight", "classifier.bias"} {
		if _, ok := ck.Params[n]; !ok {
			t.Fatalf("%s missing", n)
		}
	}
}

// The real teacher's config parses; without its weights the checkpoint is
// refused with a message naming what is missing.
func TestMiniLMConfig(t *testing.T) {
	dir := testassets.Path(t, "models/cross-encoder-ms-marco-MiniLM-L-6-v2")
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, extra, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.HiddenSize != 384 || c.NumHiddenLayers != 6 || c.NumAttentionHeads != 12 || c.IntermediateSize != 1536 || numLabels(extra) != 1 {
		t.Fatalf("parsed %+v, %d labels", c, numLabels(extra))
	}
	if _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("config-only checkpoint: err %v", err)
	}
	raw2 := strings.Replace(string(raw), `"absolute"`, `"relative_key"`, 1)
	if _, _, err := ParseConfig([]byte(raw2)); err == nil || !strings.Contains(err.Error(), "position_embedding_type") {
		t.Fatalf("relative positions accepted: %v", err)
	}
}

func TestSaveReloadHFTiny(t *testing.T) {
	for _, sub := range []string{"colbert", "cross-encoder"} {
		ck, err := LoadCheckpoint(testassets.Path(t, "models/hf-tiny/"+sub))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "ck")
		if err := SaveCheckpoint(out, ck); err != nil {
			t.Fatal(err)
		}
		re, err := LoadCheckpoint(out)
		if err != nil {
			t.Fatal(err)
		}
		sameParams(t, ck.Params, re.Params)
		if re.Hash() != ck.Hash() || re.Kind != ck.Kind || re.ColBERT != ck.ColBERT || re.NumLabels != ck.NumLabels {
			t.Fatalf("%s: reload differs: kind %s/%s colbert %+v/%+v", sub, ck.Kind, re.Kind, ck.ColBERT, re.ColBERT)
		}
		ck.Config.Architectures, re.Config.Architectures = nil, nil
		if !jsonEqual(ck.Config, re.Config) {
			t.Fatalf("%s: config %+v vs %+v", sub, ck.Config, re.Config)
		}
		// Stored names are HF's: the BERT part under "bert.".
		st, err := safetensors.ReadFile(filepath.Join(out, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		orig, err := safetensors.ReadFile(filepath.Join(testassets.Path(t, "models/hf-tiny/"+sub), "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sortedKeys(st.Tensors), sortedKeys(orig.Tensors); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: saved names %v, HF names %v", sub, got, want)
		}
		for _, f := range []string{"config.json", "tokenizer.json", "colbert_config.json"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Fatalf("%s: %v", sub, err)
			}
		}
		_, err = os.Stat(filepath.Join(out, "artifact.metadata"))
		if (err == nil) != (sub == "colbert") {
			t.Fatalf("%s: artifact.metadata presence wrong: %v", sub, err)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func TestSaveReplacesAtomically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	a := tinyCheckpoint(t, KindColBERT)
	if err := SaveCheckpoint(dir, a); err != nil {
		t.Fatal(err)
	}
	b := tinyCheckpoint(t, KindColBERT)
	b.Params["linear.weight"].Data[0] += 1
	if err := SaveCheckpoint(dir, b); err != nil {
		t.Fatal(err)
	}
	re, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if re.Hash() != b.Hash() || re.Hash() == a.Hash() {
		t.Fatal("overwrite did not store the new weights")
	}
	// A failing save (tokenizer to copy is missing) keeps the old checkpoint
	// and leaves no temporary directory behind.
	c := tinyCheckpoint(t, KindColBERT)
	c.Tokenizer = filepath.Join(t.TempDir(), "nope.json")
	if err := SaveCheckpoint(dir, c); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Fatalf("save with missing tokenizer: err %v", err)
	}
	re, err = LoadCheckpoint(dir)
	if err != nil || re.Hash() != b.Hash() {
		t.Fatalf("previous checkpoint damaged by failed save: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Fatalf("leftovers beside the checkpoint: %v", ents)
	}
	// An invalid checkpoint is refused before anything is written.
	delete(c.Params, "embeddings.LayerNorm.bias")
	c.Tokenizer = ""
	if err := SaveCheckpoint(dir, c); err == nil || !strings.Contains(err.Error(), "embeddings.LayerNorm.bias") {
		t.Fatalf("save of incomplete checkpoint: err %v", err)
	}
}

func TestKindsRoundTrip(t *testing.T) {
	for _, kind := range []Kind{KindColBERT, KindCrossEncoder, KindBiEncoder, KindBert} {
		ck := tinyCheckpoint(t, kind)
		dir := filepath.Join(t.TempDir(), string(kind))
		if err := SaveCheckpoint(dir, ck); err != nil {
			t.Fatal(err)
		}
		re, err := LoadCheckpoint(dir)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if re.Kind != kind || re.Hash() != ck.Hash() || re.ColBERT.Dim != ck.ColBERT.Dim {
			t.Fatalf("%s: reloaded as %s dim %d (want %d)", kind, re.Kind, re.ColBERT.Dim, ck.ColBERT.Dim)
		}
	}
}

// Corrupted or mismatched checkpoints are refused with a message naming
// the problem.
func TestLoadRefusesCorrupt(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good")
	ck := tinyCheckpoint(t, KindColBERT)
	if err := SaveCheckpoint(good, ck); err != nil {
		t.Fatal(err)
	}
	weights := func(dir string) map[string]*safetensors.Tensor {
		f, err := safetensors.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		return f.Tensors
	}
	cases := []struct {
		name   string
		mutate func(dir string)
		want   []string
	}{
		{"truncated weights", func(dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-100], 0o644)
		}, []string{"model.safetensors"}},
		{"wrong shape", func(dir string) {
			w := weights(dir)
			w["bert.encoder.layer.0.intermediate.dense.weight"] = &safetensors.Tensor{Shape: []int{15, 8}, F32: make([]float32, 15*8)}
			if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), w, nil); err != nil {
				t.Fatal(err)
			}
		}, []string{`"encoder.layer.0.intermediate.dense.weight"`, "[15 8]", "[16 8]"}},
		{"missing tensor", func(dir string) {
			w := weights(dir)
			delete(w, "bert.encoder.layer.0.attention.self.key.bias")
			safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), w, nil)
		}, []string{`"encoder.layer.0.attention.self.key.bias"`, "missing", "[8]"}},
		{"missing linear", func(dir string) {
			w := weights(dir)
			delete(w, "linear.weight")
			safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), w, nil)
		}, []string{"linear.weight"}},
		{"bad config json", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"hidden_size": 8,`), 0o644)
		}, []string{"config.json"}},
		{"heads do not divide hidden", func(dir string) {
			editConfig(t, dir, "num_attention_heads", 3)
		}, []string{"config.json", "num_attention_heads"}},
		{"config disagrees with weights", func(dir string) {
			editConfig(t, dir, "vocab_size", 60)
		}, []string{`"embeddings.word_embeddings.weight"`, "[50 8]", "[60 8]"}},
		{"not a BERT", func(dir string) {
			editConfig(t, dir, "model_type", "roberta")
		}, []string{"model_type", "roberta"}},
		{"unsupported activation", func(dir string) {
			editConfig(t, dir, "hidden_act", "relu")
		}, []string{"hidden_act"}},
		{"duplicate names", func(dir string) {
			w := weights(dir)
			w["embeddings.LayerNorm.bias"] = w["bert.embeddings.LayerNorm.bias"]
			safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), w, nil)
		}, []string{"embeddings.LayerNorm.bias", "both map"}},
		{"no weights", func(dir string) {
			os.Remove(filepath.Join(dir, "model.safetensors"))
		}, []string{"model.safetensors"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ck")
			copyDir(t, good, dir)
			c.mutate(dir)
			_, err := LoadCheckpoint(dir)
			if err == nil {
				t.Fatal("corrupt checkpoint loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func editConfig(t *testing.T, dir, key string, v any) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	var m map[string]any
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	b, _ = json.Marshal(m)
	os.WriteFile(p, b, 0o644)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
	}
}

// writeHalf writes tensors as F16 or BF16 safetensors (our writer only
// writes F32), rounding to nearest even, and returns the rounded values.
func writeHalf(t *testing.T, path, dtype string, ts map[string]*safetensors.Tensor) map[string][]float32 {
	t.Helper()
	names := sortedKeys(ts)
	hdr := map[string]any{}
	var off int64
	var body []byte
	rounded := map[string][]float32{}
	for _, n := range names {
		x := ts[n]
		r := make([]float32, len(x.F32))
		for i, v := range x.F32 {
			var h uint16
			if dtype == "BF16" {
				bits := math.Float32bits(v)
				bits += 0x7fff + (bits>>16)&1
				h = uint16(bits >> 16)
				r[i] = math.Float32frombits(uint32(h) << 16)
			} else {
				h = toHalf(v)
				r[i] = safetensors.HalfToFloat32(h)
			}
			body = binary.LittleEndian.AppendUint16(body, h)
		}
		rounded[n] = r
		hdr[n] = map[string]any{"dtype": dtype, "shape": x.Shape, "data_offsets": []int64{off, off + 2*int64(len(x.F32))}}
		off += 2 * int64(len(x.F32))
	}
	js, _ := json.Marshal(hdr)
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	out = append(append(out, js...), body...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return rounded
}

// toHalf rounds a float32 (normal-range weights) to binary16.
func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	if exp <= 0 { // subnormal or zero: weights this small round to ±0 or a subnormal
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		if rem := mant & (1<<shift - 1); rem > 1<<(shift-1) || rem == 1<<(shift-1) && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// F16/BF16 and sharded checkpoints load as the float32 values they store.
func TestLoadHalfAndSharded(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	ck := tinyCheckpoint(t, KindColBERT)
	if err := SaveCheckpoint(src, ck); err != nil {
		t.Fatal(err)
	}
	f32, err := safetensors.ReadFile(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dtype := range []string{"F16", "BF16"} {
		dir := filepath.Join(t.TempDir(), dtype)
		copyDir(t, src, dir)
		rounded := writeHalf(t, filepath.Join(dir, "model.safetensors"), dtype, f32.Tensors)
		re, err := LoadCheckpoint(dir)
		if err != nil {
			t.Fatalf("%s: %v", dtype, err)
		}
		tol := 1.0 / 2048
		if dtype == "BF16" {
			tol = 1.0 / 256
		}
		for stored, want := range rounded {
			c, _ := canonicalName(stored)
			got := re.Params[c].Data
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %s[%d] = %v, stored %v", dtype, c, i, got[i], want[i])
				}
				if d := math.Abs(float64(got[i] - ck.Params[c].Data[i])); d > tol*math.Abs(float64(ck.Params[c].Data[i]))+1e-7 {
					t.Fatalf("%s %s[%d] = %v, original %v", dtype, c, i, got[i], ck.Params[c].Data[i])
				}
			}
		}
	}

	// Two shards + index.
	dir := filepath.Join(t.TempDir(), "sharded")
	copyDir(t, src, dir)
	os.Remove(filepath.Join(dir, "model.safetensors"))
	a, b := map[string]*safetensors.Tensor{}, map[string]*safetensors.Tensor{}
	wm := map[string]string{}
	for n, x := range f32.Tensors {
		if strings.Contains(n, "encoder.") {
			a[n], wm[n] = x, "model-00001-of-00002.safetensors"
		} else {
			b[n], wm[n] = x, "model-00002-of-00002.safetensors"
		}
	}
	safetensors.WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), a, nil)
	safetensors.WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), b, nil)
	idx, _ := json.Marshal(safetensors.ShardIndex{WeightMap: wm})
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644)
	re, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if re.Hash() != ck.Hash() {
		t.Fatal("sharded checkpoint loads different weights")
	}
}

// Name mapping: no "bert." prefix, TF LayerNorm names, PyLate's 1_Dense
// projection, and ignored extras (MLM head, position_ids, pooler).
func TestTolerantNames(t *testing.T) {
	ck := tinyCheckpoint(t, KindColBERT)
	dir := filepath.Join(t.TempDir(), "pylate")
	if err := SaveCheckpoint(dir, ck); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "colbert_config.json"))
	os.Remove(filepath.Join(dir, "artifact.metadata"))
	editConfig(t, dir, "architectures", []string{"BertModel"})
	body := map[string]*safetensors.Tensor{}
	for n, x := range ck.Params {
		if n == "linear.weight" {
			continue
		}
		n = strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
		n = strings.Replace(n, "LayerNorm.bias", "LayerNorm.beta", 1)
		body[n] = &safetensors.Tensor{Shape: x.Shape, F32: x.Data}
	}
	body["cls.predictions.bias"] = &safetensors.Tensor{Shape: []int{50}, F32: make([]float32, 50)}
	body["embeddings.position_ids"] = &safetensors.Tensor{Shape: []int{1, 20}, I64: make([]int64, 20)}
	body["pooler.dense.weight"] = &safetensors.Tensor{Shape: []int{8, 8}, F32: make([]float32, 64)}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), body, nil); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "1_Dense"), 0o755)
	lin := ck.Params["linear.weight"]
	safetensors.WriteFile(filepath.Join(dir, "1_Dense", "model.safetensors"),
		map[string]*safetensors.Tensor{"linear.weight": {Shape: lin.Shape, F32: lin.Data}}, nil)
	re, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if re.Kind != KindColBERT || re.ColBERT.Dim != 4 || re.Hash() != ck.Hash() {
		t.Fatalf("kind %s dim %d, hash equal %v", re.Kind, re.ColBERT.Dim, re.Hash() == ck.Hash())
	}
	if got := strings.Join(re.Ignored, ","); got != "cls.predictions.bias,embeddings.position_ids,pooler.dense.weight" {
		t.Fatalf("ignored %s", got)
	}
}

func TestInitParams(t *testing.T) {
	cfg := SmallConfig(1000)
	a, err := InitParams(cfg, KindColBERT, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := InitParams(cfg, KindColBERT, 32, 1)
	c, _ := InitParams(cfg, KindColBERT, 32, 2)
	if HashParams(a) != HashParams(b) || HashParams(a) == HashParams(c) {
		t.Fatal("init not determined by the seed")
	}
	w := a["embeddings.word_embeddings.weight"].Data
	var s, s2 float64
	for _, v := range w[cfg.HiddenSize:] {
		if math.Abs(float64(v)) > 0.04+1e-7 {
			t.Fatalf("value %v beyond 2 std", v)
		}
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(w) - cfg.HiddenSize)
	// A normal truncated at ±2σ has std 0.8796σ.
	if std := math.Sqrt(s2/n - (s/n)*(s/n)); math.Abs(std-0.02*0.8796) > 0.0005 || math.Abs(s/n) > 0.0005 {
		t.Fatalf("std %v mean %v", std, s/n)
	}
	for _, v := range w[:cfg.HiddenSize] {
		if v != 0 {
			t.Fatal("padding row not zero")
		}
	}
	for n, p := range a {
		switch {
		case strings.HasSuffix(n, "LayerNorm.weight"):
			for _, v := range p.Data {
				if v != 1 {
					t.Fatalf("%s not 1", n)
				}
			}
		case strings.HasSuffix(n, ".bias"):
			for _, v := range p.Data {
				if v != 0 {
					t.Fatalf("%s not 0", n)
				}
			}
		}
	}
	if _, ok := a["linear.weight"]; !ok || a["linear.weight"].Shape[0] != 32 {
		t.Fatal("linear head missing")
	}
	ck := &Checkpoint{Kind: KindColBERT, Config: cfg, ColBERT: ColBERTConfig{Dim: 32}, Params: a}
	if err := ck.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHashSensitive(t *testing.T) {
	ck := tinyCheckpoint(t, KindCrossEncoder)
	h := ck.Hash()
	ck.Params["classifier.bias"].Data[0] = math.Nextafter32(ck.Params["classifier.bias"].Data[0], 1)
	if ck.Hash() == h {
		t.Fatal("hash ignores a one-ulp change")
	}
}

func TestMaxSim(t *testing.T) {
	// Two 2-d query vectors against three doc vectors.
	q := []float32{1, 0, 0, 1}
	d := []float32{0.5, 0.5, 0.9, -0.1, -1, 2}
	// q0: max(0.5, 0.9, -1) = 0.9; q1: max(0.5, -0.1, 2) = 2.
	if got := MaxSim(q, 2, d, 3, 2); math.Abs(float64(got)-2.9) > 1e-6 {
		t.Fatalf("MaxSim %v, want 2.9", got)
	}
	if got := MaxSim(q, 2, d[:2], 1, 2); math.Abs(float64(got)-1.0) > 1e-6 {
		t.Fatalf("MaxSim %v, want 1", got)
	}
	if MaxSim(q, 2, nil, 0, 2) != 0 {
		t.Fatal("empty doc should score 0")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"vocab_size":50,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16}`))
	f.Add([]byte(`{"vocab_size":30522,"hidden_size":128,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":512,"hidden_act":"gelu","layer_norm_eps":1e-12,"id2label":{"0":"LABEL_0"}}`))
	f.Add([]byte(`{"hidden_size":"x"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, extra, err := ParseConfig(raw)
		if err != nil {
			return
		}
		if err := ValidateConfig(c); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
		ck := &Checkpoint{Kind: KindBert, Config: c, extra: extra}
		out, err := ck.configJSON()
		if err != nil {
			t.Fatal(err)
		}
		c2, _, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("re-parse of written config: %v", err)
		}
		c.Architectures, c2.Architectures, c.ModelType, c2.ModelType = nil, nil, "", ""
		if !jsonEqual(c, c2) {
			t.Fatalf("config changed on write: %+v vs %+v", c, c2)
		}
	})
}

func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{"bert.embeddings.LayerNorm.gamma", "linear.weight", "cls.predictions.bias", "model.encoder.layer.0.output.dense.weight", "bert.pooler.dense.bias"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, keep := canonicalName(name)
		if !keep {
			return
		}
		if c2, keep2 := canonicalName(c); !keep2 || c2 != c {
			t.Fatalf("canonical name %q of %q not stable (%q, %v)", c, name, c2, keep2)
		}
		if strings.HasPrefix(c, "bert.") {
			t.Fatalf("canonical name %q keeps the bert. prefix", c)
		}
	})
}

// TestWithHead: a cross-encoder made from a ColBERT keeps every encoder
// tensor bit for bit, gets exactly the cross-encoder head as fresh tensors,
// and converting back gives a fresh ColBERT projection over the same encoder.
func TestWithHead(t *testing.T) {
	cfg := SmallConfig(300)
	cfg.NumHiddenLayers = 1
	col := DefaultColBERTConfig()
	col.Dim = 16
	src, err := NewCheckpoint(cfg, KindColBERT, col, 3)
	if err != nil {
		t.Fatal(err)
	}
	ce, fresh, err := src.WithHead(KindCrossEncoder, col, 4)
	if err != nil {
		t.Fatal(err)
	}
	if ce.Kind != KindCrossEncoder || ce.NumLabels != 1 {
		t.Fatalf("kind %s labels %d", ce.Kind, ce.NumLabels)
	}
	if got := strings.Join(fresh, ","); got != "classifier.bias,classifier.weight,pooler.dense.bias,pooler.dense.weight" {
		t.Fatalf("fresh tensors %s", got)
	}
	for name, p := range src.Params {
		if name == "linear.weight" {
			if _, ok := ce.Params[name]; ok {
				t.Fatal("ColBERT projection carried into the cross-encoder")
			}
			continue
		}
		q := ce.Params[name]
		if q == nil || !slices.Equal(p.Data, q.Data) {
			t.Fatalf("%s not copied", name)
		}
	}
	back, fresh, err := ce.WithHead(KindColBERT, col, 5)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(fresh, ",") != "linear.weight" || slices.Equal(back.Params["linear.weight"].Data, src.Params["linear.weight"].Data) {
		t.Fatalf("fresh %v: the projection must be new", fresh)
	}
	other := SmallConfig(300)
	other.NumHiddenLayers, other.HiddenSize, other.NumAttentionHeads = 1, 64, 2
	small, err := NewCheckpoint(other, KindColBERT, col, 3)
	if err != nil {
		t.Fatal(err)
	}
	small.Config = cfg // claims hidden 128 but holds hidden-64 tensors
	if _, _, err := small.WithHead(KindCrossEncoder, col, 4); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("mismatched shapes accepted: %v", err)
	}
}
