//go:build !openblas

package graph

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemm is gonum's pure-Go BLAS; build with -tags openblas for OpenBLAS.
var sgemm blas.Float32Level3 = gonum.Implementation{}

// BLASName names the BLAS this binary was built with (for benchmark reports).
const BLASName = "gonum"
