package sparse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/codec/sparse"
)

// memSource is an in-memory sparse.Source.
type memSource struct {
	ids  []string
	vecs []sparse.Vector
}

func (s *memSource) NumPassages() int                    { return len(s.vecs) }
func (s *memSource) ID(i int) string                     { return s.ids[i] }
func (s *memSource) Vector(i int) (sparse.Vector, error) { return s.vecs[i], nil }

// gen draws SPLADE-like sparse vectors: term ids Zipf-distributed over the
// vocabulary (rank 0 the most frequent), and weights that shrink with a
// term's frequency (as a learned, IDF-like weight does) times a log-normal
// spread. equal makes every weight 1 (scores become small integers: many
// ties, which the tie order must resolve identically).
type gen struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	vocab int
	equal bool
	// spread is the σ of the log-normal factor of the weights.
	spread float64
	// splade switches to the SPLADE-like weight model (spladeWeight).
	splade bool
}

func newGen(seed uint64, vocab int, s float64, equal bool) *gen {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	return &gen{rng: rng, zipf: rand.NewZipf(rng, s, 2, uint64(vocab-1)), vocab: vocab, equal: equal, spread: 0.6}
}

// weight of a term of the given rank.
func (g *gen) weight(rank int32) float32 {
	if g.equal {
		return 1
	}
	if g.splade {
		return g.spladeWeight(rank, 0.25)
	}
	idf := 0.2 + math.Log1p(float64(rank))/math.Log(float64(g.vocab))
	return float32(idf * math.Exp(g.spread*g.rng.NormFloat64()))
}

// vector draws a vector of n distinct terms.
func (g *gen) vector(n int) sparse.Vector {
	n = min(n, g.vocab/2)
	set := make(map[int32]bool, n)
	for len(set) < n {
		set[int32(g.zipf.Uint64())] = true
	}
	v := sparse.Vector{Terms: make([]int32, 0, n)}
	for t := range set {
		v.Terms = append(v.Terms, t)
	}
	slices.Sort(v.Terms)
	for _, t := range v.Terms {
		v.Weights = append(v.Weights, g.weight(t))
	}
	return v
}

// collection draws n passages of lo…hi terms (a few empty), ids prefix+i.
func (g *gen) collection(n, lo, hi int, prefix string) *memSource {
	s := &memSource{}
	for i := 0; i < n; i++ {
		s.ids = append(s.ids, fmt.Sprintf("%s%d", prefix, i))
		l := lo + g.rng.IntN(hi-lo+1)
		if i%97 == 3 {
			l = 0
		}
		s.vecs = append(s.vecs, g.vector(l))
	}
	return s
}

func build(t testing.TB, src sparse.Source, opt sparse.BuildOptions) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "idx")
	if _, err := sparse.Build(context.Background(), dir, src, opt, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t testing.TB, dir string) *sparse.Index {
	t.Helper()
	ix, err := sparse.Open(dir, sparse.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// spladeWeight is the SPLADE-like model of a weight: the square of an
// IDF-like rarity, so frequent terms (SPLADE's near-stopwords) weigh
// ~0.01–0.05 and rare ones ~1, times a log-normal factor of σ sigma
// (small for passages; large for queries, whose weight then sits on a few
// terms, as a SPLADE query's does on its original content words).
func (g *gen) spladeWeight(rank int32, sigma float64) float32 {
	r := 0.1 + math.Log1p(float64(rank))/math.Log(float64(g.vocab))
	return float32(r * r * math.Exp(sigma*g.rng.NormFloat64()))
}

// query draws a query of n distinct terms; under the SPLADE-like model its
// weights are concentrated (σ = 1).
func (g *gen) query(n int) sparse.Vector {
	v := g.vector(n)
	if g.splade {
		for i, t := range v.Terms {
			v.Weights[i] = g.spladeWeight(t, 1)
		}
	}
	return v
}
