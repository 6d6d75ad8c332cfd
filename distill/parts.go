package distill

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/colbert-go/colbert/data"
)

// Scoring split across machines: ScorePart on each of N workers scores a
// contiguous range of shards into PartsDir(Out) on shared storage (one
// marker per finished shard, so parts run concurrently and each resumes on
// its own), then MergeParts concatenates them. Shard boundaries, batches,
// shard files and the final merge are Score's own, so the output has the
// same bytes as an unsplit run (given a deterministic teacher).

// PartsDir is where ScorePart writes shards for MergeParts.
func PartsDir(out string) string { return out + ".parts" }

const partsSettings = "settings.json"

func markerPath(dir string, shard int) string {
	return filepath.Join(dir, fmt.Sprintf("shard-%06d.done", shard))
}

// shardMarked returns a finished shard's record if its file is intact and
// holds the expected number of examples.
func shardMarked(dir string, shard, examples int) (shardInfo, bool) {
	raw, err := os.ReadFile(markerPath(dir, shard))
	if err != nil {
		return shardInfo{}, false
	}
	var s shardInfo
	if json.Unmarshal(raw, &s) != nil || s.Examples != examples || filepath.Base(s.File) != s.File {
		return shardInfo{}, false
	}
	sum, err := fileSHA256(filepath.Join(dir, s.File))
	return s, err == nil && sum == s.SHA256
}

// partsRun is what the first part records in PartsDir: every setting that
// decides the output's bytes, and the number of candidate lists (so the
// merge needs neither the teacher nor the candidates).
type partsRun struct {
	Settings map[string]string `json:"settings"`
	Examples int               `json:"examples"`
}

// partsSetup checks (or, for the first part to arrive, records) the run in
// dir: parts of one run must agree on every setting.
func partsSetup(dir string, want partsRun) error {
	path := filepath.Join(dir, partsSettings)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("distill: %w", err)
		}
		js, _ := json.MarshalIndent(want, "", "  ")
		if err := data.WriteFileAtomic(path, func(w *bufio.Writer) error { _, err := w.Write(append(js, '\n')); return err }); err != nil {
			return fmt.Errorf("distill: %w", err)
		}
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	got, err := readPartsRun(dir, raw)
	if err != nil {
		return err
	}
	for k, v := range want.Settings {
		if got.Settings[k] != v {
			return fmt.Errorf("distill: %s holds parts scored with %s=%q, this run has %q; use the same settings, or delete %s to start over",
				dir, k, got.Settings[k], v, dir)
		}
	}
	if !maps.Equal(got.Settings, want.Settings) || got.Examples != want.Examples {
		return fmt.Errorf("distill: %s holds parts scored with other settings (%v, %d lists); delete it to start over", dir, got.Settings, got.Examples)
	}
	return nil
}

func readPartsRun(dir string, raw []byte) (partsRun, error) {
	var r partsRun
	if err := json.Unmarshal(raw, &r); err != nil || r.Settings == nil || r.Examples < 0 {
		return r, fmt.Errorf("distill: %s: damaged %s (%v); delete %s to start over", dir, partsSettings, err, dir)
	}
	return r, nil
}

