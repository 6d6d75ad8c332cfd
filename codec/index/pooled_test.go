package index

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/codec/pool"
)

// kept is the number of vectors a passage of n tokens is stored with at
// pool factor f: the first PoolKeepFirst as they are, the rest pooled.
func kept(n, f int) int {
	k := min(n, PoolKeepFirst)
	return k + pool.Clusters(n-k, f)
}

// TestPoolFactor: an index built with PoolFactor 2 stores the first token
// and max(1, (n−1)/2) cluster means per passage, close to the pooled vectors (not the raw ones),
// records the factor, pools appended passages the same way, and factor 1
// gives the bytes of no pooling.
func TestPoolFactor(t *testing.T) {
	src := newSource(200, 40, 3, "doc-")
	root := t.TempDir()
	opt := testOpts
	opt.PoolFactor = 2
	m := buildT(t, filepath.Join(root, "pooled"), src, opt)
	if m.PoolFactor != 2 || m.PoolKeep != PoolKeepFirst {
		t.Fatalf("manifest pool_factor %d, pool_keep %d; want 2, %d", m.PoolFactor, m.PoolKeep, PoolKeepFirst)
	}
	ix, err := Open(filepath.Join(root, "pooled"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var raw, want int64
	for pid, d := range src.docs {
		n := len(d) / 128
		raw += int64(n)
		want += int64(kept(n, 2))
		if got := ix.DocLen(pid); got != kept(n, 2) {
			t.Fatalf("passage %d: %d stored vectors for %d tokens, want %d", pid, got, n, kept(n, 2))
		}
		if n == 0 {
			continue
		}
		// The stored vectors decompress close to the pooled means.
		pv, err := pool.PoolKeep(d, 128, 2, PoolKeepFirst, pool.Ward)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := ix.Decompress(pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(pv)/128; i++ {
			var dot float64
			for x := 0; x < 128; x++ {
				dot += float64(pv[i*128+x]) * float64(dec[i*128+x])
			}
			if dot < 0.8 {
				t.Fatalf("passage %d vector %d: cosine %.3f between pooled and stored", pid, i, dot)
			}
		}
	}
	if m.NumEmbeddings != want || want > raw/2+int64(len(src.docs)) {
		t.Fatalf("%d embeddings stored, want %d (of %d tokens)", m.NumEmbeddings, want, raw)
	}
	ix.Close()

	more := newSource(30, 40, 4, "new-")
	am, err := Append(context.Background(), filepath.Join(root, "pooled"), more, AppendOptions{Threads: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var added int64
	for _, d := range more.docs {
		added += int64(kept(len(d)/128, 2))
	}
	if am.NumEmbeddings != want+added || am.PoolFactor != 2 {
		t.Fatalf("after append: %d embeddings, pool factor %d; want %d, 2", am.NumEmbeddings, am.PoolFactor, want+added)
	}

	// Factor 1 is no pooling, to the byte.
	plain := buildT(t, filepath.Join(root, "plain"), src, testOpts)
	opt.PoolFactor = 1
	one := buildT(t, filepath.Join(root, "one"), src, opt)
	if one.NumEmbeddings != plain.NumEmbeddings || one.PoolFactor != 0 || math.Abs(float64(one.NumEmbeddings-raw)) != 0 {
		t.Fatalf("factor 1: %d embeddings (factor %d), no pooling %d", one.NumEmbeddings, one.PoolFactor, plain.NumEmbeddings)
	}
	a, b := dirFiles(t, filepath.Join(root, "plain")), dirFiles(t, filepath.Join(root, "one"))
	for name, x := range a {
		if string(b[name]) != string(x) {
			t.Errorf("factor 1: %s differs from no pooling", name)
		}
	}

	opt.PoolFactor = -1
	if _, err := Build(context.Background(), filepath.Join(root, "neg"), src, opt, nil); err == nil {
		t.Error("pool factor -1 accepted")
	}
}

// TestPoolFactorParts: a split build (plan, two encode parts, merge) of a
// pooled index gives the bytes of Build with the same factor: the plan
// records the factor and each part pools.
func TestPoolFactorParts(t *testing.T) {
	src := newSource(200, 40, 5, "doc-")
	root := t.TempDir()
	ctx := context.Background()
	opt := testOpts
	opt.PoolFactor = 2
	buildT(t, filepath.Join(root, "built"), src, opt)
	plan := filepath.Join(root, "plan")
	pi, err := WritePlan(ctx, plan, src, opt, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pi.Options.PoolFactor != 2 {
		t.Fatalf("plan records pool factor %d", pi.Options.PoolFactor)
	}
	for part := 0; part < 2; part++ {
		if err := EncodePart(ctx, plan, src, part, 2, 2, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Merge(ctx, plan, filepath.Join(root, "merged"), false); err != nil {
		t.Fatal(err)
	}
	a, b := dirFiles(t, filepath.Join(root, "built")), dirFiles(t, filepath.Join(root, "merged"))
	if len(a) != len(b) {
		t.Fatalf("built %d files, merged %d", len(a), len(b))
	}
	for name, x := range a {
		if string(b[name]) != string(x) {
			t.Errorf("%s differs between Build and plan/encode/merge with pool factor 2", name)
		}
	}
}
