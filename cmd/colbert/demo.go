package main

import (
	"fmt"

	"github.com/colbert-go/colbert/experiments/demo"
	"github.com/colbert-go/colbert/train"
	"github.com/urfave/cli/v2"
)

func demoCommands() []*cli.Command {
	d := demo.DefaultConfig()
	return []*cli.Command{{
		Name: "demo",
		Usage: "run the whole pipeline on the built-in benchmark (teacher, ONNX scoring, students, 2-bit PLAID, baselines) " +
			"and write report.md (re-runs reuse finished stages)",
		Flags: []cli.Flag{
			outFlag("directory for every stage's output and report.md"),
			&cli.Int64Flag{Name: "seed", Value: d.Synth.Seed, Usage: "benchmark seed"},
			&cli.IntFlag{Name: "passages", Value: d.Synth.Passages, Usage: "benchmark passages"},
			&cli.IntFlag{Name: "train-queries", Value: d.Synth.Train, Usage: "benchmark training queries (one n-way example each; default: every passage that is not a dev or test query's source)"},
			&cli.BoolFlag{Name: "full", Usage: "train the teacher with the full recipe (1 000 steps on random negatives + 1 000 on hard ones) instead of the quick demo's cut"},
			&cli.IntFlag{Name: "teacher-easy-steps", Value: d.TeacherEasy.Steps, Usage: "teacher steps on random negatives, from scratch (default: the quick demo's; --full: 1000)"},
			&cli.IntFlag{Name: "teacher-steps", Value: d.Teacher.Steps, Usage: "teacher steps on hard negatives, from the easy stage (default: the quick demo's; --full: 1000)"},
			&cli.IntFlag{Name: "student-steps", Value: d.Student.Steps, Usage: "optimizer steps of the KL and contrastive students (the bi-encoder, which starts from the KL student's encoder, gets a third)"},
			&cli.BoolFlag{Name: "other-models", Usage: "also train and evaluate the seed's other models (SPLADE, poly-encoder, MV-DPR) and a SPLADE + ColBERT fusion (default: on with --full, off in the quick demo)"},
			&cli.StringFlag{Name: "onnxruntime-lib", Usage: "path of libonnxruntime.so.1 (default: $ONNXRUNTIME_LIB, then .deps/onnxruntime)"},
			threadsFlag(),
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			train.TuneGC()
			// c.Context is main's: the first SIGINT/SIGTERM ends it.
			cfg := demo.DefaultConfig()
			if c.Bool("full") {
				cfg = demo.FullConfig()
			}
			cfg.Synth.Seed = c.Int64("seed")
			cfg.Synth.Passages = c.Int("passages")
			cfg.Synth.Train = c.Int("train-queries")
			if !c.IsSet("train-queries") {
				// Every passage that is not a dev or test source gets a train query (see demo.FullConfig).
				cfg.Synth.Train = cfg.Synth.Passages - cfg.Synth.Dev - cfg.Synth.Test
			}
			if c.IsSet("teacher-easy-steps") || !c.Bool("full") {
				cfg.TeacherEasy.Steps = c.Int("teacher-easy-steps")
			}
			if c.IsSet("teacher-steps") || !c.Bool("full") {
				cfg.Teacher.Steps = c.Int("teacher-steps")
			}
			if c.IsSet("student-steps") {
				n := c.Int("student-steps")
				cfg.Student.Steps, cfg.Contrastive.Steps = n, n
				cfg.BiEncoder.Steps = max(1, n/3) // it starts from the KL student
				cfg.SPLADE.Steps, cfg.PolyEncoder.Steps, cfg.MVDPR.Steps = cfg.BiEncoder.Steps, cfg.BiEncoder.Steps, cfg.BiEncoder.Steps
			}
			if c.IsSet("other-models") {
				cfg.OtherModels = c.Bool("other-models")
			}
			report, err := demo.Run(c.Context, demo.Options{Dir: c.String("out"), Config: cfg, Threads: c.Int("threads"),
				ORTLibrary: c.String("onnxruntime-lib"), Log: c.App.ErrWriter})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "report: %s\n", report)
			return nil
		},
	}}
}
