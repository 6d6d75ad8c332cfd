//go:build openblas

package blas

// #cgo LDFLAGS: -lopenblas
// char* openblas_get_corename(void);
import "C"

// OpenBLAS reports whether this binary was built with OpenBLAS (-tags openblas).
const OpenBLAS = true

// Core is the name of the kernels OpenBLAS runs with, as
// openblas_get_corename() gives it (e.g. "Haswell", "SkylakeX").
func Core() string { return C.GoString(C.openblas_get_corename()) }
