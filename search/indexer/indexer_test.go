package indexer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/indexer"
)

const nDocs = 240

func setup(t testing.TB) (*indexer.Model, []data.Passage, []data.Query) {
	t.Helper()
	ckdir := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	m, err := indexer.Load(ckdir, "", encode.Options{Threads: 2})
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
	src  *indexer.Source
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
	src, err := indexer.NewSource(ctx, m, ps, indexer.SourceOptions{CachePath: filepath.Join(dir, "ids.cache"), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != nDocs || src.ID(17) != ps[17].ID {
		t.Fatalf("source: %d passages, id 17 %q", src.Len(), src.ID(17))
	}
	// The id cache gives the same tokens back.
	src2, err := indexer.NewSource(ctx, m, ps, indexer.SourceOptions{CachePath: filepath.Join(dir, "ids.cache"), Threads: 2})
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
	s, ix, err := search.Open(full, search.OpenOptions{Checkpoint: m.Hash, Dim: m.Dim()})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for i := 0; i < nDocs; i += 37 {
		if ix.PassageID(i) != ps[i].ID {
			t.Fatalf("pid %d is %q, want %q", i, ix.PassageID(i), ps[i].ID)
		}
	}
	qv, err := m.EncodeQueries(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	gen := search.Params{K: 10, NCells: ix.NumCentroids(), NDocs: 4 * nDocs, NoPrune: true}
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
	// Another checkpoint is refused by search.
	if _, _, err := search.Open(full, search.OpenOptions{Checkpoint: model.HashParams(model.Params{}), Dim: m.Dim()}); !errors.Is(err, search.ErrCheckpointMismatch) {
		t.Errorf("foreign checkpoint: %v, want ErrCheckpointMismatch", err)
	}
}

func TestEncodeQueries(t *testing.T) {
	m, _, qs := setup(t)
	ctx := context.Background()
	v, err := m.EncodeQueries(ctx, qs[:3])
	if err != nil {
		t.Fatal(err)
	}
	// Batched encoding equals one query at a time, and rows are unit vectors.
	for i := range 3 {
		one, err := m.EncodeQueries(ctx, qs[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		for k := range one[0] {
			if d := one[0][k] - v[i][k]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("query %d value %d: batched %v, alone %v", i, k, v[i][k], one[0][k])
			}
		}
		for r := 0; r < m.QueryLen(); r++ {
			var n float32
			for _, x := range v[i][r*m.Dim() : (r+1)*m.Dim()] {
				n += x * x
			}
			if n < 0.999 || n > 1.001 {
				t.Fatalf("query %d row %d: squared norm %v", i, r, n)
			}
		}
	}
	pq, err := m.PrepareQueries(ctx, qs[:2])
	if err != nil || len(pq) != 2 || pq[0].Len() != m.QueryLen() || pq[0].Dim() != m.Dim() {
		t.Fatalf("PrepareQueries: %v", err)
	}
	bad := []data.Query{qs[0], {ID: "blank", Text: " \n\t "}}
	if _, err := m.EncodeQueries(ctx, bad); !errors.Is(err, indexer.ErrNoTokens) || !strings.Contains(err.Error(), `"blank"`) {
		t.Errorf("blank query: %v, want ErrNoTokens naming it", err)
	}
	dup := []data.Passage{{ID: "a", Text: "x"}, {ID: "a", Text: "y"}}
	if _, err := indexer.NewSource(ctx, m, dup, indexer.SourceOptions{}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("duplicate id: %v", err)
	}
}

// TestEncodeQueriesNoTokens: the real query encoder refuses text the
// tokenizer finds no wordpiece in (control characters, as `colbert serve`
// may receive in a JSON body) with ErrNoTokens, which search.ErrNoTokens is,
// so the server answers it as the client's mistake.
func TestEncodeQueriesNoTokens(t *testing.T) {
	m, _, _ := setup(t)
	for _, text := range []string{"\u0007\u0007", "", "\u200b"} {
		_, err := m.EncodeQueries(context.Background(), []data.Query{{ID: "request", Text: text}})
		if !errors.Is(err, indexer.ErrNoTokens) || !errors.Is(err, search.ErrNoTokens) {
			t.Errorf("query %q: error %v, want ErrNoTokens (search.ErrNoTokens)", text, err)
		}
	}
}
