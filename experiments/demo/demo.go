// Package demo runs colbert-go's whole pipeline on the built-in benchmark as
// resumable stages (see experiments/stage): benchmark → WordPiece vocabulary
// → BM25 → teacher cross-encoder trained → exported to ONNX → teacher scores
// through ONNX Runtime (Parquet) → students (KL-distilled ColBERT, the
// contrastive-only ColBERT, the single-vector bi-encoder) → 2-bit index →
// PLAID search → the baselines → report. A re-run reuses the stages that
// finished and says so. It is what `make demo` and `colbert demo` run.
package demo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/bm25"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/distill"
	"github.com/colbert-go/colbert/experiments/quality"
	"github.com/colbert-go/colbert/experiments/stage"
	"github.com/colbert-go/colbert/experiments/synth"
	"github.com/colbert-go/colbert/train"
)

// Config sizes every stage. DefaultConfig is what `make demo` runs; tests
// use a tiny one. Training configs carry no paths: the demo fills them in.
type Config struct {
	Synth synth.Config          `json:"synth"`
	Vocab tokenize.TrainOptions `json:"vocab"`
	// The teacher (model_kind cross-encoder) trains in two stages:
	// TeacherEasy from scratch on TeacherEasyLists (random negatives), then
	// Teacher from its checkpoint on TeacherLists (BM25's best-ranked
	// passages that are other train queries' positives).
	TeacherEasyLists distill.CandidateConfig `json:"teacher_easy_lists"`
	TeacherEasy      train.Config            `json:"teacher_easy"`
	TeacherLists     distill.CandidateConfig `json:"teacher_lists"`
	Teacher          train.Config            `json:"teacher"`
	// Student is the KL-distilled ColBERT, Contrastive the same model
	// trained with the contrastive loss only, BiEncoder the single-vector
	// baseline distilled from the same teacher scores.
	Student     train.Config `json:"student"`
	Contrastive train.Config `json:"contrastive"`
	BiEncoder   train.Config `json:"bi_encoder"`
	// OtherModels adds the seed's other models (SPLADE, poly-encoder,
	// MV-DPR, each from the KL student's encoder) and a SPLADE + ColBERT
	// fusion to the table: on in FullConfig (`make demo-full`), off in the
	// quick demo, whose 15-minute budget they do not fit.
	OtherModels bool         `json:"other_models"`
	SPLADE      train.Config `json:"splade"`
	PolyEncoder train.Config `json:"poly_encoder"`
	MVDPR       train.Config `json:"mv_dpr"`
	// ScoreBatch is the pairs per ONNX Runtime call when scoring.
	ScoreBatch int `json:"score_batch"`
	// Candidates draws the lists the teacher scores and the students train
	// on: the positive plus negatives sampled from BM25's top Depth.
	Candidates distill.CandidateConfig `json:"candidates"`
	// RerankDepth is the BM25 depth the teacher reranks (quality ceiling).
	RerankDepth int `json:"rerank_depth"`
	// NBits of the residual index.
	NBits int `json:"nbits"`
	// K is the depth of every run (recall@1000 needs 1000).
	K int `json:"k"`
	// Hybrid is the BM25 weight of the hybrid row.
	Hybrid float64 `json:"hybrid"`
	// PCAComponents of the PCA+int8 row (bytes per token).
	PCAComponents int `json:"pca_components"`
	// IndexSeed seeds k-means.
	IndexSeed uint64 `json:"index_seed"`
}

// DefaultConfig is `make demo`: the training defaults of
// experiments/quality on a 10 000-passage benchmark, with the teacher's two
// stages cut from 1 000 + 1 000 to 300 + 100 steps to fit the demo's
// ≈ 15-minute budget; FullConfig trains the full teacher recipe.
func DefaultConfig() Config {
	c := FullConfig()
	c.TeacherEasy.Steps, c.Teacher.Steps = 300, 100
	c.OtherModels = false
	return c
}

