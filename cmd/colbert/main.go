// Command colbert is the single entry point of colbert-go: data preparation,
// teacher scoring, training, indexing, search, evaluation and sweeps.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/colbert-go/colbert/model/blas"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// Before anything else: if OpenBLAS fell back to kernels below what the
	// CPU runs (a CPU newer than the library), re-run this process with
	// OPENBLAS_CORETYPE set (never when the user set it). On failure it goes
	// on with OpenBLAS's own choice. COLBERT_VERBOSE=1 says what it does on
	// stderr.
	_ = blas.MaybeReexec(verboseWriter())

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

// verboseWriter is stderr when COLBERT_VERBOSE is set (and not "0"),
// nil otherwise: diagnostics that come before flag parsing and must keep
// stdout clean for scripts.
func verboseWriter() io.Writer {
	if v := os.Getenv("COLBERT_VERBOSE"); v != "" && v != "0" {
		return os.Stderr
	}
	return nil
}

func newApp() *cli.App {
	var cmds []*cli.Command
	cmds = append(cmds, versionCommand(), blasCoreCommand())
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
		Usage: "print the version of this binary and the BLAS kernels it runs with",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, "colbert", version)
			fmt.Fprintln(c.App.Writer, "blas:", blas.Core())
			return nil
		},
	}
}

// blasCoreCommand prints the OpenBLAS core alone, for scripts that run other
// OpenBLAS users (numpy, faiss) with the same kernels:
// OPENBLAS_CORETYPE=$(bin/colbert blas-core) python3 ….
func blasCoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "blas-core",
		Usage: "print the OpenBLAS core (kernels) this binary runs with, for OPENBLAS_CORETYPE in scripts",
		Description: "With OpenBLAS (-tags openblas): the core it runs with, after the start-up check that re-runs\n" +
			"the binary with the best safe core when OpenBLAS picked a generic one (unless OPENBLAS_CORETYPE\n" +
			"is set). In the pure-Go build: the best safe core for this CPU (empty for a CPU without AVX).",
		Action: func(c *cli.Context) error {
			core := blas.Core()
			if !blas.OpenBLAS {
				core = blas.Safe(blas.Detect())
			}
			fmt.Fprintln(c.App.Writer, core)
			return nil
		},
	}
}
