package distill

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const partsWorkerEnv = "COLBERT_DISTILL_PART_WORKER" // "candidates out part nparts"

// partsJob is the job every process of the parts test runs: the score
// fixture with the tiny teacher, reading the given candidates file.
func partsJob(t *testing.T, cand, out string) ScoreJob {
	ce, tok, pad := tinyTeacher(t, 128)
	job, _ := scoreFixture(t, ParquetFormat{}, ".parquet")
	job.Candidates, job.Out = cand, out
	job.Tokenize, job.Teacher = tok, ce
	job.Pairs = PairOptions{BatchSize: 6, Bucket: true, Threads: 1, PadID: pad}
	return job
}

// TestScorePartWorker is the worker process of TestScorePartsMatchScore
// (the test binary re-executed with partsWorkerEnv); it skips otherwise.
func TestScorePartWorker(t *testing.T) {
	spec := os.Getenv(partsWorkerEnv)
	if spec == "" {
		t.Skip("worker process of TestScorePartsMatchScore only")
	}
	var cand, out string
	var part, nparts int
	if _, err := fmt.Sscanf(spec, "%s %s %d %d", &cand, &out, &part, &nparts); err != nil {
		t.Fatalf("bad %s=%q: %v", partsWorkerEnv, spec, err)
	}
	if _, err := ScorePart(context.Background(), partsJob(t, cand, out), part, nparts); err != nil {
		t.Fatal(err)
	}
}

func TestScorePartsMatchScore(t *testing.T) {
	sharedRuntime(t)
	dir := t.TempDir()
	_, fixDir := scoreFixture(t, ParquetFormat{}, ".parquet")
	cand := filepath.Join(fixDir, "cand.parquet")
	full := partsJob(t, cand, filepath.Join(dir, "full.parquet"))
	if _, err := Score(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	split := partsJob(t, cand, filepath.Join(dir, "split.parquet"))
	if _, err := MergeParts(context.Background(), split.Out, split.Format); err == nil || !strings.Contains(err.Error(), "no scored parts") {
		t.Fatalf("merge before any part: %v", err)
	}
	// Part 1 of 3 in this process first: merge then names the missing shard 0.
	st, err := ScorePart(context.Background(), split, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if st.Shards != 2 || st.ScoredPairs != 40 || st.ResumedShards != 0 {
		t.Fatalf("part 1/3 of 5 shards: %+v", st)
	}
	if _, err := MergeParts(context.Background(), split.Out, split.Format); err == nil || !strings.Contains(err.Error(), "shard 0") {
		t.Fatalf("merge with parts missing: %v", err)
	}
	other := split
	other.ShardSize = 4
	if _, err := ScorePart(context.Background(), other, 0, 3); err == nil || !strings.Contains(err.Error(), "shard_size") {
		t.Fatalf("part with another shard size: %v", err)
	}

	// All three parts in separate processes at once; part 1 resumes.
	cmds := make([]*exec.Cmd, 3)
	outs := make([]*bytes.Buffer, 3)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestScorePartWorker$", "-test.count=1", "-test.v")
		cmds[i].Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d 3", partsWorkerEnv, cand, split.Out, i))
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil || !strings.Contains(outs[i].String(), "--- PASS: TestScorePartWorker") {
			t.Fatalf("worker %d/3: %v\n%s", i, err, outs[i])
		}
	}
	cs := &countingScorer{inner: split.Teacher}
	again := split
	again.Teacher = cs
	if st, err := ScorePart(context.Background(), again, 2, 3); err != nil || st.ResumedShards != 2 || cs.calls != 0 {
		t.Fatalf("re-run of a finished part: %+v, %d passes, %v", st, cs.calls, err)
	}
	st, err = MergeParts(context.Background(), split.Out, split.Format)
	if err != nil {
		t.Fatal(err)
	}
	if st.Examples != 24 || st.Pairs != 96 || st.Shards != 5 {
		t.Fatalf("merge stats %+v", st)
	}
	a, _ := os.ReadFile(full.Out)
	b, _ := os.ReadFile(split.Out)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("merged parts differ from the unsplit Score output")
	}
	if _, err := os.Stat(PartsDir(split.Out)); !os.IsNotExist(err) {
		t.Errorf("parts directory left after the merge: %v", err)
	}
	// A finished output is up to date for parts and merge alike.
	if st, err := ScorePart(context.Background(), split, 0, 3); err != nil || !st.UpToDate {
		t.Errorf("part after the merge: %+v %v", st, err)
	}
	// A damaged run record is an error naming the file.
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(PartsDir(split.Out), 0o755))
	must(os.WriteFile(filepath.Join(PartsDir(split.Out), partsSettings), []byte("{"), 0o644))
	if _, err := MergeParts(context.Background(), split.Out, split.Format); err == nil || !strings.Contains(err.Error(), partsSettings) {
		t.Errorf("damaged %s: %v", partsSettings, err)
	}
}
