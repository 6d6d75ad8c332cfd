// Package quality holds the training defaults of the built-in benchmark's
// demo (teacher cross-encoder, KL student, contrastive student, bi-encoder),
// chosen by the study in README.md. Each function returns a complete
// train.Config over a benchmark written by `colbert data synth`; callers
// (experiments/demo, the README commands) only add what they vary.
package quality

import (
	"path/filepath"

	"github.com/colbert-go/colbert/train"
)

// VocabSize is the `colbert data vocab --size` of the demo. The benchmark's
// invented language has fewer than 5 000 distinct wordpieces worth learning
// (the trainer stops at 4 719 on the default corpus), so 8 000 is simply
// "everything": every word of the language is one token, and a bigger size
// changes nothing.
const VocabSize = 8000

// Benchmark files, relative to the directory `colbert data synth` wrote.
const (
	CorpusFile     = "corpus.jsonl"
	QueriesFile    = "queries.jsonl"
	CandidatesFile = "train_candidates.jsonl" // positive first + BM25 hard negatives, no teacher scores
	DevQrelsFile   = "qrels/dev.tsv"
	TestQrelsFile  = "qrels/test.tsv"
)

// base is the part shared by every run: the benchmark texts, the tokenizer
// trained on its corpus, from-scratch initialisation, a fixed seed.
func base(benchDir, tokenizer, outDir string) train.Config {
	c := train.DefaultConfig()
	c.Collection = filepath.Join(benchDir, CorpusFile)
	c.Queries = filepath.Join(benchDir, QueriesFile)
	c.Tokenizer = tokenizer
	c.InitFrom = ""
	c.OutDir = outDir
	c.Seed = 12345
	c.Layers, c.Hidden = 2, 128
	c.SaveEvery, c.KeepLast, c.LogEvery = 0, 1, 10
	c.DevQrels = "" // dev evaluation encodes the whole corpus: too slow for the demo budget
	return c
}

// TeacherConfig trains the demo teacher: a 2-layer, hidden-128 BERT
// cross-encoder from scratch on train_candidates.jsonl (positive at index 0,
// BM25 hard negatives), listwise softmax cross-entropy over nway pair logits.
// Provisional values (first version); see README.md for the measured ones.
func TeacherConfig(benchDir, tokenizer, outDir string) train.Config {
	c := base(benchDir, tokenizer, outDir)
	c.ModelKind = "cross-encoder"
	c.Examples = filepath.Join(benchDir, CandidatesFile)
	c.Loss = train.LossCE
	c.PairMaxLen = 160
	c.NWay = 8
	c.BatchSize = 8
	c.Steps, c.WarmupSteps = 400, 40
	c.LR = 5e-4
	return c
}

// StudentConfig trains the default small ColBERT student from scratch by KL
// distillation from the teacher scores (a Parquet from `colbert distill
// score` over the train candidates). Provisional values (first version).
func StudentConfig(benchDir, tokenizer, teacherScores, outDir string) train.Config {
	c := base(benchDir, tokenizer, outDir)
	c.ModelKind = "colbert"
	c.Examples = teacherScores
	c.Loss = train.LossKL
	c.DistillationAlpha = 1
	c.Dim = 128
	c.QueryMaxLen, c.DocMaxLen = 32, 128
	c.NWay = 8
	c.BatchSize = 16
	c.Steps, c.WarmupSteps = 400, 40
	c.LR = 5e-4
	return c
}

// ContrastiveConfig is StudentConfig with the seed's contrastive loss
// (τ = 0.01) instead of KL: same data, model, steps and seed, so the two
// differ only in the objective (the issue 6 ablation). The teacher scores
// in examples are read but ignored.
func ContrastiveConfig(benchDir, tokenizer, examples, outDir string) train.Config {
	c := StudentConfig(benchDir, tokenizer, examples, outDir)
	c.Loss = train.LossContrastive
	c.Tau = 0.01
	return c
}

// BiEncoderConfig is StudentConfig for the single-vector ([CLS], dot
// product) baseline, distilled from the same teacher scores.
func BiEncoderConfig(benchDir, tokenizer, teacherScores, outDir string) train.Config {
	c := StudentConfig(benchDir, tokenizer, teacherScores, outDir)
	c.ModelKind = "bi-encoder"
	return c
}
