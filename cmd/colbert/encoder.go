package main

import (
	"github.com/urfave/cli/v2"

	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
)

// encoderFlags choose the ColBERT encoder backend of the commands that
// encode (index, search, serve, rerank, evaluate).
func encoderFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "encoder", Value: colbert.EncoderAuto, Usage: "ColBERT encoder: go (pure Go + OpenBLAS), " +
			"ort (ONNX Runtime on the checkpoint's ONNX export) or auto (ort from hidden size 384 when its library is found, else go)"},
		&cli.StringFlag{Name: "onnxruntime-lib", Usage: "path of libonnxruntime.so.1 for --encoder ort/auto (default: $ONNXRUNTIME_LIB, then .deps/onnxruntime)"},
	}
}

// colbertOptions are --encoder, --onnxruntime-lib and the Go encoder's
// scheduling (threads, batch tokens).
func colbertOptions(c *cli.Context, threads, batchTokens int) colbert.Options {
	return colbert.Options{Encode: encode.Options{Threads: threads, BatchTokens: batchTokens},
		Encoder: c.String("encoder"), ORTLibrary: c.String("onnxruntime-lib")}
}
