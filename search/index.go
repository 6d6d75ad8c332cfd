// Package search retrieves passages from a ColBERTv2 index: exhaustive
// MaxSim over every passage (the recall reference) and PLAID's four-stage
// search (candidate generation, centroid interaction with and without
// pruning, exact MaxSim on decompressed residuals).
package search

import (
	"errors"
	"fmt"
)

// Index is the read side of a compressed ColBERTv2 index that search needs.
// Implementations must be safe for concurrent readers.
type Index interface {
	// Dim is the vector dimension.
	Dim() int
	// NumPassages is the number of passages; pids are 0..NumPassages-1.
	NumPassages() int
	// Centroids is the K×Dim row-major centroid matrix (unit vectors).
	Centroids() []float32
	// IVF lists the sorted unique pids having a token whose code is centroid c.
	IVF(c int) []int32
	// Codes is the centroid id of every token of pid, in token order.
	Codes(pid int) []int32
	// Decompress writes pid's token vectors (len(Codes(pid))×Dim) into dst,
	// growing it if needed, and returns it.
	Decompress(pid int, dst []float32) ([]float32, error)
}

// Hit is one retrieved passage.
type Hit struct {
	PID   int
	Score float32
}

var (
	// ErrEmptyQuery is returned for a query without vectors.
	ErrEmptyQuery = errors.New("search: query has no vectors")
	// ErrNoTokens is returned by a query encoder for text without any
	// wordpiece (indexer.ErrNoTokens is this error). It lives here, below
	// the encoders, so that callers such as search/server can tell the
	// client's mistake apart without depending on the model.
	ErrNoTokens = errors.New("query has no tokens")
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
