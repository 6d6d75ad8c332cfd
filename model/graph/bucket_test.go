package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// TestEncodeBucketedMatchesEncode checks that encoding documents in length
// buckets changes nothing a ColBERT loss can see: the vectors at every kept
// position, the loss and every parameter gradient equal plain Encode's.
func TestEncodeBucketedMatchesEncode(t *testing.T) {
	cfg := model.SmallConfig(500)
	ck, err := model.NewCheckpoint(cfg, model.KindColBERT, model.DefaultColBERTConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	const nq, nway, lq, ld = 5, 8, 12, 40
	docs := Tokens{B: nq * nway, L: ld, IDs: make([]int, nq*nway*ld), Mask: make([]float32, nq*nway*ld)}
	vmask := make([]float32, nq*nway*ld)
	longest := 0
	for i := 0; i < docs.B; i++ {
		n := 3 + r.IntN(ld-3)
		if i == 7 {
			n = ld
		}
		longest = max(longest, n)
		for j := 0; j < ld; j++ {
			docs.IDs[i*ld+j] = 5 + r.IntN(490)
			if j < n {
				docs.Mask[i*ld+j] = 1
				if r.IntN(5) > 0 {
					vmask[i*ld+j] = 1
				}
			} else {
				docs.IDs[i*ld+j] = 0
			}
		}
	}
	q := Tokens{B: nq, L: lq, IDs: make([]int, nq*lq)}
	for i := range q.IDs {
		q.IDs[i] = 5 + r.IntN(490)
	}
	cand := make([][]int, nq)
	teacher := make([]float32, nq*nway)
	for i := range cand {
		for j := 0; j < nway; j++ {
			cand[i] = append(cand[i], i*nway+j)
			teacher[i*nway+j] = float32(r.NormFloat64())
		}
	}
	lens := SequenceLengths(docs.Mask, docs.B, docs.L)
	if b := lengthBuckets(lens, bucketRows); len(b) < 3 {
		t.Fatalf("want several buckets, got %d", len(b))
	}
	run := func(bucketed bool) (*Result, []float32) {
		g := New(cfg, ck.Params)
		var dh = g.Encode(docs)
		if bucketed {
			dh = g.EncodeBucketed(docs, lens)
		}
		dv := g.ColBERT(dh)
		s := g.MaxSim(g.ColBERT(g.Encode(q)), dv, vmask, cand)
		res, err := g.Backward(g.KLLoss(s, teacher, 1))
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := Values(dv)
		if err != nil {
			t.Fatal(err)
		}
		return res, v
	}
	want, wv := run(false)
	got, gv := run(true)
	d := cfg.HiddenSize
	for i := 0; i < docs.B; i++ {
		for j := 0; j < lens[i]; j++ {
			for c := 0; c < d; c++ {
				x, y := wv[(i*ld+j)*d+c], gv[(i*ld+j)*d+c]
				if math.Abs(float64(x-y)) > 1e-5 {
					t.Fatalf("doc %d position %d: vector differs: %g vs %g", i, j, y, x)
				}
			}
		}
	}
	if math.Abs(float64(got.Loss-want.Loss)) > 1e-5 {
		t.Fatalf("loss %g, want %g", got.Loss, want.Loss)
	}
	if len(got.Grads) != len(want.Grads) {
		t.Fatalf("%d gradients, want %d", len(got.Grads), len(want.Grads))
	}
	for name, w := range want.Grads {
		gg := got.Grads[name]
		var num, den float64
		for i := range w.Data {
			e := float64(gg.Data[i] - w.Data[i])
			num += e * e
			den += float64(w.Data[i]) * float64(w.Data[i])
		}
		if math.Sqrt(num) > 1e-4*math.Sqrt(den)+1e-6 {
			t.Errorf("%s: gradient differs: ‖Δ‖ %g, ‖g‖ %g", name, math.Sqrt(num), math.Sqrt(den))
		}
	}
}

func TestEncodeBucketedRefusesAttendedPadding(t *testing.T) {
	cfg := model.SmallConfig(50)
	ck, err := model.NewCheckpoint(cfg, model.KindColBERT, model.DefaultColBERTConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	tk := Tokens{B: 2, L: 4, IDs: make([]int, 8), Mask: []float32{1, 1, 0, 0, 1, 1, 1, 0}}
	g := New(cfg, ck.Params)
	g.EncodeBucketed(tk, []int{2, 2})
	if g.Err() == nil {
		t.Fatal("row 1 attends position 2 beyond its length 2: want an error")
	}
	g = New(cfg, ck.Params)
	g.EncodeBucketed(Tokens{B: 1, L: 4, IDs: make([]int, 4)}, []int{3})
	if g.Err() == nil {
		t.Fatal("no mask and a length below L: want an error")
	}
}

func TestSequenceLengths(t *testing.T) {
	got := SequenceLengths([]float32{1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0}, 3, 4)
	want := []int{2, 3, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lengths %v, want %v", got, want)
		}
	}
}
