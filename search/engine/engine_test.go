package engine_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

const nDocs = 240

func setup(t testing.TB) (*colbert.Model, []data.Passage, []data.Query) {
	t.Helper()
	ckdir := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	m, err := colbert.Load(ckdir, "", encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return m, ps[:nDocs], qs[:20]
}

// cancelAfter cancels the build's context after n Embed calls (a killed
// build), forwarding both Source and Picker so the call pattern is unchanged.
type cancelAfter struct {
	*memo
	n      int32
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelAfter) Embed(ctx context.Context, lo, hi int) ([][]float32, error) {
	if c.calls.Add(1) > c.n && c.n > 0 {
		c.cancel()
		return nil, context.Canceled
	}
	return c.memo.Embed(ctx, lo, hi)
}

// memo encodes each passage once for all the builds of a test (the encoder is
// deterministic; the test is about the index, and CPU is scarce).
type memo struct {
	src  *colbert.Source
	mu   sync.Mutex
	vecs map[int][]float32
}

func (m *memo) Len() int        { return m.src.Len() }
func (m *memo) ID(i int) string { return m.src.ID(i) }
func (m *memo) Embed(ctx context.Context, lo, hi int) ([][]float32, error) {
	pids := make([]int, hi-lo)
	for i := range pids {
		pids[i] = lo + i
	}
	return m.EmbedPIDs(ctx, pids)
}

func (m *memo) EmbedPIDs(ctx context.Context, pids []int) ([][]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var miss []int
	for _, p := range pids {
		if m.vecs[p] == nil {
			miss = append(miss, p)
		}
	}
	if len(miss) > 0 {
		e, err := m.src.EmbedPIDs(ctx, miss)
		if err != nil {
			return nil, err
		}
		for i, p := range miss {
			m.vecs[p] = slices.Clone(e[i])
		}
	}
	out := make([][]float32, len(pids))
	for i, p := range pids {
		out[i] = m.vecs[p]
	}
	return out, nil
}

func buildOpts(hash string, dim int) index.BuildOptions {
	return index.BuildOptions{Dim: dim, NBits: 2, Checkpoint: hash, NumCentroids: 256, KMeansIters: 4,
		SamplePassages: 60, ChunkSize: 80, EmbedBatch: 40, Threads: 2, Seed: 7}
}

// TestBuildResumeSearch builds a 300-passage Cranfield index with the hf-tiny
// checkpoint, once straight through and once killed mid-way and resumed
// (same bytes, fewer passages encoded); then PLAID with generous parameters
// returns exactly the exhaustive top 10.
func TestBuildResumeSearch(t *testing.T) {
	m, ps, qs := setup(t)
	ctx := context.Background()
	dir := t.TempDir()
	src, err := colbert.NewSource(ctx, m, ps, colbert.SourceOptions{CachePath: filepath.Join(dir, "ids.cache"), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != nDocs || src.ID(17) != ps[17].ID {
		t.Fatalf("source: %d passages, id 17 %q", src.Len(), src.ID(17))
	}
	// The id cache gives the same tokens back.
	src2, err := colbert.NewSource(ctx, m, ps, colbert.SourceOptions{CachePath: filepath.Join(dir, "ids.cache"), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	e1, _ := src.Embed(ctx, 40, 42)
	e2, _ := src2.EmbedPIDs(ctx, []int{40, 41})
	if len(e1) != 2 || !slices.Equal(e1[1], e2[1]) || len(e1[0]) == 0 || len(e1[0])%m.Dim() != 0 {
		t.Fatalf("Embed and EmbedPIDs (cached ids) differ or are empty")
	}

	opt := buildOpts(m.Hash, m.Dim())
	full := filepath.Join(dir, "full")
	mem := &memo{src: src, vecs: map[int][]float32{}}
	mf, err := index.Build(ctx, full, mem, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mf.Checkpoint != m.Hash || mf.NumPassages != nDocs || mf.NumEmbeddings != src.NumTokens() {
		t.Fatalf("manifest: checkpoint %q passages %d embeddings %d (source has %d tokens)",
			mf.Checkpoint, mf.NumPassages, mf.NumEmbeddings, src.NumTokens())
	}

	// Killed during the second chunk (after 3 batches of 40), then resumed.
	res := filepath.Join(dir, "resumed")
	cctx, cancel := context.WithCancel(ctx)
	killed := &cancelAfter{memo: mem, n: 3, cancel: cancel}
	if _, err := index.Build(cctx, res, killed, opt, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted build: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(res); !os.IsNotExist(err) {
		t.Fatalf("interrupted build left %s: %v", res, err)
	}
	counted := &cancelAfter{memo: mem, cancel: func() {}}
	if _, err := index.Build(ctx, res, counted, opt, nil); err != nil {
		t.Fatal(err)
	}
	if c := counted.calls.Load(); c != 4 { // chunks 2 and 3, two batches each
		t.Errorf("resumed build made %d Embed calls, want 4 (chunk 1 kept)", c)
	}
	names, _ := os.ReadDir(full)
	for _, e := range names {
		a, _ := os.ReadFile(filepath.Join(full, e.Name()))
		b, err := os.ReadFile(filepath.Join(res, e.Name()))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the straight and the resumed build (%v)", e.Name(), err)
		}
	}

	// Search: PLAID probing every centroid without pruning = exhaustive.
	e, err := engine.Open(m, full, engine.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.Searcher()
	for i := 0; i < nDocs; i += 37 {
		if e.PassageID(i) != ps[i].ID {
			t.Fatalf("pid %d is %q, want %q", i, e.PassageID(i), ps[i].ID)
		}
	}
	qv, err := m.EncodeQueries(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	gen := search.Params{K: 10, NCells: mf.NumCentroids, NDocs: 4 * nDocs, NoPrune: true}
	for i, q := range qv {
		if len(q) != m.QueryLen()*m.Dim() {
			t.Fatalf("query %d: %d values", i, len(q))
		}
		ex, err := s.Exhaustive(q, m.Dim(), 10)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := s.Search(q, m.Dim(), gen)
		if err != nil {
			t.Fatal(err)
		}
		if len(ex) != 10 || !slices.Equal(ex, pl) {
			t.Fatalf("query %s: PLAID %v, exhaustive %v", qs[i].ID, pl, ex)
		}
	}
	// Engine.Search gives the same ranking as the searcher, keyed by id.
	r, err := e.Search(ctx, qs[:3], search.Params{K: 10}, engine.SearchOptions{Exhaustive: true, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range qs[:3] {
		ex, _ := s.Exhaustive(qv[i], m.Dim(), 10)
		got := r.Run[q.ID]
		if len(got) != len(ex) {
			t.Fatalf("query %s: engine %d hits, searcher %d", q.ID, len(got), len(ex))
		}
		for j, h := range ex {
			// Queries are encoded in another batch here: equal up to rounding.
			if got[j].DocID != ps[h.PID].ID || math.Abs(got[j].Score-float64(h.Score)) > 1e-4 {
				t.Fatalf("query %s hit %d: engine %v, searcher %v", q.ID, j, got[j], h)
			}
		}
	}
}
