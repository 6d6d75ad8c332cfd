//go:build openblas

package encode

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// newBLAS is OpenBLAS through gonum's netlib cgo binding.
func newBLAS() blas.Float32Level3 { return netlib.Implementation{} }

// BLASName names the BLAS this binary was built with (for benchmark reports).
const BLASName = "openblas"
