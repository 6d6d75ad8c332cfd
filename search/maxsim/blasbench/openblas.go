//go:build openblas

package blasbench

// gonum's netlib binding sets no linker flag of its own.

// #cgo LDFLAGS: -lopenblas
import "C"
