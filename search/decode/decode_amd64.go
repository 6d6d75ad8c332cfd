//go:build amd64

package decode

var hasAVX512 = detect()

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func detect() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	if ecx1&(1<<27) == 0 { // OSXSAVE
		return false
	}
	xcr0, _ := xgetbv()
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<16) != 0 && xcr0&0xe6 == 0xe6 // AVX-512F, XMM/YMM/opmask/ZMM state
}

// decode2AVX512 reconstructs n 2-bit vectors (dim a multiple of 16).
//
//go:noescape
func decode2AVX512(centroids *float32, codes *int32, n int, packed *byte, lut *[256][4]float32, dst *float32, dim int)
