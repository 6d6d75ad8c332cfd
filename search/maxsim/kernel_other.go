//go:build !amd64

package maxsim

const hasAVX2, hasAVX512 = false, false

func maxAVX512(qt, d []float32, n, dim int, mx *[Lanes]float32) { panic("maxsim: no AVX-512") }

func maxAVX2(qt, d []float32, n, dim, lanes int, mx *[Lanes]float32) { panic("maxsim: no AVX2") }

func simAVX512(qt, d []float32, n, dim int, out []float32, stride int) { panic("maxsim: no AVX-512") }

func simAVX2(qt, d []float32, n, dim, lanes int, out []float32, stride int) { panic("maxsim: no AVX2") }

func maxRowsSIMD(k Kernel, s []float32, stride int, rows []int32, mx *[Lanes]float32) {
	panic("maxsim: no SIMD")
}
