// Package train distils a ColBERT student from teacher scores (or trains it
// with cross-entropy / contrastive losses, and pretrains the cross-encoder
// teacher with BERT's masked-LM objective) on the Gorgonia graph of
// model/graph: AdamW with linear warmup and decay, global-norm clipping,
// gradient accumulation, atomic checkpoints that resume bit-identically,
// JSONL metrics and a loss/learning-rate plot.
package train

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/colbert-go/colbert/data/fsx"
	"github.com/colbert-go/colbert/model"
)

// Loss names.
const (
	LossKL          = "kl"          // KL(teacher ‖ student), ColBERTv2 distillation
	LossCE          = "ce"          // cross-entropy with the positive (label 0), no teacher
	LossContrastive = "contrastive" // −log(e^{s+/τ} / Σ e^{s/τ}), the seed's denoised baseline
	// LossMLM is BERT's masked-language-model pretraining of the
	// cross-encoder teacher on (query, passage) pairs; a teacher trained
	// from scratch with ce alone stays at chance without it.
	LossMLM = "mlm"
)

// Config is every training setting; each field is a TOML key and a flag of
// `colbert train` (same name, '_' → '-'). The resolved config is saved next to
// the checkpoints.
type Config struct {
	// Data
	Examples   string `toml:"examples" help:"training examples: Parquet or JSONL/TSV (query id, doc ids positive first, teacher scores)"`
	Collection string `toml:"collection" help:"collection: BEIR corpus.jsonl or MS MARCO collection.tsv"`
	Queries    string `toml:"queries" help:"queries: BEIR queries.jsonl or MS MARCO queries.tsv"`
	// Model
	ModelKind   string `toml:"model_kind" help:"colbert | bi-encoder (single [CLS] vector, dot product: the DPR-style baseline) | cross-encoder (the teacher: one logit per (query, passage) pair) | splade (MLM-head sparse vectors, dot product) | poly-encoder (poly_m codes over the query's tokens, passage [CLS]) | mv-dpr (mv_k normalised projections of [CLS], MaxSim)"`
	InitFrom    string `toml:"init_from" help:"HF checkpoint directory to start from (empty: random init of the small config)"`
	Tokenizer   string `toml:"tokenizer" help:"tokenizer.json (default: the one of init_from)"`
	Dim         int    `toml:"dim" help:"ColBERT vector size when training from scratch (also MV-DPR's per-vector size)"`
	PolyM       int    `toml:"poly_m" help:"poly-encoder: number of context codes (the seed uses 64)"`
	MVK         int    `toml:"mv_k" help:"mv-dpr: vectors per text (the seed uses 5)"`
	Layers      int    `toml:"layers" help:"BERT layers when training from scratch"`
	Hidden      int    `toml:"hidden" help:"hidden size when training from scratch (heads = hidden/32)"`
	QueryMaxLen int    `toml:"query_maxlen" help:"query length in tokens"`
	DocMaxLen   int    `toml:"doc_maxlen" help:"maximum document length in tokens"`
	PairMaxLen  int    `toml:"pair_maxlen" help:"cross-encoder: [CLS] q [SEP] p [SEP] truncated longest-first to this length"`
	// PositionInitScale shrinks the position and token-type embeddings of a
	// from-scratch model: with BERT's init (all three embeddings of std
	// 0.02) a token's input vector is as much its position as its word, so
	// an untrained ColBERT matches positions as readily as terms.
	PositionInitScale float64 `toml:"position_init_scale" help:"from scratch: position and token-type embeddings drawn at this fraction of BERT's std (1 = BERT's init)"`
	// QKTieInit is mimetic initialisation of attention: each layer's key
	// weights start equal to its query weights, drawn with this std, so
	// that from step 0 a token attends to copies of itself. A from-scratch
	// cross-encoder otherwise starts with uniform attention, its [CLS] sees
	// the bag of words of query and passage together but not whether they
	// match, and its ranking loss sits at ln(nway) (experiments/quality).
	QKTieInit float64 `toml:"qk_tie_init" help:"from scratch: draw each layer's attention query weights with this std and start the key weights equal to them (0 = BERT's independent init)"`
	// Objective
	Loss              string  `toml:"loss" help:"kl | ce | contrastive | mlm (cross-encoder only: masked-LM pretraining on [CLS] q [SEP] p [SEP] pairs, batch_size × nway pairs per step)"`
	DistillationAlpha float64 `toml:"distillation_alpha" help:"inverse temperature applied to teacher scores (KL)"`
	Tau               float64 `toml:"tau" help:"temperature of the contrastive loss"`
	InBatchNegatives  bool    `toml:"in_batch_negatives" help:"add ColBERT's in-batch negatives cross-entropy"`
	// SPLADE's FLOPS regulariser (SPLADE v2): λ·Σ_v (mean over the batch of
	// w_v)², separately for queries and documents, λ raised quadratically
	// from 0 to its value over flops_warmup_steps, as in the paper.
	FLOPSLambdaQ     float64 `toml:"flops_lambda_q" help:"splade: FLOPS regulariser weight on query vectors"`
	FLOPSLambdaD     float64 `toml:"flops_lambda_d" help:"splade: FLOPS regulariser weight on document vectors"`
	FLOPSWarmupSteps int     `toml:"flops_warmup_steps" help:"splade: steps over which the FLOPS weights grow quadratically to their values (0 = from the start)"`
	// LabelCE adds the n-way list's own cross-entropy (the positive is the
	// label) to the KL loss: with a teacher weaker than the labels, the
	// student learns the teacher's ordering of the negatives without
	// learning its mistakes about the positive.
	LabelCE         float64 `toml:"label_ce" help:"loss kl: add this weight × cross-entropy of the n-way scores with the positive as label (0 = KL alone, as ColBERT)"`
	NWay            int     `toml:"nway" help:"documents per query (positive + nway-1 negatives)"`
	SampleNegatives bool    `toml:"sample_negatives" help:"draw the nway-1 negatives at random from each example (default: the first ones, as ColBERT)"`
	// MLM pretraining (loss mlm). Each step masks batch_size × nway pairs,
	// one per example drawn, so that it costs about what a ce step does.
	MLMProbability      float64 `toml:"mlm_probability" help:"loss mlm: chance that a non-special token is chosen (then 80% [MASK], 10% random token, 10% kept)"`
	MLMNegativeFraction float64 `toml:"mlm_negative_fraction" help:"loss mlm: share of pairs whose passage is a random negative of the example instead of its positive"`
	// Optimisation
	Steps       int     `toml:"steps" help:"optimizer steps"`
	BatchSize   int     `toml:"batch_size" help:"queries per micro-batch"`
	AccumSteps  int     `toml:"accum_steps" help:"micro-batches accumulated per optimizer step"`
	LR          float64 `toml:"lr" help:"peak learning rate"`
	WarmupSteps int     `toml:"warmup_steps" help:"linear warmup steps (then linear decay to 0 at steps)"`
	WeightDecay float64 `toml:"weight_decay" help:"AdamW decoupled weight decay"`
	AdamBeta1   float64 `toml:"adam_beta1" help:"AdamW beta1"`
	AdamBeta2   float64 `toml:"adam_beta2" help:"AdamW beta2"`
	AdamEps     float64 `toml:"adam_eps" help:"AdamW epsilon"`
	MaxGradNorm float64 `toml:"max_grad_norm" help:"clip the global gradient norm (0 = off)"`
	Seed        uint64  `toml:"seed" help:"seed of initialisation, data order and negative sampling"`
	// Dev evaluation (exhaustive MaxSim nDCG@10 on a query subset)
	DevQrels      string `toml:"dev_qrels" help:"qrels of the dev queries (empty: no dev evaluation)"`
	DevQueries    string `toml:"dev_queries" help:"dev queries (default: queries)"`
	DevEvery      int    `toml:"dev_every" help:"evaluate every N steps and at the end (0 = only at the end)"`
	DevMaxQueries int    `toml:"dev_max_queries" help:"judged dev queries used (first ones by id; 0 = all)"`
	DevMaxDocs    int    `toml:"dev_max_docs" help:"documents scored: the dev queries' judged ones plus a seeded sample of the rest up to this many (0 = whole collection)"`
	// Output
	OutDir    string `toml:"out_dir" help:"output directory (checkpoints/, metrics.jsonl, loss.png, train_config.toml)"`
	SaveEvery int    `toml:"save_every" help:"checkpoint every N steps (0 = only at the end)"`
	KeepLast  int    `toml:"keep_last" help:"checkpoints kept (0 = all)"`
	LogEvery  int    `toml:"log_every" help:"metrics line every N steps"`
}

