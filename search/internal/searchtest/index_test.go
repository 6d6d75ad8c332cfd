package searchtest

import (
	"context"
	"math"
	"slices"
	"testing"
)

// TestBuildCodesAndIVF checks that every token's code is its best centroid
// by dot product, that the IVF lists exactly the passages of each centroid,
// and that the caller's vectors are kept as they were.
func TestBuildCodesAndIVF(t *testing.T) {
	const dim = 32
	c := Synthesize(SynthOptions{Passages: 200, Dim: dim, Topics: 5, WordsPerTopic: 4, MinLen: 0, MaxLen: 30, TopicsPerPassage: 2, Seed: 9})
	orig := slices.Clone(c.Vecs)
	x, err := Build(context.Background(), c.Vecs, c.Doclens, dim, Options{K: 16, Seed: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Vecs, orig) {
		t.Fatal("Build reordered the caller's vectors")
	}
	k := len(x.Centroids()) / dim
	if k != 16 {
		t.Fatalf("K = %d", k)
	}
	for i := 0; i < k; i++ {
		var s float64
		for _, v := range x.Centroids()[i*dim : (i+1)*dim] {
			s += float64(v * v)
		}
		if math.Abs(s-1) > 1e-4 {
			t.Fatalf("centroid %d has norm² %v", i, s)
		}
	}
	ivfPIDs := 0
	for cid := 0; cid < k; cid++ {
		l := x.IVF(cid)
		if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
			t.Fatalf("IVF %d not sorted unique: %v", cid, l)
		}
		for _, pid := range l {
			if !slices.Contains(x.Codes(int(pid)), int32(cid)) {
				t.Fatalf("IVF %d lists pid %d, which has no token of it", cid, pid)
			}
		}
		ivfPIDs += len(l)
	}
	codesPIDs := 0
	for pid := 0; pid < x.NumPassages(); pid++ {
		v := x.Vectors(pid)
		codes := x.Codes(pid)
		if len(codes) != c.Doclens[pid] || !slices.Equal(v, c.Passage(pid)) {
			t.Fatalf("pid %d: %d codes for doclen %d, or vectors differ from the collection's", pid, len(codes), c.Doclens[pid])
		}
		for tk, code := range codes {
			// the code is the argmax of the dot product (up to float ties)
			best := math.Inf(-1)
			for cid := 0; cid < k; cid++ {
				best = math.Max(best, dot(v[tk*dim:(tk+1)*dim], x.Centroids()[cid*dim:(cid+1)*dim]))
			}
			if got := dot(v[tk*dim:(tk+1)*dim], x.Centroids()[int(code)*dim:(int(code)+1)*dim]); got < best-1e-5 {
				t.Fatalf("pid %d token %d: code %d scores %v, best %v", pid, tk, code, got, best)
			}
			if !slices.Contains(x.IVF(int(code)), int32(pid)) {
				t.Fatalf("pid %d missing from IVF %d", pid, code)
			}
		}
		codesPIDs += len(slices.Compact(slices.Sorted(slices.Values(codes))))
		d, err := x.Decompress(pid, nil)
		if err != nil || !slices.Equal(d, v) {
			t.Fatalf("decompress pid %d: %v", pid, err)
		}
	}
	if ivfPIDs != codesPIDs {
		t.Errorf("IVF holds %d (centroid, pid) pairs, the codes %d", ivfPIDs, codesPIDs)
	}
	if _, err := x.Decompress(200, nil); err == nil {
		t.Error("pid out of range accepted")
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Build(ctx, make([]float32, 10*8), []int{1}, 8, Options{K: 1}); err == nil {
		t.Error("doclens/vecs mismatch accepted")
	}
	if _, err := Build(ctx, make([]float32, 8), []int{-1, 2}, 8, Options{K: 1}); err == nil {
		t.Error("negative doclen accepted")
	}
	if _, err := Build(ctx, make([]float32, 8), []int{1}, 8, Options{K: 1}); err == nil {
		t.Error("one token (nothing to hold out for the codec) accepted")
	}
	if _, err := Build(ctx, nil, nil, 0, Options{}); err == nil {
		t.Error("dim 0 accepted")
	}
}
