package ort

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// groups covers every sequence once, longest first, each run within the
// token budget (unless one sequence alone is longer) and padded by at most
// an eighth of its positions.
func TestGroups(t *testing.T) {
	lens := []int{5, 180, 40, 41, 44, 39, 180, 3, 1, 100, 90, 95, 12, 12, 12, 12}
	for _, budget := range []int{1, 64, 200, 4096} {
		seen := make([]bool, len(lens))
		last := math.MaxInt
		for _, sp := range groups(lens, budget) {
			real := 0
			for _, i := range sp.idx {
				if seen[i] {
					t.Fatalf("budget %d: sequence %d twice", budget, i)
				}
				seen[i] = true
				if lens[i] > sp.n || lens[i] > last {
					t.Fatalf("budget %d: sequence %d (%d tokens) in a run of %d after one of %d", budget, i, lens[i], sp.n, last)
				}
				last = lens[i]
				real += lens[i]
			}
			padded := len(sp.idx) * sp.n
			if len(sp.idx) > 1 && (padded > budget || 8*(padded-real) > padded) {
				t.Errorf("budget %d: run of %d × %d holds %d real tokens", budget, len(sp.idx), sp.n, real)
			}
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("budget %d: sequence %d left out", budget, i)
			}
		}
	}
}

// ColBERT on ORT encodes the hf-tiny reference queries and documents to the
// transformers-made reference vectors (the parity tolerance of model/encode,
// 1e-4), with several runs in flight (2 threads, small batches), and agrees
// with the Go encoder.
func TestColBERTReference(t *testing.T) {
	rt := sharedRuntime(t)
	ck, err := model.LoadCheckpoint(testassets.Path(t, "models/hf-tiny/colbert"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := safetensors.ReadFile(testassets.Path(t, "models/hf-tiny/reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	goEnc, err := encode.NewColBERT(ck, encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rt.NewColBERT(ck, ColBERTOptions{Threads: 2, BatchTokens: 300, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	maxDiff := func(a, b []float32) float64 {
		if len(a) != len(b) {
			t.Fatalf("%d values, want %d", len(a), len(b))
		}
		var d float64
		for i := range a {
			d = max(d, math.Abs(float64(a[i]-b[i])))
		}
		return d
	}

	qids := ref.Tensors["query_input_ids"]
	n, l := qids.Shape[0], qids.Shape[1]
	qb := encode.Batch{N: n, Len: l, IDs: narrow(qids.I64), AttentionMask: narrow(ref.Tensors["query_attention_mask"].I64)}
	qv, err := c.EncodeQueries(ctx, qb)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(qv, ref.Tensors["query_vectors"].F32); d > 1e-4 {
		t.Errorf("query vectors: max abs diff to the reference %.3g > 1e-4", d)
	}
	gq, err := goEnc.EncodeQueries(ctx, qb)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(qv, gq); d > 1e-4 {
		t.Errorf("query vectors: max abs diff to the Go encoder %.3g > 1e-4", d)
	}

	dids := ref.Tensors["doc_input_ids"]
	n, l = dids.Shape[0], dids.Shape[1]
	att, keep := narrow(ref.Tensors["doc_attention_mask"].I64), narrow(ref.Tensors["doc_vector_mask"].I64)
	all := narrow(dids.I64)
	ids, masks := make([][]int32, n), make([][]int32, n)
	var want []float32
	refv := ref.Tensors["doc_vectors"].F32
	dim := c.Dim()
	for i := range n {
		k := 0
		for j := range l {
			if att[i*l+j] != 0 {
				k = j + 1
			}
		}
		ids[i], masks[i] = all[i*l:i*l+k], keep[i*l:i*l+k]
		for j := range k {
			if keep[i*l+j] != 0 {
				want = append(want, refv[(i*l+j)*dim:(i*l+j+1)*dim]...)
			}
		}
	}
	dv, err := c.EncodeDocIDs(ctx, ids, masks)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(dv.Vectors, want); d > 1e-4 {
		t.Errorf("document vectors: max abs diff to the reference %.3g > 1e-4", d)
	}
	gd, err := goEnc.EncodeDocIDs(ctx, ids, masks)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(dv.Vectors, gd.Vectors); d > 1e-4 || !slices.Equal(dv.Offsets, gd.Offsets) {
		t.Errorf("document vectors: max abs diff to the Go encoder %.3g, offsets %v vs %v", d, dv.Offsets[:4], gd.Offsets[:4])
	}

	if _, err := c.EncodeDocIDs(ctx, ids[:2], masks[:1]); err == nil {
		t.Error("mismatched vector masks accepted")
	}
	if _, err := c.EncodeDocIDs(ctx, [][]int32{{}}, [][]int32{{}}); err == nil {
		t.Error("empty document accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.EncodeDocIDs(cancelled, ids, masks); err == nil {
		t.Error("cancelled context: no error")
	}
}
