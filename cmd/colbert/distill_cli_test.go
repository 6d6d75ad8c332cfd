package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model/ort"
	"github.com/urfave/cli/v2"
)

// TestDistillCLI: export the hf-tiny cross-encoder to ONNX, draw Cranfield
// candidates from BM25, score them through ORT into Parquet, and rerank a
// run — the commands wired end to end.
func TestDistillCLI(t *testing.T) {
	lib, err := ort.FindLibrary("")
	if err != nil {
		t.Skipf("ONNX Runtime library not available: %v", err)
	}
	ce := testassets.Path(t, "models/hf-tiny/cross-encoder")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: append(distillCommands(), exportCommands()...)}
	run := func(args ...string) {
		t.Helper()
		if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errw.String())
		}
	}
	model := filepath.Join(dir, "ce.onnx")
	run("export", "onnx", "--checkpoint", ce, "--out", model)
	cand := filepath.Join(dir, "cand.parquet")
	run("distill", "candidates", "-c", cran, "--split", "test", "--nway", "4", "--depth", "30", "--max-positives", "1",
		"--seed", "3", "--out", cand, "-q", "--threads", "2")
	exs, meta, err := parquetio.ReadExamples(cand)
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != 225 || len(exs[0].DocIDs) != 4 || meta["nway"] != "4" || meta["seed"] != "3" {
		t.Fatalf("candidates: %d examples, first %+v, meta %v", len(exs), exs[0], meta)
	}
	scored := filepath.Join(dir, "teacher.parquet")
	score := []string{"distill", "score", "--teacher", model, "--tokenizer", filepath.Join(ce, "tokenizer.json"),
		"--candidates", cand, "-c", cran, "--max-len", "48", "--shard-size", "100", "--out", scored,
		"--onnxruntime-lib", lib, "--intra-op-threads", "1", "-q", "--threads", "2"}
	run(score...)
	got, meta, err := parquetio.ReadExamples(scored)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(exs) || meta["max_len"] != "48" || len(meta["teacher_sha256"]) != 64 || meta["pairs"] != "900" {
		t.Fatalf("scored: %d examples, meta %v", len(got), meta)
	}
	for i := range got {
		if got[i].QueryID != exs[i].QueryID || len(got[i].TeacherScores) != 4 || strings.Join(got[i].DocIDs, " ") != strings.Join(exs[i].DocIDs, " ") {
			t.Fatalf("example %d: %+v vs candidates %+v", i, got[i], exs[i])
		}
	}
	// Split in two parts (then merged): the same bytes as the unsplit run.
	split := filepath.Join(dir, "split.parquet")
	for _, p := range []string{"1/2", "0/2"} {
		part := append([]string(nil), score...)
		part[slices.Index(part, scored)] = split
		run(append(part, "--part", p)...)
	}
	run("distill", "merge", "--out", split)
	if a, b := mustRead(t, scored), mustRead(t, split); !bytes.Equal(a, b) {
		t.Error("distill score --part 0/2, 1/2 + merge differs from the unsplit output")
	}
	errw.Reset()
	run(score...)
	if !strings.Contains(errw.String(), "up to date") {
		t.Errorf("second identical score run did not reuse the output: %s", errw.String())
	}
	// A teacher that is not a cross-encoder is refused before any work.
	colOnnx := filepath.Join(dir, "col.onnx")
	run("export", "onnx", "--checkpoint", testassets.Path(t, "models/hf-tiny/colbert"), "--out", colOnnx)
	bad := append([]string(nil), score...)
	bad[3] = colOnnx
	bad[slices.Index(bad, scored)] = filepath.Join(dir, "bad.parquet")
	if err := app.Run(append([]string{"colbert"}, bad...)); err == nil || !strings.Contains(err.Error(), "logits") {
		t.Errorf("ColBERT encoder accepted as a teacher: %v", err)
	}

	trec := filepath.Join(dir, "bm25.parquet") // runs may come as Parquet too
	if err := parquetio.WriteRun(trec, data.Run{"1": {{DocID: "486", Score: 3}, {DocID: "13", Score: 2}, {DocID: "184", Score: 1}}}, nil); err != nil {
		t.Fatal(err)
	}
	rr := filepath.Join(dir, "rerank.trec")
	run("distill", "rerank", "--teacher", model, "--tokenizer", filepath.Join(ce, "tokenizer.json"), "-c", cran, "--run", trec,
		"--depth", "2", "--max-len", "48", "--out", rr, "-q", "--onnxruntime-lib", lib)
	rerun, err := data.ReadTRECRun(rr)
	if err != nil {
		t.Fatal(err)
	}
	if len(rerun["1"]) != 2 {
		t.Errorf("rerank kept %d docs, want depth 2", len(rerun["1"]))
	}
	if _, err := os.Stat(scored + ".shards"); !os.IsNotExist(err) {
		t.Errorf("shards left after a complete run")
	}
}
