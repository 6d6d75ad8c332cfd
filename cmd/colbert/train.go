package main

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/colbert-go/colbert/train"
)

// trainCommands registers `colbert train` (and `colbert train plot`).
func trainCommands() []*cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "TOML config (flags override its keys)"},
		&cli.BoolFlag{Name: "resume", Usage: "continue from the latest checkpoint in out-dir"},
		threadsFlag(), quietFlag(),
	}
	flags = append(flags, configFlags(train.DefaultConfig())...)
	return []*cli.Command{{
		Name:  "train",
		Usage: "train a ColBERT student by KL distillation from teacher scores (or CE / contrastive)",
		Description: "Every key of the TOML config is also a flag (key with '_' → '-'). Writes checkpoints/step-N\n" +
			"(HF layout + optimizer state), metrics.jsonl, loss.png and train_config.toml under --out-dir.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			train.TuneGC()
			cfg := train.DefaultConfig()
			if p := c.String("config"); p != "" {
				var err error
				if cfg, err = train.LoadConfig(p); err != nil {
					return err
				}
			}
			if err := applyFlags(c, &cfg); err != nil {
				return err
			}
			// main's context ends on the first SIGINT/SIGTERM (the run stops
			// at a safe point); no handler here, so that a second signal
			// kills at once as main promises.
			ctx := c.Context
			tr, err := train.Job(ctx, cfg, train.JobOptions{Threads: c.Int("threads"), Resume: c.Bool("resume"),
				NewBar: barMaker(c),
				OnStep: func(m train.Metrics) {
					if m.DevNDCG10 != nil {
						fmt.Fprintf(c.App.ErrWriter, "step %d: loss %.4f, dev nDCG@10 %.4f\n", m.Step, m.Loss, *m.DevNDCG10)
					}
				},
				OnResume: func(step int) { fmt.Fprintf(c.App.ErrWriter, "train: resuming at step %d\n", step) },
			})
			if err == context.Canceled && tr != nil {
				return fmt.Errorf("interrupted at step %d; checkpoint saved, continue with --resume", tr.State.Step)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "trained %d steps; checkpoint %s\n", tr.State.Step, tr.CheckpointDir(tr.State.Step))
			return nil
		},
		Subcommands: []*cli.Command{{
			Name:  "plot",
			Usage: "draw the loss / learning-rate curves of a metrics.jsonl",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "metrics", Required: true, Usage: "metrics.jsonl of a run"},
				outFlag("PNG to write"),
			},
			Action: func(c *cli.Context) error {
				return train.PlotMetrics(c.String("metrics"), c.String("out"))
			},
		}},
	}}
}

// configFlags makes one flag per Config field, named after its TOML key.
func configFlags(def train.Config) []cli.Flag {
	var out []cli.Flag
	v := reflect.ValueOf(def)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.ReplaceAll(f.Tag.Get("toml"), "_", "-")
		usage := f.Tag.Get("help")
		switch fv := v.Field(i); fv.Kind() {
		case reflect.String:
			out = append(out, &cli.StringFlag{Name: name, Usage: usage, Value: fv.String()})
		case reflect.Int:
			out = append(out, &cli.IntFlag{Name: name, Usage: usage, Value: int(fv.Int())})
		case reflect.Uint64:
			out = append(out, &cli.Uint64Flag{Name: name, Usage: usage, Value: fv.Uint()})
		case reflect.Float64:
			out = append(out, &cli.Float64Flag{Name: name, Usage: usage, Value: fv.Float()})
		case reflect.Bool:
			out = append(out, &cli.BoolFlag{Name: name, Usage: usage, Value: fv.Bool()})
		}
	}
	return out
}

// applyFlags overrides cfg with the flags given on the command line.
func applyFlags(c *cli.Context, cfg *train.Config) error {
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := strings.ReplaceAll(t.Field(i).Tag.Get("toml"), "_", "-")
		if !c.IsSet(name) {
			continue
		}
		switch fv := v.Field(i); fv.Kind() {
		case reflect.String:
			fv.SetString(c.String(name))
		case reflect.Int:
			fv.SetInt(int64(c.Int(name)))
		case reflect.Uint64:
			fv.SetUint(c.Uint64(name))
		case reflect.Float64:
			fv.SetFloat(c.Float64(name))
		case reflect.Bool:
			fv.SetBool(c.Bool(name))
		default:
			return fmt.Errorf("train: flag %s has unsupported type %s", name, fv.Kind())
		}
	}
	return nil
}
