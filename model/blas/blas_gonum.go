//go:build !openblas

package blas

// OpenBLAS reports whether this binary was built with OpenBLAS (-tags openblas).
const OpenBLAS = false

// Core is "gonum" in the pure-Go build: there are no OpenBLAS kernels.
func Core() string { return "gonum" }
