package engine_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/colbert-go/colbert/search/internal/searchtest"
	"github.com/colbert-go/colbert/search/maxsim"
)

const fakeDim = 32

// wordEncoder encodes each word of a text as a word vector of a synthetic
// collection (by hash); a text without letters is refused as the real
// query encoder refuses it (colbert.ErrNoTokens, naming the query).
type wordEncoder struct{ words []float32 }

func (e wordEncoder) Dim() int { return fakeDim }

func (e wordEncoder) encode(text string) []float32 {
	nw := len(e.words) / fakeDim
	var out []float32
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		h := fnv.New32a()
		h.Write([]byte(w))
		i := int(h.Sum32() % uint32(nw))
		out = append(out, e.words[i*fakeDim:(i+1)*fakeDim]...)
	}
	return out
}

func (e wordEncoder) EncodeQueries(_ context.Context, qs []data.Query) ([][]float32, error) {
	out := make([][]float32, len(qs))
	for i, q := range qs {
		if out[i] = e.encode(q.Text); len(out[i]) == 0 {
			return nil, fmt.Errorf("fake: query %q (%q): %w", q.ID, q.Text, colbert.ErrNoTokens)
		}
	}
	return out, nil
}

func (e wordEncoder) EncodePassages(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e.encode(t)
	}
	return out, nil
}

// guarded is an in-memory index that counts reads made after it was
// closed: an engine closed under a running request.
type guarded struct {
	*searchtest.Index
	closed   atomic.Bool
	closes   atomic.Int32
	late     atomic.Int64
	tombs    map[int]bool
	inflight atomic.Int64
}

func (g *guarded) Codes(pid int) []int32 {
	if g.closed.Load() {
		g.late.Add(1)
	}
	return g.Index.Codes(pid)
}

func (g *guarded) Decompress(pid int, dst []float32) ([]float32, error) {
	if g.closed.Load() {
		g.late.Add(1)
	}
	return g.Index.Decompress(pid, dst)
}

func (g *guarded) Deleted(pid int) bool { return g.tombs[pid] }

