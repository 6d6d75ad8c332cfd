package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/colbert-go/colbert/data/fsx"
	"github.com/colbert-go/colbert/data/safetensors"
)

// Kind says which head sits on top of the BERT encoder.
type Kind string

// The model kinds a checkpoint can hold.
const (
	KindColBERT      Kind = "colbert"       // BERT → linear (no bias) → L2 norm per token
	KindCrossEncoder Kind = "cross-encoder" // BertForSequenceClassification: pooler → classifier
	KindBiEncoder    Kind = "bi-encoder"    // [CLS] pooling, optional linear, dot product
	KindBert         Kind = "bert"          // plain encoder, no head
	// KindSPLADE is HF BertForMaskedLM as naver/splade-* ship it: the MLM
	// head (cls.predictions.*, decoder tied to the word embeddings) gives
	// per-token vocabulary logits; log(1 + ReLU), max over the text's
	// attended tokens, is a sparse vector over the vocabulary; score = dot.
	KindSPLADE Kind = "splade"
	// KindPolyEncoder (Humeau et al.) is BERT plus poly.codes [m, hidden]:
	// the m codes attend over the query's token states (attended positions)
	// to give m context vectors; a passage is its [CLS] state; the score
	// attends over the m vectors with the passage vector and takes the dot
	// product of the result with it (model.PolyScore).
	KindPolyEncoder Kind = "poly-encoder"
	// KindMVDPR is multi-vector DPR: BERT plus mv_dpr.projection.weight
	// [k·dim, hidden], k projections (no bias) of the [CLS] state, each
	// L2-normalised; a text is k vectors and the score is MaxSim over them.
	KindMVDPR Kind = "mv-dpr"
)

// Extra tensors of the poly-encoder and multi-vector DPR (BERT's own
// tensors keep HF's names, under "bert." on disk).
const (
	PolyCodes    = "poly.codes"               // [poly_m, hidden]
	MVProjection = "mv_dpr.projection.weight" // [mv_k·dim, hidden]
)

// Kinds lists every kind a checkpoint can hold, for messages.
var Kinds = []Kind{KindColBERT, KindCrossEncoder, KindBiEncoder, KindBert, KindSPLADE, KindPolyEncoder, KindMVDPR}

// Known reports whether k is one of Kinds.
func (k Kind) Known() bool { return slices.Contains(Kinds, k) }

// HasMLM reports whether checkpoints of this kind keep an MLM head: the
// teacher's masked-LM pretraining trains one, and SPLADE is one.
func (k Kind) HasMLM() bool { return k == KindCrossEncoder || k == KindSPLADE }

// Checkpoint is a model loaded from (or to be saved to) an HF-layout
// directory. Params use the canonical names of the package doc.
type Checkpoint struct {
	Kind      Kind
	Config    BertConfig
	ColBERT   ColBERTConfig // ColBERT settings; Dim is also the bi-encoder's output size
	NumLabels int           // cross-encoder outputs (1 for a relevance score)
	Params    Params
	// Tokenizer is the path of a tokenizer.json copied on save; LoadCheckpoint
	// sets it when the directory has one.
	Tokenizer string
	// Dir is where the checkpoint was loaded from ("" for a fresh one).
	Dir string
	// Ignored lists stored tensors that the model does not use (the MLM
	// head of a non-cross-encoder, HF's tied decoder copies, position_ids
	// buffer, a pooler of a ColBERT model), in stored names.
	Ignored []string
	// extra holds config.json fields we do not model, kept on save.
	extra map[string]json.RawMessage
}

// ourConfigFile is our late-interaction settings file; it also records the kind.
const ourConfigFile = "colbert_config.json"

// MLM head tensors (HF BertForMaskedLM's names). A cross-encoder
// checkpoint may carry them: the masked-language-model pretraining of the
// teacher trains them, and a resumed MLM run needs them back. The decoder
// weight is tied to embeddings.word_embeddings.weight, so it is neither kept
// nor saved (HF re-ties it on load).
const (
	MLMDenseWeight = "cls.predictions.transform.dense.weight"
	MLMDenseBias   = "cls.predictions.transform.dense.bias"
	MLMNormWeight  = "cls.predictions.transform.LayerNorm.weight"
	MLMNormBias    = "cls.predictions.transform.LayerNorm.bias"
	MLMBias        = "cls.predictions.bias"
	// mlmDecoderBias is HF's second name of MLMBias (the two are tied).
	mlmDecoderBias = "cls.predictions.decoder.bias"
)

