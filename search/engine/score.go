package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/decode"
	"github.com/colbert-go/colbert/search/maxsim"
)

// Score encodes query and scores the passages pids of the index by exact
// MaxSim (each decompressed in full, as PLAID's last stage does), returning
// one hit per pid, best first (ties by smaller pid): a rerank of given
// passages. A pid out of range or deleted is an error naming it.
func (e *Engine) Score(ctx context.Context, query string, pids []int) ([]search.Hit, error) {
	if err := e.denseOnly("score"); err != nil {
		return nil, err
	}
	n := e.store.NumPassages()
	for _, pid := range pids {
		if pid < 0 || pid >= n {
			return nil, fmt.Errorf("engine: score: pid %d out of range [0,%d)", pid, n)
		}
		if e.deleted != nil && e.deleted(pid) {
			return nil, fmt.Errorf("engine: score: pid %d (%s) is deleted", pid, e.id(pid))
		}
	}
	if e.model != nil && e.model.Kind == model.KindPolyEncoder {
		qv, err := e.enc.EncodeQueries(ctx, []data.Query{{ID: "query", Text: query}})
		if err != nil {
			return nil, err
		}
		hits, err := e.searcher.Rescore(qv[0], e.enc.Dim(), pids, max(1, len(pids)), true)
		if err != nil {
			return nil, fmt.Errorf("engine: score: %w", err)
		}
		return hits, nil
	}
	q, err := e.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	scores := make([]float32, len(pids))
	if err := search.ScorePassages(e.decoded(), q, pids, scores); err != nil {
		return nil, fmt.Errorf("engine: score: %w", err)
	}
	hits := make([]search.Hit, len(pids))
	for i, pid := range pids {
		hits[i] = search.Hit{PID: pid, Score: scores[i]}
	}
	sortHits(hits)
	return hits, nil
}

// ScoreTexts encodes query and texts (as passages of an index are encoded)
// and scores each text by exact MaxSim, returning one hit per text, best
// first (ties by earlier text); a hit's PID is the text's position in texts.
func (e *Engine) ScoreTexts(ctx context.Context, query string, texts []string) ([]search.Hit, error) {
	if err := e.denseOnly("score texts"); err != nil {
		return nil, err
	}
	if e.model != nil && e.model.Kind == model.KindPolyEncoder {
		return nil, fmt.Errorf("engine: score texts: %w: a poly-encoder scores stored passages (ids), not texts", ErrUnsupported)
	}
	q, err := e.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	docs, err := e.enc.EncodePassages(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("engine: score texts: %w", err)
	}
	if len(docs) != len(texts) {
		return nil, fmt.Errorf("engine: score texts: %d passage matrices for %d texts", len(docs), len(texts))
	}
	hits := make([]search.Hit, len(texts))
	for i, d := range docs {
		if len(d)%q.Dim() != 0 {
			return nil, fmt.Errorf("engine: score texts: text %d has %d values, not a multiple of dim %d", i, len(d), q.Dim())
		}
		hits[i] = search.Hit{PID: i, Score: q.Score(d)}
	}
	sortHits(hits)
	return hits, nil
}

// ErrUnsupported is returned for an operation the engine's model kind or
// index cannot do (rescoring stored vectors of a SPLADE index, scoring
// texts with a poly-encoder); a server answers it with 400.
var ErrUnsupported = errors.New("not supported by this model kind")

// denseOnly refuses what scores stored dense vectors on a SPLADE engine.
func (e *Engine) denseOnly(what string) error {
	if e.sparse != nil {
		return fmt.Errorf("engine: %s: %w: a splade index holds term impacts, not vectors to rescore; search it", what, ErrUnsupported)
	}
	return nil
}

// decoded is the engine's store reconstructing vectors as PLAID's last
// stage does (search/decode's SIMD decoder for a residual index), so that
// Score gives the scores Search gives; other stores as they are.
func (e *Engine) decoded() search.Passages {
	r, ok := e.store.(search.ResidualIndex)
	if !ok || r.Codec() == nil {
		return e.store
	}
	ix, ok := e.store.(search.Index)
	if !ok {
		return e.store
	}
	d, err := decode.New(r.Codec())
	if err != nil || d.Dim() != ix.Dim() {
		return e.store // the searcher refused this codec too: it decompresses through the store
	}
	return decodedStore{Index: ix, res: r, dec: d}
}

// decodedStore decompresses with a decode.Decoder.
type decodedStore struct {
	search.Index
	res search.ResidualIndex
	dec *decode.Decoder
}

func (s decodedStore) Decompress(pid int, dst []float32) ([]float32, error) {
	return s.dec.Decode(s.Codes(pid), s.res.Residuals(pid), dst)
}

// prepare encodes one query text for exact scoring.
func (e *Engine) prepare(ctx context.Context, query string) (*maxsim.Query, error) {
	qv, err := e.enc.EncodeQueries(ctx, []data.Query{{ID: "query", Text: query}})
	if err != nil {
		return nil, err
	}
	dim := e.enc.Dim()
	if len(qv) != 1 || len(qv[0]) == 0 || len(qv[0])%dim != 0 {
		return nil, fmt.Errorf("engine: the encoder returned a malformed query matrix (dim %d)", dim)
	}
	return maxsim.NewQuery(qv[0], len(qv[0])/dim, dim)
}

// sortHits orders hits best first, ties by smaller pid (the searcher's
// order).
func sortHits(hits []search.Hit) {
	slices.SortFunc(hits, func(a, b search.Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.PID, b.PID)
	})
}