// FullConfig is `make demo-full`: DefaultConfig with the teacher recipe of
// experiments/quality in full (1 000 steps on random negatives, then 1 000
// on hard ones; session 7: 20 min 43 s end to end on 2 cores, teacher test
// nDCG@10 0.468 reranking BM25's top 100, its KL student 0.447 (95.5%), BM25
// 0.359). Every passage but the dev and test queries' sources is a
// train query's source: the teacher needs that many queries, and it takes
// away the "is this passage anybody's positive" shortcut.
func FullConfig() Config {
	s := synth.DefaultConfig()
	s.Passages = 10000
	s.Train = s.Passages - s.Dev - s.Test
	c := Config{Synth: s, Vocab: tokenize.TrainOptions{VocabSize: quality.VocabSize, MinFrequency: 2, Lowercase: true},
		TeacherEasyLists: quality.TeacherEasyLists(),
		TeacherEasy:      quality.TeacherEasyConfig("", "", "", ""),
		TeacherLists:     quality.TeacherLists(),
		Teacher:          quality.TeacherConfig("", "", "", "", ""),
		Student:          quality.StudentConfig("", "", "", ""),
		Contrastive:      quality.ContrastiveConfig("", "", "", ""),
		BiEncoder:        quality.BiEncoderConfig("", "", "", ""),
		OtherModels:      true,
		SPLADE:           quality.SPLADEConfig("", "", "", ""),
		PolyEncoder:      quality.PolyEncoderConfig("", "", "", ""),
		MVDPR:            quality.MVDPRConfig("", "", "", ""),
		Candidates:       quality.Candidates(),
		ScoreBatch:       32, RerankDepth: 100, NBits: 2, K: 1000, Hybrid: 0.3, PCAComponents: 32, IndexSeed: 123}
	return c
}

// Options configure a demo run.
type Options struct {
	Dir     string // everything is written below it
	Config  Config
	Threads int
	// ORTLibrary is libonnxruntime's path ("" = $ONNXRUNTIME_LIB, then .deps).
	ORTLibrary string
	Log        io.Writer // stage lines and the final table; nil for none
	// StopAfter ends the run after the named stage ("" = run all); the
	// report then shows the rows finished so far.
	StopAfter string
}

// Measures are the quality columns of the comparison table.
var Measures = []string{"mrr@10", "ndcg@10", "recall@100", "recall@1000"}

// paths names every file of a demo directory.
type paths struct{ root string }

func (p paths) j(parts ...string) string { return filepath.Join(append([]string{p.root}, parts...)...) }
func (p paths) benchmark() string        { return p.j("benchmark") }
func (p paths) corpus() string           { return p.j("benchmark", "corpus.jsonl") }
func (p paths) queries() string          { return p.j("benchmark", "queries.jsonl") }
func (p paths) devQrels() string         { return p.j("benchmark", quality.DevQrelsFile) }
func (p paths) klMetrics() string        { return p.j("student-kl", "metrics.jsonl") }
func (p paths) candidates() string       { return p.j("benchmark", "train_candidates.jsonl") }
func (p paths) vocab() string            { return p.j("vocab", "tokenizer.json") }
func (p paths) teacherONNX() string      { return p.j("teacher", "model.onnx") }
func (p paths) scores() string           { return p.j("teacher", "scores.parquet") }
func (p paths) trainLists() string       { return p.j("candidates", "train.jsonl") }
func (p paths) teacherLists() string     { return p.j("candidates", "teacher.jsonl") }
func (p paths) teacherEasyLists() string { return p.j("candidates", "teacher-easy.jsonl") }
func (p paths) bm25Run() string          { return p.j("rows", "bm25", "run.trec") }
func (p paths) row(slug string) string   { return p.j("rows", slug, "row.json") }
func (p paths) run(slug string) string   { return p.j("rows", slug, "run.trec") }
func (p paths) rowDir(slug string) string {
	return p.j("rows", slug)
}

