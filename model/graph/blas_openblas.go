//go:build openblas

package graph

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// sgemm is OpenBLAS through gonum's netlib cgo binding.
var sgemm blas.Float32Level3 = netlib.Implementation{}

// BLASName names the BLAS this binary was built with (for benchmark reports).
const BLASName = "openblas"
