package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/colbert-go/colbert/data/fsx"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/graph"

	G "gorgonia.org/gorgonia"
)

// State is the position of a run; with the config, the checkpointed model
// and the optimiser moments it determines the rest of the run exactly.
type State struct {
	Step     int    `json:"step"`     // optimizer steps done
	Consumed int64  `json:"consumed"` // examples drawn so far (data order and sampling are functions of it)
	Seed     uint64 `json:"seed"`
	AdamStep int    `json:"adam_step"`
}

// Metrics is one line of metrics.jsonl.
type Metrics struct {
	Step        int      `json:"step"`
	Loss        float64  `json:"loss"`
	LR          float64  `json:"lr"`
	GradNorm    float64  `json:"grad_norm"`
	ExamplesPS  float64  `json:"examples_per_s"`
	StepSeconds float64  `json:"step_s"`
	Epoch       float64  `json:"epoch"`
	DevNDCG10   *float64 `json:"dev_ndcg10,omitempty"`
	// QueryNNZ and DocNNZ are SPLADE's mean non-zero terms per query and
	// per document (last micro-batch of the step).
	QueryNNZ *float64 `json:"query_nnz,omitempty"`
	DocNNZ   *float64 `json:"doc_nnz,omitempty"`
}

// Trainer runs one training job.
type Trainer struct {
	Cfg   Config
	Ckpt  *model.Checkpoint // the student; its Params are updated in place
	Enc   *tokenize.ColBERT
	Data  *Data
	Opt   *AdamW
	State State
	// Dev, when set, is evaluated every Cfg.DevEvery steps and at the end.
	Dev *DevSet
	ord *order
	mlm *mlmVocab // loss mlm
	// OnStep, when set, is called after every optimizer step (progress
	// reports; tests use it to interrupt a run).
	OnStep func(Metrics)
	// Threads is how many goroutines the training graph's kernels use
	// (graph.Graph.Threads; 0 = GOMAXPROCS). Prepare sets it from --threads.
	Threads int
	// sparse holds the last micro-batch's SPLADE query and document
	// vectors, for the non-zero counts of the metrics.
	sparse [2]*G.Node
}

// New prepares a run over ck (a ColBERT checkpoint) and d.
func New(cfg Config, ck *model.Checkpoint, enc *tokenize.ColBERT, d *Data) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if string(ck.Kind) != cfg.ModelKind {
		return nil, fmt.Errorf("train: checkpoint is a %s model, config model_kind is %s", ck.Kind, cfg.ModelKind)
	}
	if cfg.InBatchNegatives && ck.Kind == model.KindCrossEncoder {
		return nil, fmt.Errorf("train: config in_batch_negatives is not available for the cross-encoder")
	}
	if _, ok := ck.Params["linear.weight"]; !ok && ck.Kind == model.KindColBERT {
		return nil, fmt.Errorf("train: checkpoint has no linear.weight (ColBERT projection)")
	}
	if v := ck.Params["embeddings.word_embeddings.weight"]; v == nil || v.Shape[0] < enc.VocabSize() {
		return nil, fmt.Errorf("train: model vocabulary smaller than the tokenizer's %d ids", enc.VocabSize())
	}
	if err := d.check(cfg.NWay, cfg.Loss == LossKL, ck.Kind == model.KindCrossEncoder); err != nil {
		return nil, err
	}
	t := &Trainer{Cfg: cfg, Ckpt: ck, Enc: enc, Data: d,
		Opt:   NewAdamW(cfg.AdamBeta1, cfg.AdamBeta2, cfg.AdamEps, cfg.WeightDecay),
		State: State{Seed: cfg.Seed}}
	if cfg.Loss == LossMLM {
		// The head is trained and saved with the encoder; a resumed run
		// gets it back from its checkpoint (model.LoadCheckpoint keeps a
		// cross-encoder's cls.predictions.*).
		if err := ensureMLMHead(ck, cfg.Seed); err != nil {
			return nil, err
		}
		var err error
		if t.mlm, err = newMLMVocab(enc.Tokenizer(), ck.Tokenizer); err != nil {
			return nil, err
		}
	} else if ck.Kind != model.KindSPLADE {
		// Fine-tuning a pretrained teacher: the MLM head is neither
		// trained nor saved (SPLADE's MLM head is its model).
		model.DropMLMHead(ck.Params)
	}
	return t, nil
}