// DefaultConfig is ColBERTv2's recipe scaled to the small built-in student.
func DefaultConfig() Config {
	return Config{
		ModelKind: "colbert", Dim: 128, PolyM: 64, MVK: 5, FLOPSLambdaQ: 3e-4, FLOPSLambdaD: 1e-4, Layers: 2, Hidden: 128, QueryMaxLen: 32, DocMaxLen: 180, PairMaxLen: 256, PositionInitScale: 0.1,
		Loss: LossKL, DistillationAlpha: 1, Tau: 0.01, NWay: 8, MLMProbability: 0.15, MLMNegativeFraction: 0.5,
		Steps: 1000, BatchSize: 16, AccumSteps: 1, LR: 1e-4, WarmupSteps: 100,
		WeightDecay: 0.01, AdamBeta1: 0.9, AdamBeta2: 0.999, AdamEps: 1e-8, MaxGradNorm: 2.0,
		DevMaxQueries: 50, Seed: 12345, SaveEvery: 500, KeepLast: 2, LogEvery: 1,
	}
}

// LoadConfig reads a TOML file over the defaults; unknown keys are an error
// (a typo must not silently train with a default).
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return DefaultConfig(), fmt.Errorf("train: config: %w", err)
	}
	return ParseConfig(raw, path)
}

