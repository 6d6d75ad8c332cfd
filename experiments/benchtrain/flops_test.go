package main

import "testing"

// The student's FLOPs worked by hand (H 128, I 512, 4 heads, 2 layers, dim 128):
//
//	docs, T = 128·128 = 16384, L = 128, per layer: T·(8·H² + 4·H·I) + 4·T·L·H
//	  = 16384·(131072 + 262144 + 65536) = 7 516 192 768; ×2 layers, + projection 2·T·H·dim = 536 870 912
//	queries, T = 16·32 = 512, L = 32: 512·(393216 + 16384)·2 + 2·512·128·128 = 436 207 616
//	MaxSim: 16·128 pairs × 2·32·128·128 = 2 147 483 648
//	forward 18 152 947 712, step ×3 = 54 458 843 136
func TestStudentFlops(t *testing.T) {
	s := Shape{Batch: 16, NWay: 8, QueryLen: 32, QueryAttended: 20, DocLen: 128,
		Vocab: 8000, Layers: 2, Hidden: 128, Heads: 4, Intermediate: 512, Dim: 128, InBatch: true}
	if got, want := s.Flops(), 54458843136.0; got != want {
		t.Errorf("Flops = %.0f, want %.0f", got, want)
	}
	if got := s.Tokens(); got != 16896 {
		t.Errorf("Tokens = %d, want 16896", got)
	}
	if l := s.Largest(); l.M != 16384 || l.N != 512 || l.K != 128 || l.Count != 1 {
		t.Errorf("Largest = %+v, want docs FFN in 16384×512×128", l)
	}
	s.InBatch = false // MaxSim over the 8 own documents only
	if got, want := s.Flops(), 3*(18152947712.0-2147483648+128*2*32*128*128); got != want {
		t.Errorf("Flops without in-batch = %.0f, want %.0f", got, want)
	}
}

// SplitMix64 from state 0 gives the published reference outputs, so the
// lengths are the ones experiments/peers/train_step_bench.py's doc_lens
// draws (the same function).
func TestSplitMix64(t *testing.T) {
	var state uint64
	for i, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := splitmix64(&state); got != want {
			t.Errorf("output %d = %#x, want %#x", i, got, want)
		}
	}
}

// A mixed-length batch worked by hand: H 8, I 16, 2 heads (d_h 4), 1 layer,
// dim 4; 3 queries × 4 tokens, nway 1 → 3 documents with lengths in [3, 6]
// from seed 0: 3 + the outputs above mod 4 (…af, …f4, …4f) = 6, 3, 6.
//
//	per token: 4·2·H² + 2·2·H·I = 1024 (one layer) + projection 2·H·dim = 64 → 1088
//	attention per sequence: 2 heads × (2·L²·d_h + 2·L²·d_h) = 32·L²
//	docs: T = 15: 15·1088 + 32·(36 + 9 + 36) = 16320 + 2592 = 18912
//	queries: T = 12: 12·1088 + 3·32·16 = 13056 + 1536 = 14592
//	MaxSim per (query, document) pair: 2·Lq·L·dim = 32·L; in-batch every
//	  query scores every document: 3·32·15 = 1440 (own documents only: 480)
//	forward 34944, step ×3 = 104832 (without in-batch 33984 → 101952)
func TestMixedLengthFlops(t *testing.T) {
	s := Shape{Batch: 3, NWay: 1, QueryLen: 4, QueryAttended: 3, DocLen: 6, DocLenMin: 3, DocLenSeed: 0,
		Vocab: 2000, Layers: 1, Hidden: 8, Heads: 2, Intermediate: 16, Dim: 4, InBatch: true}
	if got := s.DocLens(); len(got) != 3 || got[0] != 6 || got[1] != 3 || got[2] != 6 {
		t.Fatalf("DocLens = %v, want [6 3 6]", got)
	}
	if got, want := s.Flops(), 104832.0; got != want {
		t.Errorf("Flops = %.0f, want %.0f", got, want)
	}
	if got := s.Tokens(); got != 27 {
		t.Errorf("Tokens = %d, want 27", got)
	}
	if got := s.DocLenMean(); got != 5 {
		t.Errorf("DocLenMean = %g, want 5", got)
	}
	if l := s.Largest(); l.M != 15 || l.N != 16 || l.K != 8 || l.Count != 1 {
		t.Errorf("Largest = %+v, want docs FFN in 15×16×8", l)
	}
	s.InBatch = false
	if got, want := s.Flops(), 101952.0; got != want {
		t.Errorf("Flops without in-batch = %.0f, want %.0f", got, want)
	}
}

// The benchmark's default: lengths in [48, 128], the same list for the same
// seed, another for another seed; DocLenMin = DocLen is the all-full batch.
func TestDocLens(t *testing.T) {
	s := Shape{Batch: 16, NWay: 8, QueryLen: 32, QueryAttended: 20, DocLen: 128, DocLenMin: 48, DocLenSeed: 1,
		Vocab: 8000, Layers: 2, Hidden: 128, Heads: 4, Intermediate: 512, Dim: 128, InBatch: true}
	a, b := s.DocLens(), s.DocLens()
	lo, hi := 128, 48
	for i, l := range a {
		if l != b[i] {
			t.Fatalf("DocLens differs between calls at %d: %d, %d", i, l, b[i])
		}
		lo, hi = min(lo, l), max(hi, l)
	}
	if len(a) != 128 || lo < 48 || hi > 128 || hi-lo < 60 {
		t.Errorf("DocLens: %d lengths in [%d, %d], want 128 spread over [48, 128]", len(a), lo, hi)
	}
	s.DocLenSeed = 2
	same := true
	for i, l := range s.DocLens() {
		same = same && l == a[i]
	}
	if same {
		t.Errorf("DocLens: seeds 1 and 2 give the same lengths")
	}
	full := s
	full.DocLenMin = 128
	ref := full
	ref.DocLenMin = 0
	if full.Flops() != ref.Flops() || full.Flops() != 54458843136 {
		t.Errorf("DocLenMin = DocLen: Flops %.0f, want %.0f (every document full)", full.Flops(), 54458843136.0)
	}
	if s.Flops() >= full.Flops() {
		t.Errorf("mixed lengths: Flops %.0f, not below the full batch's %.0f", s.Flops(), full.Flops())
	}
}
