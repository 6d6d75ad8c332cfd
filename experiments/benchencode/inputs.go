package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// splitmix64 is Steele, Lea and Flood's SplitMix64 step: it advances the
// state and returns the next output. experiments/peers/encode_bench.py
// implements the same function, so both sides draw the same inputs.
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Inputs are the benchmark's token sequences, drawn from one seed with
// splitmix64 (state = Seed), in this order:
//
//	doc i:    len_i = DocMin + next mod (DocMax − DocMin + 1), then len_i ids
//	query j:  att_j = QueryMin + next mod (QueryLen − QueryMin + 1), then att_j ids
//
// where an id is 1000 + next mod 28000 (ordinary wordpieces). Every
// document position is attended and kept; a query has QueryLen positions,
// the first att_j attended and the rest [MASK] (id 103, attention 0), all
// encoded, as ColBERT's query augmentation does.
type Inputs struct {
	Docs, DocMin, DocMax        int
	Queries, QueryMin, QueryLen int
	Seed                        uint64
}

// Draw returns the documents' ids and the queries' attended ids.
func (in Inputs) Draw() (docs, queries [][]int32) {
	state := in.Seed
	id := func() int32 { return int32(1000 + splitmix64(&state)%28000) }
	seq := func(lo, hi int) []int32 {
		n := lo + int(splitmix64(&state)%uint64(hi-lo+1))
		s := make([]int32, n)
		for i := range s {
			s[i] = id()
		}
		return s
	}
	for range in.Docs {
		docs = append(docs, seq(in.DocMin, in.DocMax))
	}
	for range in.Queries {
		queries = append(queries, seq(in.QueryMin, in.QueryLen))
	}
	return docs, queries
}

// Digest is a SHA-256 of the sequences (int32 little-endian ids, each
// sequence preceded by its length), which the peer prints too: the script
// refuses to compare runs on different inputs.
func Digest(seqs [][]int32) string {
	h := sha256.New()
	var b [4]byte
	for _, s := range seqs {
		binary.LittleEndian.PutUint32(b[:], uint32(len(s)))
		h.Write(b[:])
		for _, v := range s {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