// MLMHeadShapes lists the MLM head's tensors with the shapes cfg implies.
func MLMHeadShapes(cfg BertConfig) map[string][]int {
	h := cfg.HiddenSize
	return map[string][]int{
		MLMDenseWeight: {h, h}, MLMDenseBias: {h},
		MLMNormWeight: {h}, MLMNormBias: {h},
		MLMBias: {cfg.VocabSize},
	}
}

// HasMLMHead reports whether p holds any MLM head tensor.
func HasMLMHead(p Params) bool {
	for n := range p {
		if strings.HasPrefix(n, "cls.") {
			return true
		}
	}
	return false
}

// DropMLMHead removes the MLM head from p and returns the names removed
// (a fine-tuning run neither trains nor saves it).
func DropMLMHead(p Params) []string {
	var out []string
	for n := range p {
		if strings.HasPrefix(n, "cls.") {
			delete(p, n)
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// keepMLMHead moves the stored MLM head tensors of a cross-encoder from the
// ignored list into params. HF's tied copies (decoder.weight, and
// decoder.bias when cls.predictions.bias is present) stay ignored.
func keepMLMHead(stored map[string]*safetensors.Tensor, params Params, ignored []string) []string {
	head := MLMHeadShapes(BertConfig{})
	byName := map[string]string{}
	for _, k := range ignored {
		n := k
		for _, p := range []string{"bert.", "model."} {
			n = strings.TrimPrefix(n, p)
		}
		if n == mlmDecoderBias {
			if _, ok := byName[MLMBias]; !ok {
				byName[MLMBias] = k
			}
			continue
		}
		if _, ok := head[n]; ok {
			byName[n] = k // cls.predictions.bias wins over the decoder bias
		}
	}
	taken := map[string]bool{}
	for n, k := range byName {
		t := stored[k]
		if t == nil || t.F32 == nil {
			continue
		}
		params[n] = &Tensor{Shape: append([]int(nil), t.Shape...), Data: t.F32}
		taken[k] = true
	}
	var rest []string
	for _, k := range ignored {
		if !taken[k] {
			rest = append(rest, k)
		}
	}
	return rest
}

type savedColBERTConfig struct {
	Kind Kind `json:"kind"`
	ColBERTConfig
}

// LoadCheckpoint reads an HF checkpoint directory: config.json, the weights
// (model.safetensors or shards, F32/F16/BF16), and colbert_config.json or
// ColBERT's artifact.metadata. PyLate's layout (projection in
// 1_Dense/model.safetensors) is accepted too. Every expected tensor is
// checked against the shape the config implies.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	cfgPath := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("model: load checkpoint %s: %w", dir, err)
	}
	ck := &Checkpoint{Dir: dir}
	if ck.Config, ck.extra, err = ParseConfig(raw); err != nil {
		return nil, fmt.Errorf("model: %s: %w", cfgPath, err)
	}

	// Late-interaction settings: ours win over ColBERT's artifact.metadata.
	var ourKind Kind
	haveColCfg := false
	ck.ColBERT = DefaultColBERTConfig()
	ck.ColBERT.Dim = 0
	if b, err := os.ReadFile(filepath.Join(dir, "artifact.metadata")); err == nil {
		if err := json.Unmarshal(b, &ck.ColBERT); err != nil {
			return nil, fmt.Errorf("model: %s: %w", filepath.Join(dir, "artifact.metadata"), err)
		}
		haveColCfg = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, ourConfigFile)); err == nil {
		s := savedColBERTConfig{ColBERTConfig: ck.ColBERT}
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("model: %s: %w", filepath.Join(dir, ourConfigFile), err)
		}
		ck.ColBERT = s.ColBERTConfig
		ourKind = s.Kind
		haveColCfg = true
	}

	st, err := safetensors.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model: load checkpoint %s: %w", dir, err)
	}
	stored := map[string]*safetensors.Tensor{}
	for k, v := range st.Tensors {
		stored[k] = v
	}
	dense := filepath.Join(dir, "1_Dense", "model.safetensors")
	if _, ok := findStored(stored, "linear.weight"); !ok {
		if _, err := os.Stat(dense); err == nil {
			df, err := safetensors.ReadFile(dense)
			if err != nil {
				return nil, fmt.Errorf("model: load checkpoint %s: %w", dir, err)
			}
			for k, v := range df.Tensors {
				stored[k] = v
			}
		}
	}

	params, ignored, err := mapNames(stored)
	if err != nil {
		return nil, fmt.Errorf("model: load checkpoint %s: %w", dir, err)
	}
	ck.Params = params
	ck.Ignored = ignored

	_, mlmStored := findStoredMLM(stored)
	ck.Kind = detectKind(ck.Config.Architectures, ourKind, params, haveColCfg, mlmStored)
	switch ck.Kind {
	case KindCrossEncoder:
		ck.NumLabels = numLabels(ck.extra)
		if w, ok := params["classifier.weight"]; ok && len(w.Shape) == 2 && ck.NumLabels == 0 {
			ck.NumLabels = w.Shape[0]
		}
		if ck.NumLabels == 0 {
			ck.NumLabels = 2 // HF's default when the config names no labels
		}
	case KindColBERT, KindBiEncoder:
		if w, ok := params["linear.weight"]; ok && len(w.Shape) == 2 && ck.ColBERT.Dim == 0 {
			ck.ColBERT.Dim = w.Shape[0]
		}
	}
	if ck.Kind.HasMLM() {
		ck.Ignored = keepMLMHead(stored, params, ck.Ignored)
	}
	switch ck.Kind {
	case KindPolyEncoder:
		if c, ok := params[PolyCodes]; ok && len(c.Shape) == 2 && ck.ColBERT.PolyM == 0 {
			ck.ColBERT.PolyM = c.Shape[0]
		}
		ck.ColBERT.Dim = ck.Config.HiddenSize
	case KindMVDPR:
		if w, ok := params[MVProjection]; ok && len(w.Shape) == 2 && ck.ColBERT.MVK > 0 && ck.ColBERT.Dim == 0 {
			ck.ColBERT.Dim = w.Shape[0] / ck.ColBERT.MVK
		}
	}
	if ck.Kind != KindCrossEncoder {
		// ColBERT and bi-encoders do not use the pooler; drop it so that the
		// hash and a re-save reflect the weights actually used.
		for _, n := range []string{"pooler.dense.weight", "pooler.dense.bias"} {
			if _, ok := params[n]; ok {
				delete(params, n)
				ck.Ignored = append(ck.Ignored, n)
			}
		}
	}
	if ck.Kind == KindColBERT && ck.ColBERT.Dim == 0 {
		return nil, fmt.Errorf("model: load checkpoint %s: ColBERT model without linear.weight", dir)
	}
	if ck.Kind == KindBiEncoder && ck.ColBERT.Dim == 0 {
		ck.ColBERT.Dim = ck.Config.HiddenSize
	}
	sort.Strings(ck.Ignored)
	if err := ck.Validate(); err != nil {
		return nil, fmt.Errorf("model: load checkpoint %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
		ck.Tokenizer = filepath.Join(dir, "tokenizer.json")
	}
	return ck, nil
}

