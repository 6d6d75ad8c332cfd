package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/urfave/cli/v2"
)

// cliWorkerEnv holds a JSON argument list: the test binary re-executed with
// it set runs one `colbert …` command as a separate process.
const cliWorkerEnv = "COLBERT_CLI_WORKER_ARGS"

// TestCLIWorker is the worker process of the split-build tests; it skips
// unless cliWorkerEnv is set.
func TestCLIWorker(t *testing.T) {
	raw := os.Getenv(cliWorkerEnv)
	if raw == "" {
		t.Skip("worker process of the split-build tests only")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatalf("%s: %v", cliWorkerEnv, err)
	}
	var errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: os.Stdout, ErrWriter: &errw, Commands: append(indexCommands(), distillCommands()...)}
	if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errw.String())
	}
}

// runCLIWorkers runs each argument list in its own process, all at once.
func runCLIWorkers(t *testing.T, argLists ...[]string) {
	t.Helper()
	cmds := make([]*exec.Cmd, len(argLists))
	outs := make([]*bytes.Buffer, len(argLists))
	for i, args := range argLists {
		js, _ := json.Marshal(args)
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestCLIWorker$", "-test.count=1", "-test.v")
		cmds[i].Env = append(os.Environ(), cliWorkerEnv+"="+string(js))
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		err := c.Wait()
		if err != nil || !strings.Contains(outs[i].String(), "--- PASS: TestCLIWorker") {
			t.Fatalf("worker %v: %v\n%s", argLists[i], err, outs[i])
		}
	}
}

func sameDirs(t *testing.T, a, b string) {
	t.Helper()
	ea, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := os.ReadDir(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ea) != len(eb) {
		t.Fatalf("%s has %d files, %s has %d", a, len(ea), b, len(eb))
	}
	for i, e := range ea {
		if eb[i].Name() != e.Name() {
			t.Fatalf("file %s in %s, %s in %s", e.Name(), a, eb[i].Name(), b)
		}
		x, err1 := os.ReadFile(filepath.Join(a, e.Name()))
		y, err2 := os.ReadFile(filepath.Join(b, e.Name()))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs between %s and %s", e.Name(), a, b)
		}
	}
}

// TestIndexSplitBuildCLI: plan → 3 encode processes → merge gives the
// bytes of `colbert index build` (hf-tiny checkpoint, Cranfield subset).
func TestIndexSplitBuildCLI(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "corpus.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:120]))
	var errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &errw, ErrWriter: &errw, Commands: indexCommands()}
	run := func(args ...string) error {
		errw.Reset()
		return app.Run(append([]string{"colbert"}, args...))
	}
	settings := []string{"--checkpoint", ck, "--collection", corpus, "--centroids", "64", "--sample", "40",
		"--chunk-size", "40", "--embed-batch", "20", "--threads", "2", "--seed", "7", "-q"}
	ref, plan, idx := filepath.Join(dir, "ref"), filepath.Join(dir, "plan"), filepath.Join(dir, "idx")
	if err := run(append([]string{"index", "build", "--out", ref}, settings...)...); err != nil {
		t.Fatalf("build: %v\n%s", err, errw.String())
	}
	if err := run(append([]string{"index", "plan", "--out", plan}, settings...)...); err != nil {
		t.Fatalf("plan: %v\n%s", err, errw.String())
	}
	if err := run("index", "merge", "--plan", plan, "--out", idx); err == nil || !strings.Contains(err.Error(), "not encoded") {
		t.Fatalf("merge before encode: %v", err)
	}
	if err := run("index", "encode", "--plan", plan, "--part", "3/3"); err == nil || !strings.Contains(err.Error(), "i/N") {
		t.Fatalf("encode --part 3/3: %v", err)
	}
	// The workers use one thread, the single build two: threads must not
	// change the bytes.
	var parts [][]string
	for _, p := range []string{"0/3", "1/3", "2/3"} {
		parts = append(parts, []string{"index", "encode", "--plan", plan, "--part", p, "--threads", "1", "-q"})
	}
	runCLIWorkers(t, parts...)
	if err := run("index", "merge", "--plan", plan, "--out", idx); err != nil {
		t.Fatalf("merge: %v\n%s", err, errw.String())
	}
	if !strings.Contains(errw.String(), "120 passages") {
		t.Errorf("merge output: %s", errw.String())
	}
	sameDirs(t, ref, idx)
	// Another collection is refused by the workers.
	other := filepath.Join(dir, "other.jsonl")
	must(t, data.WriteCorpusJSONL(other, ps[1:121]))
	if err := run("index", "encode", "--plan", plan, "--part", "0/1", "--collection", other, "-q"); err == nil || !strings.Contains(err.Error(), "ids differ") {
		t.Fatalf("encode another collection: %v", err)
	}
	// So is the same checkpoint with another tokenizer (cased): it would
	// encode other vectors into the plan's chunks.
	raw, err := os.ReadFile(filepath.Join(ck, "tokenizer.json"))
	must(t, err)
	var tj map[string]any
	must(t, json.Unmarshal(raw, &tj))
	tj["normalizer"].(map[string]any)["lowercase"] = false
	raw, err = json.Marshal(tj)
	must(t, err)
	cased := filepath.Join(dir, "cased-tokenizer.json")
	must(t, os.WriteFile(cased, raw, 0o644))
	if err := run("index", "encode", "--plan", plan, "--part", "0/1", "--tokenizer", cased, "-q"); err == nil || !strings.Contains(err.Error(), "not the plan's encoder") {
		t.Fatalf("encode with another tokenizer: %v", err)
	}
}