// keyOf fingerprints settings plus the keys of the stages they depend on.
func keyOf(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			panic(err) // only plain config structs are keyed
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// Run executes the pipeline and writes report.md under opt.Dir; it returns
// the report's path.
func Run(ctx context.Context, opt Options) (string, error) {
	if opt.Threads <= 0 {
		opt.Threads = 1
	}
	cfg := opt.Config
	for _, c := range []*train.Config{&cfg.TeacherEasy, &cfg.Teacher, &cfg.Student, &cfg.Contrastive, &cfg.BiEncoder, &cfg.SPLADE, &cfg.PolyEncoder, &cfg.MVDPR} {
		*c = fitSchedule(*c)
	}
	// Stage keys hold the paths of the training runs: an absolute root keeps
	// them the same however the directory is spelled, so `--out demo` and
	// `--out $PWD/demo` reuse each other's stages instead of clearing them.
	root, err := filepath.Abs(opt.Dir)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	p := paths{root: root}
	r := &stage.Runner{StampDir: p.j(".stages"), Log: opt.Log}

	kBench := keyOf(cfg.Synth)
	kVocab := keyOf(kBench, cfg.Vocab)
	kBM25 := keyOf(kBench, bm25.DefaultParams(), cfg.K)
	kTeacherEasyLists := keyOf(kBench, cfg.TeacherEasyLists)
	kTeacherLists := keyOf(kBench, cfg.TeacherLists)
	easyCfg := trainConfig(cfg.TeacherEasy, p, p.teacherEasyLists(), "teacher-easy")
	kEasy := keyOf(kVocab, kTeacherEasyLists, easyCfg)
	teacherCfg := trainConfig(cfg.Teacher, p, p.teacherLists(), "teacher")
	teacherCfg.InitFrom = finalCheckpoint(easyCfg)
	kTeacher := keyOf(kEasy, kTeacherLists, teacherCfg)
	kONNX := keyOf(kTeacher, "onnx")
	kCandidates := keyOf(kBench, cfg.Candidates)
	kScores := keyOf(kONNX, kCandidates, cfg.ScoreBatch, "scores")
	students := studentConfigs(cfg, p)
	kStudent := map[string]string{}
	for _, s := range students {
		kStudent[s.slug] = keyOf(kScores, s.cfg)
		if s.cfg.InitFrom != "" { // the bi-encoder and the other models start from the KL student
			kStudent[s.slug] = keyOf(kScores, kStudent["kl"], s.cfg)
		}
	}
	kIndex := keyOf(kStudent["kl"], cfg.NBits, cfg.IndexSeed, cfg.K)

	stages := []stage.Stage{
		{Name: "benchmark", Key: kBench, Outputs: []string{p.corpus(), p.candidates()},
			Run: func(ctx context.Context) error {
				b, err := synth.Generate(ctx, cfg.Synth, opt.Threads, nil)
				if err != nil {
					return err
				}
				return b.Write(p.benchmark())
			}},
		{Name: "vocab", Key: kVocab, Outputs: []string{p.vocab()},
			Run: func(ctx context.Context) error { return trainVocab(ctx, p, cfg.Vocab) }},
		{Name: "bm25", Key: kBM25, Outputs: []string{p.row("bm25")},
			Run: func(ctx context.Context) error { return runBM25(ctx, p, cfg.K, opt.Threads) }},
		{Name: "candidates", Key: kCandidates, Outputs: []string{p.trainLists()},
			Run: func(ctx context.Context) error {
				return drawCandidates(ctx, p, cfg.Candidates, p.trainLists(), opt.Threads)
			}},
		{Name: "teacher-lists", Key: kTeacherLists, Outputs: []string{p.teacherLists()},
			Run: func(ctx context.Context) error {
				return drawCandidates(ctx, p, cfg.TeacherLists, p.teacherLists(), opt.Threads)
			}},
		{Name: "teacher-easy-lists", Key: kTeacherEasyLists, Outputs: []string{p.teacherEasyLists()},
			Run: func(ctx context.Context) error {
				return drawCandidates(ctx, p, cfg.TeacherEasyLists, p.teacherEasyLists(), opt.Threads)
			}},
		{Name: "teacher-easy", Key: kEasy, Outputs: []string{finalCheckpoint(easyCfg)},
			Run: func(ctx context.Context) error { return trainModel(ctx, easyCfg, kEasy, opt.Threads) }},
		{Name: "teacher-train", Key: kTeacher, Outputs: []string{finalCheckpoint(teacherCfg)},
			Run: func(ctx context.Context) error { return trainModel(ctx, teacherCfg, kTeacher, opt.Threads) }},
		{Name: "teacher-onnx", Key: kONNX, Outputs: []string{p.teacherONNX()},
			Run: func(ctx context.Context) error { return exportTeacher(finalCheckpoint(teacherCfg), p.teacherONNX()) }},
		{Name: "teacher-scores", Key: kScores, Outputs: []string{p.scores()},
			Run: func(ctx context.Context) error { return scoreCandidates(ctx, p, opt, teacherCfg.PairMaxLen) }},
	}
	for _, s := range students {
		s := s
		stages = append(stages, stage.Stage{Name: "student-" + s.slug, Key: kStudent[s.slug], Outputs: []string{finalCheckpoint(s.cfg)},
			Run: func(ctx context.Context) error { return trainModel(ctx, s.cfg, kStudent[s.slug], opt.Threads) }})
	}
	kl, contrastive, bi := finalCheckpoint(students[0].cfg), finalCheckpoint(students[1].cfg), finalCheckpoint(students[2].cfg)
	stages = append(stages,
		stage.Stage{Name: "colbertv2-plaid", Key: kIndex, Outputs: []string{p.row("colbertv2")},
			Run: func(ctx context.Context) error {
				return plaidRow(ctx, p, opt, "colbertv2", "ColBERTv2: KL student (+ label CE, in-batch), 2-bit residual, PLAID", kl, "index-kl")
			}},
		stage.Stage{Name: "contrastive-plaid", Key: keyOf(kStudent["contrastive"], cfg.NBits, cfg.IndexSeed, cfg.K), Outputs: []string{p.row("contrastive")},
			Run: func(ctx context.Context) error {
				return plaidRow(ctx, p, opt, "contrastive", "contrastive-only student, 2-bit residual, PLAID", contrastive, "index-contrastive")
			}},
		stage.Stage{Name: "uncompressed", Key: keyOf(kStudent["kl"], cfg.K, cfg.PCAComponents), Outputs: []string{p.row("fp32"), p.row("fp16"), p.row("pca-int8"), p.j("vectors", "query_ids.txt")},
			Run: func(ctx context.Context) error { return uncompressedRows(ctx, p, opt, kl) }},
		stage.Stage{Name: "faiss-ivfpq", Key: keyOf(kStudent["kl"], cfg.K, "ivfpq-v1"), Outputs: []string{p.row("faiss-ivfpq")},
			Run: func(ctx context.Context) error { return faissIVFPQRow(ctx, p, opt) }},
		stage.Stage{Name: "bi-encoder", Key: keyOf(kStudent["bi-encoder"], cfg.K, "engine-v1"), Outputs: []string{p.row("bi-encoder")},
			Run: func(ctx context.Context) error { return biEncoderRow(ctx, p, opt, bi) }},
		stage.Stage{Name: "hybrid", Key: keyOf(kIndex, kBM25, cfg.Hybrid), Outputs: []string{p.row("hybrid")},
			Run: func(ctx context.Context) error { return hybridRow(p, cfg.Hybrid) }},
		stage.Stage{Name: "teacher-rerank", Key: keyOf(kONNX, kBM25, cfg.RerankDepth), Outputs: []string{p.row("teacher-rerank")},
			Run: func(ctx context.Context) error { return teacherRerankRow(ctx, p, opt, teacherCfg.PairMaxLen) }},
	)
	if cfg.OtherModels {
		stages = append(stages, otherModelStages(p, opt, cfg, students, kStudent, kBM25, kIndex)...)
	}
	if opt.StopAfter != "" {
		i := slices.IndexFunc(stages, func(s stage.Stage) bool { return s.Name == opt.StopAfter })
		if i < 0 {
			return "", fmt.Errorf("demo: no stage named %q", opt.StopAfter)
		}
		stages = stages[:i+1]
	}
	results, err := r.Run(ctx, stages...)
	if err != nil {
		return "", err
	}
	return writeReport(p, opt, results)
}

// fitSchedule keeps warmup and checkpointing inside a short run (tests and
// --*-steps overrides).
func fitSchedule(c train.Config) train.Config {
	if c.WarmupSteps > c.Steps/5 {
		c.WarmupSteps = c.Steps / 5
	}
	if c.SaveEvery > c.Steps {
		c.SaveEvery = 0
	}
	if c.LogEvery > c.Steps {
		c.LogEvery = 1
	}
	return c
}

// student is one of the three trained retrievers.
type student struct {
	slug string
	cfg  train.Config
}

// studentConfigs points the three students at the demo's files; cfg's
// schedules are final (fitSchedule applied). Only the KL student evaluates
// on dev while it trains (withDevEval).
func studentConfigs(cfg Config, p paths) []student {
	kl := withDevEval(trainConfig(cfg.Student, p, p.scores(), "student-kl"), p)
	// The bi-encoder starts from the KL student's encoder under a fresh
	// head (see quality.BiEncoderConfig): the demo has no pretrained BERT.
	bi := trainConfig(cfg.BiEncoder, p, p.scores(), "bi-encoder")
	bi.InitFrom = finalCheckpoint(kl)
	out := []student{
		{"kl", kl},
		{"contrastive", trainConfig(cfg.Contrastive, p, p.scores(), "student-contrastive")},
		{"bi-encoder", bi},
	}
	if cfg.OtherModels {
		for _, o := range []struct {
			slug string
			c    train.Config
		}{{"splade", cfg.SPLADE}, {"poly-encoder", cfg.PolyEncoder}, {"mv-dpr", cfg.MVDPR}} {
			c := trainConfig(o.c, p, p.scores(), o.slug)
			c.InitFrom = finalCheckpoint(kl)
			out = append(out, student{o.slug, c})
		}
	}
	return out
}

// The KL student's dev evaluation: exhaustive MaxSim of the first
// devMaxQueries judged dev queries over their judged passages plus a seeded
// sample of the others, devMaxDocs in all (the whole collection would cost
// more than the training), about six times per run.
const (
	devMaxQueries = 100
	devMaxDocs    = 1000
	devPoints     = 6
)

// withDevEval turns dev evaluation on (dev_ndcg10 in metrics.jsonl, a dev
// panel in loss.png, dev_ndcg10.png in the report). c.Steps must be final.
func withDevEval(c train.Config, p paths) train.Config {
	c.DevQrels, c.DevQueries = p.devQrels(), "" // queries.jsonl holds every split
	c.DevMaxQueries, c.DevMaxDocs = devMaxQueries, devMaxDocs
	c.DevEvery = max(1, c.Steps/devPoints)
	return c
}

// trainConfig points a training config at the demo's files.
func trainConfig(c train.Config, p paths, examples, out string) train.Config {
	c.Examples, c.Collection, c.Queries, c.Tokenizer = examples, p.corpus(), p.queries(), p.vocab()
	c.InitFrom = ""
	c.OutDir = p.j(out)
	return c
}

func finalCheckpoint(c train.Config) string {
	return (&train.Trainer{Cfg: c}).CheckpointDir(c.Steps)
}

// trainModel runs (or resumes) a training job. A run directory left by a
// different configuration is cleared first: resuming it would be refused.
func trainModel(ctx context.Context, cfg train.Config, key string, threads int) error {
	keyFile := filepath.Join(cfg.OutDir, ".demo-key")
	if old, err := os.ReadFile(keyFile); err != nil || string(old) != key {
		if err := os.RemoveAll(cfg.OutDir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, []byte(key), 0o644); err != nil {
		return err
	}
	_, err := train.Job(ctx, cfg, train.JobOptions{Threads: threads, Resume: true})
	return err
}

// trainVocab learns the WordPiece vocabulary of the benchmark's corpus.
func trainVocab(ctx context.Context, p paths, opts tokenize.TrainOptions) error {
	corpus, err := data.ReadCorpusJSONL(p.corpus())
	if err != nil {
		return err
	}
	texts := func(yield func(string) bool) {
		for _, ps := range corpus {
			if !yield(ps.Content()) {
				return
			}
		}
	}
	js, err := tokenize.TrainWordPiece(ctx, texts, opts, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.vocab()), 0o755); err != nil {
		return err
	}
	if err := data.WriteFileAtomic(p.vocab(), func(w *bufio.Writer) error { _, err := w.Write(js); return err }); err != nil {
		return err
	}
	_, err = tokenize.Load(p.vocab())
	return err
}
