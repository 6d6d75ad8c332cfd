package encode_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// fixtureDir holds the committed PyTorch parity fixture written by
// experiments/peers/make_parity_fixture.py, so parity runs on every clone.
const fixtureDir = "../testdata"

func loadFixture(t testing.TB) (*reference, *model.Checkpoint) {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(fixtureDir, "tiny-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return &reference{f}, loadCk(t, filepath.Join(fixtureDir, "tiny-colbert"))
}

// hiddenOf runs the bare BERT over every row of b (padding positions too,
// as PyTorch computes them) and flattens the result.
func hiddenOf(t testing.TB, c *encode.ColBERT, b encode.Batch, threads int) []float32 {
	t.Helper()
	seqs := make([]encode.Seq, b.N)
	for i := range seqs {
		seqs[i] = encode.Seq{IDs: b.IDs[i*b.Len : (i+1)*b.Len], Mask: b.AttentionMask[i*b.Len : (i+1)*b.Len]}
	}
	hid, err := c.Bert.Hidden(context.Background(), seqs, encode.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	var flat []float32
	for _, x := range hid {
		flat = append(flat, x...)
	}
	return flat
}

// TestFixtureColBERTParity checks hidden states, query and doc vectors and
// the MaxSim matrix of the tiny random checkpoint against PyTorch (float64
// reference) within 1e-4.
func TestFixtureColBERTParity(t *testing.T) {
	ref, ck := loadFixture(t)
	if ck.Kind != model.KindColBERT || ck.ColBERT.Dim != 16 || ck.ColBERT.QueryMaxLen != 8 {
		t.Fatalf("fixture checkpoint read as kind %v, colbert config %+v", ck.Kind, ck.ColBERT)
	}
	ctx := context.Background()
	for _, threads := range []int{1, 2} {
		c, err := encode.NewColBERT(ck, encode.Options{Threads: threads, BatchTokens: 30})
		if err != nil {
			t.Fatal(err)
		}
		h, dim := ck.Config.HiddenSize, c.Dim()
		qb, db := ref.batch(t, "query", false), ref.batch(t, "doc", true)

		check := func(name string, got []float32, width int) {
			t.Helper()
			want := ref.floats(t, name)
			if len(got) != len(want) {
				t.Fatalf("threads %d: %s has %d values, reference %d", threads, name, len(got), len(want))
			}
			d := maxDiffMasked(got, want, width, nil)
			t.Logf("threads %d: %s max abs diff %.3g", threads, name, d)
			if d > 1e-4 {
				t.Errorf("threads %d: %s max abs diff %g > 1e-4", threads, name, d)
			}
		}
		check("query_hidden", hiddenOf(t, c, qb, threads), h)
		check("doc_hidden", hiddenOf(t, c, db, threads), h)

		qv, err := c.EncodeQueries(ctx, qb)
		if err != nil {
			t.Fatal(err)
		}
		check("query_vectors", qv, dim)

		dv, err := c.EncodeDocs(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		refDV := ref.floats(t, "doc_vectors")
		worst, kept := 0.0, 0
		for i := 0; i < db.N; i++ {
			got, k := dv.Doc(i), 0
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
		t.Logf("threads %d: doc_vectors max abs diff %.3g over %d kept vectors", threads, worst, kept)
		if worst > 1e-4 || kept == 0 {
			t.Errorf("threads %d: doc_vectors max abs diff %g over %d kept vectors", threads, worst, kept)
		}

		ms := ref.floats(t, "maxsim_scores")
		if len(ms) != qb.N*db.N {
			t.Fatalf("maxsim_scores has %d values, want %d×%d", len(ms), qb.N, db.N)
		}
		worst = 0
		for qi := 0; qi < qb.N; qi++ {
			for di := 0; di < db.N; di++ {
				s := model.MaxSim(qv[qi*qb.Len*dim:(qi+1)*qb.Len*dim], qb.Len, dv.Doc(di), dv.Len(di), dim)
				worst = math.Max(worst, math.Abs(float64(s-ms[qi*db.N+di])))
			}
		}
		t.Logf("threads %d: maxsim max abs diff %.3g", threads, worst)
		if worst > 1e-4 {
			t.Errorf("threads %d: maxsim max abs diff %g > 1e-4", threads, worst)
		}
	}
}
