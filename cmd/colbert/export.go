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
			Usage: "export a cross-encoder, ColBERT, SPLADE, poly-encoder, MV-DPR or bi-encoder checkpoint to ONNX (opset 17)",
			Description: "Inputs int64 [batch, sequence], dynamic axes: input_ids, attention_mask, and token_type_ids for\n" +
				"cross-encoder and colbert only (the other kinds encode one text, segment 0).\n" +
				"cross-encoder: output logits [batch, 1] (BertForSequenceClassification, one label).\n" +
				"colbert: output vectors [batch, sequence, dim], L2-normalised per token (mask padding and\n" +
				"punctuation yourself, as ColBERT does).\n" +
				"splade: output sparse [batch, vocab], max over attended tokens of log(1 + ReLU(MLM logits));\n" +
				"zeros are absent terms.\n" +
				"poly-encoder: outputs query_context [batch, poly_m, hidden] (the codes attending over the\n" +
				"attended tokens; the query side) and cls [batch, hidden] (the passage side).\n" +
				"mv-dpr: output vectors [batch, mv_k, dim], projections of [CLS], each L2-normalised.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "checkpoint", Required: true, Usage: "HF checkpoint directory (config.json + model.safetensors)"},
				&cli.StringFlag{Name: "kind", Usage: fmt.Sprintf("one of %v (default: the checkpoint's kind)", onnx.Kinds)},
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
					if c.String("kind") == "" {
						return fmt.Errorf("export: checkpoint %s is a %s model, which has no ONNX export of its own; pass --kind (one of %v)",
							c.String("checkpoint"), ck.Kind, onnx.Kinds)
					}
					return fmt.Errorf("export: --kind: %w", err)
				}
				// poly_m, mv_k and dim come from the checkpoint's
				// colbert_config.json: the tensors alone do not split MV-DPR's
				// projection into its vectors.
				opt := onnx.OptionsOf(ck)
				if err := onnx.WriteFileWith(c.String("out"), ck.Config, ck.Params, kind, opt); err != nil {
					return fmt.Errorf("export: %s as %s: %w", c.String("checkpoint"), kind, err)
				}
				fmt.Fprintf(c.App.ErrWriter, "export: %s %s (%d layers, hidden %d%s) written to %s\n",
					kind, c.String("checkpoint"), ck.Config.NumHiddenLayers, ck.Config.HiddenSize, headSizes(kind, opt), c.String("out"))
				return nil
			},
		}},
	}}
}

// headSizes describes the head sizes an export used, for the log line.
func headSizes(kind onnx.Kind, opt onnx.Options) string {
	switch {
	case kind == onnx.PolyEncoder && opt.PolyM > 0:
		return fmt.Sprintf(", poly_m %d", opt.PolyM)
	case kind == onnx.MVDPR && opt.MVK > 0 && opt.Dim > 0:
		return fmt.Sprintf(", mv_k %d, dim %d", opt.MVK, opt.Dim)
	}
	return ""
}
