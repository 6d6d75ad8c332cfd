package distill

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
)

// ScoreJob describes one teacher-scoring run.
type ScoreJob struct {
	Candidates string // n-way lists without scores (Format)
	Out        string // the scored dataset (Format)
	Format     Format // shards and output
	// CandidatesFormat reads Candidates (nil: Format).
	CandidatesFormat Format
	Queries          map[string]string // query id → text
	Passages         map[string]string // doc id → text (title + " " + text)
	Tokenize         PairTokenizer
	Teacher          Scorer
	// Settings identify what produces the scores (teacher sha256,
	// tokenizer hash, max length…). They go into the output's metadata and
	// the manifest; resuming with different settings is refused.
	Settings map[string]string
	// ShardSize is the number of examples per shard (default 256): the
	// unit of work lost when a run is killed, and of memory (its pairs'
	// token ids are held together so they can be sorted by length).
	ShardSize int
	Pairs     PairOptions
	Bar       *progress.Bar
}

// ScoreStats summarises a run.
type ScoreStats struct {
	Examples, Pairs int
	Shards          int  // shards in the dataset
	ResumedShards   int  // shards found complete from an earlier run
	ScoredPairs     int  // pairs scored by this call (not resumed)
	UpToDate        bool // Out was already complete with the same settings
	Elapsed         time.Duration
}

// manifest records the complete shards of a run in progress.
type manifest struct {
	Version  int               `json:"version"`
	Settings map[string]string `json:"settings"`
	Shards   []shardInfo       `json:"shards"`
}

type shardInfo struct {
	File     string `json:"file"`
	Examples int    `json:"examples"`
	Pairs    int    `json:"pairs"`
	SHA256   string `json:"sha256"`
}

const manifestName = "manifest.json"

// ShardDir is where Score keeps shards and the manifest while it runs.
func ShardDir(out string) string { return out + ".shards" }

