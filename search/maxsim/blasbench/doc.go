// Package blasbench holds the benchmarks that compare the MaxSim kernels with
// a BLAS sgemm of the same shape. It is separate from maxsim because a cgo
// package (OpenBLAS, build tag openblas) may not contain Go assembly.
package blasbench