// ParseConfig decodes an HF config.json, fills HF's defaults for omitted
// fields and validates the result. The second result holds every field as
// raw JSON (kept on save).
func ParseConfig(raw []byte) (BertConfig, map[string]json.RawMessage, error) {
	var c BertConfig
	var extra map[string]json.RawMessage
	if err := json.Unmarshal(raw, &extra); err != nil {
		return c, nil, err
	}
	if extra == nil {
		return c, nil, errors.New("config is not a JSON object")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, nil, err
	}
	applyConfigDefaults(&c, extra)
	if err := ValidateConfig(c); err != nil {
		return c, nil, err
	}
	if b, ok := extra["position_embedding_type"]; ok {
		var pe string
		if json.Unmarshal(b, &pe) == nil && pe != "absolute" {
			return c, nil, fmt.Errorf("config field position_embedding_type = %q: only \"absolute\" is supported", pe)
		}
	}
	return c, extra, nil
}

// applyConfigDefaults fills the fields HF's BertConfig defaults when a
// config.json omits them.
func applyConfigDefaults(c *BertConfig, raw map[string]json.RawMessage) {
	if _, ok := raw["layer_norm_eps"]; !ok {
		c.LayerNormEps = 1e-12
	}
	if _, ok := raw["type_vocab_size"]; !ok {
		c.TypeVocabSize = 2
	}
	if _, ok := raw["max_position_embeddings"]; !ok {
		c.MaxPositionEmbeddings = 512
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	if _, ok := raw["initializer_range"]; !ok {
		c.InitializerRange = 0.02
	}
}

// ValidateConfig checks that a BERT config describes a buildable model.
func ValidateConfig(c BertConfig) error {
	pos := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings}, {"type_vocab_size", c.TypeVocabSize},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("config field %s = %d, must be > 0", p.name, p.v)
		}
		// Far above any BERT; a corrupt value must not drive allocations.
		if p.v > 1<<24 {
			return fmt.Errorf("config field %s = %d is implausibly large", p.name, p.v)
		}
	}
	if c.ModelType != "" && c.ModelType != "bert" {
		// RoBERTa, DistilBERT, ELECTRA… differ in names or positions.
		return fmt.Errorf("config field model_type = %q: only BERT models are supported", c.ModelType)
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("config: hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.HiddenAct != "gelu" {
		return fmt.Errorf("config field hidden_act = %q: only exact (erf) \"gelu\" is supported", c.HiddenAct)
	}
	if !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 0) {
		return fmt.Errorf("config field layer_norm_eps = %v, must be > 0", c.LayerNormEps)
	}
	return nil
}

