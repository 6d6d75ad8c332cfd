package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/onnx"
	"github.com/colbert-go/colbert/model/ort"
)

// TestExportCLIKinds: `colbert export onnx` exports each of the new kinds'
// fixture checkpoints under its own kind by default, with the head sizes
// of its colbert_config.json (the bytes are those of onnx.WriteFileWith
// with onnx.OptionsOf), and ONNX Runtime reads the outputs the kind
// promises. A kind with no export of its own asks for --kind, and --kind
// overrides the checkpoint's kind.
func TestExportCLIKinds(t *testing.T) {
	fixtures := filepath.Join("..", "..", "model", "testdata")
	dir := t.TempDir()
	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: exportCommands()}
	run := func(args ...string) error {
		out.Reset()
		errw.Reset()
		return app.Run(append([]string{"colbert", "export", "onnx"}, args...))
	}
	rt, rtErr := ort.NewRuntime("")
	if rtErr != nil {
		t.Logf("ONNX Runtime library not available (run make setup), outputs not inspected: %v", rtErr)
	}
	for _, c := range []struct {
		dir     string
		kind    onnx.Kind
		outputs []string
		log     string
	}{
		{"tiny-splade", onnx.SPLADE, []string{onnx.SparseOutput}, "splade "},
		{"tiny-poly", onnx.PolyEncoder, []string{onnx.QueryContextOutput, onnx.CLSOutput}, "poly_m 3"},
		{"tiny-mvdpr", onnx.MVDPR, []string{onnx.VectorsOutput}, "mv_k 3, dim 16"},
	} {
		ckDir := filepath.Join(fixtures, c.dir)
		path := filepath.Join(dir, c.dir+".onnx")
		if err := run("--checkpoint", ckDir, "--out", path); err != nil {
			t.Fatalf("%s: %v\n%s", c.dir, err, errw.String())
		}
		if !strings.Contains(errw.String(), c.log) || !strings.Contains(errw.String(), string(c.kind)) {
			t.Errorf("%s: log %q lacks %q", c.dir, errw.String(), c.log)
		}
		ck, err := model.LoadCheckpoint(ckDir)
		must(t, err)
		want, err := onnx.ExportWith(ck.Config, ck.Params, c.kind, onnx.OptionsOf(ck))
		must(t, err)
		got, err := os.ReadFile(path)
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the CLI wrote %d bytes, not the %d of the %s export with the checkpoint's head sizes", c.dir, len(got), len(want), c.kind)
		}
		if rtErr != nil {
			continue
		}
		ins, outs, err := rt.Inspect(path)
		if err != nil {
			t.Fatalf("%s: ONNX Runtime cannot read the export: %v", c.dir, err)
		}
		var inNames, outNames []string
		for _, x := range ins {
			inNames = append(inNames, x.Name)
		}
		for _, x := range outs {
			outNames = append(outNames, x.Name)
		}
		if !slices.Equal(inNames, []string{"input_ids", "attention_mask"}) || !slices.Equal(outNames, c.outputs) {
			t.Errorf("%s: ORT sees inputs %v, outputs %v; want [input_ids attention_mask], %v", c.dir, inNames, outNames, c.outputs)
		}
	}
	if rtErr == nil {
		must(t, rt.Close()) // other tests of the package may start their own
	}

	// --kind overrides: the SPLADE fixture's encoder under ColBERT's head
	// has no linear.weight, which the error names.
	err := run("--checkpoint", filepath.Join(fixtures, "tiny-splade"), "--kind", "colbert", "--out", filepath.Join(dir, "x.onnx"))
	if err == nil || !strings.Contains(err.Error(), "linear.weight") {
		t.Errorf("--kind colbert on a SPLADE checkpoint: %v", err)
	}
	if err := run("--checkpoint", filepath.Join(fixtures, "tiny-splade"), "--kind", "sparse", "--out", filepath.Join(dir, "x.onnx")); err == nil ||
		!strings.Contains(err.Error(), "mv-dpr") {
		t.Errorf("--kind sparse: %v (want the list of kinds)", err)
	}
	// A plain BERT checkpoint has no head to export: --kind is asked for.
	cfg := model.SmallConfig(200)
	cfg.NumHiddenLayers = 1
	bert, err := model.NewCheckpoint(cfg, model.KindBert, model.DefaultColBERTConfig(), 1)
	must(t, err)
	bertDir := filepath.Join(dir, "bert")
	must(t, model.SaveCheckpoint(bertDir, bert))
	if err := run("--checkpoint", bertDir, "--out", filepath.Join(dir, "b.onnx")); err == nil || !strings.Contains(err.Error(), "--kind") {
		t.Errorf("export of a bert checkpoint without --kind: %v", err)
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, "*.onnx")); len(ents) != 3 {
		t.Errorf("%d .onnx files after 3 exports and 3 failures: %v", len(ents), ents)
	}
}
