package sparse

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testOpts = BuildOptions{VocabSize: 300, ChunkSize: 64, BlockSize: 8}

func TestBuildRoundTrip(t *testing.T) {
	src := randomSource(300, 300, 40, 1, "p")
	dir := filepath.Join(t.TempDir(), "idx")
	m := mustBuild(t, dir, src, testOpts)
	var maxW float32
	for _, v := range src.vecs {
		for _, w := range v.Weights {
			maxW = max(maxW, w)
		}
	}
	if m.MaxWeight != maxW || m.Scale != maxW/255 || m.Clamped != 0 {
		t.Fatalf("max weight %g scale %g clamped %d, want %g %g 0", m.MaxWeight, m.Scale, m.Clamped, maxW, maxW/255)
	}
	ix := mustOpen(t, dir)
	if ix.NumPassages() != 300 || ix.VocabSize() != 300 || ix.BlockSize() != 8 {
		t.Fatalf("counts %d %d %d", ix.NumPassages(), ix.VocabSize(), ix.BlockSize())
	}
	for p := 0; p < 300; p++ {
		if ix.ID(p) != src.ids[p] || ix.Deleted(p) {
			t.Fatalf("pid %d: id %q deleted %v", p, ix.ID(p), ix.Deleted(p))
		}
		if q, ok := ix.PID(src.ids[p]); !ok || q != p {
			t.Fatalf("PID(%q) = %d %v", src.ids[p], q, ok)
		}
	}
	want := map[int32][]refPosting{}
	reference(300, m.Scale, src.vecs, want, 0)
	checkPostings(t, ix, want)
	// The maximum weight dequantises to itself (up to rounding).
	if d := ix.Dequantise(255); math.Abs(float64(d-maxW)) > 1e-6*float64(maxW) {
		t.Fatalf("Dequantise(255) = %g, max weight %g", d, maxW)
	}
	if p, i := ix.Postings(-1); p != nil || i != nil {
		t.Fatal("postings for term -1")
	}
	st := ix.Stats()
	var total int64
	for _, v := range src.vecs {
		total += int64(len(v.Terms))
	}
	if st.Postings != total || st.Passages != 300 || st.Live != 300 || st.Bytes <= st.PostingBytes || st.BytesPerPassage <= 0 {
		t.Fatalf("stats %+v (postings want %d)", st, total)
	}
	// Only the index's files remain: no plan, markers, forward files or
	// building directory.
	files := readDir(t, dir)
	if len(files) != len(m.Files)+1 {
		t.Fatalf("%d files in the index, manifest lists %d", len(files), len(m.Files))
	}
	if _, err := os.Stat(dir + ".building"); !os.IsNotExist(err) {
		t.Fatalf("building directory left: %v", err)
	}
	if !strings.Contains(st.String(), "300 passages") {
		t.Fatal(st.String())
	}
}

func TestBuildDeterministicResume(t *testing.T) {
	src := randomSource(500, 300, 30, 2, "d")
	ref := filepath.Join(t.TempDir(), "ref")
	mustBuild(t, ref, src, testOpts)
	want := readDir(t, ref)

	for _, stopAt := range []int64{1, 70, 200, 499} {
		dir := filepath.Join(t.TempDir(), "idx")
		ctx, cancel := context.WithCancel(context.Background())
		src.calls.Store(0)
		src.onVector = func(c int64) error {
			if c == stopAt+int64(testProbeCalls(500, testOpts.ChunkSize)) {
				cancel()
			}
			return nil
		}
		if _, err := Build(ctx, dir, src, testOpts, nil); err == nil {
			t.Fatalf("stop at %d: build not interrupted", stopAt)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("stop at %d: index visible after an interrupted build", stopAt)
		}
		src.onVector = nil
		src.calls.Store(0)
		if _, err := Build(context.Background(), dir, src, testOpts, nil); err != nil {
			t.Fatal(err)
		}
		// The resumed run reads only the chunks not finished before.
		done := (stopAt - 1) / int64(testOpts.ChunkSize) * int64(testOpts.ChunkSize)
		if got, max := src.calls.Load(), int64(testProbeCalls(500, testOpts.ChunkSize))+500-done; got > max {
			t.Fatalf("stop at %d: resumed build read %d vectors, want ≤ %d", stopAt, got, max)
		}
		got := readDir(t, dir)
		if len(got) != len(want) {
			t.Fatalf("stop at %d: %d files, want %d", stopAt, len(got), len(want))
		}
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Fatalf("stop at %d: %s differs from an uninterrupted build", stopAt, name)
			}
		}
	}
}

// testProbeCalls is the number of Vector calls the plan's probe makes.
func testProbeCalls(n, chunk int) int { return (n+chunk-1)/chunk + 1 }