func numLabels(extra map[string]json.RawMessage) int {
	if b, ok := extra["num_labels"]; ok {
		var n int
		if json.Unmarshal(b, &n) == nil && n > 0 {
			return n
		}
	}
	if b, ok := extra["id2label"]; ok {
		var m map[string]any
		if json.Unmarshal(b, &m) == nil && len(m) > 0 {
			return len(m)
		}
	}
	return 0
}

func detectKind(arch []string, ours Kind, p Params, haveColCfg, mlmStored bool) Kind {
	switch ours {
	case KindColBERT, KindCrossEncoder, KindBiEncoder, KindBert, KindSPLADE, KindPolyEncoder, KindMVDPR:
		return ours
	}
	for _, a := range arch {
		switch {
		case strings.Contains(a, "ForSequenceClassification"):
			return KindCrossEncoder
		case strings.Contains(a, "ForMaskedLM") && mlmStored:
			// naver/splade-* (and any MLM-pretrained BERT: training another
			// kind from it keeps the encoder, Checkpoint.WithHead).
			return KindSPLADE
		case strings.Contains(strings.ToLower(a), "colbert"):
			return KindColBERT
		}
	}
	if _, ok := p["classifier.weight"]; ok {
		return KindCrossEncoder
	}
	if _, ok := p[PolyCodes]; ok {
		return KindPolyEncoder
	}
	if _, ok := p[MVProjection]; ok {
		return KindMVDPR
	}
	if _, ok := p["linear.weight"]; ok {
		return KindColBERT
	}
	if haveColCfg {
		return KindColBERT
	}
	return KindBert
}

// findStoredMLM finds the stored MLM transform's dense weight (any prefix).
func findStoredMLM(m map[string]*safetensors.Tensor) (string, bool) {
	for k := range m {
		n := k
		for _, p := range []string{"bert.", "model."} {
			n = strings.TrimPrefix(n, p)
		}
		if n == MLMDenseWeight {
			return k, true
		}
	}
	return "", false
}

func findStored(m map[string]*safetensors.Tensor, canonical string) (string, bool) {
	for k := range m {
		if c, keep := canonicalName(k); keep && c == canonical {
			return k, true
		}
	}
	return "", false
}

// canonicalName maps a stored tensor name to ours. keep is false for
// tensors no model here uses.
func canonicalName(name string) (string, bool) {
	n := name
	for _, p := range []string{"bert.", "model."} {
		n = strings.TrimPrefix(n, p)
	}
	// TensorFlow-era LayerNorm names.
	if strings.HasSuffix(n, "LayerNorm.gamma") {
		n = strings.TrimSuffix(n, "gamma") + "weight"
	} else if strings.HasSuffix(n, "LayerNorm.beta") {
		n = strings.TrimSuffix(n, "beta") + "bias"
	}
	switch {
	case strings.HasPrefix(n, "embeddings.position_ids"), strings.HasPrefix(n, "cls."):
		return n, false
	case strings.HasPrefix(n, "embeddings."), strings.HasPrefix(n, "encoder.layer."),
		strings.HasPrefix(n, "pooler."), n == "linear.weight", strings.HasPrefix(n, "classifier."),
		n == PolyCodes, n == MVProjection:
		return n, true
	}
	return n, false
}