// ParseConfig is LoadConfig on TOML text; name labels errors.
func ParseConfig(raw []byte, name string) (Config, error) {
	c := DefaultConfig()
	md, err := toml.Decode(string(raw), &c)
	if err != nil {
		return c, fmt.Errorf("train: config %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("train: config %s: unknown key %q", name, und[0].String())
	}
	return c, nil
}

// Validate reports the first inconsistent setting by its key.
func (c Config) Validate() error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("train: config %s = %v: %s", key, v, why)
	}
	switch {
	case c.Loss != LossKL && c.Loss != LossCE && c.Loss != LossContrastive && c.Loss != LossMLM:
		return bad("loss", c.Loss, "want kl, ce, contrastive or mlm")
	case c.Loss == LossMLM && c.ModelKind != string(model.KindCrossEncoder):
		return bad("loss", c.Loss, "masked-LM pretraining needs model_kind = cross-encoder")
	case !(c.MLMProbability > 0 && c.MLMProbability < 1):
		return bad("mlm_probability", c.MLMProbability, "must be in (0, 1)")
	case !(c.MLMNegativeFraction >= 0 && c.MLMNegativeFraction <= 1):
		return bad("mlm_negative_fraction", c.MLMNegativeFraction, "must be in [0, 1]")
	case !trainable(model.Kind(c.ModelKind)):
		return bad("model_kind", c.ModelKind, "want colbert, bi-encoder, cross-encoder, splade, poly-encoder or mv-dpr")
	case c.ModelKind == string(model.KindPolyEncoder) && c.PolyM < 1:
		return bad("poly_m", c.PolyM, "must be ≥ 1")
	case c.ModelKind == string(model.KindMVDPR) && (c.MVK < 1 || c.Dim < 1):
		return bad("mv_k", c.MVK, "mv-dpr needs mv_k ≥ 1 and dim ≥ 1")
	case c.FLOPSLambdaQ < 0 || c.FLOPSLambdaD < 0 || c.FLOPSWarmupSteps < 0:
		return bad("flops_lambda_q/flops_lambda_d/flops_warmup_steps", []any{c.FLOPSLambdaQ, c.FLOPSLambdaD, c.FLOPSWarmupSteps}, "must be ≥ 0")
	case c.ModelKind == string(model.KindCrossEncoder) && c.PairMaxLen < 3:
		return bad("pair_maxlen", c.PairMaxLen, "must be ≥ 3")
	case c.PositionInitScale < 0 || c.PositionInitScale > 1:
		return bad("position_init_scale", c.PositionInitScale, "must be in [0, 1]")
	case !(c.QKTieInit >= 0 && c.QKTieInit <= 1):
		return bad("qk_tie_init", c.QKTieInit, "must be in [0, 1]")
	case c.NWay < 2:
		return bad("nway", c.NWay, "need a positive and at least one negative")
	case c.Steps < 1:
		return bad("steps", c.Steps, "must be ≥ 1")
	case c.BatchSize < 1:
		return bad("batch_size", c.BatchSize, "must be ≥ 1")
	case c.AccumSteps < 1:
		return bad("accum_steps", c.AccumSteps, "must be ≥ 1")
	case c.LR <= 0:
		return bad("lr", c.LR, "must be > 0")
	case c.WarmupSteps < 0 || c.WarmupSteps > c.Steps:
		return bad("warmup_steps", c.WarmupSteps, "must be in [0, steps]")
	case c.Tau <= 0:
		return bad("tau", c.Tau, "must be > 0")
	case c.LabelCE < 0 || c.LabelCE > 0 && c.Loss != LossKL:
		return bad("label_ce", c.LabelCE, "must be ≥ 0, and only with loss kl")
	case c.AdamEps <= 0 || c.AdamBeta1 < 0 || c.AdamBeta1 >= 1 || c.AdamBeta2 < 0 || c.AdamBeta2 >= 1:
		return bad("adam_beta1/adam_beta2/adam_eps", []float64{c.AdamBeta1, c.AdamBeta2, c.AdamEps}, "betas in [0,1), eps > 0")
	case c.QueryMaxLen < 3 || c.DocMaxLen < 3:
		return bad("query_maxlen/doc_maxlen", []int{c.QueryMaxLen, c.DocMaxLen}, "must be ≥ 3")
	case c.OutDir == "":
		return bad("out_dir", `""`, "required")
	case c.DevEvery < 0 || c.DevMaxQueries < 0 || c.DevMaxDocs < 0:
		return bad("dev_every/dev_max_queries/dev_max_docs", []int{c.DevEvery, c.DevMaxQueries, c.DevMaxDocs}, "must be ≥ 0")
	case c.SaveEvery < 0 || c.KeepLast < 0 || c.LogEvery < 0:
		return bad("save_every/keep_last/log_every", []int{c.SaveEvery, c.KeepLast, c.LogEvery}, "must be ≥ 0")
	}
	return nil
}

