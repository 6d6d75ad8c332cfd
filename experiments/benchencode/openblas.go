//go:build openblas

package main

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// char *openblas_get_corename(void);
import "C"

func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// blasCore is the kernel set OpenBLAS chose (OPENBLAS_CORETYPE when set).
func blasCore() string { return C.GoString(C.openblas_get_corename()) }