func fakeCollection(t testing.TB) (*searchtest.Collection, *searchtest.Index) {
	t.Helper()
	coll := searchtest.Synthesize(searchtest.SynthOptions{Passages: 200, Dim: fakeDim, Topics: 5, WordsPerTopic: 8, MinLen: 4, MaxLen: 30, TopicsPerPassage: 2, Seed: 3})
	idx, err := searchtest.Build(context.Background(), coll.Vecs, coll.Doclens, fakeDim, searchtest.Options{K: 16, Seed: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return coll, idx
}

func fakeEngine(t testing.TB, enc engine.Encoder, idx *searchtest.Index, gen int, tombs map[int]bool) (*engine.Engine, *guarded) {
	t.Helper()
	g := &guarded{Index: idx, tombs: tombs}
	e, err := engine.New(engine.Parts{Encoder: enc, Store: g, Generation: gen,
		ID: func(pid int) string { return fmt.Sprintf("doc%d", pid) },
		Close: func() error {
			g.closes.Add(1)
			g.closed.Store(true)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return e, g
}

// TestLiveSwapUnderLoad swaps generations while requests run: every request
// answers from the one engine it acquired (its generation's ranking, with
// that generation's deletions), no engine is read after it was closed, and
// every retired engine is closed exactly once, after its last request.
func TestLiveSwapUnderLoad(t *testing.T) {
	coll, idx := fakeCollection(t)
	enc := wordEncoder{words: coll.Words}
	const gens = 12
	engines := make([]*engine.Engine, gens)
	stores := make([]*guarded, gens)
	for g := range engines {
		tombs := map[int]bool{}
		for pid := 0; pid < g*5; pid++ { // each generation deletes five more passages
			tombs[pid] = true
		}
		engines[g], stores[g] = fakeEngine(t, enc, idx, g, tombs)
	}
	queries := []string{"alpha beta", "gamma delta epsilon", "zeta", "eta theta iota kappa"}
	p := search.Params{K: 10}
	// The expected ranking of every query in every generation, computed
	// before the engines are shared.
	want := make([][][]search.Hit, gens)
	for g, e := range engines {
		for _, q := range queries {
			r, err := e.Search(context.Background(), []data.Query{{ID: "q", Text: q}}, p, engine.SearchOptions{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			want[g] = append(want[g], r.PerQuery[0].Hits)
		}
	}
	if slices.Equal(want[0][0], want[gens-1][0]) {
		t.Fatal("the generations rank alike: the test could not tell them apart")
	}

	live := engine.NewLive(engines[0])
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	stop := make(chan struct{})
	var answered atomic.Int64
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e, release := live.Acquire()
				g := e.Stats().Generation
				qi := (c + i) % len(queries)
				r, err := e.Search(context.Background(), []data.Query{{ID: "q", Text: queries[qi]}}, p, engine.SearchOptions{Threads: 1})
				if stores[g].closed.Load() {
					errs <- fmt.Errorf("generation %d closed while a request held it", g)
				}
				release()
				if err != nil {
					errs <- err
					return
				}
				if got := r.PerQuery[0].Hits; !slices.Equal(got, want[g][qi]) {
					errs <- fmt.Errorf("query %q on generation %d: %v, want %v", queries[qi], g, got, want[g][qi])
					return
				}
				answered.Add(1)
			}
		}(c)
	}
	for g := 1; g < gens; g++ {
		for answered.Load() < int64(20*g) { // let requests run on every generation
			select {
			case err := <-errs:
				t.Fatal(err)
			default:
			}
			runtime.Gosched()
		}
		live.Swap(engines[g])
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for g := 0; g < gens-1; g++ {
		if n := stores[g].closes.Load(); n != 1 {
			t.Errorf("retired generation %d closed %d times, want 1", g, n)
		}
	}
	if stores[gens-1].closed.Load() {
		t.Error("the current generation was closed before Live.Close")
	}
	if _, err := live.Reload(); err == nil {
		t.Error("Reload of an engine without a directory succeeded")
	}
	if ok, failed := live.Reloads(); ok != gens-1 || failed != 1 {
		t.Errorf("Reloads() = %d, %d; want %d swaps, 1 failure", ok, failed, gens-1)
	}
	e, release := live.Acquire()
	e2, release2 := live.Acquire()
	if live.Close() != nil || stores[gens-1].closed.Load() {
		t.Error("Close closed the engine two requests still hold")
	}
	release()
	release() // a second release of the same request must not count
	if stores[gens-1].closed.Load() {
		t.Error("engine closed while a request still holds it (double release counted twice)")
	}
	release2()
	if !stores[gens-1].closed.Load() || e != e2 {
		t.Error("the last engine was not closed after its last request")
	}
	if e, _ := live.Acquire(); e != nil {
		t.Error("Acquire after Close returned an engine")
	}
	for g, s := range stores {
		if n := s.late.Load(); n != 0 {
			t.Errorf("generation %d read %d times after it was closed", g, n)
		}
	}
}

// TestScore: Engine.Score gives the exact MaxSim of the given passages, the
// scores PLAID's last stage and exhaustive search give them, best first;
// deleted and unknown pids are refused; ScoreTexts scores texts encoded as
// passages.
func TestScore(t *testing.T) {
	coll, idx := fakeCollection(t)
	enc := wordEncoder{words: coll.Words}
	e, _ := fakeEngine(t, enc, idx, 0, map[int]bool{7: true})
	ctx := context.Background()
	q := "alpha beta gamma"
	qv, _ := enc.EncodeQueries(ctx, []data.Query{{Text: q}})
	ex, err := e.Searcher().Exhaustive(qv[0], fakeDim, 20)
	if err != nil {
		t.Fatal(err)
	}
	pids := make([]int, 0, len(ex))
	for i := len(ex) - 1; i >= 0; i-- { // reversed: Score must sort
		pids = append(pids, ex[i].PID)
	}
	got, err := e.Score(ctx, q, pids)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ex) {
		t.Errorf("Score %v, exhaustive %v", got, ex)
	}
	if _, err := e.Score(ctx, q, []int{3, 7}); err == nil || !strings.Contains(err.Error(), "doc7") {
		t.Errorf("deleted pid: %v", err)
	}
	if _, err := e.Score(ctx, q, []int{idx.NumPassages()}); err == nil {
		t.Error("pid out of range accepted")
	}
	if _, err := e.Score(ctx, "!!!", []int{1}); !errors.Is(err, colbert.ErrNoTokens) {
		t.Errorf("query without tokens: %v", err)
	}
	if pid, ok := e.PID("doc12"); !ok || pid != 12 {
		t.Errorf("PID(doc12) = %d %v", pid, ok)
	}
	if _, ok := e.PID("doc7"); ok {
		t.Error("PID finds a deleted passage")
	}
	texts := []string{"zeta eta", q, "alpha"}
	th, err := e.ScoreTexts(ctx, q, texts)
	if err != nil {
		t.Fatal(err)
	}
	mq, _ := maxsim.NewQuery(qv[0], len(qv[0])/fakeDim, fakeDim)
	for _, h := range th {
		d, _ := enc.EncodePassages(ctx, []string{texts[h.PID]})
		if h.Score != mq.Score(d[0]) {
			t.Errorf("text %d scored %v, want %v", h.PID, h.Score, mq.Score(d[0]))
		}
	}
	if th[0].PID != 1 || th[0].Score < th[1].Score || th[1].Score < th[2].Score {
		t.Errorf("ScoreTexts order %v: the query's own text should come first", th)
	}
}

// TestTraceTimes: the engine gives each query its share of the encoding
// time, and a PLAID query that scored passages exactly reports time in the
// stages that ran.
func TestTraceTimes(t *testing.T) {
	coll, idx := fakeCollection(t)
	e, _ := fakeEngine(t, wordEncoder{words: coll.Words}, idx, 0, nil)
	qs := []data.Query{{ID: "a", Text: "alpha beta"}, {ID: "b", Text: "gamma"}}
	r, err := e.Search(context.Background(), qs, search.Params{K: 5}, engine.SearchOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range r.PerQuery {
		tt := res.Trace.Time
		if tt.Encode != r.Encode/2 {
			t.Errorf("query %d: encode %v, want half of %v", i, tt.Encode, r.Encode)
		}
		var sum int64
		tt.Each(func(name string, d time.Duration) { sum += int64(d) })
		if res.Trace.Exact == 0 || tt.Candidates <= 0 || tt.Decompress+tt.MaxSim <= 0 {
			t.Errorf("query %d: trace %+v", i, res.Trace)
		}
		if stages := sum - int64(tt.Encode); stages > int64(res.Latency) {
			t.Errorf("query %d: stages sum to %d ns, more than the query's latency %v", i, stages, res.Latency)
		}
	}
}

// TestReloadAfterAppendAndDelete serves a real index, appends passages and
// deletes one with codec/index (what `colbert index append` and `delete`
// do): Reload takes up each new generation, a request that acquired the old
// engine still answers from it, pids stay stable, and an unchanged index is
// not reopened.
func TestReloadAfterAppendAndDelete(t *testing.T) {
	m, ps, qs := setup(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "idx")
	opt := buildOpts(m.Key, m.Dim())
	opt.NumCentroids, opt.SamplePassages = 32, 40
	if _, err := engine.Build(ctx, m, dir, ps[:60], engine.BuildOptions{Index: opt, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(m, dir, engine.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live := engine.NewLive(e)
	defer live.Close()
	if r, err := live.Reload(); err != nil || r.Changed {
		t.Fatalf("reload of an unchanged index: %+v %v", r, err)
	}
	old, releaseOld := live.Acquire()

	// Readers search the mapped index while it is reloaded: each answer
	// holds every live passage of the one generation it acquired (a
	// request on an unmapped index would crash the test).
	qv, err := m.EncodeQueries(ctx, qs[:1])
	if err != nil {
		t.Fatal(err)
	}
	live1 := map[int]int{0: 60, 1: 80, 2: 79}
	stop := make(chan struct{})
	readErr := make(chan error, 2)
	var readers sync.WaitGroup
	var reads atomic.Int64
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					readErr <- nil
					return
				default:
				}
				e, release := live.Acquire()
				g := e.Stats().Generation
				hits, err := e.Searcher().Exhaustive(qv[0], m.Dim(), 100)
				if err == nil {
					_, err = e.Searcher().Search(qv[0], m.Dim(), search.Params{K: 10})
				}
				release()
				if err == nil && len(hits) != live1[g] {
					err = fmt.Errorf("generation %d answered %d passages, it has %d", g, len(hits), live1[g])
				}
				if err != nil {
					readErr <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	defer func() {
		close(stop)
		readers.Wait()
		for range 2 {
			if err := <-readErr; err != nil {
				t.Error(err)
			}
		}
		if reads.Load() == 0 {
			t.Error("the readers never ran")
		}
	}()

	src, err := colbert.NewSource(ctx, m, ps[60:80], colbert.SourceOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := index.Append(ctx, dir, src, index.AppendOptions{Threads: 2}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := live.Reload()
	if err != nil || !r.Changed || r.To != r.From+1 || r.Passages != 80 {
		t.Fatalf("reload after append: %+v %v", r, err)
	}
	cur, release := live.Acquire()
	if cur == old || cur.Stats().Passages != 80 {
		t.Fatalf("after reload: %d passages", cur.Stats().Passages)
	}
	if pid, ok := cur.PID(ps[70].ID); !ok || pid != 70 {
		t.Errorf("appended passage %s: pid %d %v, want 70", ps[70].ID, pid, ok)
	}
	// The request that started before the reload still searches its snapshot.
	res, err := old.Search(ctx, qs[:2], search.Params{K: 80}, engine.SearchOptions{Exhaustive: true, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, pq := range res.PerQuery {
		if len(pq.Hits) != 60 {
			t.Errorf("old snapshot answered %d passages, want its 60", len(pq.Hits))
		}
	}
	releaseOld()
	release()

	if _, err := index.Delete(dir, []string{ps[5].ID}); err != nil {
		t.Fatal(err)
	}
	if r, err = live.Reload(); err != nil || !r.Changed || r.Passages != 79 {
		t.Fatalf("reload after delete: %+v %v", r, err)
	}
	cur, release = live.Acquire()
	defer release()
	if _, ok := cur.PID(ps[5].ID); ok {
		t.Error("deleted passage still found")
	}
	for _, i := range []int{0, 6, 59, 79} {
		if pid, ok := cur.PID(ps[i].ID); !ok || pid != i || cur.PassageID(i) != ps[i].ID {
			t.Errorf("passage %s: pid %d %v after the delete, want %d", ps[i].ID, pid, ok, i)
		}
	}
	// Score gives exactly the scores PLAID's last stage gives (the same
	// SIMD reconstruction of the residuals), whatever the order asked.
	found, err := cur.Search(ctx, qs[:1], search.Params{K: 10}, engine.SearchOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := found.PerQuery[0].Hits
	pids := make([]int, len(want))
	for i, h := range want {
		pids[len(want)-1-i] = h.PID
	}
	hits, err := cur.Score(ctx, qs[0].Text, pids)
	if err != nil || !slices.Equal(hits, want) || len(hits) != 10 {
		t.Errorf("Score %v (%v), PLAID %v", hits, err, want)
	}
	if _, err := cur.Score(ctx, qs[0].Text, []int{5}); err == nil {
		t.Error("Score of a deleted pid accepted")
	}
}
