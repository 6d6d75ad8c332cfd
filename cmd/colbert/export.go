package main

import (
	"fmt"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/urfave/cli/v2"
)

// exportCommands convert checkpoints to other runtimes' formats.
func exportCommands() []*cli.Command {
	return []*cli.Command{{
		Name:  "export",
		Usage: "export a checkpoint for other runtimes",
		Subcommands: []*cli.Command{{
			Name:  "onnx",
			Usage: "export a cross-encoder or ColBERT encoder checkpoint to ONNX (opset 17)",
			Description: "Inputs input_ids, attention_mask, token_type_ids (int64 [batch, sequence], dynamic axes).\n" +
				"cross-encoder: output logits [batch, 1] (BertForSequenceClassification, one label).\n" +
				"colbert: output vectors [batch, sequence, dim], L2-normalised per token (mask padding and\n" +
				"punctuation yourself, as ColBERT does).",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "checkpoint", Required: true, Usage: "HF checkpoint directory (config.json + model.safetensors)"},
				&cli.StringFlag{Name: "kind", Usage: "cross-encoder or colbert (default: the checkpoint's kind)"},
				outFlag("ONNX file to write"),
			},
			Action: func(c *cli.Context) error {
				ck, err := model.LoadCheckpoint(c.String("checkpoint"))
				if err != nil {
					return err
				}
				k := c.String("kind")
				if k == "" {
					k = string(ck.Kind)
				}
				kind, err := onnx.ParseKind(k)
				if err != nil {
					return fmt.Errorf("%w; pass --kind", err)
				}
				if err := onnx.WriteFile(c.String("out"), ck.Config, ck.Params, kind); err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "export: %s %s (%d layers, hidden %d) written to %s\n",
					kind, c.String("checkpoint"), ck.Config.NumHiddenLayers, ck.Config.HiddenSize, c.String("out"))
				return nil
			},
		}},
	}}
}
