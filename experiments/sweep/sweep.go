package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/experiments/report"
	"github.com/colbert-go/colbert/experiments/stage"
	"github.com/colbert-go/colbert/train"
)

// Options configure a sweep run.
type Options struct {
	// Out receives train/<id>/ (checkpoints), indexes/, cells/<id>/ (one
	// evaluate result folder each), .stages/ and the sweep table and plots.
	Out string
	// Parallel is the number of jobs run at once (0 = 1, at most Threads).
	// Threads are split between them.
	Parallel int
	// Threads is the total thread budget (0 = the machine's cores).
	Threads int
	// Log receives stage lines; nil is silent.
	Log io.Writer
	// NewBar makes a progress bar for a long step; nil is silent.
	NewBar func(label string, total int64, unit string) *progress.Bar
	// OnCell, when set, is called after each finished cell (from the
	// goroutine that ran it; calls are serialised).
	OnCell func(Row)
}

// Row is one cell's result: a line of the sweep table.
type Row struct {
	Cell       int                `json:"cell"` // 1-based position in the sweep
	ID         string             `json:"id"`
	Settings   map[string]string  `json:"settings"`
	Checkpoint string             `json:"checkpoint"`
	Eval       EvalSettings       `json:"eval"`
	Mean       map[string]float64 `json:"mean"`
	// Index size (zero in rerank-bm25 mode).
	IndexBytes    int64   `json:"index_bytes"`
	BytesPerToken float64 `json:"bytes_per_token"`
	// BytesPerPassage is the index over its passages (every model kind's
	// common unit: SPLADE stores postings, the poly-encoder one vector).
	BytesPerPassage float64 `json:"bytes_per_passage,omitempty"`
	LatencyP50      float64 `json:"latency_p50_ms"`
	LatencyP95      float64 `json:"latency_p95_ms"`
	MeanMS          float64 `json:"ms_per_query"`
	// Reused is true when the cell had finished in an earlier run.
	Reused bool `json:"-"`
}

// Result is what a sweep did.
type Result struct {
	Keys []string // varied settings, the table's first columns
	Rows []Row    // in cell order
	// Jobs run now and reused from an earlier run.
	TrainRan, TrainReused int
	CellsRan, CellsReused int
	Files                 []string // table and plots written
}