// perMicroBatch is the number of examples one micro-batch draws: one per
// query, or one per masked pair (batch_size × nway) for loss mlm.
func (t *Trainer) perMicroBatch() int {
	if t.Cfg.Loss == LossMLM {
		return t.Cfg.BatchSize * t.Cfg.NWay
	}
	return t.Cfg.BatchSize
}

// microStep runs forward and backward on one micro-batch.
func (t *Trainer) microStep(b *batch) (*graph.Result, error) {
	g := graph.New(t.Ckpt.Config, t.Ckpt.Params)
	g.Threads = t.Threads
	if m := b.mlm; m != nil {
		logits := g.MLMLogits(g.Encode(m.tokens), m.positions)
		return g.Backward(g.CELoss(logits, m.labels, 1))
	}
	if b.pairs != nil {
		p := b.pairs
		mask := floats(p.AttentionMask)
		logits := g.CrossEncoder(g.EncodeBucketed(graph.Tokens{B: p.N, L: p.Len,
			IDs: ints(p.IDs), Types: ints(p.TokenTypeIDs), Mask: mask}, graph.SequenceLengths(mask, p.N, p.Len)))
		return g.Backward(t.loss(g, g.Reshape(logits, len(b.cand), t.Cfg.NWay), b))
	}
	qmask := floats(b.queries.AttentionMask)
	qh := g.Encode(graph.Tokens{B: b.queries.N, L: b.queries.Len,
		IDs: ints(b.queries.IDs), Types: ints(b.queries.TokenTypeIDs), Mask: qmask})
	// Documents are encoded in length buckets: their padding is outside the
	// vector mask, so only their tokens cost (graph.EncodeBucketed).
	dmaskAttn := floats(b.docs.AttentionMask)
	dh := g.EncodeBucketed(graph.Tokens{B: b.docs.N, L: b.docs.Len,
		IDs: ints(b.docs.IDs), Types: ints(b.docs.TokenTypeIDs), Mask: dmaskAttn}, graph.SequenceLengths(dmaskAttn, b.docs.N, b.docs.Len))
	// score gives the [B, nway] scores of the candidate lists cand.
	var score func(cand [][]int) *G.Node
	var reg []*G.Node // extra loss terms
	var regW []float32
	switch t.Ckpt.Kind {
	case model.KindPolyEncoder:
		y, c := g.PolyContext(qh, qmask), g.PolyCandidates(dh)
		score = func(cand [][]int) *G.Node { return g.PolyScores(y, c, cand) }
	case model.KindSPLADE:
		qv, dv := g.SPLADE(qh, qmask), g.SPLADE(dh, dmaskAttn)
		score = func(cand [][]int) *G.Node { return g.MaxSim(qv, dv, nil, cand) }
		lq, ld := t.Cfg.FLOPSWeights(t.State.Step)
		reg, regW = []*G.Node{g.FLOPS(qv), g.FLOPS(dv)}, []float32{float32(lq), float32(ld)}
		t.sparse = [2]*G.Node{qv, dv}
	default:
		var qv, dv *G.Node
		dmask := floats(b.docs.VectorMask)
		switch t.Ckpt.Kind {
		case model.KindBiEncoder:
			qv, dv, dmask = g.BiEncoder(qh), g.BiEncoder(dh), nil
		case model.KindMVDPR:
			qv, dv, dmask = g.MVDPR(qh, t.Ckpt.ColBERT.MVK), g.MVDPR(dh, t.Ckpt.ColBERT.MVK), nil
		default:
			qv, dv = g.ColBERT(qh), g.ColBERT(dh)
		}
		score = func(cand [][]int) *G.Node { return g.MaxSim(qv, dv, dmask, cand) }
	}
	loss := t.loss(g, score(b.cand), b)
	if t.Cfg.InBatchNegatives {
		ib := g.CELoss(score(b.ibCand), b.ibLabel, 1)
		loss = g.Sum([]float32{1, 1}, loss, ib)
	}
	if len(reg) > 0 {
		loss = g.Sum(append([]float32{1}, regW...), append([]*G.Node{loss}, reg...)...)
	}
	return g.Backward(loss)
}

