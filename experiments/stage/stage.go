// Package stage runs a pipeline of named, resumable stages. A stage that
// finished before with the same key (a fingerprint of its settings and
// inputs) and whose outputs still exist is reused, not re-run; this is what
// lets `make demo` and sweep cells pick up where a killed run stopped.
package stage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/colbert-go/colbert/data/fsx"
)

// Stage is one step of a pipeline.
type Stage struct {
	Name    string                          // unique within the pipeline, used for the stamp file
	Key     string                          // fingerprint of settings and inputs; a different key re-runs the stage
	Outputs []string                        // files or directories the stage must leave behind
	Run     func(ctx context.Context) error // does the work; must write its outputs atomically
}

// Stamp records a finished stage.
type Stamp struct {
	Name     string    `json:"name"`
	Key      string    `json:"key"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"`
}

// Result says what happened to one stage.
type Result struct {
	Name    string
	Reused  bool
	Seconds float64 // run time now, or the recorded run time when reused
}

// Runner executes stages in order, recording stamps under StampDir.
type Runner struct {
	StampDir string
	Log      io.Writer // progress lines; nil for none
}

func (r *Runner) stampPath(name string) string {
	return filepath.Join(r.StampDir, name+".done.json")
}

// Done reports whether s finished before with the same key and its outputs exist.
func (r *Runner) Done(s Stage) (Stamp, bool) {
	raw, err := os.ReadFile(r.stampPath(s.Name))
	if err != nil {
		return Stamp{}, false
	}
	var st Stamp
	if json.Unmarshal(raw, &st) != nil || st.Key != s.Key {
		return Stamp{}, false
	}
	for _, o := range s.Outputs {
		if _, err := os.Stat(o); err != nil {
			return Stamp{}, false
		}
	}
	return st, true
}

// Run executes the stages in order, stopping at the first error. A stage
// whose stamp is stale is re-run and its stamp rewritten only on success.
func (r *Runner) Run(ctx context.Context, stages ...Stage) ([]Result, error) {
	if err := os.MkdirAll(r.StampDir, 0o755); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	seen := map[string]bool{}
	var results []Result
	for _, s := range stages {
		if seen[s.Name] {
			return results, fmt.Errorf("stage: duplicate stage name %q", s.Name)
		}
		seen[s.Name] = true
		if st, ok := r.Done(s); ok {
			r.logf("stage %-18s reused (finished %s, took %.1fs)\n", s.Name, st.Finished.Format(time.RFC3339), st.Seconds)
			results = append(results, Result{Name: s.Name, Reused: true, Seconds: st.Seconds})
			continue
		}
		if err := ctx.Err(); err != nil {
			return results, err
		}
		// A stale stamp must not survive a failed re-run.
		if err := os.Remove(r.stampPath(s.Name)); err != nil && !os.IsNotExist(err) {
			return results, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		r.logf("stage %-18s running\n", s.Name)
		start := time.Now()
		if err := s.Run(ctx); err != nil {
			return results, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		secs := time.Since(start).Seconds()
		for _, o := range s.Outputs {
			if _, err := os.Stat(o); err != nil {
				return results, fmt.Errorf("stage %s: finished without its output %s", s.Name, o)
			}
		}
		st := Stamp{Name: s.Name, Key: s.Key, Finished: time.Now().UTC(), Seconds: secs}
		if err := writeStamp(r.stampPath(s.Name), st); err != nil {
			return results, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		r.logf("stage %-18s done in %.1fs\n", s.Name, secs)
		results = append(results, Result{Name: s.Name, Seconds: secs})
	}
	return results, nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format, args...)
	}
}

// writeStamp commits a stage's stamp atomically and durably (fsx), so a
// crash never leaves a truncated stamp or loses a finished one.
func writeStamp(path string, st Stamp) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return fsx.WriteBytes(path, 0o644, b)
}
