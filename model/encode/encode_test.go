package encode_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

func tinyCk(t *testing.T, kind model.Kind) *model.Checkpoint {
	t.Helper()
	cfg := model.SmallConfig(200)
	cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.MaxPositionEmbeddings = 16, 2, 32, 64
	col := model.DefaultColBERTConfig()
	col.Dim = 8
	ck, err := model.NewCheckpoint(cfg, kind, col, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Non-trivial LayerNorm and biases so that a mix-up shows.
	for n, p := range ck.Params {
		for i := range p.Data {
			if strings.HasSuffix(n, "bias") || strings.HasSuffix(n, "LayerNorm.weight") {
				p.Data[i] += 0.1 * float32(math.Sin(float64(i+len(n))))
			}
		}
	}
	return ck
}

// ragged is a batch of docs of different lengths padded with [PAD]=0.
func ragged(lens []int, L int) encode.Batch {
	b := encode.Batch{N: len(lens), Len: L}
	b.IDs = make([]int32, b.N*L)
	b.AttentionMask = make([]int32, b.N*L)
	b.VectorMask = make([]int32, b.N*L)
	for i, n := range lens {
		for j := 0; j < n; j++ {
			b.IDs[i*L+j] = int32(5 + (i*31+j*7)%190)
			b.AttentionMask[i*L+j] = 1
			if j%5 != 3 { // some "punctuation"
				b.VectorMask[i*L+j] = 1
			}
		}
	}
	return b
}

func maxAbs(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// Packing, bucketing, batch size and thread count must not change results:
// each document encoded alone gives the same vectors as in a mixed batch.
func TestDocsIndependentOfBatching(t *testing.T) {
	ck := tinyCk(t, model.KindColBERT)
	ctx := context.Background()
	lens := []int{7, 30, 1, 12, 30, 2, 19}
	b := ragged(lens, 30)
	ref, err := encode.NewColBERT(ck, encode.Options{Threads: 1, BatchTokens: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	all, err := ref.EncodeDocs(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []encode.Options{{Threads: 2, BatchTokens: 10}, {Threads: 3, BatchTokens: 40}} {
		c, _ := encode.NewColBERT(ck, opt)
		got, err := c.EncodeDocs(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(got.Vectors, all.Vectors); d > 1e-6 {
			t.Fatalf("options %+v change vectors by %g", opt, d)
		}
	}
	for i, n := range lens {
		one := ragged([]int{n}, n)
		copy(one.IDs, b.IDs[i*30:i*30+n])
		got, err := ref.EncodeDocs(ctx, one)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(got.Doc(0), all.Doc(i)); d > 1e-6 {
			t.Fatalf("doc %d alone differs by %g", i, d)
		}
		kept := 0
		for j := 0; j < n; j++ {
			kept += int(b.VectorMask[i*30+j])
		}
		if all.Len(i) != kept {
			t.Fatalf("doc %d: %d vectors, want %d", i, all.Len(i), kept)
		}
		for k := 0; k < all.Len(i); k++ {
			v := all.Doc(i)[k*8 : (k+1)*8]
			if n := norm(v); math.Abs(n-1) > 1e-5 {
				t.Fatalf("doc %d vector %d norm %v", i, k, n)
			}
		}
	}
}

func norm(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Query [MASK] positions have attention 0 but are encoded, and they do not
// influence the real tokens.
func TestQueryMaskPositions(t *testing.T) {
	ck := tinyCk(t, model.KindColBERT)
	c, _ := encode.NewColBERT(ck, encode.Options{})
	L := 12
	b := encode.Batch{N: 2, Len: L, IDs: make([]int32, 2*L), AttentionMask: make([]int32, 2*L)}
	for i := 0; i < 2; i++ {
		for j := 0; j < L; j++ {
			b.IDs[i*L+j] = 103 // [MASK]
			if j < 5 {
				b.IDs[i*L+j] = int32(10 + j)
				b.AttentionMask[i*L+j] = 1
			}
		}
	}
	b.IDs[L+7] = 150 // a different masked token in query 1
	v, err := c.EncodeQueries(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	dim := c.Dim()
	if d := maxAbs(v[:5*dim], v[L*dim:L*dim+5*dim]); d > 1e-6 {
		t.Fatalf("a masked token changed attended positions by %g", d)
	}
	if d := maxAbs(v[7*dim:8*dim], v[(L+7)*dim:(L+8)*dim]); d == 0 {
		t.Fatal("masked position's own vector ignores its token")
	}
	for r := 0; r < 2*L; r++ {
		if n := norm(v[r*dim : (r+1)*dim]); math.Abs(n-1) > 1e-5 {
			t.Fatalf("row %d norm %v", r, n)
		}
	}
}

func TestBiEncoderIsCLS(t *testing.T) {
	ctx := context.Background()
	for _, withLinear := range []bool{false, true} {
		kind := model.KindBert
		if withLinear {
			kind = model.KindBiEncoder
		}
		ck := tinyCk(t, kind)
		be, err := encode.NewBiEncoder(ck, encode.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		b := ragged([]int{4, 9, 2}, 9)
		emb, err := be.Encode(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		hid, err := be.Bert.Hidden(ctx, []encode.Seq{{IDs: b.IDs[9:18], Mask: b.AttentionMask[9:18]}}, encode.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h := ck.Config.HiddenSize
		want := hid[0][:h]
		if withLinear {
			w := ck.Params["linear.weight"]
			want = make([]float32, w.Shape[0])
			for o := range want {
				for k := 0; k < h; k++ {
					want[o] += w.Data[o*h+k] * hid[0][k]
				}
			}
		}
		if d := maxAbs(emb[be.Dim():2*be.Dim()], want); d > 1e-5 {
			t.Fatalf("linear %v: bi-encoder embedding differs from [CLS] by %g", withLinear, d)
		}
	}
}

// A checkpoint saved and reloaded encodes identically; an F16 copy of the
// hf-tiny model stays within half-precision tolerance of the reference.
func TestSaveReloadSameOutputs(t *testing.T) {
	ref, root := loadRef(t)
	ck := loadCk(t, root+"colbert")
	dir := filepath.Join(t.TempDir(), "ck")
	if err := model.SaveCheckpoint(dir, ck); err != nil {
		t.Fatal(err)
	}
	re := loadCk(t, dir)
	ctx := context.Background()
	qb := ref.batch(t, "query", false)
	a, _ := encode.NewColBERT(ck, encode.Options{})
	b, _ := encode.NewColBERT(re, encode.Options{})
	va, err := a.EncodeQueries(ctx, qb)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.EncodeQueries(ctx, qb)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(va, vb); d != 0 {
		t.Fatalf("reloaded checkpoint encodes differently (%g)", d)
	}

	// Same weights rounded to F16: vectors move by about 1e-3 at most.
	for _, p := range re.Params {
		for i, v := range p.Data {
			p.Data[i] = f16Round(v)
		}
	}
	h, _ := encode.NewColBERT(re, encode.Options{})
	vh, err := h.EncodeQueries(ctx, qb)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(vh, ref.floats(t, "query_vectors")); d > 2e-2 || d == 0 {
		t.Fatalf("F16 weights: query vectors differ by %g", d)
	} else {
		t.Logf("F16 weights: max abs diff %g", d)
	}
}

// f16Round rounds to the nearest binary16 value (normal range; tiny values
// flush toward zero in steps of 2^-24).
func f16Round(v float32) float32 {
	if v == 0 {
		return 0
	}
	e := math.Floor(math.Log2(math.Abs(float64(v))))
	step := math.Pow(2, math.Max(e, -14)-10)
	return float32(math.RoundToEven(float64(v)/step) * step)
}

func TestInputErrors(t *testing.T) {
	ck := tinyCk(t, model.KindColBERT)
	c, _ := encode.NewColBERT(ck, encode.Options{})
	ctx := context.Background()
	b := ragged([]int{3, 4}, 4)
	b.IDs[5] = 999
	if _, err := c.EncodeDocs(ctx, b); err == nil || !strings.Contains(err.Error(), "token id 999") {
		t.Fatalf("out-of-vocab id: %v", err)
	}
	long := ragged([]int{70}, 70)
	if _, err := c.EncodeQueries(ctx, long); err == nil || !strings.Contains(err.Error(), "max_position_embeddings") {
		t.Fatalf("too long: %v", err)
	}
	bad := encode.Batch{N: 2, Len: 3, IDs: make([]int32, 5), AttentionMask: make([]int32, 6)}
	if _, err := c.EncodeQueries(ctx, bad); err == nil {
		t.Fatal("inconsistent batch accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.EncodeDocs(cctx, ragged([]int{3, 4, 5}, 5)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if _, err := encode.NewCrossEncoder(ck, encode.Options{}); err == nil {
		t.Fatal("colbert checkpoint accepted as cross-encoder")
	}
}
