package residual

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// FuzzQuantiles checks the selection-based quantiles against sorting on
// arbitrary (non-NaN) inputs, including many duplicates and infinities.
func FuzzQuantiles(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 0, 0}, uint8(3))
	f.Add(make([]byte, 400), uint8(1))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, uint8(255))
	f.Fuzz(func(t *testing.T, raw []byte, qsel uint8) {
		var v []float32
		for i := 0; i+4 <= len(raw); i += 4 {
			x := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
			if x != x {
				continue
			}
			v = append(v, x)
		}
		if len(v) == 0 {
			return
		}
		qs := []float64{0, 1, float64(qsel) / 255, 0.5, 0.0625}
		orig := slices.Clone(v)
		got := Quantiles(v, qs)
		for i, q := range qs {
			want := refQuantile(orig, q)
			if got[i] != want && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want))) {
				t.Fatalf("q=%g of %v: got %g, want %g", q, orig, got[i], want)
			}
		}
	})
}
