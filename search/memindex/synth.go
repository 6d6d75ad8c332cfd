package memindex

import (
	"math"
	"math/rand/v2"
)

// Collection is a synthetic clustered collection of unit token vectors:
// passages draw their tokens around a few topic centres, and queries are
// made from the topics of a chosen passage, so each query has related
// passages the way real ColBERT queries do.
type Collection struct {
	Dim     int
	Vecs    []float32 // Σ Doclens × Dim
	Doclens []int
	Topics  []float32 // T × Dim unit centres
	topicOf [][]int   // topics of each passage
	noise   float64
}

// SynthOptions sizes a synthetic collection.
type SynthOptions struct {
	Passages, Dim, Topics int
	MinLen, MaxLen        int     // token count per passage, uniform
	TopicsPerPassage      int     // topics mixed in one passage
	Noise                 float64 // std-dev of the noise norm relative to the unit centre (e.g. 0.8)
	Seed                  uint64
}

// Synthesize generates a collection.
func Synthesize(o SynthOptions) *Collection {
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	c := &Collection{Dim: o.Dim, noise: o.Noise}
	c.Topics = make([]float32, o.Topics*o.Dim)
	for i := range c.Topics {
		c.Topics[i] = float32(r.NormFloat64())
	}
	normalize(c.Topics, o.Dim)
	c.Doclens = make([]int, o.Passages)
	c.topicOf = make([][]int, o.Passages)
	total := 0
	for p := range c.Doclens {
		c.Doclens[p] = o.MinLen + r.IntN(o.MaxLen-o.MinLen+1)
		total += c.Doclens[p]
		ts := make([]int, o.TopicsPerPassage)
		for i := range ts {
			ts[i] = r.IntN(o.Topics)
		}
		c.topicOf[p] = ts
	}
	c.Vecs = make([]float32, 0, total*o.Dim)
	for p, l := range c.Doclens {
		for t := 0; t < l; t++ {
			c.Vecs = c.appendNoisy(r, c.Vecs, c.topicOf[p][r.IntN(len(c.topicOf[p]))])
		}
	}
	return c
}

// appendNoisy appends a unit vector near topic t.
func (c *Collection) appendNoisy(r *rand.Rand, dst []float32, t int) []float32 {
	centre := c.Topics[t*c.Dim : (t+1)*c.Dim]
	s := c.noise / math.Sqrt(float64(c.Dim))
	start := len(dst)
	for _, v := range centre {
		dst = append(dst, v+float32(s*r.NormFloat64()))
	}
	normalize(dst[start:], c.Dim)
	return dst
}

// Queries makes n queries of nq vectors each; query i is drawn from the
// topics of a random passage.
func (c *Collection) Queries(n, nq int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e77))
	qs := make([][]float32, n)
	for i := range qs {
		ts := c.topicOf[r.IntN(len(c.topicOf))]
		q := make([]float32, 0, nq*c.Dim)
		for j := 0; j < nq; j++ {
			q = c.appendNoisy(r, q, ts[r.IntN(len(ts))])
		}
		qs[i] = q
	}
	return qs
}

func normalize(m []float32, dim int) {
	for i := 0; i+dim <= len(m); i += dim {
		var s float64
		for _, v := range m[i : i+dim] {
			s += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(s))
		for k := range m[i : i+dim] {
			m[i+k] *= inv
		}
	}
}
