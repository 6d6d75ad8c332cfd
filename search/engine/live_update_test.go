package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

// TestLiveAppendDelete updates a served ColBERT (residual) and SPLADE
// (sparse) index through Live: ids that collide or are unknown are refused
// with ErrIDConflict and change nothing; an append is served at once (its
// passages searchable, the old ones keeping their pids) and a delete takes
// its passages out; a snapshot acquired before an update keeps answering
// from its generation.
func TestLiveAppendDelete(t *testing.T) {
	m, ps, qs := setup(t)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		model *colbert.Model
	}{{"colbert", m}, {"splade", kindModel(t, model.KindSPLADE)}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "index")
			if _, err := engine.Build(ctx, c.model, dir, ps[:40], engine.BuildOptions{Threads: 2}); err != nil {
				t.Fatal(err)
			}
			e, err := engine.Open(c.model, dir, engine.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			live := engine.NewLive(e)
			defer live.Close()
			gen0 := e.Stats().Generation
			old, releaseOld := live.Acquire()
			defer releaseOld()

			for _, bad := range [][]data.Passage{
				{ps[40], ps[3]},  // ps[3] is live
				{ps[40], ps[40]}, // twice
			} {
				if _, err := live.Append(ctx, bad, engine.AppendOptions{Threads: 2}); !errors.Is(err, engine.ErrIDConflict) || !strings.Contains(err.Error(), `"`+bad[1].ID+`"`) {
					t.Errorf("append %s, %s: %v, want ErrIDConflict naming %q", bad[0].ID, bad[1].ID, err, bad[1].ID)
				}
			}
			if _, err := live.Delete(ctx, []string{ps[2].ID, "no-such-id"}); !errors.Is(err, engine.ErrIDConflict) || !strings.Contains(err.Error(), `"no-such-id"`) {
				t.Errorf("delete of an unknown id: %v", err)
			}
			if g, err := engine.Generation(dir); err != nil || g != gen0 {
				t.Fatalf("refused updates changed the index: generation %d (%v), was %d", g, err, gen0)
			}

			u, err := live.Append(ctx, ps[40:50], engine.AppendOptions{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			cur, release := live.Acquire()
			st := cur.Stats()
			if u.Generation != gen0+1 || st.Generation != u.Generation || st.Passages != 50 || u.Live != 50 {
				t.Errorf("after appending 10: update %+v, serving generation %d with %d passages", u, st.Generation, st.Passages)
			}
			for i, p := range ps[:50] {
				if pid, ok := cur.PID(p.ID); !ok || pid != i {
					t.Errorf("after append: %s has pid %d (%v), want %d", p.ID, pid, ok, i)
				}
			}
			// An appended passage is searched: found by its own text with
			// the trained ColBERT, ranked among all 50 with SPLADE's random
			// head.
			k := 10
			if c.name == "splade" {
				k = 50
			}
			res, err := cur.Search(ctx, []data.Query{{ID: "q", Text: ps[45].Content()}}, search.Params{K: k}, engine.SearchOptions{Exhaustive: true})
			release()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(res.PerQuery[0].Hits, func(h search.Hit) bool { return h.PID == 45 }) {
				t.Errorf("appended passage 45 not in the top %d for its own text: %v", k, res.PerQuery[0].Hits)
			}

			if _, err := live.Delete(ctx, []string{ps[45].ID, ps[0].ID}); err != nil {
				t.Fatal(err)
			}
			cur, release = live.Acquire()
			defer release()
			if st := cur.Stats(); st.Generation != gen0+2 || st.Passages != 48 {
				t.Errorf("after deleting 2: generation %d, %d passages", st.Generation, st.Passages)
			}
			if _, ok := cur.PID(ps[45].ID); ok {
				t.Error("deleted passage still has a pid")
			}
			res, err = cur.Search(ctx, qs[:3], search.Params{K: 48}, engine.SearchOptions{Exhaustive: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, pq := range res.PerQuery {
				if slices.ContainsFunc(pq.Hits, func(h search.Hit) bool { return h.PID == 45 || h.PID == 0 }) {
					t.Errorf("a deleted passage is still found: %v", pq.Hits)
				}
			}
			// The snapshot taken before the updates still answers from
			// generation 0, with its 40 passages.
			if st := old.Stats(); st.Generation != gen0 || st.Passages != 40 {
				t.Errorf("old snapshot: generation %d, %d passages", st.Generation, st.Passages)
			}
			if _, ok := old.PID(ps[0].ID); !ok {
				t.Error("old snapshot lost a passage deleted later")
			}
			if _, err := old.Search(ctx, qs[:1], search.Params{K: 5}, engine.SearchOptions{Exhaustive: true}); err != nil {
				t.Errorf("old snapshot: %v", err)
			}
		})
	}
}
