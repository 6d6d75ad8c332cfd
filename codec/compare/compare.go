// Package compare measures the token-vector codecs of the compression
// experiments against each other on the same vectors (ColBERTv2 residuals
// in codec/residual, fp32/fp16 in codec/flat, PCA + int8 in codec/pcaq):
// bytes per token, reconstruction error, MaxSim error and top-10
// agreement. It is a yardstick for experiments and tests, not part of an
// index: the on-disk index lives in codec/index, k-means in codec/kmeans.
package compare

import (
	"fmt"
	"github.com/colbert-go/colbert/model"
	"math"
	"sort"
)

// VectorCodec is a fixed-size lossy encoding of dim-dimensional vectors.
type VectorCodec interface {
	Name() string
	BytesPerVector() int
	// Encode writes len(vecs)/dim vectors into dst (BytesPerVector each).
	Encode(vecs []float32, dst []byte)
	// Decode reconstructs len(dst)/dim vectors from src.
	Decode(src []byte, dst []float32)
}

// Quality is how well a codec preserves vectors and ColBERT scores.
type Quality struct {
	Codec          string
	BytesPerVector int
	// MSE is the mean squared L2 distance between a vector and its
	// reconstruction (unit vectors: 2·(1 − cosine)).
	MSE float64
	// MaxSimRelErr is the mean over (query, document) pairs of
	// |MaxSim(decoded) − MaxSim(exact)| / |MaxSim(exact)|.
	MaxSimRelErr float64
	// Top10 is the mean fraction of each query's exact top-10 documents
	// that are also in its top 10 over decoded documents.
	Top10 float64
}

func (q Quality) String() string {
	return fmt.Sprintf("%-16s %5d B/token  mse %.5f  maxsim rel err %.5f  top-10 agreement %.3f",
		q.Codec, q.BytesPerVector, q.MSE, q.MaxSimRelErr, q.Top10)
}

// Evaluate encodes and decodes docs (documents of doclens tokens, flat
// row-major) with c and scores queries (qlen×dim each) against both.
func Evaluate(c VectorCodec, dim int, docs []float32, doclens []int, queries []float32, qlen int) (Quality, error) {
	n := len(docs) / dim
	total := 0
	for _, l := range doclens {
		total += l
	}
	if total != n || len(docs)%dim != 0 || qlen <= 0 || len(queries)%(qlen*dim) != 0 {
		return Quality{}, fmt.Errorf("compare: evaluate: %d doc values, doclens sum %d, %d query values do not fit dim %d / qlen %d", len(docs), total, len(queries), dim, qlen)
	}
	enc := make([]byte, n*c.BytesPerVector())
	c.Encode(docs, enc)
	dec := make([]float32, len(docs))
	c.Decode(enc, dec)
	q := Quality{Codec: c.Name(), BytesPerVector: c.BytesPerVector()}
	for i := range docs {
		d := float64(docs[i] - dec[i])
		q.MSE += d * d
	}
	q.MSE /= float64(n)
	nq := len(queries) / (qlen * dim)
	exact := make([]float64, len(doclens))
	approx := make([]float64, len(doclens))
	for qi := 0; qi < nq; qi++ {
		qv := queries[qi*qlen*dim : (qi+1)*qlen*dim]
		off := 0
		for di, l := range doclens {
			exact[di] = float64(model.MaxSim(qv, len(qv)/dim, docs[off*dim:(off+l)*dim], l, dim))
			approx[di] = float64(model.MaxSim(qv, len(qv)/dim, dec[off*dim:(off+l)*dim], l, dim))
			off += l
			if exact[di] != 0 {
				q.MaxSimRelErr += math.Abs(approx[di]-exact[di]) / math.Abs(exact[di])
			}
		}
		a, b := top(exact, 10), top(approx, 10)
		in := map[int]bool{}
		for _, d := range a {
			in[d] = true
		}
		hit := 0
		for _, d := range b {
			if in[d] {
				hit++
			}
		}
		q.Top10 += float64(hit) / float64(len(a))
	}
	q.MaxSimRelErr /= float64(nq * len(doclens))
	q.Top10 /= float64(nq)
	return q, nil
}

// top returns the indices of the k largest scores (ties by lower index).
func top(s []float64, k int) []int {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	return idx[:min(k, len(idx))]
}