func mapNames(stored map[string]*safetensors.Tensor) (Params, []string, error) {
	p := Params{}
	from := map[string]string{}
	var ignored []string
	names := make([]string, 0, len(stored))
	for k := range stored {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t := stored[k]
		c, keep := canonicalName(k)
		if !keep || t.F32 == nil {
			ignored = append(ignored, k)
			continue
		}
		if prev, dup := from[c]; dup {
			return nil, nil, fmt.Errorf("tensors %q and %q both map to %q", prev, k, c)
		}
		from[c] = k
		p[c] = &Tensor{Shape: append([]int(nil), t.Shape...), Data: t.F32}
	}
	return p, ignored, nil
}

// ExpectedShapes lists every tensor a model of this kind needs, with the
// shape its config implies.
func ExpectedShapes(cfg BertConfig, kind Kind, dim, numLabels int, withLinear bool) map[string][]int {
	h, in := cfg.HiddenSize, cfg.IntermediateSize
	m := map[string][]int{
		"embeddings.word_embeddings.weight":       {cfg.VocabSize, h},
		"embeddings.position_embeddings.weight":   {cfg.MaxPositionEmbeddings, h},
		"embeddings.token_type_embeddings.weight": {cfg.TypeVocabSize, h},
		"embeddings.LayerNorm.weight":             {h},
		"embeddings.LayerNorm.bias":               {h},
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, qkv := range []string{"query", "key", "value"} {
			m[p+"attention.self."+qkv+".weight"] = []int{h, h}
			m[p+"attention.self."+qkv+".bias"] = []int{h}
		}
		m[p+"attention.output.dense.weight"] = []int{h, h}
		m[p+"attention.output.dense.bias"] = []int{h}
		m[p+"attention.output.LayerNorm.weight"] = []int{h}
		m[p+"attention.output.LayerNorm.bias"] = []int{h}
		m[p+"intermediate.dense.weight"] = []int{in, h}
		m[p+"intermediate.dense.bias"] = []int{in}
		m[p+"output.dense.weight"] = []int{h, in}
		m[p+"output.dense.bias"] = []int{h}
		m[p+"output.LayerNorm.weight"] = []int{h}
		m[p+"output.LayerNorm.bias"] = []int{h}
	}
	switch kind {
	case KindColBERT:
		m["linear.weight"] = []int{dim, h}
	case KindBiEncoder:
		if withLinear {
			m["linear.weight"] = []int{dim, h}
		}
	case KindCrossEncoder:
		m["pooler.dense.weight"] = []int{h, h}
		m["pooler.dense.bias"] = []int{h}
		m["classifier.weight"] = []int{numLabels, h}
		m["classifier.bias"] = []int{numLabels}
	case KindSPLADE:
		for n, s := range MLMHeadShapes(cfg) {
			m[n] = s
		}
	}
	return m
}

// HeadShapes is ExpectedShapes for every kind, the extra heads' sizes taken
// from col: poly-encoder codes [PolyM, hidden], MV-DPR projections
// [MVK·Dim, hidden].
func HeadShapes(cfg BertConfig, kind Kind, col ColBERTConfig, numLabels int, withLinear bool) map[string][]int {
	m := ExpectedShapes(cfg, kind, col.Dim, numLabels, withLinear)
	switch kind {
	case KindPolyEncoder:
		m[PolyCodes] = []int{col.PolyM, cfg.HiddenSize}
	case KindMVDPR:
		m[MVProjection] = []int{col.MVK * col.Dim, cfg.HiddenSize}
	}
	return m
}