// A build interrupted and then run with a changed input must not reuse the
// old chunks: it restarts and gives the new input's index.
func TestResumeChangedInputRestarts(t *testing.T) {
	for _, change := range []string{"vector", "ids", "options"} {
		t.Run(change, func(t *testing.T) {
			src := randomSource(300, 300, 30, 3, "c")
			dir := filepath.Join(t.TempDir(), "idx")
			ctx, cancel := context.WithCancel(context.Background())
			src.onVector = func(c int64) error {
				if c == 250 {
					cancel()
				}
				return nil
			}
			if _, err := Build(ctx, dir, src, testOpts, nil); err == nil {
				t.Fatal("not interrupted")
			}
			src.onVector = nil
			opt := testOpts
			switch change {
			case "vector":
				// Passage 0 is probed; its changed weights must be noticed.
				src.vecs[0].Weights = append([]float32(nil), src.vecs[0].Weights...)
				src.vecs[0].Weights[0] *= 2
			case "ids":
				src.ids[10] = "renamed"
			case "options":
				opt.BlockSize = 16
			}
			m, err := Build(context.Background(), dir, src, opt, nil)
			if err != nil {
				t.Fatal(err)
			}
			fresh := filepath.Join(t.TempDir(), "fresh")
			m2 := mustBuild(t, fresh, src, opt)
			a, b := readDir(t, dir), readDir(t, fresh)
			for name := range b {
				if !bytes.Equal(a[name], b[name]) {
					t.Fatalf("%s differs from a fresh build of the changed input", name)
				}
			}
			if m.NumPostings != m2.NumPostings {
				t.Fatal("postings differ")
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	good := func() *memSource { return randomSource(10, 50, 5, 4, "e") }
	cases := []struct {
		name string
		mod  func(s *memSource, o *BuildOptions)
		want string
	}{
		{"unsorted", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{5, 2}, Weights: []float32{1, 1}}
		}, "strictly increasing"},
		{"duplicate term", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{5, 5}, Weights: []float32{1, 1}}
		}, "strictly increasing"},
		{"zero weight", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{5}, Weights: []float32{0}}
		}, "not positive"},
		{"nan weight", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{5}, Weights: []float32{float32(math.NaN())}}
		}, "not positive"},
		{"inf weight", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{5}, Weights: []float32{float32(math.Inf(1))}}
		}, "not positive"},
		{"term beyond vocab", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{50}, Weights: []float32{1}}
		}, "outside the vocabulary"},
		{"negative term", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{-1}, Weights: []float32{1}}
		}, "outside the vocabulary"},
		{"length mismatch", func(s *memSource, o *BuildOptions) {
			s.vecs[3] = Vector{Terms: []int32{1, 2}, Weights: []float32{1}}
		}, "2 terms but 1 weights"},
		{"duplicate id", func(s *memSource, o *BuildOptions) { s.ids[4] = s.ids[2] }, "passage id"},
		{"empty", func(s *memSource, o *BuildOptions) { s.ids, s.vecs = nil, nil }, "empty collection"},
		{"no vocab", func(s *memSource, o *BuildOptions) { o.VocabSize = 0 }, "vocabulary size"},
		{"source error", func(s *memSource, o *BuildOptions) {
			s.onVector = func(c int64) error {
				if c > 5 {
					return errStop
				}
				return nil
			}
		}, "stop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, o := good(), BuildOptions{VocabSize: 50, ChunkSize: 4}
			c.mod(s, &o)
			dir := filepath.Join(t.TempDir(), "idx")
			_, err := Build(context.Background(), dir, s, o, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
				t.Fatal("a failed build left an index")
			}
		})
	}
	// An existing destination needs Overwrite.
	dir := filepath.Join(t.TempDir(), "idx")
	mustBuild(t, dir, good(), BuildOptions{VocabSize: 50})
	if _, err := Build(context.Background(), dir, good(), BuildOptions{VocabSize: 50}, nil); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrote without Overwrite: %v", err)
	}
	other := randomSource(7, 50, 5, 9, "o")
	if _, err := Build(context.Background(), dir, other, BuildOptions{VocabSize: 50, Overwrite: true}, nil); err != nil {
		t.Fatal(err)
	}
	if ix := mustOpen(t, dir); ix.NumPassages() != 7 {
		t.Fatalf("overwritten index has %d passages", ix.NumPassages())
	}
}

func TestQuantise(t *testing.T) {
	s := scaleFor(2.55)
	for _, c := range []struct {
		w  float32
		q  uint8
		cl bool
	}{{2.55, 255, false}, {0.01, 1, false}, {1e-9, 1, false}, {1.0, 100, false}, {2.554, 255, false}, {2.6, 255, true}, {100, 255, true}} {
		if q, cl := quantise(c.w, s); q != c.q || cl != c.cl {
			t.Errorf("quantise(%g) = %d %v, want %d %v", c.w, q, cl, c.q, c.cl)
		}
	}
}
