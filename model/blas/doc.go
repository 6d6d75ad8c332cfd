// Package blas reports which BLAS kernels this binary runs with and keeps
// OpenBLAS off generic kernels on CPUs it does not know.
//
// Debian 12's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH: it picks its
// kernels ("core") from the CPU when the library loads. CPUs newer than the
// library fall through to a generic core; an Intel Xeon Emerald Rapids
// (family 6, model 207, AVX-512) gets "Prescott", SSE3 kernels with 3–5×
// slower sgemm than "SkylakeX". OpenBLAS reads OPENBLAS_CORETYPE only at
// load time, so the fix is to re-run the process with it set:
// [MaybeReexec], called first thing in main, does that when [Force] says
// the chosen core is below what the CPU can run, unless the user set
// OPENBLAS_CORETYPE (even to an empty value, which keeps OpenBLAS's own
// choice) or the process is already the re-run (COLBERT_BLAS_REEXEC=1).
//
// Only "SkylakeX", "Haswell" and "Sandybridge" are ever forced, each only
// when the CPU has every instruction set its kernels use (checked with
// golang.org/x/sys/cpu, which also checks that the OS saves the vector
// registers); all three are core names OpenBLAS 0.3.21 accepts.
//
// For scripts: `colbert version` prints "blas: <core>" on its second line,
// and `colbert blas-core` prints the core alone, so that other OpenBLAS
// users (numpy, faiss) can run with the same kernels:
//
//	OPENBLAS_CORETYPE=$(bin/colbert blas-core) python3 peer.py
//
// In the pure-Go build (without -tags openblas) [Core] is "gonum" and
// nothing is re-run; `colbert blas-core` then prints [Safe] for the CPU.
package blas
