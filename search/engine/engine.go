// Package engine is the one path from query text to a run: it owns a ColBERT
// encoder (model/colbert), one opened index (the residual index of
// codec/index, searched with PLAID or exhaustively, or a flat fp32 / fp16 /
// PCA+int8 index of codec/flat, searched exhaustively), the pid → passage
// id mapping and the index's lifetime. `colbert search`, `evaluate`,
// `sweep`, `demo` and `serve` all ask it; it also builds the indexes it
// opens (Build), so that indexing and querying use the same encoder key.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/codec/metadb"
	"github.com/colbert-go/colbert/codec/sparse"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search"
)

// ErrCheckpointMismatch is returned when an index was built by another
// encoder (weights, config or tokenizer) than the one opening it.
var ErrCheckpointMismatch = errors.New("engine: index was built with a different checkpoint")

// CodecResidual names ColBERTv2's residual index (codec/index), the one
// PLAID searches; the flat codecs are flat.Codecs.
const CodecResidual = "residual"

// OpenOptions configure Open.
type OpenOptions struct {
	// Codec is CodecResidual ("" too) or a flat codec (flat.CodecFP32,
	// flat.CodecFP16, flat.CodecPCAInt8) applied to a flat index.
	Codec string
	// PCAComponents of flat.CodecPCAInt8 (0 = dim/4).
	PCAComponents int
	// DecodeOnce decodes a flat index's vectors once at open instead of
	// per passage scored (see flat.OpenOptions).
	DecodeOnce bool
	// SkipVerify skips the residual index's checksum pass.
	SkipVerify bool
}

// Stats describe the opened index: what a run's report states of it.
type Stats struct {
	Codec    string
	Passages int // searchable (live) passages
	// Generation is the residual index's generation (it grows with every
	// append and delete); 0 for a flat index.
	Generation    int
	Tokens        int64 // stored vectors
	Bytes         int64 // the index's size in its codec
	BytesPerToken float64
	// BytesPerPassage is Bytes over the live passages.
	BytesPerPassage float64
	// OpenSeconds is the time Open took (a flat index encodes its vectors
	// with the codec then).
	OpenSeconds float64
}

// Encoder is what an engine needs of a ColBERT encoder: query matrices
// (QueryLen×Dim each; a query without tokens is refused with an error
// wrapping colbert.ErrNoTokens, as *colbert.Model does) and passage
// matrices for texts given at query time (rerank). Open wraps a
// *colbert.Model; New takes any.
type Encoder interface {
	Dim() int
	EncodeQueries(ctx context.Context, qs []data.Query) ([][]float32, error)
	EncodePassages(ctx context.Context, texts []string) ([][]float32, error)
}

// modelEncoder is a *colbert.Model as an Encoder.
type modelEncoder struct{ *colbert.Model }

// EncodePassages tokenises and encodes texts as passages of an index are.
func (m modelEncoder) EncodePassages(ctx context.Context, texts []string) ([][]float32, error) {
	ps := make([]data.Passage, len(texts))
	for i, t := range texts {
		ps[i] = data.Passage{ID: strconv.Itoa(i), Text: t}
	}
	src, err := colbert.NewSource(ctx, m.Model, ps, colbert.SourceOptions{Threads: 1})
	if err != nil {
		return nil, err
	}
	return src.Embed(ctx, 0, len(texts))
}

// Engine answers queries with one encoder over one index. Safe for
// concurrent Search calls; Close after the last.
type Engine struct {
	model    *colbert.Model // nil for an engine from New
	enc      Encoder
	store    search.Passages
	searcher *search.Searcher
	sparse   *sparse.Index // a SPLADE model's index (store and searcher nil)
	plaid    bool
	id       func(pid int) string
	pid      func(id string) (int, bool)
	deleted  func(pid int) bool
	close    func() error
	stats    Stats
	meta     *metadb.DB // the index's metadata database, or nil
	filters  filterCache
	// dir and opt reopen the index (Reopen); dir is "" for New's engines.
	dir string
	opt OpenOptions
}

