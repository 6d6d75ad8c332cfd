package encode_test

import (
	"context"
	"math"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

type reference struct {
	f *safetensors.File
}

func loadRef(t testing.TB) (*reference, string) {
	t.Helper()
	p := testassets.Path(t, "models/hf-tiny/reference.safetensors")
	f, err := safetensors.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return &reference{f}, p[:len(p)-len("reference.safetensors")]
}

func (r *reference) ints(t testing.TB, name string) ([]int32, []int) {
	t.Helper()
	x, ok := r.f.Tensors[name]
	if !ok || x.I64 == nil {
		t.Fatalf("reference tensor %s missing or not integer", name)
	}
	out := make([]int32, len(x.I64))
	for i, v := range x.I64 {
		out[i] = int32(v)
	}
	return out, x.Shape
}

func (r *reference) floats(t testing.TB, name string) []float32 {
	t.Helper()
	x, ok := r.f.Tensors[name]
	if !ok || x.F32 == nil {
		t.Fatalf("reference tensor %s missing or not float", name)
	}
	return x.F32
}

func (r *reference) batch(t testing.TB, prefix string, withVecMask bool) encode.Batch {
	ids, shape := r.ints(t, prefix+"_input_ids")
	mask, _ := r.ints(t, prefix+"_attention_mask")
	b := encode.Batch{N: shape[0], Len: shape[1], IDs: ids, AttentionMask: mask}
	if withVecMask {
		b.VectorMask, _ = r.ints(t, prefix+"_vector_mask")
	}
	if _, ok := r.f.Tensors[prefix+"_token_type_ids"]; ok {
		b.TokenTypeIDs, _ = r.ints(t, prefix+"_token_type_ids")
	}
	return b
}

func loadCk(t testing.TB, dir string) *model.Checkpoint {
	t.Helper()
	ck, err := model.LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// maxDiffMasked compares rows of width w where sel (one flag per row, nil =
// all) is set.
func maxDiffMasked(a, b []float32, w int, sel []int32) float64 {
	m := 0.0
	for r := 0; r*w < len(a); r++ {
		if sel != nil && sel[r] == 0 {
			continue
		}
		for k := r * w; k < (r+1)*w; k++ {
			m = math.Max(m, math.Abs(float64(a[k]-b[k])))
		}
	}
	return m
}

func TestColBERTParity(t *testing.T) {
	ref, root := loadRef(t)
	ck := loadCk(t, root+"colbert")
	ctx := context.Background()
	// Small batches on 2 goroutines: packing and scheduling are part of
	// what is checked.
	for _, threads := range []int{2} {
		c, err := encode.NewColBERT(ck, encode.Options{Threads: threads, BatchTokens: 300})
		if err != nil {
			t.Fatal(err)
		}
		h := ck.Config.HiddenSize
		qb := ref.batch(t, "query", false)

		// Hidden states of every query position (the [MASK]s included).
		seqs := make([]encode.Seq, qb.N)
		for i := range seqs {
			seqs[i] = encode.Seq{IDs: qb.IDs[i*qb.Len : (i+1)*qb.Len], Mask: qb.AttentionMask[i*qb.Len : (i+1)*qb.Len]}
		}
		hid, err := c.Bert.Hidden(ctx, seqs, encode.Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		var flat []float32
		for _, x := range hid {
			flat = append(flat, x...)
		}
		t.Logf("threads %d: query_hidden diff %g", threads, maxDiffMasked(flat, ref.floats(t, "query_hidden"), h, nil))
		if d := maxDiffMasked(flat, ref.floats(t, "query_hidden"), h, nil); d > 1e-4 {
			t.Errorf("threads %d: query_hidden max abs diff %g > 1e-4", threads, d)
		}

		qv, err := c.EncodeQueries(ctx, qb)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiffMasked(qv, ref.floats(t, "query_vectors"), c.Dim(), nil); d > 1e-4 {
			t.Errorf("threads %d: query_vectors max abs diff %g > 1e-4", threads, d)
		}

		db := ref.batch(t, "doc", true)
		dseqs := make([]encode.Seq, db.N)
		for i := range dseqs {
			dseqs[i] = encode.Seq{IDs: db.IDs[i*db.Len : (i+1)*db.Len], Mask: db.AttentionMask[i*db.Len : (i+1)*db.Len]}
		}
		dh, err := c.Bert.Hidden(ctx, dseqs, encode.Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		flat = flat[:0]
		for _, x := range dh {
			flat = append(flat, x...)
		}
		// All 180 positions, padding rows included (HF computes them too).
		if d := maxDiffMasked(flat, ref.floats(t, "doc_hidden"), h, nil); d > 1e-4 {
			t.Errorf("threads %d: doc_hidden max abs diff %g > 1e-4", threads, d)
		}

		dv, err := c.EncodeDocs(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		refDV := ref.floats(t, "doc_vectors")
		dim := c.Dim()
		worst, kept := 0.0, 0
		for i := 0; i < db.N; i++ {
			got := dv.Doc(i)
			k := 0
			for j := 0; j < db.Len; j++ {
				if db.VectorMask[i*db.Len+j] == 0 {
					continue
				}
				want := refDV[(i*db.Len+j)*dim : (i*db.Len+j+1)*dim]
				worst = math.Max(worst, maxDiffMasked(got[k*dim:(k+1)*dim], want, dim, nil))
				k++
			}
			if k != dv.Len(i) {
				t.Fatalf("doc %d: %d kept vectors, vector mask has %d", i, dv.Len(i), k)
			}
			kept += k
		}
		if worst > 1e-4 || kept == 0 {
			t.Errorf("threads %d: doc_vectors max abs diff %g over %d kept vectors", threads, worst, kept)
		}

		// MaxSim 24×24 against the reference matrix.
		ms := ref.floats(t, "maxsim_scores")
		worst = 0
		for qi := 0; qi < qb.N; qi++ {
			for di := 0; di < db.N; di++ {
				s := model.MaxSim(qv[qi*qb.Len*dim:(qi+1)*qb.Len*dim], qb.Len, dv.Doc(di), dv.Len(di), dim)
				worst = math.Max(worst, math.Abs(float64(s-ms[qi*db.N+di])))
			}
		}
		if worst > 1e-4 {
			t.Errorf("threads %d: maxsim max abs diff %g > 1e-4", threads, worst)
		}
	}
}

func TestCrossEncoderParity(t *testing.T) {
	ref, root := loadRef(t)
	ck := loadCk(t, root+"cross-encoder")
	if ck.Kind != model.KindCrossEncoder || ck.NumLabels != 1 {
		t.Fatalf("kind %s labels %d, want cross-encoder with 1 label", ck.Kind, ck.NumLabels)
	}
	ce, err := encode.NewCrossEncoder(ck, encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := ref.batch(t, "ce", false)
	got, err := ce.Score(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	want := ref.floats(t, "ce_logits")
	t.Logf("ce_logits diff %g", maxDiffMasked(got, want, 1, nil))
	if d := maxDiffMasked(got, want, 1, nil); d > 1e-4 {
		t.Errorf("ce_logits max abs diff %g > 1e-4 (got %v, want %v)", d, got[:3], want[:3])
	}
}
