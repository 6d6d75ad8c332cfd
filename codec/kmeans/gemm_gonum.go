//go:build !openblas

package kmeans

import "gonum.org/v1/gonum/blas/gonum"

// blasImpl is the pure-Go BLAS used for the batched dot products of the
// assignment step; the openblas build tag swaps in OpenBLAS.
var blasImpl gonum.Implementation

// blasTransposed: multiply by the K×dim centroids as stored (Trans)
// rather than by a dim×K copy.
const blasTransposed = false

// BLASName names the BLAS backend compiled in (reported by benchmarks).
const BLASName = "gonum"