// countExamples streams the candidates once.
func (job *ScoreJob) countExamples(ctx context.Context) (examples, pairs int, err error) {
	err = job.CandidatesFormat.ReadBatches(job.Candidates, job.ShardSize, func(exs []data.Example) error {
		examples += len(exs)
		for _, ex := range exs {
			pairs += len(ex.DocIDs)
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, 0, fmt.Errorf("distill: read candidates %s: %w", job.Candidates, err)
	}
	return examples, pairs, nil
}

// ScorePart scores part (0-based) of nparts of the job: a contiguous range
// of its shards, written to PartsDir(job.Out) with one marker per shard.
// Re-running a part keeps its finished shards. Parts may run at the same
// time on machines sharing the directory. Stats count this part only.
func ScorePart(ctx context.Context, job ScoreJob, part, nparts int) (ScoreStats, error) {
	start := time.Now()
	var st ScoreStats
	if nparts < 1 || part < 0 || part >= nparts {
		return st, fmt.Errorf("distill: part %d/%d: want 0 ≤ part < nparts", part, nparts)
	}
	job.fill()
	settings, err := job.settings()
	if err != nil {
		return st, err
	}
	// A finished output made with the same settings is kept as is.
	if meta, err := job.Format.ReadMetadata(job.Out); err == nil && sameSettings(meta, settings) {
		st.Examples, _ = strconv.Atoi(meta["examples"])
		st.Pairs, _ = strconv.Atoi(meta["pairs"])
		st.UpToDate = true
		return st, nil
	}
	total, _, err := job.countExamples(ctx)
	if err != nil {
		return st, err
	}
	dir := PartsDir(job.Out)
	if err := partsSetup(dir, partsRun{Settings: settings, Examples: total}); err != nil {
		return st, err
	}
	nshards := (total + job.ShardSize - 1) / job.ShardSize
	lo, hi := data.PartRange(nshards, part, nparts)
	st.Shards = hi - lo
	size := func(s int) int { return min(total, (s+1)*job.ShardSize) - s*job.ShardSize }
	todo := map[int]bool{}
	for s := lo; s < hi; s++ {
		if info, ok := shardMarked(dir, s, size(s)); ok {
			st.ResumedShards++
			st.Examples += info.Examples
			st.Pairs += info.Pairs
		} else {
			todo[s] = true
		}
	}
	// The bar counts the pairs still to score.
	var buf []data.Example
	seen, todoPairs := 0, 0
	pass := func(fn func(shard int, exs []data.Example) error) error {
		seen, buf = 0, buf[:0]
		return job.CandidatesFormat.ReadBatches(job.Candidates, job.ShardSize, func(exs []data.Example) error {
			for _, ex := range exs {
				s := seen / job.ShardSize
				seen++
				if !todo[s] {
					continue
				}
				buf = append(buf, ex)
				if len(buf) == size(s) {
					if err := fn(s, buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
			return ctx.Err()
		})
	}
	if err := pass(func(_ int, exs []data.Example) error {
		for _, ex := range exs {
			todoPairs += len(ex.DocIDs)
		}
		return nil
	}); err != nil {
		return st, fmt.Errorf("distill: read candidates %s: %w", job.Candidates, err)
	}
	job.Bar.SetTotal(int64(todoPairs))
	err = pass(func(s int, exs []data.Example) error {
		info, err := job.scoreShard(ctx, dir, s, s*job.ShardSize, exs)
		if err != nil {
			return err
		}
		js, _ := json.Marshal(info)
		if err := data.WriteFileAtomic(markerPath(dir, s), func(w *bufio.Writer) error { _, err := w.Write(js); return err }); err != nil {
			return fmt.Errorf("distill: %w", err)
		}
		st.Examples += info.Examples
		st.Pairs += info.Pairs
		st.ScoredPairs += info.Pairs
		return nil
	})
	if err != nil {
		return st, err
	}
	if seen != total {
		return st, fmt.Errorf("distill: %s changed while being read (%d examples, then %d)", job.Candidates, total, seen)
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// MergeParts writes out (in format) from the shards all parts of a
// ScorePart run scored — the same file Score writes — and removes
// PartsDir(out). The settings come from the parts directory, so the merge
// needs no teacher. It fails, naming the first missing shard, until every
// part is done.
func MergeParts(ctx context.Context, out string, format Format) (ScoreStats, error) {
	start := time.Now()
	var st ScoreStats
	dir := PartsDir(out)
	raw, err := os.ReadFile(filepath.Join(dir, partsSettings))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("distill: %s holds no scored parts (run score --part first)", dir)
	}
	if err != nil {
		return st, fmt.Errorf("distill: %w", err)
	}
	run, err := readPartsRun(dir, raw)
	if err != nil {
		return st, err
	}
	shardSize, err := strconv.Atoi(run.Settings["shard_size"])
	if err != nil || shardSize <= 0 {
		return st, fmt.Errorf("distill: %s: shard_size %q invalid", dir, run.Settings["shard_size"])
	}
	total := run.Examples
	nshards := (total + shardSize - 1) / shardSize
	// Stop at the first missing shard: the count comes from a file and the
	// markers present bound the work.
	marks, _ := filepath.Glob(filepath.Join(dir, "shard-*.done"))
	var shards []shardInfo
	for s := 0; s < nshards; s++ {
		info, ok := shardMarked(dir, s, min(total, (s+1)*shardSize)-s*shardSize)
		if !ok {
			return st, fmt.Errorf("distill: %s: shard %d of %d (candidate lists %d…) not scored yet, %d shards done; run the missing parts",
				dir, s, nshards, s*shardSize+1, len(marks))
		}
		shards = append(shards, info)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.Shards = nshards
	job := ScoreJob{Out: out, Format: format}
	if st.Examples, st.Pairs, err = job.writeMerged(dir, run.Settings, shards); err != nil {
		return st, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return st, fmt.Errorf("distill: remove %s: %w", dir, err)
	}
	st.Elapsed = time.Since(start)
	return st, nil
}
