package main

import (
	"fmt"

	"github.com/colbert-go/colbert/data/synth"
	"github.com/colbert-go/colbert/experiments/demo"
	"github.com/urfave/cli/v2"
)

func demoCommands() []*cli.Command {
	return []*cli.Command{{
		Name:  "demo",
		Usage: "run the whole pipeline on the built-in benchmark and write a report (re-runs reuse finished stages)",
		Flags: []cli.Flag{
			outFlag("directory for every stage's output and report.md"),
			seedFlag(),
			&cli.IntFlag{Name: "passages", Value: synth.DefaultConfig().Passages, Usage: "benchmark passages"},
			threadsFlag(),
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			cfg := synth.DefaultConfig()
			cfg.Seed = c.Int64("seed")
			cfg.Passages = c.Int("passages")
			report, err := demo.Run(c.Context, demo.Options{Dir: c.String("out"), Synth: cfg, Threads: c.Int("threads"), Log: c.App.ErrWriter})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "report: %s\n", report)
			return nil
		},
	}}
}