// sparsity is the mean number of non-zero terms of the query and document
// vectors of the last micro-batch (SPLADE), or nil.
func (t *Trainer) sparsity() (q, d *float64) {
	if t.sparse[0] == nil {
		return nil, nil
	}
	nnz := func(n *G.Node) *float64 {
		v, s, err := graph.Values(n)
		if err != nil || len(s) != 3 || s[0] == 0 {
			return nil
		}
		c := 0
		for _, x := range v {
			if x != 0 {
				c++
			}
		}
		m := float64(c) / float64(s[0])
		return &m
	}
	return nnz(t.sparse[0]), nnz(t.sparse[1])
}

// loss applies the configured objective to scores [B, nway].
func (t *Trainer) loss(g *graph.Graph, scores *G.Node, b *batch) *G.Node {
	zeros := make([]int, len(b.cand))
	var loss *G.Node
	switch t.Cfg.Loss {
	case LossKL:
		loss = g.KLLoss(scores, b.teacher, t.Cfg.DistillationAlpha)
		if w := t.Cfg.LabelCE; w > 0 {
			loss = g.Sum([]float32{1, float32(w)}, loss, g.CELoss(scores, zeros, 1))
		}
	case LossCE:
		loss = g.CELoss(scores, zeros, 1)
	case LossContrastive:
		loss = g.CELoss(scores, zeros, t.Cfg.Tau)
	}
	return loss
}

// Step performs one optimizer step (accumulating AccumSteps micro-batches)
// and returns its metrics.
func (t *Trainer) Step() (Metrics, error) {
	start := time.Now()
	var grads model.Params
	var loss float64
	scale := 1 / float32(t.Cfg.AccumSteps)
	for a := 0; a < t.Cfg.AccumSteps; a++ {
		if t.ord == nil {
			t.ord = &order{seed: t.Cfg.Seed, n: len(t.Data.Examples)}
		}
		var b *batch
		var err error
		if t.mlm != nil {
			b, err = makeMLMBatch(t.Data, t.Enc.Tokenizer(), t.mlm, t.Cfg, t.ord, t.State.Consumed)
		} else {
			b, err = makeBatch(t.Data, t.Enc, t.Cfg, t.ord, t.State.Consumed)
		}
		if err != nil {
			return Metrics{}, err
		}
		res, err := t.microStep(b)
		if err != nil {
			return Metrics{}, fmt.Errorf("train: step %d: %w", t.State.Step+1, err)
		}
		t.State.Consumed += int64(t.perMicroBatch())
		loss += float64(res.Loss) / float64(t.Cfg.AccumSteps)
		if grads == nil {
			grads = model.Params{}
			for n, g := range res.Grads {
				for i := range g.Data {
					g.Data[i] *= scale
				}
				grads[n] = g
			}
			continue
		}
		for n, g := range res.Grads {
			acc := grads[n]
			for i, v := range g.Data {
				acc.Data[i] += v * scale
			}
		}
	}
	norm := ClipGradNorm(grads, t.Cfg.MaxGradNorm)
	lr := t.Cfg.LR * LinearSchedule(t.State.Step, t.Cfg.WarmupSteps, t.Cfg.Steps)
	t.Opt.Update(t.Ckpt.Params, grads, lr)
	t.State.Step++
	t.State.AdamStep = t.Opt.Step
	el := time.Since(start).Seconds()
	n := float64(t.perMicroBatch() * t.Cfg.AccumSteps)
	m := Metrics{Step: t.State.Step, Loss: loss, LR: lr, GradNorm: norm, ExamplesPS: n / el, StepSeconds: el,
		Epoch: float64(t.State.Consumed) / float64(len(t.Data.Examples))}
	m.QueryNNZ, m.DocNNZ = t.sparsity()
	t.sparse = [2]*G.Node{}
	return m, nil
}

