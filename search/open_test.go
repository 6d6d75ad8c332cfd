package search_test

import (
	"context"
	"github.com/colbert-go/colbert/model"
	"path/filepath"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/internal/searchtest"
)

// buildDisk writes a small on-disk index (codec/index) of a synthetic collection.
func buildDisk(t *testing.T) (string, *searchtest.Collection) {
	t.Helper()
	const d = 128
	coll := searchtest.Synthesize(searchtest.SynthOptions{
		Passages: 400, Dim: d, Topics: 8, WordsPerTopic: 8, MinLen: 1, MaxLen: 40, TopicsPerPassage: 2, Seed: 11,
	})
	dir := filepath.Join(t.TempDir(), "idx")
	_, err := index.Build(context.Background(), dir, coll, index.BuildOptions{
		Dim: d, NBits: 2, Checkpoint: "model-a", NumCentroids: 64, ChunkSize: 150, Seed: 1, Threads: 2,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, coll
}

// openDisk maps the index in dir and makes a searcher over it (what
// search/engine does, without a model).
func openDisk(t *testing.T, dir string) (*search.Searcher, *index.Index) {
	t.Helper()
	ix, err := index.Open(dir, index.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := search.NewSearcher(ix)
	if err != nil {
		t.Fatal(err)
	}
	return s, ix
}

func TestOnDiskIndex(t *testing.T) {
	dir, coll := buildDisk(t)
	s, ix := openDisk(t, dir)
	queries := coll.Queries(10, 32, 3)
	for qi, q := range queries {
		want, err := s.Exhaustive(q, 128, 10)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Search(q, 128, search.Params{K: 10, NCells: 64, NDocs: 2000, NoPrune: true})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("query %d: PLAID %v, exhaustive %v", qi, got, want)
		}
		// the exhaustive scores are MaxSim of the decompressed vectors
		dec, _ := ix.Decompress(want[0].PID, nil)
		if r := model.MaxSim(q, len(q)/128, dec, len(dec)/128, 128); r-want[0].Score > 1e-4 || want[0].Score-r > 1e-4 {
			t.Fatalf("query %d: top score %v, reference %v", qi, want[0].Score, r)
		}
	}
	top, _ := s.Exhaustive(queries[0], 128, 3)
	ix.Close()

	// Deleted passages are never returned, by either method.
	del := []string{ix.PassageID(top[0].PID), ix.PassageID(top[1].PID)}
	if _, err := index.Delete(dir, del); err != nil {
		t.Fatal(err)
	}
	s, ix = openDisk(t, dir)
	defer ix.Close()
	ex, _ := s.Exhaustive(queries[0], 128, 10)
	pl, _ := s.Search(queries[0], 128, search.Params{K: 10, NCells: 64, NDocs: 2000, NoPrune: true})
	for _, h := range append(ex, pl...) {
		if h.PID == top[0].PID || h.PID == top[1].PID {
			t.Fatalf("deleted pid %d returned", h.PID)
		}
	}
	if ex[0].PID != top[2].PID || !slices.Equal(ex, pl) {
		t.Errorf("after delete: exhaustive %v, PLAID %v, expected %d first", ex, pl, top[2].PID)
	}
}
