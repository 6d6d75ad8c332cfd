//go:build !amd64

package vmath

// ExpInPlace sets every x[i] to e^x[i] (see Exp32).
func ExpInPlace(x []float32) {
	for i, v := range x {
		x[i] = Exp32(v)
	}
}
