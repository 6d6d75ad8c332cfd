// Command colbert is the single entry point of colbert-go: data preparation,
// teacher scoring, training, indexing, search, evaluation and sweeps.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := newApp().Run(os.Args); err != nil {
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
	cmds = append(cmds, evaluateCommands()...)
	// Each stage registers its commands from its own file in this package.
	return &cli.App{
		Name:                 "colbert",
		Usage:                "ColBERTv2 training, distillation, indexing and search",
		Version:              version,
		EnableBashCompletion: true,
		Commands:             cmds,
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