// Open opens the index in dir for queries encoded by m. A residual index
// built by another encoder (ErrCheckpointMismatch) or with another
// dimension (search.ErrDimMismatch) is refused with an error naming both
// sides; one without a recorded encoder is accepted when the dimension
// matches.
func Open(m *colbert.Model, dir string, opt OpenOptions) (*Engine, error) {
	start := time.Now()
	var e *Engine
	var err error
	switch {
	case m.IsSparse():
		if opt.Codec != "" && opt.Codec != CodecSparse {
			return nil, fmt.Errorf("engine: %s is a splade model: its index is codec %s, not %s", m.Dir, CodecSparse, opt.Codec)
		}
		e, err = openSparse(m, dir, opt)
	case opt.Codec == "" && isFlat(dir):
		opt.Codec = flat.CodecFP32 // a flat index opened as stored
		e, err = openFlat(m, dir, opt)
	case (opt.Codec == "" || opt.Codec == CodecResidual) && !m.UnitVectors():
		return nil, errNotUnit(m)
	case opt.Codec == "" || opt.Codec == CodecResidual:
		e, err = openResidual(m, dir, opt)
	default:
		e, err = openFlat(m, dir, opt)
	}
	if err != nil {
		return nil, err
	}
	if e.stats.Passages > 0 {
		e.stats.BytesPerPassage = float64(e.stats.Bytes) / float64(e.stats.Passages)
	}
	e.stats.OpenSeconds = time.Since(start).Seconds()
	e.enc, e.dir, e.opt = modelEncoder{m}, dir, opt
	return e, nil
}

// isFlat reports whether dir holds a flat index (its vectors file, no
// manifest).
func isFlat(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, flat.VectorsFile))
	return err == nil
}

// Reopen opens the engine's index directory again with the same encoder
// and options: the index's current generation, after `colbert index
// append` or `delete`. The receiver stays open; the caller closes it.
func (e *Engine) Reopen() (*Engine, error) {
	if e.dir == "" || e.model == nil {
		return nil, errors.New("engine: Reopen: this engine was not opened from a directory")
	}
	return Open(e.model, e.dir, e.opt)
}

// Dir is the index directory ("" for an engine from New).
func (e *Engine) Dir() string { return e.dir }

// Parts are what New assembles an engine from.
type Parts struct {
	// Encoder encodes queries (and texts to rerank).
	Encoder Encoder
	// Store holds the passages; a search.Index is searched with PLAID,
	// other stores exhaustively only. A store that is a search.Tombstoner
	// has its deleted passages skipped.
	Store search.Passages
	// ID maps a pid to its passage id (default: the decimal pid); PID
	// maps a live passage id back (default: the inverse of ID over the
	// live pids).
	ID  func(pid int) string
	PID func(id string) (int, bool)
	// Generation is reported by Stats.
	Generation int
	// Metadata is the path of a metadata database (codec/metadb, keyed by
	// the store's pids) for Filter conditions; "" for none.
	Metadata string
	// Close releases the store (default: nothing to release).
	Close func() error
}

// New assembles an engine from an encoder and a store in memory: the
// engine of tests and of programs that keep their own index. Its Model is
// nil and it cannot Reopen.
func New(p Parts) (*Engine, error) {
	if p.Encoder == nil || p.Store == nil {
		return nil, errors.New("engine: New needs an Encoder and a Store")
	}
	if p.Encoder.Dim() != p.Store.Dim() {
		return nil, fmt.Errorf("%w: the encoder makes %d dimensions, the store holds %d", search.ErrDimMismatch, p.Encoder.Dim(), p.Store.Dim())
	}
	s, err := search.NewSearcher(p.Store)
	if err != nil {
		return nil, err
	}
	e := &Engine{enc: p.Encoder, store: p.Store, searcher: s, id: p.ID, pid: p.PID, close: p.Close}
	_, e.plaid = p.Store.(search.Index)
	if t, ok := p.Store.(search.Tombstoner); ok {
		e.deleted = t.Deleted
	}
	if e.id == nil {
		e.id = strconv.Itoa
	}
	if e.close == nil {
		e.close = func() error { return nil }
	}
	if p.Metadata != "" {
		if e.meta, err = metadb.Open(p.Metadata); err != nil {
			return nil, err
		}
		closeStore := e.close
		e.close = func() error { return errors.Join(e.meta.Close(), closeStore()) }
	}
	n := p.Store.NumPassages()
	live := n
	for pid := 0; e.deleted != nil && pid < n; pid++ {
		if e.deleted(pid) {
			live--
		}
	}
	if e.pid == nil {
		e.pid = lookupIDs(n, e.id, e.deleted)
	}
	e.stats = Stats{Codec: "memory", Passages: live, Generation: p.Generation}
	return e, nil
}

