package main

import "testing"

// SplitMix64 from state 0 gives the reference sequence (Steele, Lea and
// Flood; the same in experiments/peers/encode_bench.py).
func TestSplitMix64(t *testing.T) {
	var s uint64
	for i, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := splitmix64(&s); got != want {
			t.Fatalf("output %d: %#x, want %#x", i, got, want)
		}
	}
}

// Draw gives every sequence a length in its range and ordinary wordpiece
// ids, the same inputs (digest) for the same seed and others for another.
func TestDraw(t *testing.T) {
	in := Inputs{Docs: 50, DocMin: 20, DocMax: 180, Queries: 40, QueryMin: 6, QueryLen: 32, Seed: 1}
	docs, queries := in.Draw()
	if len(docs) != 50 || len(queries) != 40 {
		t.Fatalf("%d documents, %d queries", len(docs), len(queries))
	}
	check := func(what string, seqs [][]int32, lo, hi int) {
		short, long := hi, lo
		for i, s := range seqs {
			if len(s) < lo || len(s) > hi {
				t.Errorf("%s %d has %d tokens, outside [%d, %d]", what, i, len(s), lo, hi)
			}
			short, long = min(short, len(s)), max(long, len(s))
			for _, id := range s {
				if id < 1000 || id >= 29000 {
					t.Errorf("%s %d: id %d outside [1000, 29000)", what, i, id)
				}
			}
		}
		if long-short < (hi-lo)/2 {
			t.Errorf("%s lengths span only %d..%d of [%d, %d]", what, short, long, lo, hi)
		}
	}
	check("document", docs, 20, 180)
	check("query", queries, 6, 32)
	d2, q2 := in.Draw()
	if Digest(d2) != Digest(docs) || Digest(q2) != Digest(queries) {
		t.Error("the same seed drew different inputs")
	}
	in.Seed = 2
	if d3, _ := in.Draw(); Digest(d3) == Digest(docs) {
		t.Error("another seed drew the same documents")
	}
}
