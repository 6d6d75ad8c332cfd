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

// geluAVX2 sets out[i] = x·Φ(x) and d[i] = Φ(x) + x·φ(x) for i < n (n a
// multiple of 8), Φ from erf by Abramowitz–Stegun 7.1.26 (|error| < 2e-7
// with float32 rounding) and φ from expAVX2's exponential.
//
//go:noescape
func geluAVX2(x, out, d *float32, n int)

// GELU sets out[i] = GELU(x[i]) = x·Φ(x) (HF's exact "gelu") and d[i] =
// GELU'(x[i]) = Φ(x) + x·φ(x), eight lanes at a time where the CPU allows,
// then the scalar GELUScalar for the tail.
func GELU(x, out, d []float32) {
	n := 0
	if hasExpAVX2 && len(x) >= 8 {
		n = len(x) &^ 7
		_, _ = out[n-1], d[n-1]
		geluAVX2(&x[0], &out[0], &d[0], n)
	}
	for i := n; i < len(x); i++ {
		out[i], d[i] = GELUScalar(x[i])
	}
}
