package stage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunReusesFinishedStagesAndRerunsStaleOnes(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "a.txt")
	calls := 0
	mk := func(key string) Stage {
		return Stage{Name: "a", Key: key, Outputs: []string{out}, Run: func(context.Context) error {
			calls++
			return os.WriteFile(out, []byte(key), 0o644)
		}}
	}
	var log strings.Builder
	r := &Runner{StampDir: filepath.Join(dir, "stamps"), Log: &log}
	if _, err := r.Run(context.Background(), mk("k1")); err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), mk("k1"))
	if err != nil || calls != 1 || !res[0].Reused {
		t.Fatalf("second run: calls=%d res=%+v err=%v", calls, res, err)
	}
	if !strings.Contains(log.String(), "reused") {
		t.Fatalf("log does not say the stage was reused:\n%s", log.String())
	}
	// A different key re-runs.
	if _, err := r.Run(context.Background(), mk("k2")); err != nil || calls != 2 {
		t.Fatalf("key change: calls=%d err=%v", calls, err)
	}
	// A deleted output re-runs.
	os.Remove(out)
	if _, err := r.Run(context.Background(), mk("k2")); err != nil || calls != 3 {
		t.Fatalf("missing output: calls=%d err=%v", calls, err)
	}
}

func TestFailedStageLeavesNoStampAndStopsPipeline(t *testing.T) {
	dir := t.TempDir()
	r := &Runner{StampDir: dir}
	boom := errors.New("boom")
	ran := false
	_, err := r.Run(context.Background(),
		Stage{Name: "fail", Key: "x", Run: func(context.Context) error { return boom }},
		Stage{Name: "after", Key: "x", Run: func(context.Context) error { ran = true; return nil }},
	)
	if !errors.Is(err, boom) || ran {
		t.Fatalf("err=%v ran=%v", err, ran)
	}
	if _, ok := r.Done(Stage{Name: "fail", Key: "x"}); ok {
		t.Fatal("failed stage has a stamp")
	}
	// A stage that claims success without its output is an error.
	_, err = r.Run(context.Background(), Stage{Name: "liar", Key: "x", Outputs: []string{filepath.Join(dir, "nope")}, Run: func(context.Context) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "without its output") {
		t.Fatalf("err=%v", err)
	}
}