// trainable reports whether `colbert train` trains models of kind k (a
// plain BERT has no head to train).
func trainable(k model.Kind) bool { return k.Known() && k != model.KindBert }

// FLOPSWeights returns SPLADE's FLOPS regulariser weights at step (0-based):
// the configured λ times min(1, ((step+1)/flops_warmup_steps)²).
func (c Config) FLOPSWeights(step int) (q, d float64) {
	f := 1.0
	if c.FLOPSWarmupSteps > 0 && step+1 < c.FLOPSWarmupSteps {
		r := float64(step+1) / float64(c.FLOPSWarmupSteps)
		f = r * r
	}
	return c.FLOPSLambdaQ * f, c.FLOPSLambdaD * f
}

// Encode renders the config as TOML.
func (c Config) Encode() ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeAtomic writes b to path, creating its directory, atomically and
// durably (fsx).
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return fsx.WriteBytes(path, 0o644, b)
}

// orderChange names the first setting that differs between a and b and that
// fixes what a run computes at a given step (data order, batches, objective,
// model); "" when a resumed run can continue b. Steps, learning rate and
// output settings may change on resume.
func orderChange(a, b Config) string {
	switch {
	case a.Seed != b.Seed:
		return "seed"
	case a.BatchSize != b.BatchSize:
		return "batch_size"
	case a.AccumSteps != b.AccumSteps:
		return "accum_steps"
	case a.NWay != b.NWay:
		return "nway"
	case a.SampleNegatives != b.SampleNegatives:
		return "sample_negatives"
	case a.Loss != b.Loss:
		return "loss"
	case a.InBatchNegatives != b.InBatchNegatives:
		return "in_batch_negatives"
	case a.LabelCE != b.LabelCE:
		return "label_ce"
	case a.ModelKind != b.ModelKind:
		return "model_kind"
	case a.PolyM != b.PolyM || a.MVK != b.MVK:
		return "poly_m/mv_k"
	case a.QueryMaxLen != b.QueryMaxLen || a.DocMaxLen != b.DocMaxLen || a.PairMaxLen != b.PairMaxLen:
		return "query_maxlen/doc_maxlen/pair_maxlen"
	case a.Examples != b.Examples:
		return "examples"
	case a.Loss == LossMLM && (a.MLMProbability != b.MLMProbability || a.MLMNegativeFraction != b.MLMNegativeFraction):
		return "mlm_probability/mlm_negative_fraction"
	}
	return ""
}
