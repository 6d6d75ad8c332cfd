package data

import "testing"

func TestParsePart(t *testing.T) {
	for _, s := range []string{"0/1", " 2/3", "9/10", "2/5"} {
		if _, _, err := ParsePart(s); err != nil {
			t.Errorf("ParsePart(%q): %v", s, err)
		}
	}
	if i, n, err := ParsePart("2/5"); err != nil || i != 2 || n != 5 {
		t.Errorf("ParsePart(2/5) = %d/%d %v", i, n, err)
	}
	for _, s := range []string{"", "3/3", "-1/2", "1", "a/b", "x/2", "0/0", "1/2/3"} {
		if _, _, err := ParsePart(s); err == nil {
			t.Errorf("ParsePart(%q) accepted", s)
		}
	}
}

func TestPartRangeCoversEveryItemOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 10, 1000} {
		for nparts := 1; nparts <= 12; nparts++ {
			next := 0
			for i := 0; i < nparts; i++ {
				lo, hi := PartRange(n, i, nparts)
				if lo != next || hi < lo || hi-lo > n/nparts+1 || hi-lo < n/nparts {
					t.Fatalf("n=%d part %d/%d: %d…%d (next %d)", n, i, nparts, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n=%d in %d parts covers %d", n, nparts, next)
			}
		}
	}
}

func FuzzParsePart(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", "4/4", "x", "-0/1", "1/+2", " 1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, n, err := ParsePart(s)
		if err == nil && (n < 1 || i < 0 || i >= n) {
			t.Fatalf("ParsePart(%q) = %d/%d", s, i, n)
		}
	})
}
