package main

import (
	"os"
	"runtime"

	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/search"
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

// barMaker makes newBar bars for library code that asks for them by label.
func barMaker(c *cli.Context) func(label string, total int64, unit string) *progress.Bar {
	return func(label string, total int64, unit string) *progress.Bar { return newBar(c, label, total, unit) }
}

// plaidFlags are PLAID's knobs, the same names in every command that
// searches (search, evaluate, serve); --centroid-score-threshold is
// ColBERT's config name for --threshold.
func plaidFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "ncells", Usage: "PLAID: centroids probed per query token (0 = ColBERT's default for k: 1 / 2 / 4)"},
		&cli.IntFlag{Name: "ndocs", Usage: "PLAID: candidates kept after pruned centroid interaction (0 = the default for k: 768 / 1024 / max(4k, 4096))"},
		&cli.Float64Flag{Name: "threshold", Aliases: []string{"centroid-score-threshold"},
			Usage: "PLAID: prune centroids whose best score is below it in stage 2; 0 is a value (default: ColBERT's for k: 0.5 / 0.45 / 0.4)"},
		&cli.BoolFlag{Name: "no-prune", Usage: "PLAID: no centroid pruning in stage 2 (fast-plaid's behaviour)"},
	}
}

// plaidParams are the plaidFlags given, for k; unset knobs stay zero (nil
// threshold) and mean ColBERT's default for k (search.Params.Resolve).
// --threshold is taken whenever it is set, so that 0 means 0.
func plaidParams(c *cli.Context, k int) search.Params {
	p := search.Params{K: k, NCells: c.Int("ncells"), NDocs: c.Int("ndocs"), NoPrune: c.Bool("no-prune")}
	if c.IsSet("threshold") {
		p.Threshold = new(float32(c.Float64("threshold")))
	}
	return p
}
