package searchtest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Collection is a synthetic clustered collection of unit token vectors with
// a two-level structure like real ColBERT embeddings: topics contain
// "words" (tight clusters, the analogue of centroids), each passage mixes a
// few topics and its tokens are noisy copies of words of those topics.
// Queries copy words of a chosen passage, so many passages share topics
// with a query and exact MaxSim grades them by word overlap.
type Collection struct {
	Dim     int
	Vecs    []float32 // Σ Doclens × Dim
	Doclens []int
	Words   []float32 // Topics·WordsPerTopic × Dim unit centres
	opt     SynthOptions
	topicOf [][]int32 // topics of each passage
	wordOf  []int32   // word of each token
	offsets []int
}

// SynthOptions sizes a synthetic collection.
type SynthOptions struct {
	Passages, Dim         int
	Topics, WordsPerTopic int
	MinLen, MaxLen        int // tokens per passage, uniform
	TopicsPerPassage      int
	// WordNoise spreads words around their topic, TokenNoise tokens around
	// their word: the norm of the Gaussian noise added to a unit centre
	// before renormalising (0 means 1.0 and 0.5).
	WordNoise, TokenNoise float64
	Seed                  uint64
}

// Synthesize generates a collection.
func Synthesize(o SynthOptions) *Collection {
	if o.WordNoise == 0 {
		o.WordNoise = 1
	}
	if o.TokenNoise == 0 {
		o.TokenNoise = 0.5
	}
	o.WordsPerTopic = max(o.WordsPerTopic, 1)
	o.TopicsPerPassage = max(o.TopicsPerPassage, 1)
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	c := &Collection{Dim: o.Dim, opt: o}
	topics := make([]float32, 0, o.Topics*o.Dim)
	for i := 0; i < o.Topics; i++ {
		topics = noisy(r, topics, make([]float32, o.Dim), 1)
	}
	c.Words = make([]float32, 0, o.Topics*o.WordsPerTopic*o.Dim)
	for t := 0; t < o.Topics; t++ {
		for w := 0; w < o.WordsPerTopic; w++ {
			c.Words = noisy(r, c.Words, topics[t*o.Dim:(t+1)*o.Dim], o.WordNoise)
		}
	}
	c.Doclens = make([]int, o.Passages)
	c.topicOf = make([][]int32, o.Passages)
	c.offsets = make([]int, o.Passages+1)
	for p := range c.Doclens {
		c.Doclens[p] = o.MinLen + r.IntN(o.MaxLen-o.MinLen+1)
		c.offsets[p+1] = c.offsets[p] + c.Doclens[p]
		ts := make([]int32, o.TopicsPerPassage)
		for i := range ts {
			ts[i] = int32(r.IntN(o.Topics))
		}
		c.topicOf[p] = ts
	}
	total := c.offsets[o.Passages]
	c.Vecs = make([]float32, 0, total*o.Dim)
	c.wordOf = make([]int32, 0, total)
	for p, l := range c.Doclens {
		for t := 0; t < l; t++ {
			w := c.randomWord(r, p)
			c.wordOf = append(c.wordOf, w)
			c.Vecs = noisy(r, c.Vecs, c.word(w), o.TokenNoise)
		}
	}
	return c
}

func (c *Collection) word(w int32) []float32 {
	return c.Words[int(w)*c.Dim : (int(w)+1)*c.Dim]
}

// randomWord picks a topic of passage p, then a word of it (Zipf-like: low
// word ids are more frequent, as common terms are).
func (c *Collection) randomWord(r *rand.Rand, p int) int32 {
	ts := c.topicOf[p]
	t := ts[r.IntN(len(ts))]
	w := int(float64(c.opt.WordsPerTopic) * math.Pow(r.Float64(), 2))
	return t*int32(c.opt.WordsPerTopic) + int32(min(w, c.opt.WordsPerTopic-1))
}

// noisy appends normalize(centre + noise·g/√dim), g standard Gaussian.
func noisy(r *rand.Rand, dst, centre []float32, noise float64) []float32 {
	s := noise / math.Sqrt(float64(len(centre)))
	start := len(dst)
	for _, v := range centre {
		dst = append(dst, v+float32(s*r.NormFloat64()))
	}
	normalize(dst[start:], len(centre))
	return dst
}

// Queries makes n queries of nq vectors. Query i is drawn from a random
// passage with at least one token: most vectors are noisy copies of words
// that passage contains, the rest other words of its topics.
func (c *Collection) Queries(n, nq int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e77))
	qs := make([][]float32, n)
	for i := range qs {
		p := r.IntN(len(c.Doclens))
		for c.Doclens[p] == 0 {
			p = r.IntN(len(c.Doclens))
		}
		q := make([]float32, 0, nq*c.Dim)
		for j := 0; j < nq; j++ {
			var w int32
			if r.Float64() < 0.7 {
				w = c.wordOf[c.offsets[p]+r.IntN(c.Doclens[p])]
			} else {
				w = c.randomWord(r, p)
			}
			q = noisy(r, q, c.word(w), c.opt.TokenNoise)
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
		if s == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(s))
		for k := range m[i : i+dim] {
			m[i+k] *= inv
		}
	}
}

// Len is the number of passages (codec/index.Source).
func (c *Collection) Len() int { return len(c.Doclens) }

// ID is passage i's string id: its decimal number.
func (c *Collection) ID(i int) string { return strconv.Itoa(i) }

// Embed returns views of the vectors of passages start…end−1.
func (c *Collection) Embed(_ context.Context, start, end int) ([][]float32, error) {
	if start < 0 || end > len(c.Doclens) || start > end {
		return nil, fmt.Errorf("searchtest: passages [%d,%d) out of range [0,%d)", start, end, len(c.Doclens))
	}
	out := make([][]float32, 0, end-start)
	for p := start; p < end; p++ {
		out = append(out, c.Passage(p))
	}
	return out, nil
}

// EmbedPIDs returns views of the vectors of the given passages.
func (c *Collection) EmbedPIDs(ctx context.Context, pids []int) ([][]float32, error) {
	out := make([][]float32, len(pids))
	for i, p := range pids {
		if p < 0 || p >= len(c.Doclens) {
			return nil, fmt.Errorf("searchtest: passage %d out of range [0,%d)", p, len(c.Doclens))
		}
		out[i] = c.Passage(p)
	}
	return out, nil
}

// Passage is passage p's token matrix (a view).
func (c *Collection) Passage(p int) []float32 {
	return c.Vecs[c.offsets[p]*c.Dim : c.offsets[p+1]*c.Dim]
}