// Validate checks the config and that every tensor the model needs is
// present with the shape the config implies, and that data lengths match.
func (ck *Checkpoint) Validate() error {
	if err := ValidateConfig(ck.Config); err != nil {
		return err
	}
	if !ck.Kind.Known() {
		return fmt.Errorf("unknown model kind %q", ck.Kind)
	}
	if ck.Kind == KindPolyEncoder && ck.ColBERT.PolyM <= 0 {
		return fmt.Errorf("poly-encoder poly_m = %d, must be > 0", ck.ColBERT.PolyM)
	}
	if ck.Kind == KindMVDPR && (ck.ColBERT.MVK <= 0 || ck.ColBERT.Dim <= 0) {
		return fmt.Errorf("mv-dpr mv_k = %d, dim = %d: both must be > 0 (colbert_config.json)", ck.ColBERT.MVK, ck.ColBERT.Dim)
	}
	if ck.Kind == KindCrossEncoder && ck.NumLabels <= 0 {
		return fmt.Errorf("cross-encoder with %d labels", ck.NumLabels)
	}
	if ck.Kind == KindColBERT && ck.ColBERT.Dim <= 0 {
		return fmt.Errorf("colbert dim = %d, must be > 0", ck.ColBERT.Dim)
	}
	if HasMLMHead(ck.Params) {
		if !ck.Kind.HasMLM() {
			return fmt.Errorf("a %s model with MLM head tensors (cls.*): only cross-encoders and SPLADE keep one", ck.Kind)
		}
		head := MLMHeadShapes(ck.Config)
		for n := range ck.Params {
			if _, ok := head[n]; strings.HasPrefix(n, "cls.") && !ok {
				return fmt.Errorf("unexpected MLM head tensor %q", n)
			}
		}
		if err := checkShapes(ck.Params, head); err != nil {
			return fmt.Errorf("MLM head: %w", err)
		}
	}
	_, withLinear := ck.Params["linear.weight"]
	return checkShapes(ck.Params, HeadShapes(ck.Config, ck.Kind, ck.ColBERT, ck.NumLabels, withLinear))
}

// checkShapes verifies that every tensor of exp is in p with that shape and
// as many values, reporting the first offender in name order.
func checkShapes(p Params, exp map[string][]int) error {
	names := make([]string, 0, len(exp))
	for k := range exp {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		want := exp[n]
		t, ok := p[n]
		if !ok {
			return fmt.Errorf("missing tensor %q (expected shape %v)", n, want)
		}
		if !slices.Equal(t.Shape, want) {
			return fmt.Errorf("tensor %q has shape %v, config expects %v", n, t.Shape, want)
		}
		if len(t.Data) != t.Len() {
			return fmt.Errorf("tensor %q has %d values for shape %v", n, len(t.Data), t.Shape)
		}
	}
	return nil
}

// Hash is a content hash (sha256, hex) of the weights: names, shapes and
// float32 bits in name order. Indexes and distillation runs record it to
// detect a model mismatch; it does not depend on the storage dtype's file
// layout, only on the values used.
func (ck *Checkpoint) Hash() string {
	return HashParams(ck.Params)
}

