package main

import (
	"fmt"
	"sort"
)

// Shape is one training step of the ColBERT student: the model and the
// batch. Queries are QueryLen tokens ([CLS] [Q] … [SEP] then [MASK]
// padding); document i has DocLens()[i] real tokens, between DocLenMin and
// DocLen (all DocLen when DocLenMin is 0 or DocLen), then padding.
type Shape struct {
	Batch, NWay             int // queries per step, documents per query
	QueryLen, QueryAttended int // query tokens, of which attended (the rest is [MASK] padding)
	DocLen                  int // longest document's tokens
	DocLenMin               int // shortest document's tokens; 0 = DocLen
	DocLenSeed              uint64
	Vocab, Layers, Hidden   int
	Heads, Intermediate     int
	Dim                     int  // ColBERT projection
	InBatch                 bool // in-batch negatives: every query is scored against every document of the batch
}

// Docs is the number of documents in the batch.
func (s Shape) Docs() int { return s.Batch * s.NWay }

// splitmix64 is Steele, Lea and Flood's SplitMix64 step: it advances the
// state and returns the next output. experiments/peers/train_step_bench.py
// implements the same function, so both sides draw the same lengths.
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// DocLens is the number of real tokens of each document row, in row order
// (row i is query i/NWay's candidate i%NWay): with state = DocLenSeed,
//
//	len_i = DocLenMin + splitmix64(&state) mod (DocLen − DocLenMin + 1),  i = 0, 1, …
//
// uniform on [DocLenMin, DocLen] (the modulo's bias is below 1e-16) and the
// same list for the same seed on both sides of the benchmark.
func (s Shape) DocLens() []int {
	lo := s.DocLenMin
	if lo <= 0 || lo > s.DocLen {
		lo = s.DocLen
	}
	n := uint64(s.DocLen - lo + 1)
	state := s.DocLenSeed
	lens := make([]int, s.Docs())
	for i := range lens {
		lens[i] = lo + int(splitmix64(&state)%n)
	}
	return lens
}

// DocTokens is the documents' real tokens, Σ DocLens().
func (s Shape) DocTokens() int {
	t := 0
	for _, l := range s.DocLens() {
		t += l
	}
	return t
}

// DocLenMean is the mean document length, DocTokens / Docs.
func (s Shape) DocLenMean() float64 { return float64(s.DocTokens()) / float64(s.Docs()) }

// Tokens is the number of tokens the encoder runs over in one step: every
// query position (the [MASK] padding's output vectors are scored, so it is
// encoded too) and every real document token (documents' padding is
// neither attended nor scored: the bucketed encoder skips most of it, and
// it is no useful work for either side).
func (s Shape) Tokens() int { return s.Batch*s.QueryLen + s.DocTokens() }

// GEMM is a matrix product C[M,N] = A[M,K]·B[K,N] done Count times in one
// forward pass.
type GEMM struct {
	Name  string `json:"name"`
	M     int    `json:"m"`
	N     int    `json:"n"`
	K     int    `json:"k"`
	Count int    `json:"count"`
}

// Flops is 2·M·N·K·Count.
func (g GEMM) Flops() float64 {
	return 2 * float64(g.M) * float64(g.N) * float64(g.K) * float64(g.Count)
}

// GEMMs lists every matrix product of one forward pass, over the tokens
// actually in the batch: T = B × Lq for the queries, T = Σ L_i over the
// documents' real tokens (document i has L_i = DocLens()[i]; its padding is
// not counted):
//
//	per layer:  Q, K, V, attention output  4 × [T, H] · [H, H]
//	            FFN in, FFN out            [T, H] · [H, I],  [T, I] · [I, H]
//	            attention QKᵀ, PV          per sequence and head, at the sequence's own length L:
//	                                       [L, d_h] · [d_h, L],  [L, L] · [L, d_h]
//	ColBERT projection                     [T, H] · [H, dim]
//	MaxSim Q·Dᵀ                            [Lq, dim] · [dim, L_i] per (query, document i) pair scored:
//	                                       B × B·nway with in-batch negatives (every pair of the
//	                                       batch), B × nway without (every document once)
//
// The per-token products are one row block per sequence, so their FLOPs are
// those of one [T, ·] product; the per-sequence ones are listed once per
// distinct document length, with Count the number of sequences (× heads ×
// layers, or × queries for MaxSim) of that length. Embedding lookups,
// LayerNorm, softmax, GELU, the losses and the optimiser are not counted.
func (s Shape) GEMMs() []GEMM {
	dh := s.Hidden / s.Heads
	var out []GEMM
	// enc adds the encoder's products for sequences of the given lengths
	// (count[L] sequences of length L).
	enc := func(side string, count map[int]int) {
		t := 0
		var ls []int
		for l, c := range count {
			t += l * c
			ls = append(ls, l)
		}
		sort.Ints(ls)
		out = append(out,
			GEMM{side + " FFN in", t, s.Intermediate, s.Hidden, s.Layers},
			GEMM{side + " FFN out", t, s.Hidden, s.Intermediate, s.Layers},
			GEMM{side + " Q/K/V/attention-output projections", t, s.Hidden, s.Hidden, 4 * s.Layers})
		for _, l := range ls {
			name := side
			if len(ls) > 1 {
				name = fmt.Sprintf("%s (length %d)", side, l)
			}
			out = append(out,
				GEMM{name + " attention QKᵀ", l, l, dh, count[l] * s.Heads * s.Layers},
				GEMM{name + " attention PV", l, dh, l, count[l] * s.Heads * s.Layers})
		}
		out = append(out, GEMM{side + " ColBERT projection", t, s.Dim, s.Hidden, 1})
	}
	docs := map[int]int{}
	for _, l := range s.DocLens() {
		docs[l]++
	}
	enc("docs", docs)
	enc("queries", map[int]int{s.QueryLen: s.Batch})
	// Without in-batch negatives every document is scored by its own query
	// only; with them by every query.
	perDoc := 1
	if s.InBatch {
		perDoc = s.Batch
	}
	var ls []int
	for l := range docs {
		ls = append(ls, l)
	}
	sort.Ints(ls)
	for _, l := range ls {
		name := "MaxSim Q·Dᵀ"
		if len(ls) > 1 {
			name = fmt.Sprintf("MaxSim Q·Dᵀ (document length %d)", l)
		}
		out = append(out, GEMM{name, s.QueryLen, l, s.Dim, docs[l] * perDoc})
	}
	return out
}

// Flops is the useful floating-point work of one training step: 3 × the
// forward GEMMs' Σ 2·M·N·K (forward + backward, the backward pass counted
// as twice the forward).
func (s Shape) Flops() float64 {
	var f float64
	for _, g := range s.GEMMs() {
		f += g.Flops()
	}
	return 3 * f
}

// Largest is the single matrix product with the most work (first on ties):
// for the student, the documents' FFN in, [T, 128] · [128, 512] with T the
// documents' real tokens (16384 with every document 128 tokens long).
func (s Shape) Largest() GEMM {
	var best GEMM
	for _, g := range s.GEMMs() {
		one := g
		one.Count = 1
		if one.Flops() > best.Flops() {
			best = one
		}
	}
	return best
}