// lookupIDs is the id → pid map of the live pids of a store of n passages.
func lookupIDs(n int, id func(int) string, deleted func(int) bool) func(string) (int, bool) {
	m := make(map[string]int, n)
	for pid := 0; pid < n; pid++ {
		if deleted == nil || !deleted(pid) {
			m[id(pid)] = pid
		}
	}
	return func(s string) (int, bool) {
		pid, ok := m[s]
		return pid, ok
	}
}

func openResidual(m *colbert.Model, dir string, opt OpenOptions) (*Engine, error) {
	ix, err := index.Open(dir, index.OpenOptions{SkipVerify: opt.SkipVerify})
	if err != nil {
		return nil, err
	}
	mf := ix.Manifest()
	switch {
	case ix.Dim() != m.Dim():
		err = fmt.Errorf("%w: index %s holds %d-dimensional vectors (checkpoint %s), the checkpoint %s encodes %d dimensions",
			search.ErrDimMismatch, dir, ix.Dim(), short(mf.Checkpoint), m.Dir, m.Dim())
	case mf.Checkpoint != "" && !m.Matches(mf.Checkpoint):
		err = fmt.Errorf("%w: index %s was built with encoder %s, but %s with tokenizer %s is %s (weights %s): the weights, config or tokenizer differ",
			ErrCheckpointMismatch, dir, short(mf.Checkpoint), m.Dir, m.Tok.Tokenizer().Source(), short(m.Key), short(m.Hash))
	}
	if err != nil {
		ix.Close()
		return nil, err
	}
	s, err := search.NewSearcher(ix)
	if err != nil {
		ix.Close()
		return nil, err
	}
	st, err := index.Stat(dir) // the one size: every file of the directory
	if err != nil {
		ix.Close()
		return nil, err
	}
	var meta *metadb.DB
	closeAll := ix.Close
	if p := ix.MetadataPath(); p != "" {
		if meta, err = metadb.Open(p); err != nil {
			ix.Close()
			return nil, err
		}
		closeAll = func() error { return errors.Join(meta.Close(), ix.Close()) }
	}
	return &Engine{model: m, store: ix, searcher: s, plaid: true, id: ix.PassageID, pid: ix.PID, deleted: ix.Deleted, close: closeAll, meta: meta,
		stats: Stats{Codec: CodecResidual, Passages: ix.NumLive(), Generation: mf.Generation, Tokens: st.Manifest.NumEmbeddings,
			Bytes: st.TotalBytes, BytesPerToken: st.BytesPerToken}}, nil
}

func openFlat(m *colbert.Model, dir string, opt OpenOptions) (*Engine, error) {
	fx, err := flat.Open(dir, m.Key, m.Dim(), opt.Codec, flat.OpenOptions{PCAComponents: opt.PCAComponents, DecodeOnce: opt.DecodeOnce})
	if err != nil {
		return nil, err
	}
	s, err := search.NewSearcher(fx)
	if err != nil {
		return nil, err
	}
	return &Engine{model: m, store: fx, searcher: s, id: fx.PassageID, pid: lookupIDs(fx.NumPassages(), fx.PassageID, nil), close: func() error { return nil },
		stats: Stats{Codec: opt.Codec, Passages: fx.NumPassages(), Tokens: int64(fx.NumTokens()), Bytes: fx.Bytes(),
			BytesPerToken: float64(fx.Bytes()) / float64(max(1, fx.NumTokens()))}}, nil
}

