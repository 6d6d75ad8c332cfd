package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

// A Cranfield index built from passages with metadata answers filtered
// searches (a condition, ids, both) with exactly the exhaustive top k over
// the selected passages; bad filters wrap ErrBadFilter and name the
// problem.
func TestFilteredSearch(t *testing.T) {
	m, ps, qs := setup(t)
	ctx := context.Background()
	ps = slices.Clone(ps[:120])
	for i := range ps {
		ps[i].Meta = map[string]any{"year": int64(1950 + i%20), "source": []string{"naca", "jas", "arc"}[i%3]}
	}
	dir := filepath.Join(t.TempDir(), "idx")
	opt := buildOpts(m.Key, m.Dim())
	opt.NumCentroids, opt.SamplePassages = 32, 40
	if _, err := engine.Build(ctx, m, dir, ps, engine.BuildOptions{Index: opt, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(m, dir, engine.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if cols := e.MetadataColumns(); !slices.Equal(cols, []string{"pid", "id", "source", "year"}) {
		t.Fatalf("metadata columns %v", cols)
	}
	allowed := func(id string) bool {
		i := slices.IndexFunc(ps, func(p data.Passage) bool { return p.ID == id })
		return ps[i].Meta["year"].(int64) >= 1965 && ps[i].Meta["source"] == "naca"
	}
	n := 0
	for _, p := range ps {
		if allowed(p.ID) {
			n++
		}
	}
	where := engine.Filter{Where: "year >= 1965 AND source = 'naca'"}
	f, err := e.Filter(ctx, where)
	if err != nil || f.Len() != n || n == 0 {
		t.Fatalf("filter: %v, %d pids, want %d", err, f.Len(), n)
	}
	if again, err := e.Filter(ctx, where); err != nil || again != f {
		t.Fatalf("a repeated condition is evaluated again (%v): the engine's cache missed", err)
	}
	for _, exhaustive := range []bool{false, true} {
		r, err := e.Search(ctx, qs[:6], search.Params{K: 5}, engine.SearchOptions{Threads: 2, Exhaustive: exhaustive, Filter: where})
		if err != nil {
			t.Fatal(err)
		}
		qv, err := m.EncodeQueries(ctx, qs[:6]) // as Search encodes them: together
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs[:6] {
			want, _ := e.Searcher().ExhaustiveFilter(qv[i], m.Dim(), 5, f)
			if got := r.Run[q.ID]; !slices.EqualFunc(got, e.Docs(want), func(a, b data.ScoredDoc) bool { return a == b }) {
				t.Fatalf("exhaustive=%v query %s: %v, want %v", exhaustive, q.ID, got, e.Docs(want))
			}
			if r.Params != nil && r.PerQuery[i].Trace.Exact != n {
				t.Fatalf("query %s: %d scored exactly, filter of %d", q.ID, r.PerQuery[i].Trace.Exact, n)
			}
			for _, d := range r.Run[q.ID] {
				if !allowed(d.DocID) {
					t.Fatalf("query %s: %s returned, not allowed", q.ID, d.DocID)
				}
			}
		}
	}

	// Ids, and ids with a condition (both must hold).
	ids := []string{ps[0].ID, ps[3].ID, ps[15].ID, ps[16].ID}
	r, err := e.Search(ctx, qs[:2], search.Params{K: 10}, engine.SearchOptions{Filter: engine.Filter{IDs: ids}})
	if err != nil || len(r.Run[qs[0].ID]) != 4 {
		t.Fatalf("ids filter: %v %v", err, r.Run[qs[0].ID])
	}
	f, err = e.Filter(ctx, engine.Filter{Where: "source = 'naca'", IDs: ids})
	if err != nil || !slices.Equal(f.PIDs(), []int32{0, 3, 15}) {
		t.Fatalf("ids and condition: %v %v", err, f.PIDs())
	}

	for _, c := range []struct {
		f    engine.Filter
		want string
	}{
		{engine.Filter{Where: "year > 1; DELETE FROM meta"}, "';'"},
		{engine.Filter{Where: "venue = 'x'"}, `unknown column "venue"`},
		{engine.Filter{Where: "pid IN (SELECT pid FROM meta)"}, "SELECT is not allowed"},
		{engine.Filter{IDs: []string{ps[0].ID, "no-such-doc"}}, `1 of 2 ids name no live passage: ["no-such-doc"]`},
	} {
		_, err := e.Search(ctx, qs[:1], search.Params{K: 5}, engine.SearchOptions{Filter: c.f})
		if !errors.Is(err, engine.ErrBadFilter) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("filter %v: %v, want ErrBadFilter naming %s", c.f, err, c.want)
		}
	}
}
