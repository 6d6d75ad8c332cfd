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