// short abbreviates a hash for messages.
func short(h string) string {
	if h == "" {
		return "(none recorded)"
	}
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// Model is the engine's checkpoint (nil for an engine from New).
func (e *Engine) Model() *colbert.Model { return e.model }

// Dim is the dimension of the encoder's vectors.
func (e *Engine) Dim() int { return e.enc.Dim() }

// Stats describe the opened index.
func (e *Engine) Stats() Stats { return e.stats }

// CanPLAID reports whether the index has centroids (a residual index).
func (e *Engine) CanPLAID() bool { return e.plaid }

// PassageID is the id of pid.
func (e *Engine) PassageID(pid int) string { return e.id(pid) }

// PID is the pid of the live passage with the given id; false for an id
// the index does not hold or has deleted. Pids are stable: appends give
// new passages new pids and deletes keep the pids of the others.
func (e *Engine) PID(id string) (int, bool) { return e.pid(id) }

// Searcher is the searcher over the index, for callers that score encoded
// queries themselves (the search service).
func (e *Engine) Searcher() *search.Searcher { return e.searcher }

// Close releases the index.
func (e *Engine) Close() error { return e.close() }

// SearchOptions configure one Search call.
type SearchOptions struct {
	// Exhaustive scores every passage exactly instead of PLAID (the only
	// search of a flat index).
	Exhaustive bool
	// Threads is the number of queries in flight (0 = GOMAXPROCS).
	Threads int
	// Bar advances by one per query searched; nil is silent.
	Bar *progress.Bar
	// Filter restricts every query to the passages it selects (see
	// Engine.Filter); the zero Filter selects all.
	Filter Filter
}

// Results are a Search's run and its timings.
type Results struct {
	Run data.Run
	// PerQuery holds each query's hits (pids), PLAID trace and latency,
	// in query order.
	PerQuery []search.Result
	// Encode is the time spent encoding the queries, Search the wall
	// time of searching them all.
	Encode, Search time.Duration
	// Params are the PLAID parameters used (resolved for K); nil for an
	// exhaustive search.
	Params *search.Params
	// Filter is the set SearchOptions.Filter allowed (nil without one),
	// FilterTime the time taken to evaluate it (once for all queries).
	Filter     *search.Filter
	FilterTime time.Duration
	// UnknownIDs are the filter's ids the index does not hold, left out
	// under Filter.SkipUnknownIDs.
	UnknownIDs []string
}

// Search encodes qs and retrieves the top p.K passages of each, PLAID with
// p (defaults for p.K filled in) or exhaustively, into a run keyed by query
// and passage id.
func (e *Engine) Search(ctx context.Context, qs []data.Query, p search.Params, opt SearchOptions) (*Results, error) {
	if e.sparse != nil {
		return e.searchSparse(ctx, qs, p, opt)
	}
	poly := e.model != nil && e.model.Kind == model.KindPolyEncoder
	if e.model != nil && !e.model.UnitVectors() {
		// The poly-encoder (search/poly.go: no centroid pruning for its
		// score) and the bi-encoder live in flat indexes: exhaustive only.
		opt.Exhaustive = true
	}
	if !opt.Exhaustive && !e.plaid {
		return nil, fmt.Errorf("engine: %w", search.ErrNoCentroids)
	}
	if e.model != nil {
		p = p.ForQueryVectors(e.model.QueryLen())
	}
	p, err := p.Resolve()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var unknown []string
	if p.Filter, unknown, err = e.filter(ctx, opt.Filter); err != nil {
		return nil, err
	}
	filterTime := time.Since(start)
	start = time.Now()
	qv, err := e.enc.EncodeQueries(ctx, qs)
	if err != nil {
		return nil, err
	}
	out := &Results{Encode: time.Since(start), Filter: p.Filter, FilterTime: filterTime, UnknownIDs: unknown}
	start = time.Now()
	res, err := e.searcher.SearchBatch(ctx, qv, e.enc.Dim(), p, search.BatchOptions{Threads: opt.Threads, Exhaustive: opt.Exhaustive, Poly: poly, Bar: opt.Bar})
	if err != nil {
		return nil, err
	}
	out.Search, out.PerQuery = time.Since(start), res
	for i := range res { // the queries were encoded together: each gets its share
		res[i].Trace.Time.Encode = out.Encode / time.Duration(len(res))
	}
	if !opt.Exhaustive {
		out.Params = &p
	}
	out.Run = make(data.Run, len(qs))
	for i, q := range qs {
		out.Run[q.ID] = e.Docs(res[i].Hits)
	}
	return out, nil
}

// Docs turns hits of this engine's searcher into a run's scored passages:
// the one place where pids become passage ids.
func (e *Engine) Docs(hits []search.Hit) []data.ScoredDoc {
	docs := make([]data.ScoredDoc, len(hits))
	for j, h := range hits {
		docs[j] = data.ScoredDoc{DocID: e.id(h.PID), Score: float64(h.Score)}
	}
	return docs
}
