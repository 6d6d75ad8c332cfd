package memindex

import (
	"context"
	"math"
	"slices"
	"testing"
)

func TestBuildCodesAndIVF(t *testing.T) {
	const dim = 32
	c := Synthesize(SynthOptions{Passages: 200, Dim: dim, Topics: 5, WordsPerTopic: 4, MinLen: 0, MaxLen: 30, TopicsPerPassage: 2, Seed: 9})
	x, err := Build(context.Background(), c.Vecs, c.Doclens, dim, Options{K: 16, Seed: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
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
	inIVF := make([]map[int32]bool, k)
	for cid := range inIVF {
		l := x.IVF(cid)
		if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
			t.Fatalf("IVF %d not sorted unique: %v", cid, l)
		}
		inIVF[cid] = map[int32]bool{}
		for _, p := range l {
			inIVF[cid][p] = true
		}
	}
	tokens := 0
	for pid := 0; pid < x.NumPassages(); pid++ {
		v := x.Vectors(pid)
		codes := x.Codes(pid)
		if len(codes) != c.Doclens[pid] || len(v) != len(codes)*dim {
			t.Fatalf("pid %d: %d codes, %d floats, doclen %d", pid, len(codes), len(v), c.Doclens[pid])
		}
		tokens += len(codes)
		for tk, code := range codes {
			// the code is the argmax of the dot product (up to float ties)
			best := math.Inf(-1)
			for cid := 0; cid < k; cid++ {
				var d float64
				for i := 0; i < dim; i++ {
					d += float64(v[tk*dim+i] * x.Centroids()[cid*dim+i])
				}
				best = math.Max(best, d)
			}
			var got float64
			for i := 0; i < dim; i++ {
				got += float64(v[tk*dim+i] * x.Centroids()[int(code)*dim+i])
			}
			if got < best-1e-5 {
				t.Fatalf("pid %d token %d: code %d scores %v, best %v", pid, tk, code, got, best)
			}
			if !inIVF[code][int32(pid)] {
				t.Fatalf("pid %d missing from IVF %d", pid, code)
			}
		}
		d, err := x.Decompress(pid, nil)
		if err != nil || !slices.Equal(d, v) {
			t.Fatalf("decompress pid %d: %v", pid, err)
		}
	}
	if tokens != x.NumTokens() {
		t.Errorf("tokens %d vs %d", tokens, x.NumTokens())
	}
	if _, err := x.Decompress(200, nil); err == nil {
		t.Error("pid out of range accepted")
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build(context.Background(), make([]float32, 10), []int{1}, 4, Options{K: 1}); err == nil {
		t.Error("doclens/vecs mismatch accepted")
	}
	if _, err := Build(context.Background(), make([]float32, 8), []int{2}, 4, Options{Centroids: make([]float32, 3)}); err == nil {
		t.Error("bad centroids accepted")
	}
	if _, err := Build(context.Background(), nil, []int{-1, 1}, 4, Options{K: 1}); err == nil {
		t.Error("negative doclen accepted")
	}
}

func TestResidualStorage(t *testing.T) {
	const dim = 32
	c := Synthesize(SynthOptions{Passages: 100, Dim: dim, Topics: 4, WordsPerTopic: 4, MinLen: 1, MaxLen: 30, TopicsPerPassage: 2, Seed: 4})
	exact, err := Build(context.Background(), c.Vecs, c.Doclens, dim, Options{K: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	prevErr := math.Inf(1)
	for _, nbits := range []int{1, 2, 4} {
		x, err := Build(context.Background(), c.Vecs, c.Doclens, dim, Options{Centroids: exact.Centroids(), NBits: nbits})
		if err != nil {
			t.Fatal(err)
		}
		if x.BytesPerToken() != 4+dim*nbits/8 || x.Vectors(0) != nil {
			t.Fatalf("%d bits: %d bytes/token", nbits, x.BytesPerToken())
		}
		var sq float64
		for pid := 0; pid < x.NumPassages(); pid++ {
			if !slices.Equal(x.Codes(pid), exact.Codes(pid)) {
				t.Fatalf("%d bits: codes of pid %d differ from float32 storage", nbits, pid)
			}
			d, err := x.Decompress(pid, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range exact.Vectors(pid) {
				sq += float64((d[i] - v) * (d[i] - v))
			}
		}
		mse := sq / float64(x.NumTokens())
		t.Logf("%d bits: mean squared reconstruction error per token %.4f", nbits, mse)
		if !(mse < prevErr) || mse > 0.5 {
			t.Errorf("%d bits: error %v not below %v", nbits, mse, prevErr)
		}
		prevErr = mse
	}
}
