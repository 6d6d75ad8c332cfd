package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/onnx"
)

// ColBERTOptions configures a ColBERT encoder on ONNX Runtime.
type ColBERTOptions struct {
	// Threads is the number of cores to use (0 = GOMAXPROCS): that many
	// batches run at once, each on one ORT thread, as the Go encoder runs
	// its batches (it keeps both cores busy on a machine shared with other
	// work, where ORT's own spinning thread pool loses).
	Threads int
	// BatchTokens bounds the padded tokens of one Run (0 = 2048).
	BatchTokens int
	// TempDir holds the exported ONNX model while the session loads it
	// ("" = os.TempDir()); the file is removed once the session is open.
	TempDir string
}

func (o ColBERTOptions) threads() int {
	if o.Threads > 0 {
		return o.Threads
	}
	return runtime.GOMAXPROCS(0)
}

func (o ColBERTOptions) batchTokens() int {
	if o.BatchTokens > 0 {
		return o.BatchTokens
	}
	return 2048
}

// ColBERT encodes ColBERT queries and documents with ONNX Runtime: the
// checkpoint is exported to ONNX (model/onnx, kind colbert: BERT → linear →
// L2 normalisation, as HF_ColBERT), and inputs are grouped by length into
// padded batches that waste few positions. Its methods match
// *encode.ColBERT's, so model/colbert can use either.
type ColBERT struct {
	enc *Encoder
	opt ColBERTOptions
}

// NewColBERT exports ck (a ColBERT checkpoint) to a temporary ONNX file and
// opens it. It takes ck's parameters: ck.Params is nil afterwards, so that
// the process holds one copy of the weights (ORT's) rather than two.
func (r *Runtime) NewColBERT(ck *model.Checkpoint, opt ColBERTOptions) (*ColBERT, error) {
	if ck.Kind != "" && ck.Kind != model.KindColBERT {
		return nil, fmt.Errorf("ort: checkpoint %s is a %s model, not ColBERT", ck.Dir, ck.Kind)
	}
	dir, err := os.MkdirTemp(opt.TempDir, "colbert-onnx-*")
	if err != nil {
		return nil, fmt.Errorf("ort: temporary directory for the ONNX export: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "colbert.onnx")
	if err := onnx.WriteFile(path, ck.Config, ck.Params, onnx.ColBERT); err != nil {
		return nil, fmt.Errorf("ort: export %s to ONNX: %w", ck.Dir, err)
	}
	// The export's buffers and the parameters are garbage now (unless the
	// caller keeps them elsewhere); hand them back before ORT loads its own
	// copy of the weights (peak memory of `colbert index`).
	ck.Params = nil
	debug.FreeOSMemory()
	e, err := r.NewEncoder(path, Options{IntraOpThreads: 1})
	if err != nil {
		return nil, err
	}
	return &ColBERT{enc: e, opt: opt}, nil
}

// Dim is the vector size.
func (c *ColBERT) Dim() int { return c.enc.Dim() }

// Close frees the session.
func (c *ColBERT) Close() error { return c.enc.Close() }

// span is one padded Run: sequences idx, each padded (or cut) to n positions.
type span struct {
	idx []int
	n   int
}

// groups orders sequences by length and cuts them into runs of at most
// budget padded tokens, starting a new run when padding would exceed an
// eighth of it.
func groups(lens []int, budget int) []span {
	order := make([]int, len(lens))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lens[order[a]] > lens[order[b]] })
	var out []span
	for i := 0; i < len(order); {
		n := lens[order[i]]
		j, real := i, 0
		for j < len(order) && (j == i || (j-i+1)*n <= budget && 8*((j-i+1)*n-real-lens[order[j]]) <= (j-i+1)*n) {
			real += lens[order[j]]
			j++
		}
		out = append(out, span{idx: order[i:j], n: n})
		i = j
	}
	return out
}

