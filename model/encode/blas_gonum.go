//go:build !openblas

package encode

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// newBLAS is gonum's pure-Go BLAS; build with -tags openblas for OpenBLAS.
func newBLAS() blas.Float32Level3 { return gonum.Implementation{} }

// BLASName names the BLAS this binary was built with (for benchmark reports).
const BLASName = "gonum"

// SetBLASThreads is a no-op in the pure-Go build (see the openblas build).
func SetBLASThreads(n int) {}
