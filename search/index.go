// Package search retrieves passages from a ColBERTv2 index: exhaustive
// MaxSim over every passage (the recall reference) and PLAID's four-stage
// search (candidate generation, centroid interaction with and without
// pruning, exact MaxSim on decompressed residuals).
package search

import (
	"errors"
	"fmt"
)

// Passages is what exhaustive search needs of a store of token vectors:
// the vectors of any passage, decompressed. Flat (fp32, fp16, PCA+int8)
// and residual indexes both provide it. Implementations must be safe for
// concurrent readers.
type Passages interface {
	// Dim is the vector dimension.
	Dim() int
	// NumPassages is the number of passages; pids are 0..NumPassages-1.
	NumPassages() int
	// Decompress writes pid's token vectors (tokens×Dim) into dst,
	// growing it if needed, and returns it.
	Decompress(pid int, dst []float32) ([]float32, error)
}

// Index is the read side of a compressed ColBERTv2 index that PLAID needs:
// Passages plus the centroids and their inverted lists.
type Index interface {
	Passages
	// Centroids is the K×Dim row-major centroid matrix (unit vectors).
	Centroids() []float32
	// IVF lists the sorted unique pids having a token whose code is centroid c.
	IVF(c int) []int32
	// Codes is the centroid id of every token of pid, in token order
	// (Decompress gives len(Codes(pid)) vectors).
	Codes(pid int) []int32
}

// Hit is one retrieved passage.
type Hit struct {
	PID   int
	Score float32
}

var (
	// ErrEmptyQuery is returned for a query without vectors.
	ErrEmptyQuery = errors.New("search: query has no vectors")
	// ErrNoCentroids is returned for PLAID search over a store without
	// centroids (a flat index): only exhaustive search applies.
	ErrNoCentroids = errors.New("search: the index keeps no centroids, so PLAID cannot search it (search exhaustively)")
	// ErrDimMismatch is returned when query and index dimensions differ.
	ErrDimMismatch = errors.New("search: query dimension differs from the index")
)

// checkQuery validates a row-major query matrix of dimension qdim against
// the index dimension.
func checkQuery(q []float32, qdim, dim int) (nq int, err error) {
	if qdim != dim {
		return 0, fmt.Errorf("%w: query dim %d, index dim %d", ErrDimMismatch, qdim, dim)
	}
	if len(q) == 0 {
		return 0, ErrEmptyQuery
	}
	if len(q)%dim != 0 {
		return 0, fmt.Errorf("search: query has %d floats, not a multiple of dim %d", len(q), dim)
	}
	return len(q) / dim, nil
}
