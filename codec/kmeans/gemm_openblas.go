//go:build openblas

package kmeans

// #cgo LDFLAGS: -lopenblas
import "C"

import "gonum.org/v1/netlib/blas/netlib"

// blasImpl is OpenBLAS through gonum's netlib bindings (build tag openblas).
var blasImpl netlib.Implementation

// blasTransposed: multiply by the K×dim centroids as stored (Trans)
// rather than by a dim×K copy.
const blasTransposed = true

// BLASName names the BLAS backend compiled in (reported by benchmarks).
const BLASName = "openblas"
