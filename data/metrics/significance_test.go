package metrics

import (
	"fmt"
	"math"
	"testing"
)

// exactP enumerates all 2^n sign assignments: the value the Monte Carlo
// test estimates.
func exactP(d []float64) float64 {
	var obs float64
	for _, x := range d {
		obs += x
	}
	obs = math.Abs(obs)
	hits := 0
	for m := 0; m < 1<<len(d); m++ {
		var s float64
		for i, x := range d {
			if m>>i&1 == 1 {
				s -= x
			} else {
				s += x
			}
		}
		if math.Abs(s) >= obs-1e-9*(1+obs) {
			hits++
		}
	}
	return float64(hits) / float64(int(1)<<len(d))
}

func TestPairedRandomizationMatchesExact(t *testing.T) {
	a := map[string]float64{}
	b := map[string]float64{}
	var d []float64
	vals := []float64{0.3, -0.1, 0.25, 0.05, 0.4, -0.2, 0.15, 0.1, 0.0, 0.35, -0.05, 0.2}
	for i, v := range vals {
		q := fmt.Sprintf("q%02d", i)
		a[q], b[q] = 0.5+v/2, 0.5-v/2
		d = append(d, v)
	}
	b["only-in-b"] = 1 // ignored: not evaluated in a
	want := exactP(d)
	got, err := PairedRandomization(a, b, 200000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Queries != len(vals) || math.Abs(got.P-want) > 0.004 {
		t.Fatalf("p = %.4f over %d queries, exact enumeration gives %.4f", got.P, got.Queries, want)
	}
	if math.Abs(got.MeanA-got.MeanB-mean(d)) > 1e-12 {
		t.Fatalf("means %v %v", got.MeanA, got.MeanB)
	}
	// Identical systems: every trial reaches a zero difference.
	same, _ := PairedRandomization(a, a, 1000, 1)
	if same.P != 1 {
		t.Fatalf("identical systems p = %v", same.P)
	}
	// Symmetric in its arguments.
	rev, _ := PairedRandomization(b, a, 200000, 1)
	if math.Abs(rev.P-got.P) > 0.004 {
		t.Fatalf("p(a,b) %v vs p(b,a) %v", got.P, rev.P)
	}
	if _, err := PairedRandomization(a, map[string]float64{"x": 1}, 10, 1); err == nil {
		t.Fatal("no common query accepted")
	}
}

func mean(d []float64) float64 {
	var s float64
	for _, x := range d {
		s += x
	}
	return s / float64(len(d))
}
