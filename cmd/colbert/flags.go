package main

import (
	"os"
	"runtime"

	"github.com/colbert-go/colbert/data/progress"
	"github.com/urfave/cli/v2"
)

// Flags shared by every command, so that the same name always means the same thing.
func outFlag(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: usage, Required: true}
}

func seedFlag() *cli.Int64Flag {
	return &cli.Int64Flag{Name: "seed", Value: 42, Usage: "random seed"}
}

func threadsFlag() *cli.IntFlag {
	return &cli.IntFlag{Name: "threads", Value: runtime.NumCPU(), Usage: "worker goroutines / threads"}
}

func quietFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"}
}

// newBar returns a progress bar on stderr that draws only on a terminal and
// without --quiet.
func newBar(c *cli.Context, label string, total int64, unit string) *progress.Bar {
	return progress.New(os.Stderr, label, total, unit, progress.Enabled(os.Stderr, c.Bool("quiet")))
}
