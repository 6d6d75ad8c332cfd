package data

import (
	"fmt"
	"strconv"
	"strings"
)

// ParsePart parses "i/N" (0 ≤ i < N): how a batch scheduler's array index
// tells one worker of a split job (index encode, distill score) which part
// is its own.
func ParsePart(s string) (part, nparts int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if ok {
		part, err = strconv.Atoi(a)
		if err == nil {
			nparts, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || nparts < 1 || part < 0 || part >= nparts {
		return 0, 0, fmt.Errorf("part %q: want i/N with 0 ≤ i < N (e.g. 0/4)", s)
	}
	return part, nparts, nil
}

// PartRange is the range lo…hi−1 of n items that part (0-based) of nparts
// owns: contiguous, in order, balanced to within one item, and empty when
// nparts exceeds n. The parts of 0…nparts−1 cover 0…n−1 exactly once.
func PartRange(n, part, nparts int) (lo, hi int) {
	return int(int64(part) * int64(n) / int64(nparts)), int(int64(part+1) * int64(n) / int64(nparts))
}
