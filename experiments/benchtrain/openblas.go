//go:build openblas

package main

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// int openblas_get_num_threads(void);
// char *openblas_get_corename(void);
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// sgemm is OpenBLAS through gonum's netlib binding, as model/graph uses it.
var sgemm blas.Float32Level3 = netlib.Implementation{}

const haveOpenBLAS = true

func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

func blasThreads() int { return int(C.openblas_get_num_threads()) }

// blasCore is the kernel set OpenBLAS chose (OPENBLAS_CORETYPE when set).
func blasCore() string { return C.GoString(C.openblas_get_corename()) }
