// Package maxsim computes ColBERT's late-interaction score: for a query
// matrix Q (nq×dim) and a document matrix D (n×dim), Σ_i max_j q_i·d_j.
//
// The query is transposed once into blocks of 32 lanes ([block][dim][32]), so
// a kernel streams document rows, broadcasts one document value at a time and
// updates 32 query scores with vector FMAs; the max over document tokens is
// then an element-wise vector max and no horizontal reduction is needed
// until the end of a document. On amd64 an AVX-512 or AVX2+FMA assembly
// kernel is chosen at run time; every platform has a pure-Go kernel.
package maxsim

import (
	"errors"
	"fmt"
	"math"
)

// Lanes is the number of query rows handled by one transposed block.
const Lanes = 32

// Kernel names an implementation of the inner loop.
type Kernel int

const (
	// Generic is the pure-Go kernel, available everywhere.
	Generic Kernel = iota
	// AVX2 uses 256-bit FMA (amd64 with AVX2 and FMA).
	AVX2
	// AVX512 uses 512-bit FMA (amd64 with AVX-512F).
	AVX512
)

func (k Kernel) String() string {
	switch k {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("Kernel(%d)", int(k))
}

// Available reports whether kernel k can run on this machine.
func (k Kernel) Available() bool {
	switch k {
	case Generic:
		return true
	case AVX2:
		return hasAVX2
	case AVX512:
		return hasAVX512
	}
	return false
}

// Best returns the fastest kernel available on this machine.
func Best() Kernel {
	switch {
	case hasAVX512:
		return AVX512
	case hasAVX2:
		return AVX2
	}
	return Generic
}

// Kernels lists every kernel available on this machine (Generic first).
func Kernels() []Kernel {
	var ks []Kernel
	for _, k := range []Kernel{Generic, AVX2, AVX512} {
		if k.Available() {
			ks = append(ks, k)
		}
	}
	return ks
}

// Query is a query prepared for repeated scoring. It is immutable after
// NewQuery and safe for concurrent use by many goroutines.
type Query struct {
	nq, dim int
	kernel  Kernel
	qt      []float32 // [blocks][dim][Lanes], zero-padded rows
}

// ErrEmptyQuery is returned for a query with no rows.
var ErrEmptyQuery = errors.New("maxsim: query has no vectors")

// NewQuery prepares the row-major nq×dim matrix q with the best kernel.
func NewQuery(q []float32, nq, dim int) (*Query, error) {
	return NewQueryKernel(Best(), q, nq, dim)
}

// NewQueryKernel is NewQuery with an explicit kernel (for tests and benchmarks).
func NewQueryKernel(k Kernel, q []float32, nq, dim int) (*Query, error) {
	if nq <= 0 {
		return nil, ErrEmptyQuery
	}
	if dim <= 0 {
		return nil, fmt.Errorf("maxsim: dim %d must be positive", dim)
	}
	if len(q) != nq*dim {
		return nil, fmt.Errorf("maxsim: query has %d floats, want nq×dim = %d×%d = %d", len(q), nq, dim, nq*dim)
	}
	if !k.Available() {
		return nil, fmt.Errorf("maxsim: kernel %v not available on this CPU", k)
	}
	blocks := (nq + Lanes - 1) / Lanes
	qt := make([]float32, blocks*dim*Lanes)
	for i := 0; i < nq; i++ {
		b, l := i/Lanes, i%Lanes
		base := b * dim * Lanes
		for k := 0; k < dim; k++ {
			qt[base+k*Lanes+l] = q[i*dim+k]
		}
	}
	return &Query{nq: nq, dim: dim, kernel: k, qt: qt}, nil
}

// Len is the number of query vectors.
func (q *Query) Len() int { return q.nq }

// Dim is the vector dimension.
func (q *Query) Dim() int { return q.dim }

// Kernel is the kernel this query scores with.
func (q *Query) Kernel() Kernel { return q.kernel }

// Score returns MaxSim against the row-major document d (len(d)/dim rows).
// An empty document scores 0. len(d) must be a multiple of Dim.
func (q *Query) Score(d []float32) float32 {
	n := len(d) / q.dim
	if n*q.dim != len(d) {
		panic(fmt.Sprintf("maxsim: document has %d floats, not a multiple of dim %d", len(d), q.dim))
	}
	if n == 0 {
		return 0
	}
	var mx [Lanes]float32
	var sum float32
	for b := 0; b*Lanes < q.nq; b++ {
		qt := q.qt[b*q.dim*Lanes : (b+1)*q.dim*Lanes]
		lanes := min(Lanes, q.nq-b*Lanes)
		for i := range mx {
			mx[i] = float32(math.Inf(-1))
		}
		switch q.kernel {
		case AVX512:
			maxAVX512(qt, d, n, q.dim, &mx)
		case AVX2:
			maxAVX2(qt, d, n, q.dim, lanes, &mx)
		default:
			maxGeneric(qt, d, n, q.dim, lanes, &mx)
		}
		for i := 0; i < lanes; i++ {
			sum += mx[i]
		}
	}
	return sum
}

// ScoreBatch scores many documents stored back to back in docs: document i
// holds token rows offsets[i]..offsets[i+1]. out must have len(offsets)-1
// entries.
func (q *Query) ScoreBatch(docs []float32, offsets []int, out []float32) error {
	if len(offsets) == 0 {
		if len(out) != 0 {
			return fmt.Errorf("maxsim: %d outputs for 0 documents", len(out))
		}
		return nil
	}
	if len(out) != len(offsets)-1 {
		return fmt.Errorf("maxsim: %d outputs for %d documents", len(out), len(offsets)-1)
	}
	for i := range out {
		lo, hi := offsets[i], offsets[i+1]
		if lo < 0 || hi < lo || hi*q.dim > len(docs) {
			return fmt.Errorf("maxsim: document %d has bad token range [%d,%d) for %d tokens", i, lo, hi, len(docs)/q.dim)
		}
		out[i] = q.Score(docs[lo*q.dim : hi*q.dim])
	}
	return nil
}

// maxGeneric folds max_j (Q·d_j) for the first lanes query rows into mx.
func maxGeneric(qt, d []float32, n, dim, lanes int, mx *[Lanes]float32) {
	var acc [Lanes]float32
	for j := 0; j < n; j++ {
		row := d[j*dim : (j+1)*dim]
		a := acc[:lanes]
		clear(a)
		for k, x := range row {
			qk := qt[k*Lanes : k*Lanes+lanes]
			for i := range a {
				a[i] += x * qk[i]
			}
		}
		for i, v := range a {
			if v > mx[i] {
				mx[i] = v
			}
		}
	}
}