// HashParams is Checkpoint.Hash for bare parameters.
func HashParams(p Params) string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	var b [8]byte
	for _, n := range names {
		t := p[n]
		h.Write([]byte(n))
		h.Write([]byte{0})
		for _, d := range t.Shape {
			binary.LittleEndian.PutUint64(b[:], uint64(d))
			h.Write(b[:])
		}
		buf := make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SaveCheckpoint writes ck in HF layout (see WriteFiles) to a temporary
// directory beside dir which then replaces dir (fsx.CommitDir: the old
// checkpoint is moved aside and put back if the new one cannot take its
// place), so a failure never leaves a half-written or destroyed checkpoint.
func SaveCheckpoint(dir string, ck *Checkpoint) error {
	if err := ck.Validate(); err != nil {
		return fmt.Errorf("model: save checkpoint %s: %w", dir, err)
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("model: save checkpoint %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("model: save checkpoint %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	if err := ck.writeFiles(tmp); err != nil {
		return fmt.Errorf("model: save checkpoint %s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("model: save checkpoint %s: %w", dir, err)
	}
	if err := fsx.CommitDir(tmp, dir); err != nil {
		return fmt.Errorf("model: save checkpoint %s: %w", dir, err)
	}
	return nil
}

// WriteFiles validates ck and writes its HF-layout files into the existing
// directory dir, for callers that commit dir themselves with files of their
// own beside the model (a training checkpoint adds optimiser and run state):
// config.json, model.safetensors (BERT tensors under "bert.", heads under
// their own names, as HF and ColBERT do), tokenizer.json (copied from
// ck.Tokenizer when set), colbert_config.json, and artifact.metadata for
// ColBERT models. Each file is written durably (fsx) so the directory is
// complete once committed.
func (ck *Checkpoint) WriteFiles(dir string) error {
	if err := ck.Validate(); err != nil {
		return fmt.Errorf("model: write checkpoint files to %s: %w", dir, err)
	}
	if err := ck.writeFiles(dir); err != nil {
		return fmt.Errorf("model: write checkpoint files to %s: %w", dir, err)
	}
	return nil
}

func (ck *Checkpoint) writeFiles(tmp string) error {
	cfg, err := ck.configJSON()
	if err != nil {
		return err
	}
	if err := fsx.WriteBytes(filepath.Join(tmp, "config.json"), 0o644, cfg); err != nil {
		return err
	}
	tensors := map[string]*safetensors.Tensor{}
	for n, t := range ck.Params {
		stored := n
		if strings.HasPrefix(n, "embeddings.") || strings.HasPrefix(n, "encoder.") || strings.HasPrefix(n, "pooler.") {
			stored = "bert." + n
		}
		tensors[stored] = &safetensors.Tensor{DType: "F32", Shape: t.Shape, F32: t.Data}
	}
	if err := safetensors.WriteFile(filepath.Join(tmp, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if ck.Tokenizer != "" {
		b, err := os.ReadFile(ck.Tokenizer)
		if err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
		if err := fsx.WriteBytes(filepath.Join(tmp, "tokenizer.json"), 0o644, b); err != nil {
			return err
		}
	}
	cc, err := json.MarshalIndent(savedColBERTConfig{Kind: ck.Kind, ColBERTConfig: ck.ColBERT}, "", "  ")
	if err != nil {
		return err
	}
	if err := fsx.WriteBytes(filepath.Join(tmp, ourConfigFile), 0o644, append(cc, '\n')); err != nil {
		return err
	}
	if ck.Kind == KindColBERT {
		// The subset of Stanford ColBERT's artifact.metadata its loader reads.
		meta := map[string]any{
			"query_token_id": ck.ColBERT.QueryToken, "doc_token_id": ck.ColBERT.DocToken,
			"query_token": "[Q]", "doc_token": "[D]",
			"query_maxlen": ck.ColBERT.QueryMaxLen, "doc_maxlen": ck.ColBERT.DocMaxLen,
			"dim": ck.ColBERT.Dim, "similarity": ck.ColBERT.Similarity,
			"mask_punctuation": ck.ColBERT.MaskPunctuation, "attend_to_mask_tokens": ck.ColBERT.AttendToMaskTokens,
			"interaction": "colbert",
		}
		b, err := json.MarshalIndent(meta, "", "  ")
		if err != nil {
			return err
		}
		if err := fsx.WriteBytes(filepath.Join(tmp, "artifact.metadata"), 0o644, append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// configJSON is config.json: the fields we model over any others the loaded
// config had, with architectures and labels set for the kind.
func (ck *Checkpoint) configJSON() ([]byte, error) {
	out := map[string]json.RawMessage{}
	for k, v := range ck.extra {
		out[k] = v
	}
	c := ck.Config
	c.ModelType = "bert"
	switch ck.Kind {
	case KindColBERT:
		c.Architectures = []string{"HF_ColBERT"}
	case KindSPLADE:
		c.Architectures = []string{"BertForMaskedLM"}
	case KindCrossEncoder:
		c.Architectures = []string{"BertForSequenceClassification"}
		id2 := map[string]string{}
		l2id := map[string]int{}
		for i := 0; i < ck.NumLabels; i++ {
			id2[fmt.Sprint(i)] = fmt.Sprintf("LABEL_%d", i)
			l2id[fmt.Sprintf("LABEL_%d", i)] = i
		}
		for k, v := range map[string]any{"id2label": id2, "label2id": l2id} {
			b, _ := json.Marshal(v)
			out[k] = b
		}
		delete(out, "num_labels")
	default:
		c.Architectures = []string{"BertModel"}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var mine map[string]json.RawMessage
	if err := json.Unmarshal(b, &mine); err != nil {
		return nil, err
	}
	for k, v := range mine {
		out[k] = v
	}
	js, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(js, '\n'), nil
}
