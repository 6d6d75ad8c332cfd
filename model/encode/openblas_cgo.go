//go:build openblas

package encode

// netlib declares the cblas symbols but sets no linker flag; this links
// Debian's libopenblas.

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

// SetBLASThreads sets OpenBLAS's own thread count for the whole process.
// With Options.Threads > 1 the encoder already runs batches in parallel, so
// 1 avoids oversubscribing the cores. It is a no-op in the pure-Go build.
func SetBLASThreads(n int) {
	if n > 0 {
		C.openblas_set_num_threads(C.int(n))
	}
}
