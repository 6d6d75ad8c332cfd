package sparse

import (
	"fmt"
	"math"
)

// Vector is a sparse vector over the vocabulary: Weights[i] is the weight of
// term Terms[i]. Terms are strictly increasing and weights positive and
// finite (SPLADE's ReLU·log output is non-negative; zeros are simply absent).
type Vector struct {
	Terms   []int32
	Weights []float32
}

// Validate checks the invariants every reader of a Vector relies on; vocab
// > 0 also bounds the term ids.
func (v Vector) Validate(vocab int) error {
	if len(v.Terms) != len(v.Weights) {
		return fmt.Errorf("%d terms but %d weights", len(v.Terms), len(v.Weights))
	}
	for i, t := range v.Terms {
		if t < 0 || (vocab > 0 && int(t) >= vocab) {
			return fmt.Errorf("term %d outside the vocabulary 0…%d", t, vocab-1)
		}
		if i > 0 && t <= v.Terms[i-1] {
			return fmt.Errorf("terms not strictly increasing at %d (%d after %d)", i, t, v.Terms[i-1])
		}
		w := v.Weights[i]
		if !(w > 0) || math.IsInf(float64(w), 0) {
			return fmt.Errorf("term %d: weight %g not positive and finite", t, w)
		}
	}
	return nil
}

// scaleFor is the quantisation step of an index whose largest weight is
// maxW: impact 255 stands for maxW.
func scaleFor(maxW float32) float32 { return maxW / 255 }

// quantise maps a weight to its impact, 1…255: round(w/scale), at least 1
// so that every term of a passage stays in its postings, and at most 255,
// reporting whether it had to be clamped (only appended passages can
// exceed the build's maximum).
func quantise(w, scale float32) (q uint8, clamped bool) {
	x := math.Round(float64(w) / float64(scale))
	switch {
	case x > 255:
		return 255, true
	case x < 1:
		return 1, false
	}
	return uint8(x), false
}
