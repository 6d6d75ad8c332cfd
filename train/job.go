package train

import (
	"context"

	"github.com/colbert-go/colbert/data/progress"
)

// JobOptions configure Job.
type JobOptions struct {
	// Threads encode and tokenise (and set the graph's kernels' threads).
	Threads int
	// Resume continues from the latest checkpoint under cfg.OutDir (model,
	// optimiser, data order); without one the run starts at step 0.
	Resume bool
	// NewBar makes the tokenising and training progress bars; nil is silent.
	NewBar func(label string, total int64, unit string) *progress.Bar
	// OnStep is called after every optimizer step (see Trainer.OnStep).
	OnStep func(Metrics)
	// OnResume is told the step a resumed run continues at.
	OnResume func(step int)
}

func (o JobOptions) bar(label string, total int64, unit string) *progress.Bar {
	if o.NewBar == nil {
		return nil
	}
	return o.NewBar(label, total, unit)
}

// Job is one training run from a config: Prepare (tokenizer, model, data),
// Resume when asked, then Run to cfg.Steps. `colbert train`, the sweep and
// the demo all train through it. The Trainer is returned with any error
// after preparation, so that callers can say at which step a run stopped
// (ctx's error: a checkpoint was saved).
func Job(ctx context.Context, cfg Config, opt JobOptions) (*Trainer, error) {
	bar := opt.bar("tokenise", 0, "texts")
	tr, err := Prepare(ctx, cfg, opt.Threads, bar)
	bar.Finish()
	if err != nil {
		return nil, err
	}
	tr.OnStep = opt.OnStep
	if opt.Resume {
		ok, err := tr.Resume()
		if err != nil {
			return tr, err
		}
		if ok && opt.OnResume != nil {
			opt.OnResume(tr.State.Step)
		}
	}
	return tr, tr.Run(ctx, opt.bar("train", int64(cfg.Steps), "steps"))
}
