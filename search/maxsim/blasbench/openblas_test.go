//go:build openblas

package blasbench

import (
	"testing"

	"gonum.org/v1/netlib/blas/netlib"
)

func BenchmarkSgemmOpenBLAS(b *testing.B) { sgemmBench(b, netlib.Implementation{}) }