// Score runs the teacher over every (query, candidate) pair of the
// candidates file and writes query_id, doc_ids, teacher_scores to Out.
// Work is cut into shards of ShardSize examples, each written atomically
// and recorded in a manifest; a killed run, restarted with the same job,
// verifies the recorded shards and continues after the last complete one.
// Shard boundaries and batches depend only on the input and settings, so
// the final dataset is identical to an uninterrupted run's. Candidates are
// streamed: memory holds one shard.
func Score(ctx context.Context, job ScoreJob) (ScoreStats, error) {
	start := time.Now()
	var st ScoreStats
	job.fill()
	inFormat := job.CandidatesFormat
	settings, err := job.settings()
	if err != nil {
		return st, err
	}

	// A finished output made with the same settings is kept as is.
	if meta, err := job.Format.ReadMetadata(job.Out); err == nil && sameSettings(meta, settings) {
		st.Examples, _ = strconv.Atoi(meta["examples"])
		st.Pairs, _ = strconv.Atoi(meta["pairs"])
		st.UpToDate = true
		st.Elapsed = time.Since(start)
		// Shards of a run killed between the final rename and their removal.
		if err := os.RemoveAll(ShardDir(job.Out)); err != nil {
			return st, fmt.Errorf("distill: remove %s: %w", ShardDir(job.Out), err)
		}
		return st, nil
	}

	dir := ShardDir(job.Out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, fmt.Errorf("distill: %w", err)
	}
	man, err := loadManifest(dir, settings)
	if err != nil {
		return st, err
	}
	st.ResumedShards = len(man.Shards)

	// Count the work first (a cheap streaming pass) so the bar has a total;
	// resumed pairs are left out of it so that its pairs/s and ETA are true.
	var totalPairs, skipPairs, skipExamples int
	for _, s := range man.Shards {
		skipExamples += s.Examples
		skipPairs += s.Pairs
	}
	if err := inFormat.ReadBatches(job.Candidates, job.ShardSize, func(exs []data.Example) error {
		for _, ex := range exs {
			totalPairs += len(ex.DocIDs)
		}
		return ctx.Err()
	}); err != nil {
		return st, fmt.Errorf("distill: read candidates %s: %w", job.Candidates, err)
	}
	job.Bar.SetTotal(int64(totalPairs - skipPairs))

	seen := 0
	var buf []data.Example
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		info, err := job.scoreShard(ctx, dir, len(man.Shards), seen-len(buf), buf)
		if err != nil {
			return err
		}
		man.Shards = append(man.Shards, info)
		st.ScoredPairs += info.Pairs
		buf = buf[:0]
		return saveManifest(dir, man)
	}
	err = inFormat.ReadBatches(job.Candidates, job.ShardSize, func(exs []data.Example) error {
		for _, ex := range exs {
			seen++
			if seen <= skipExamples {
				continue
			}
			buf = append(buf, ex)
			if len(buf) == job.ShardSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return st, err
	}
	if seen < skipExamples {
		return st, fmt.Errorf("distill: manifest in %s records %d examples but %s has %d", dir, skipExamples, job.Candidates, seen)
	}

	// Merge the shards into the final file, then drop the shards.
	st.Shards = len(man.Shards)
	if st.Examples, st.Pairs, err = job.writeMerged(dir, settings, man.Shards); err != nil {
		return st, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return st, fmt.Errorf("distill: remove %s: %w", dir, err)
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// fill sets the defaults of ShardSize, batch size and CandidatesFormat.
func (job *ScoreJob) fill() {
	if job.ShardSize <= 0 {
		job.ShardSize = 256
	}
	if job.Pairs.BatchSize <= 0 {
		job.Pairs.BatchSize = 32
	}
	if job.CandidatesFormat == nil {
		job.CandidatesFormat = job.Format
	}
}

// settings are the job's Settings plus everything else that decides the
// output's bytes: the candidates' hash, shard and batch settings.
func (job *ScoreJob) settings() (map[string]string, error) {
	candHash, err := fileSHA256(job.Candidates)
	if err != nil {
		return nil, fmt.Errorf("distill: candidates: %w", err)
	}
	settings := maps.Clone(job.Settings)
	if settings == nil {
		settings = map[string]string{}
	}
	settings["candidates_sha256"] = candHash
	settings["shard_size"] = strconv.Itoa(job.ShardSize)
	settings["batch_size"] = strconv.Itoa(job.Pairs.BatchSize)
	settings["batch_tokens"] = strconv.Itoa(job.Pairs.MaxTokens)
	settings["length_bucketing"] = strconv.FormatBool(job.Pairs.Bucket)
	return settings, nil
}

// writeMerged concatenates the shards in dir, in order, into job.Out with
// the settings and counts as metadata (the same bytes whichever run or
// parts scored the shards).
func (job *ScoreJob) writeMerged(dir string, settings map[string]string, shards []shardInfo) (examples, pairs int, err error) {
	for _, s := range shards {
		examples += s.Examples
		pairs += s.Pairs
	}
	meta := maps.Clone(settings)
	meta["examples"] = strconv.Itoa(examples)
	meta["pairs"] = strconv.Itoa(pairs)
	meta["created_by"] = "colbert-go distill score"
	w, err := job.Format.Create(job.Out, meta)
	if err != nil {
		return 0, 0, fmt.Errorf("distill: %w", err)
	}
	for _, s := range shards {
		if err := job.Format.ReadBatches(filepath.Join(dir, s.File), 4096, w.Write); err != nil {
			w.Abort()
			return 0, 0, fmt.Errorf("distill: merge shard %s: %w", s.File, err)
		}
	}
	if err := w.Close(); err != nil {
		return 0, 0, fmt.Errorf("distill: %w", err)
	}
	return examples, pairs, nil
}

// sameSettings reports whether meta records every setting unchanged.
func sameSettings(meta, settings map[string]string) bool {
	for k, v := range settings {
		if got, ok := meta[k]; !ok || got != v {
			return false
		}
	}
	return meta["examples"] != "" && meta["pairs"] != ""
}

// scoreShard scores one shard's examples and writes them atomically.
func (job *ScoreJob) scoreShard(ctx context.Context, dir string, index, first int, exs []data.Example) (shardInfo, error) {
	var qs, ps []string
	for k, ex := range exs {
		q, ok := job.Queries[ex.QueryID]
		if !ok {
			return shardInfo{}, fmt.Errorf("distill: %s example %d: query %q is not in the queries file", job.Candidates, first+k+1, ex.QueryID)
		}
		if len(ex.DocIDs) == 0 {
			return shardInfo{}, fmt.Errorf("distill: %s example %d (query %q) has no documents", job.Candidates, first+k+1, ex.QueryID)
		}
		for _, d := range ex.DocIDs {
			p, ok := job.Passages[d]
			if !ok {
				return shardInfo{}, fmt.Errorf("distill: %s example %d (query %q): document %q is not in the collection", job.Candidates, first+k+1, ex.QueryID, d)
			}
			qs = append(qs, q)
			ps = append(ps, p)
		}
	}
	scores, err := ScorePairs(ctx, qs, ps, job.Tokenize, job.Teacher, job.Pairs, job.Bar)
	if err != nil {
		return shardInfo{}, err
	}
	out := make([]data.Example, len(exs))
	at := 0
	for k, ex := range exs {
		out[k] = data.Example{QueryID: ex.QueryID, DocIDs: ex.DocIDs, TeacherScores: scores[at : at+len(ex.DocIDs)]}
		at += len(ex.DocIDs)
	}
	name := fmt.Sprintf("shard-%06d%s", index, filepath.Ext(job.Out))
	path := filepath.Join(dir, name)
	w, err := job.Format.Create(path, map[string]string{"shard": strconv.Itoa(index)})
	if err != nil {
		return shardInfo{}, fmt.Errorf("distill: %w", err)
	}
	if err := w.Write(out); err != nil {
		w.Abort()
		return shardInfo{}, fmt.Errorf("distill: write %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return shardInfo{}, fmt.Errorf("distill: %w", err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return shardInfo{}, err
	}
	return shardInfo{File: name, Examples: len(exs), Pairs: len(qs), SHA256: sum}, nil
}

// loadManifest returns the run recorded in dir, keeping the leading shards
// whose files are intact; a run with other settings is refused.
func loadManifest(dir string, settings map[string]string) (*manifest, error) {
	path := filepath.Join(dir, manifestName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &manifest{Version: 1, Settings: settings}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("distill: manifest %s: %w (delete %s to start over)", path, err, dir)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("distill: manifest %s: version %d not supported", path, m.Version)
	}
	if !maps.Equal(m.Settings, settings) {
		for k, v := range settings {
			if m.Settings[k] != v {
				return nil, fmt.Errorf("distill: %s holds a partial run with %s=%q, this run has %q; rerun the same command to resume, or delete %s to start over",
					dir, k, m.Settings[k], v, dir)
			}
		}
		return nil, fmt.Errorf("distill: %s holds a partial run with other settings (%v); delete it to start over", dir, m.Settings)
	}
	for i, s := range m.Shards {
		sum, err := fileSHA256(filepath.Join(dir, s.File))
		if err != nil || sum != s.SHA256 {
			m.Shards = m.Shards[:i] // redo from the first damaged shard
			break
		}
	}
	return &m, nil
}

func saveManifest(dir string, m *manifest) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return data.WriteFileAtomic(filepath.Join(dir, manifestName), func(w *bufio.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
}

// FileSHA256 is the hex sha256 of a file's bytes (teacher model hashes).
func FileSHA256(path string) (string, error) { return fileSHA256(path) }

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