// Run executes every cell of cfg that has not finished before, then writes
// the table (sweep.md, sweep.csv, sweep.parquet) and plots into opt.Out.
// Cancelling ctx stops at a safe point; running again finishes the rest.
func Run(ctx context.Context, cfg *Config, opt Options) (*Result, error) {
	cells, err := cfg.Expand()
	if err != nil {
		return nil, err
	}
	if opt.Out == "" {
		return nil, fmt.Errorf("sweep: an output directory is required")
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 1
	}
	if opt.Threads <= 0 {
		opt.Threads = runtime.NumCPU()
	}
	opt.Parallel = min(opt.Parallel, opt.Threads) // at most one job per core
	threads := opt.Threads / opt.Parallel
	runner := &stage.Runner{StampDir: filepath.Join(opt.Out, ".stages"), Log: opt.Log}
	res := &Result{Keys: cfg.VariedKeys()}
	var mu sync.Mutex // guards res and OnCell

	// Training jobs, one per distinct training config.
	ckpts := map[string]string{} // TrainID → checkpoint directory
	var jobs []func(context.Context) error
	for _, c := range cells {
		if c.Train == nil {
			continue
		}
		if _, ok := ckpts[c.TrainID]; ok {
			continue
		}
		tc := *c.Train
		tc.OutDir = filepath.Join(opt.Out, "train", c.TrainID)
		ckpt := (&train.Trainer{Cfg: tc}).CheckpointDir(tc.Steps)
		ckpts[c.TrainID] = ckpt
		key, err := tc.Encode()
		if err != nil {
			return nil, fmt.Errorf("sweep: %w", err)
		}
		st := stage.Stage{Name: "train-" + c.TrainID, Key: string(key),
			Outputs: []string{filepath.Join(ckpt, "config.json")},
			Run:     func(ctx context.Context) error { return trainJob(ctx, tc, threads, opt) }}
		jobs = append(jobs, func(ctx context.Context) error {
			r, err := runner.Run(ctx, st)
			if err != nil {
				return fmt.Errorf("sweep: %w", err)
			}
			mu.Lock()
			if r[0].Reused {
				res.TrainReused++
			} else {
				res.TrainRan++
			}
			mu.Unlock()
			return nil
		})
	}
	if err := pool(ctx, opt.Parallel, jobs); err != nil {
		return nil, err
	}

	// Evaluation cells, grouped by the index they share so that one index
	// is built once and never by two jobs at a time.
	groups := map[string][]Cell{}
	var order []string
	for _, c := range cells {
		ckptID := "given"
		if c.Train != nil {
			ckptID = c.TrainID
		}
		g := fmt.Sprintf("%s-nbits%d", ckptID, c.Eval.NBits)
		switch c.Eval.Codec {
		case evaluate.CodecResidual:
		case evaluate.CodecSparse:
			g = ckptID + "-sparse"
		default:
			g = ckptID + "-flat" // the flat codecs share the stored vectors
		}
		if c.Eval.Search == evaluate.SearchRerankBM25 && c.Eval.Codec == evaluate.CodecResidual {
			g = "rerank-" + c.ID // no index
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], c)
	}
	rows := make([]Row, len(cells))
	jobs = jobs[:0]
	for _, g := range order {
		group := groups[g]
		idxDir := filepath.Join(opt.Out, "indexes", g)
		jobs = append(jobs, func(ctx context.Context) error {
			for _, c := range group {
				if err := ctx.Err(); err != nil {
					return err
				}
				ckpt := cfg.Checkpoint
				if c.Train != nil {
					ckpt = ckpts[c.TrainID]
				}
				row, err := runCell(ctx, runner, cfg, c, ckpt, idxDir, threads, opt)
				if err != nil {
					return err
				}
				mu.Lock()
				rows[c.Index] = row
				if row.Reused {
					res.CellsReused++
				} else {
					res.CellsRan++
				}
				if opt.OnCell != nil {
					opt.OnCell(row)
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := pool(ctx, opt.Parallel, jobs); err != nil {
		return res, err
	}
	res.Rows = rows
	files, err := WriteReport(opt.Out, res.Keys, rows)
	if err != nil {
		return res, err
	}
	res.Files = files
	return res, nil
}

// trainJob trains one checkpoint, resuming an interrupted run.
func trainJob(ctx context.Context, tc train.Config, threads int, opt Options) error {
	_, err := train.Job(ctx, tc, train.JobOptions{Threads: threads, Resume: true, NewBar: opt.NewBar})
	return err
}

// runCell evaluates one cell as a stage whose output is its row.json.
func runCell(ctx context.Context, runner *stage.Runner, cfg *Config, c Cell, ckpt, idxDir string, threads int, opt Options) (Row, error) {
	dir := filepath.Join(opt.Out, "cells", c.ID)
	rowPath := filepath.Join(dir, "row.json")
	settings := make(map[string]string, len(c.Settings))
	for k, v := range c.Settings {
		settings[k] = FormatValue(v)
	}
	st := stage.Stage{Name: "cell-" + c.ID, Key: c.ID, Outputs: []string{rowPath},
		Run: func(ctx context.Context) error {
			eo := evaluate.Options{Checkpoint: ckpt, Dataset: cfg.Dataset, Split: cfg.Split, NBits: c.Eval.NBits,
				Codec: c.Eval.Codec, Search: c.Eval.Search, Params: c.Eval.Params(), RerankDepth: c.Eval.RerankDepth, Out: dir, IndexDir: idxDir, Reindex: true,
				Threads: threads, Seed: cfg.Seed, Name: fmt.Sprintf("cell %d", c.Index+1), Log: opt.Log, NewBar: opt.NewBar}
			sum, err := evaluate.Run(ctx, eo)
			if err != nil {
				return err
			}
			row := Row{Cell: c.Index + 1, ID: c.ID, Settings: settings, Checkpoint: ckpt, Eval: c.Eval, Mean: sum.Mean,
				IndexBytes: sum.IndexBytes, BytesPerToken: sum.BytesPerToken, BytesPerPassage: sum.BytesPerPassage,
				LatencyP50: sum.LatencyP50, LatencyP95: sum.LatencyP95, MeanMS: sum.MeanMS}
			b, err := json.MarshalIndent(row, "", "  ")
			if err != nil {
				return err
			}
			return report.WriteFile(rowPath, b)
		}}
	r, err := runner.Run(ctx, st)
	if err != nil {
		return Row{}, fmt.Errorf("sweep: cell %d: %w", c.Index+1, err)
	}
	b, err := os.ReadFile(rowPath)
	if err != nil {
		return Row{}, fmt.Errorf("sweep: cell %d: %w", c.Index+1, err)
	}
	var row Row
	if err := json.Unmarshal(b, &row); err != nil {
		return Row{}, fmt.Errorf("sweep: cell %d: %s: %w", c.Index+1, rowPath, err)
	}
	// The table shows the current file's labels even for a reused cell.
	row.Cell, row.Settings, row.Reused = c.Index+1, settings, r[0].Reused
	return row, nil
}

// pool runs jobs with at most n at a time; the first error cancels the rest.
func pool(ctx context.Context, n int, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan func(context.Context) error)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				if errs[w] != nil || ctx.Err() != nil {
					continue
				}
				if err := job(ctx); err != nil {
					errs[w] = err
					cancel()
				}
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	// A real failure beats the cancellations it caused.
	for _, e := range errs {
		if e != nil && !isCancel(e) {
			return e
		}
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return ctx.Err()
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
