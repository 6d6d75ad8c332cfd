//go:build openblas

package graph

// netlib declares the cblas symbols but sets no linker flag; this links
// Debian's libopenblas.

// #cgo LDFLAGS: -lopenblas
import "C"