// runAll encodes every span on opt.Threads goroutines; fn receives a
// span's vectors [len(sp.idx), sp.n, dim]. It stops at the first error.
func (c *ColBERT) runAll(ctx context.Context, spans []span, build func(span) Batch, fn func(span, []float32) error) error {
	work := make(chan span)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(c.opt.threads(), len(spans)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sp := range work {
				v, err := c.enc.Encode(build(sp))
				if err == nil {
					err = fn(sp, v)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for _, sp := range spans {
		select {
		case work <- sp:
		case <-cctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// EncodeQueries returns all Len vectors of every query, [N, Len, dim]
// row-major, as encode.ColBERT.EncodeQueries.
func (c *ColBERT) EncodeQueries(ctx context.Context, b encode.Batch) ([]float32, error) {
	n := b.N * b.Len
	if b.N < 0 || b.Len <= 0 || len(b.IDs) != n || len(b.AttentionMask) != n || b.TokenTypeIDs != nil && len(b.TokenTypeIDs) != n {
		return nil, fmt.Errorf("ort: query batch %d×%d has %d ids, %d mask values, %d token types", b.N, b.Len, len(b.IDs), len(b.AttentionMask), len(b.TokenTypeIDs))
	}
	dim := c.Dim()
	out := make([]float32, n*dim)
	lens := make([]int, b.N)
	for i := range lens {
		lens[i] = b.Len
	}
	build := func(sp span) Batch {
		rb := Batch{N: len(sp.idx), Len: b.Len}
		for _, i := range sp.idx {
			rb.IDs = append(rb.IDs, b.IDs[i*b.Len:(i+1)*b.Len]...)
			rb.AttentionMask = append(rb.AttentionMask, b.AttentionMask[i*b.Len:(i+1)*b.Len]...)
			if b.TokenTypeIDs != nil {
				rb.TokenTypeIDs = append(rb.TokenTypeIDs, b.TokenTypeIDs[i*b.Len:(i+1)*b.Len]...)
			}
		}
		return rb
	}
	err := c.runAll(ctx, groups(lens, c.budget(b.N*b.Len)), build, func(sp span, v []float32) error {
		for k, i := range sp.idx {
			copy(out[i*b.Len*dim:(i+1)*b.Len*dim], v[k*b.Len*dim:(k+1)*b.Len*dim])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// budget keeps every worker busy on small inputs: at most the configured
// batch tokens, at least one sequence, and about total/threads.
func (c *ColBERT) budget(total int) int {
	return max(1, min(c.opt.batchTokens(), (total+c.opt.threads()-1)/c.opt.threads()))
}

// EncodeDocIDs encodes unpadded documents with their vector masks (as
// tokenize.ColBERT.PackDoc returns them) and returns the kept vectors, as
// encode.ColBERT.EncodeDocIDs.
func (c *ColBERT) EncodeDocIDs(ctx context.Context, ids, vecMasks [][]int32) (*encode.DocVectors, error) {
	if len(ids) != len(vecMasks) {
		return nil, fmt.Errorf("ort: %d documents but %d vector masks", len(ids), len(vecMasks))
	}
	dim := c.Dim()
	dv := &encode.DocVectors{Dim: dim, Offsets: make([]int, len(ids)+1)}
	lens := make([]int, len(ids))
	total := 0
	for i := range ids {
		if len(vecMasks[i]) != len(ids[i]) {
			return nil, fmt.Errorf("ort: document %d has %d ids but %d vector mask values", i, len(ids[i]), len(vecMasks[i]))
		}
		if len(ids[i]) == 0 {
			return nil, fmt.Errorf("ort: document %d is empty", i)
		}
		kept := 0
		for _, m := range vecMasks[i] {
			if m != 0 {
				kept++
			}
		}
		dv.Offsets[i+1] = dv.Offsets[i] + kept
		lens[i] = len(ids[i])
		total += lens[i]
	}
	dv.Vectors = make([]float32, dv.Offsets[len(ids)]*dim)
	build := func(sp span) Batch {
		rb := Batch{N: len(sp.idx), Len: sp.n, IDs: make([]int32, len(sp.idx)*sp.n), AttentionMask: make([]int32, len(sp.idx)*sp.n)}
		for k, i := range sp.idx {
			copy(rb.IDs[k*sp.n:], ids[i])
			for j := range ids[i] {
				rb.AttentionMask[k*sp.n+j] = 1
			}
		}
		return rb
	}
	err := c.runAll(ctx, groups(lens, c.budget(total)), build, func(sp span, v []float32) error {
		for k, i := range sp.idx {
			dst := dv.Offsets[i] * dim
			for j, m := range vecMasks[i] {
				if m != 0 {
					copy(dv.Vectors[dst:dst+dim], v[(k*sp.n+j)*dim:(k*sp.n+j+1)*dim])
					dst += dim
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dv, nil
}
