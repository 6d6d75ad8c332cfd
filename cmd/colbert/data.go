package main

import "github.com/urfave/cli/v2"

// dataCommands groups the commands that make or prepare data: the built-in
// benchmark and the WordPiece vocabulary trainer.
func dataCommands() []*cli.Command {
	return []*cli.Command{{
		Name:        "data",
		Usage:       "make and prepare data (built-in benchmark, vocabulary)",
		Subcommands: []*cli.Command{synthCommand(), vocabCommand()},
	}}
}
