//go:build openblas

package encode

// netlib declares the cblas symbols but sets no linker flag; this links
// Debian's libopenblas.

// #cgo LDFLAGS: -lopenblas
import "C"
