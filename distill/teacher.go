package distill

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model/ort"
)

// TeacherOptions name a cross-encoder teacher exported to ONNX and say how
// it runs.
type TeacherOptions struct {
	// Model is the ONNX cross-encoder (inputs input_ids, attention_mask[,
	// token_type_ids]; output logits).
	Model string
	// Tokenizer is the teacher's HF tokenizer.json.
	Tokenizer string
	// MaxLen is the pair length in tokens (≤ 0: 512), truncated
	// longest-first as HF does.
	MaxLen int
	// Name identifies the teacher in the scores' metadata (default: the
	// model's file name).
	Name string
	// Library is libonnxruntime's path ("": $ONNXRUNTIME_LIB, then .deps).
	Library string
	// Runtime, when set, is used instead of a runtime of the teacher's own
	// (ONNX Runtime allows one per process; Library is then ignored) and
	// stays open after Close.
	Runtime *ort.Runtime
	// IntraOpThreads are ONNX Runtime's threads per operator (0: all cores).
	IntraOpThreads int
}

// Teacher is an opened cross-encoder with its pair tokenizer: what `colbert
// distill score`, `colbert distill rerank` and the demo score pairs with.
// Close releases ONNX Runtime.
type Teacher struct {
	opt  TeacherOptions
	rt   *ort.Runtime // owned: closed by Close (nil with opt.Runtime)
	ce   *ort.CrossEncoder
	tok  *tokenize.Tokenizer
	pair PairTokenizer
	pad  int32
}

// OpenTeacher loads ONNX Runtime, the model and its tokenizer.
func OpenTeacher(opt TeacherOptions) (*Teacher, error) {
	t := &Teacher{opt: opt}
	rt := opt.Runtime
	if rt == nil {
		var err error
		if rt, err = ort.NewRuntime(opt.Library); err != nil {
			return nil, fmt.Errorf("distill: open teacher: %w", err)
		}
		t.rt = rt
	}
	fail := func(err error) (*Teacher, error) {
		t.Close()
		return nil, fmt.Errorf("distill: open teacher %s: %w", opt.Model, err)
	}
	var err error
	if t.ce, err = rt.NewCrossEncoder(opt.Model, ort.Options{IntraOpThreads: opt.IntraOpThreads}); err != nil {
		return fail(err)
	}
	if t.tok, err = tokenize.Load(opt.Tokenizer); err != nil {
		return fail(err)
	}
	if t.pair, t.pad, err = HFPairTokenizer(t.tok, opt.MaxLen); err != nil {
		return fail(err)
	}
	return t, nil
}

// Close releases the model and the teacher's own runtime.
func (t *Teacher) Close() error {
	var errs []error
	if t.ce != nil {
		errs = append(errs, t.ce.Close())
		t.ce = nil
	}
	if t.rt != nil {
		errs = append(errs, t.rt.Close())
		t.rt = nil
	}
	return errors.Join(errs...)
}

// Settings identify what produces the teacher's scores (model and tokenizer
// hashes, pair length, token types); Score records them in the output and
// refuses to resume a run made with others.
func (t *Teacher) Settings() (map[string]string, error) {
	hash, err := FileSHA256(t.opt.Model)
	if err != nil {
		return nil, fmt.Errorf("distill: teacher: %w", err)
	}
	name := t.opt.Name
	if name == "" {
		name = filepath.Base(t.opt.Model)
	}
	return map[string]string{
		"teacher":           name,
		"teacher_sha256":    hash,
		"tokenizer_sha256":  TokenizerHash(t.tok),
		"max_len":           strconv.Itoa(t.opt.MaxLen),
		"teacher_token_ids": strconv.FormatBool(t.ce.UsesTokenTypes()),
	}, nil
}

// ScoreOptions are the settings of one Teacher.Job.
type ScoreOptions struct {
	// Pairs batches the forward passes; PadID is the teacher's.
	Pairs PairOptions
	// ShardSize is ScoreJob.ShardSize (0: 256).
	ShardSize int
	Bar       *progress.Bar
}

// Job is the ScoreJob that scores the candidate lists of file candidates
// into out with this teacher: the formats follow the file names, the
// settings name the teacher. Run it with Score, or ScorePart per worker.
func (t *Teacher) Job(candidates, out string, texts data.Texts, opt ScoreOptions) (ScoreJob, error) {
	format, err := FormatFor(out)
	if err != nil {
		return ScoreJob{}, err
	}
	in, err := FormatFor(candidates)
	if err != nil {
		return ScoreJob{}, err
	}
	settings, err := t.Settings()
	if err != nil {
		return ScoreJob{}, err
	}
	return ScoreJob{
		Candidates: candidates, Out: out, Format: format, CandidatesFormat: in,
		Queries: texts.Queries, Passages: texts.Passages, Tokenize: t.pair, Teacher: t.ce,
		Settings: settings, ShardSize: opt.ShardSize, Pairs: t.pairs(opt.Pairs), Bar: opt.Bar,
	}, nil
}

// ScoreFile scores the candidate lists of file candidates into out
// (resumable; see Score).
func (t *Teacher) ScoreFile(ctx context.Context, candidates, out string, texts data.Texts, opt ScoreOptions) (ScoreStats, error) {
	job, err := t.Job(candidates, out, texts, opt)
	if err != nil {
		return ScoreStats{}, err
	}
	return Score(ctx, job)
}

// Rerank orders the top depth documents of each query of run by the
// teacher's score (see the function Rerank).
func (t *Teacher) Rerank(ctx context.Context, run data.Run, texts data.Texts, depth int, opt PairOptions, bar *progress.Bar) (data.Run, error) {
	return Rerank(ctx, run, texts.Queries, texts.Passages, depth, t.pair, t.ce, t.pairs(opt), bar)
}

// pairs sets the teacher's [PAD] id in opt.
func (t *Teacher) pairs(opt PairOptions) PairOptions {
	opt.PadID = t.pad
	return opt
}