// Run trains until Cfg.Steps, writing metrics, checkpoints and the plot
// under Cfg.OutDir. It stops with ctx's error after saving a checkpoint.
func (t *Trainer) Run(ctx context.Context, bar *progress.Bar) error {
	if err := os.MkdirAll(t.Cfg.OutDir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	cfgText, err := t.Cfg.Encode()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := writeAtomic(filepath.Join(t.Cfg.OutDir, "train_config.toml"), cfgText); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	mpath := filepath.Join(t.Cfg.OutDir, "metrics.jsonl")
	if err := truncateMetrics(mpath, t.State.Step); err != nil {
		return err
	}
	mf, err := os.OpenFile(mpath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer mf.Close()
	if bar != nil {
		bar.SetTotal(int64(t.Cfg.Steps))
		bar.Add(int64(t.State.Step))
		defer bar.Finish()
	}
	for t.State.Step < t.Cfg.Steps {
		if err := ctx.Err(); err != nil {
			if serr := t.Save(); serr != nil {
				return fmt.Errorf("train: interrupted (%v), and saving failed: %w", err, serr)
			}
			return err
		}
		m, err := t.Step()
		if err != nil {
			return err
		}
		if t.Dev != nil && (t.Cfg.DevEvery > 0 && m.Step%t.Cfg.DevEvery == 0 || m.Step == t.Cfg.Steps) {
			v, err := t.Evaluate(ctx, t.Dev)
			if err != nil && ctx.Err() == nil {
				return err
			}
			if err == nil {
				m.DevNDCG10 = &v
			}
		}
		if t.Cfg.LogEvery > 0 && (m.Step%t.Cfg.LogEvery == 0 || m.Step == t.Cfg.Steps) || m.DevNDCG10 != nil {
			line, _ := json.Marshal(m)
			if _, err := mf.Write(append(line, '\n')); err != nil {
				return fmt.Errorf("train: %s: %w", mpath, err)
			}
		}
		if bar != nil {
			bar.Add(1)
		}
		if t.OnStep != nil {
			t.OnStep(m)
		}
		if t.Cfg.SaveEvery > 0 && m.Step%t.Cfg.SaveEvery == 0 || m.Step == t.Cfg.Steps {
			if err := t.Save(); err != nil {
				return err
			}
		}
	}
	if err := mf.Sync(); err != nil {
		return fmt.Errorf("train: %s: %w", mpath, err)
	}
	if ms, err := ReadMetrics(mpath); err != nil || len(ms) == 0 {
		return err // nothing logged (log_every 0, or the run was already complete)
	}
	return PlotMetrics(mpath, filepath.Join(t.Cfg.OutDir, "loss.png"))
}

// CheckpointDir is where the checkpoint of a step lives.
func (t *Trainer) CheckpointDir(step int) string {
	return filepath.Join(t.Cfg.OutDir, "checkpoints", fmt.Sprintf("step-%08d", step))
}

const (
	optimFile = "optimizer.safetensors"
	stateFile = "trainer_state.json"
)

// Save writes the model (HF layout, loadable by every colbert command), the
// optimiser moments and the run state into checkpoints/step-N atomically:
// everything goes durably to a temporary directory that fsx.CommitDir puts
// in place at the end. Older checkpoints beyond KeepLast are then removed.
func (t *Trainer) Save() error {
	final := t.CheckpointDir(t.State.Step)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+filepath.Base(final)+"-*")
	if err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := t.Ckpt.WriteFiles(tmp); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	tensors := map[string]*safetensors.Tensor{}
	for n, m := range t.Opt.M {
		tensors["exp_avg."+n] = &safetensors.Tensor{DType: "F32", Shape: m.Shape, F32: m.Data}
		v := t.Opt.V[n]
		tensors["exp_avg_sq."+n] = &safetensors.Tensor{DType: "F32", Shape: v.Shape, F32: v.Data}
	}
	if err := safetensors.WriteFile(filepath.Join(tmp, optimFile), tensors, map[string]string{"adam_step": fmt.Sprint(t.Opt.Step)}); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	st, _ := json.MarshalIndent(t.State, "", "  ")
	if err := fsx.WriteBytes(filepath.Join(tmp, stateFile), 0o644, st); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	cfgText, err := t.Cfg.Encode()
	if err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	if err := fsx.WriteBytes(filepath.Join(tmp, "train_config.toml"), 0o644, cfgText); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	// A checkpoint of the same step from an earlier, interrupted run is
	// replaced, and kept until this one is in place.
	if err := fsx.CommitDir(tmp, final); err != nil {
		return fmt.Errorf("train: save: %w", err)
	}
	return t.prune()
}

func (t *Trainer) prune() error {
	steps, err := listCheckpoints(filepath.Join(t.Cfg.OutDir, "checkpoints"))
	if err != nil || t.Cfg.KeepLast <= 0 || len(steps) <= t.Cfg.KeepLast {
		return err
	}
	for _, s := range steps[:len(steps)-t.Cfg.KeepLast] {
		if err := os.RemoveAll(t.CheckpointDir(s)); err != nil {
			return fmt.Errorf("train: prune: %w", err)
		}
	}
	return nil
}

// listCheckpoints returns the steps of the complete checkpoints, ascending.
func listCheckpoints(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var steps []int
	for _, e := range ents {
		var s int
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "step-") {
			continue
		}
		if _, err := fmt.Sscanf(e.Name(), "step-%d", &s); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), stateFile)); err == nil {
			steps = append(steps, s)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// Resume loads the latest checkpoint under Cfg.OutDir (model, optimiser
// moments, state). It reports false when there is none.
func (t *Trainer) Resume() (bool, error) {
	steps, err := listCheckpoints(filepath.Join(t.Cfg.OutDir, "checkpoints"))
	if err != nil || len(steps) == 0 {
		return false, err
	}
	dir := t.CheckpointDir(steps[len(steps)-1])
	var st State
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return false, fmt.Errorf("train: resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.Seed != t.Cfg.Seed {
		return false, fmt.Errorf("train: resume: %s was trained with seed %d, config says %d", dir, st.Seed, t.Cfg.Seed)
	}
	if saved, err := LoadConfig(filepath.Join(dir, "train_config.toml")); err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	} else if key := orderChange(saved, t.Cfg); key != "" {
		return false, fmt.Errorf("train: resume: %s was trained with a different %s; resuming would not continue the same run", dir, key)
	}
	ck, err := model.LoadCheckpoint(dir)
	if err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	}
	for n, p := range t.Ckpt.Params {
		q, ok := ck.Params[n]
		if !ok || len(q.Data) != len(p.Data) {
			return false, fmt.Errorf("train: resume: %s: tensor %s missing or resized", dir, n)
		}
		copy(p.Data, q.Data)
	}
	of, err := safetensors.ReadFile(filepath.Join(dir, optimFile))
	if err != nil {
		return false, fmt.Errorf("train: resume: %w", err)
	}
	opt := NewAdamW(t.Cfg.AdamBeta1, t.Cfg.AdamBeta2, t.Cfg.AdamEps, t.Cfg.WeightDecay)
	opt.Step = st.AdamStep
	for name, ten := range of.Tensors {
		mt := &model.Tensor{Shape: ten.Shape, Data: ten.F32}
		switch {
		case strings.HasPrefix(name, "exp_avg_sq."):
			opt.V[strings.TrimPrefix(name, "exp_avg_sq.")] = mt
		case strings.HasPrefix(name, "exp_avg."):
			opt.M[strings.TrimPrefix(name, "exp_avg.")] = mt
		default:
			return false, fmt.Errorf("train: resume: %s: unexpected tensor %q", filepath.Join(dir, optimFile), name)
		}
	}
	for n := range opt.M {
		if opt.V[n] == nil || t.Ckpt.Params[n] == nil || len(opt.M[n].Data) != len(t.Ckpt.Params[n].Data) {
			return false, fmt.Errorf("train: resume: %s: moments of %s incomplete or mismatched", dir, n)
		}
	}
	t.Opt, t.State = opt, st
	return true, nil
}
