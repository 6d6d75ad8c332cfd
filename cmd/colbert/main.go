// Command colbert is the single entry point of colbert-go: data preparation,
// teacher scoring, training, indexing, search, evaluation and sweeps.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/colbert-go/colbert/model/encode"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// Ctrl-C or SIGTERM cancels the context: long jobs (training, scoring,
	// indexing) stop at a safe point and can be resumed by re-running the
	// same command. A second signal kills the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := newApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "colbert:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	var cmds []*cli.Command
	cmds = append(cmds, versionCommand())
	cmds = append(cmds, dataCommands()...)
	cmds = append(cmds, demoCommands()...)
	cmds = append(cmds, bm25Commands()...)
	cmds = append(cmds, distillCommands()...)
	cmds = append(cmds, exportCommands()...)
	cmds = append(cmds, trainCommands()...)
	cmds = append(cmds, indexCommands()...)
	cmds = append(cmds, searchCommands()...)
	cmds = append(cmds, rerankCommands()...)
	cmds = append(cmds, serveCommands()...)
	cmds = append(cmds, evaluateCommands()...)
	cmds = append(cmds, sweepCommands()...)
	// Each stage registers its commands from its own file in this package.
	return &cli.App{
		Name:                 "colbert",
		Usage:                "ColBERTv2 training, distillation, indexing and search",
		Version:              version,
		EnableBashCompletion: true,
		Commands:             cmds,
		// Every stage parallelises with its own goroutines; OpenBLAS's own
		// threads on top of them halve throughput on small machines.
		Before: func(*cli.Context) error {
			encode.SetBLASThreads(1)
			return nil
		},
	}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of this binary",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, "colbert", version)
			return nil
		},
	}
}
