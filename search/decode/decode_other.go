//go:build !amd64

package decode

const hasAVX512 = false

func decode2AVX512(centroids *float32, codes *int32, n int, packed *byte, lut *[256][4]float32, dst *float32, dim int) {
	panic("decode: no AVX-512")
}
