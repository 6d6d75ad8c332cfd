//go:build amd64

package decode

import "golang.org/x/sys/cpu"

// hasAVX512 is AVX-512F with OS support for the ZMM state (x/sys/cpu checks XCR0).
var hasAVX512 = cpu.X86.HasAVX512F

// decode2AVX512 reconstructs n 2-bit vectors (dim a multiple of 16).
//
//go:noescape
func decode2AVX512(centroids *float32, codes *int32, n int, packed *byte, lut *[256][4]float32, dst *float32, dim int)
