//go:build amd64

package vmath

import "golang.org/x/sys/cpu"

// hasExpAVX2 is read-only after start-up: AVX2 + FMA (x/sys/cpu also checks
// that the OS saves the YMM registers).
var hasExpAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expAVX2 sets x[i] = Exp32(x[i]) for i < n (n a multiple of 8), eight lanes
// at a time with Exp32's range reduction and polynomial (FMA rounding may
// differ from it in the last bit). Inputs above 88.7 are clamped to it.
//
//go:noescape
func expAVX2(x *float32, n int)

// ExpInPlace sets every x[i] to e^x[i] (see Exp32); the softmax and GELU
// kernels call it on whole rows.
func ExpInPlace(x []float32) {
	n := 0
	if hasExpAVX2 && len(x) >= 8 {
		n = len(x) &^ 7
		expAVX2(&x[0], n)
	}
	for i := n; i < len(x); i++ {
		x[i] = Exp32(x[i])
	}
}
