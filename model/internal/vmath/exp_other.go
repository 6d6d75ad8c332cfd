//go:build !amd64

package vmath

// ExpInPlace sets every x[i] to e^x[i] (see Exp32).
func ExpInPlace(x []float32) {
	for i, v := range x {
		x[i] = Exp32(v)
	}
}

// GELU sets out[i] = GELU(x[i]) and d[i] = GELU'(x[i]) (see GELUScalar).
func GELU(x, out, d []float32) {
	for i, v := range x {
		out[i], d[i] = GELUScalar(v)
	}
}
