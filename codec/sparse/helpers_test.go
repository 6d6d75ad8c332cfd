package sparse

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
)

// memSource is an in-memory Source; onVector runs before each Vector call
// and may fail it.
type memSource struct {
	ids      []string
	vecs     []Vector
	calls    atomic.Int64
	onVector func(call int64) error
}

func (s *memSource) NumPassages() int { return len(s.vecs) }
func (s *memSource) ID(i int) string  { return s.ids[i] }
func (s *memSource) Vector(i int) (Vector, error) {
	c := s.calls.Add(1)
	if s.onVector != nil {
		if err := s.onVector(c); err != nil {
			return Vector{}, err
		}
	}
	return s.vecs[i], nil
}

// randomSource makes n passages over a vocabulary of vocab terms drawn
// Zipf-like (a few very frequent terms), 0…maxLen terms each (every 17th
// passage empty), weights in (0, 3].
func randomSource(n, vocab, maxLen int, seed uint64, prefix string) *memSource {
	rng := rand.New(rand.NewPCG(seed, 7))
	z := rand.NewZipf(rand.New(rand.NewPCG(seed, 8)), 1.1, 4, uint64(vocab-1))
	s := &memSource{}
	for i := 0; i < n; i++ {
		s.ids = append(s.ids, prefix+itoa(i))
		l := rng.IntN(maxLen + 1)
		if i%17 == 5 {
			l = 0
		}
		set := map[int32]bool{}
		for len(set) < min(l, vocab) {
			set[int32(z.Uint64())] = true
		}
		var v Vector
		for t := range set {
			v.Terms = append(v.Terms, t)
		}
		slices.Sort(v.Terms)
		for range v.Terms {
			v.Weights = append(v.Weights, float32(3*rng.Float64()+1e-3))
		}
		s.vecs = append(s.vecs, v)
	}
	return s
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

var errStop = errors.New("stop")

// readDir returns every file of dir by name.
func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func mustBuild(t testing.TB, dir string, src Source, opt BuildOptions) *Manifest {
	t.Helper()
	m, err := Build(context.Background(), dir, src, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustOpen(t testing.TB, dir string) *Index {
	t.Helper()
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// refPosting is one expected posting.
type refPosting struct {
	pid uint32
	q   uint8
}

// reference transposes vectors (pids from first) into expected postings
// quantised with scale, the independent model of writePostings.
func reference(vocab int, scale float32, vecs []Vector, into map[int32][]refPosting, first int) {
	for i, v := range vecs {
		for j, t := range v.Terms {
			q := math.Round(float64(v.Weights[j]) / float64(scale))
			q = max(1, min(255, q))
			into[t] = append(into[t], refPosting{uint32(first + i), uint8(q)})
		}
	}
}

// checkPostings compares an open index's lists and blocks with want.
func checkPostings(t *testing.T, ix *Index, want map[int32][]refPosting) {
	t.Helper()
	bs := ix.BlockSize()
	for term := 0; term < ix.VocabSize(); term++ {
		pids, imps := ix.Postings(term)
		w := want[int32(term)]
		if len(pids) != len(w) {
			t.Fatalf("term %d: %d postings, want %d", term, len(pids), len(w))
		}
		var tmax uint8
		for i := range w {
			if pids[i] != w[i].pid || imps[i] != w[i].q {
				t.Fatalf("term %d posting %d: (%d,%d), want (%d,%d)", term, i, pids[i], imps[i], w[i].pid, w[i].q)
			}
			tmax = max(tmax, imps[i])
		}
		last, bmax := ix.Blocks(term)
		if len(last) != (len(w)+bs-1)/bs {
			t.Fatalf("term %d: %d blocks for %d postings", term, len(last), len(w))
		}
		for j := range last {
			e := min(len(w), (j+1)*bs)
			var m uint8
			for _, p := range w[j*bs : e] {
				m = max(m, p.q)
			}
			if last[j] != w[e-1].pid || bmax[j] != m {
				t.Fatalf("term %d block %d: (%d,%d), want (%d,%d)", term, j, last[j], bmax[j], w[e-1].pid, m)
			}
		}
		if ix.TermMax(term) != tmax {
			t.Fatalf("term %d: TermMax %d, want %d", term, ix.TermMax(term), tmax)
		}
	}
}
