package main

// Shape is one training step of the ColBERT student: the model and the
// batch. Queries are QueryLen tokens ([CLS] [Q] … [SEP] then [MASK]
// padding); documents are DocLen tokens each, all real.
type Shape struct {
	Batch, NWay             int // queries per step, documents per query
	QueryLen, QueryAttended int // query tokens, of which attended (the rest is [MASK] padding)
	DocLen                  int
	Vocab, Layers, Hidden   int
	Heads, Intermediate     int
	Dim                     int  // ColBERT projection
	InBatch                 bool // in-batch negatives: every query is scored against every document of the batch
}

// Docs is the number of documents in the batch.
func (s Shape) Docs() int { return s.Batch * s.NWay }

// Tokens is the number of tokens the encoder runs over in one step: every
// query position (the [MASK] padding's output vectors are scored, so it is
// encoded too) and every document position.
func (s Shape) Tokens() int { return s.Batch*s.QueryLen + s.Docs()*s.DocLen }

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
// actually in the batch (T = rows × length for queries and for documents):
//
//	per layer:  Q, K, V, attention output  4 × [T, H] · [H, H]
//	            FFN in, FFN out            [T, H] · [H, I],  [T, I] · [I, H]
//	            attention QKᵀ, PV          per sequence and head: [L, d_h] · [d_h, L],  [L, L] · [L, d_h]
//	ColBERT projection                     [T, H] · [H, dim]
//	MaxSim Q·Dᵀ                            [Lq, dim] · [dim, Ld] per (query, document) pair scored:
//	                                       B × B·nway with in-batch negatives (every pair of the
//	                                       batch), B × nway without
//
// Embedding lookups, LayerNorm, softmax, GELU, the losses and the optimiser
// are not counted.
func (s Shape) GEMMs() []GEMM {
	dh := s.Hidden / s.Heads
	var out []GEMM
	enc := func(side string, rows, l int) {
		t := rows * l
		out = append(out,
			GEMM{side + " FFN in", t, s.Intermediate, s.Hidden, s.Layers},
			GEMM{side + " FFN out", t, s.Hidden, s.Intermediate, s.Layers},
			GEMM{side + " Q/K/V/attention-output projections", t, s.Hidden, s.Hidden, 4 * s.Layers},
			GEMM{side + " attention QKᵀ", l, l, dh, rows * s.Heads * s.Layers},
			GEMM{side + " attention PV", l, dh, l, rows * s.Heads * s.Layers},
			GEMM{side + " ColBERT projection", t, s.Dim, s.Hidden, 1})
	}
	enc("docs", s.Docs(), s.DocLen)
	enc("queries", s.Batch, s.QueryLen)
	pairs := s.Batch * s.NWay
	if s.InBatch {
		pairs = s.Batch * s.Docs()
	}
	out = append(out, GEMM{"MaxSim Q·Dᵀ", s.QueryLen, s.DocLen, s.Dim, pairs})
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
// for the student, the documents' FFN in, [16384, 128] · [128, 512].
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
