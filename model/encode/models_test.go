package encode_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// modelsFixture is the PyTorch reference of the SPLADE, poly-encoder and
// MV-DPR heads (experiments/peers/make_models_fixture.py, float64) on the
// tiny fixture's queries and documents, which tiny-reference.safetensors
// holds with the n-way candidates.
type modelsFixture struct {
	out    *reference // tiny-models-reference.safetensors
	in     *reference // tiny-reference.safetensors
	qb, db encode.Batch
	cand   []int32 // [nq, nc] document indices
	nc     int
}

func loadModelsFixture(t testing.TB) *modelsFixture {
	t.Helper()
	out, err := safetensors.ReadFile(filepath.Join(fixtureDir, "tiny-models-reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := loadFixture(t)
	cand, shape := in.ints(t, "kl_candidates")
	return &modelsFixture{
		out: &reference{out}, in: in,
		// No vector mask: these models read the attention mask only.
		qb: in.batch(t, "query", false), db: in.batch(t, "doc", false),
		cand: cand, nc: shape[1],
	}
}

// check compares got with the reference tensor name and fails above 1e-4.
func (f *modelsFixture) check(t *testing.T, label, name string, got []float32) {
	t.Helper()
	want := f.out.floats(t, name)
	if len(got) != len(want) {
		t.Fatalf("%s: %s has %d values, reference %d", label, name, len(got), len(want))
	}
	d := maxAbs(got, want)
	t.Logf("%s: %s max abs diff %.3g", label, name, d)
	if d > 1e-4 {
		t.Errorf("%s: %s max abs diff %g > 1e-4", label, name, d)
	}
}

// checkScores compares score(q, d) for every query q and its candidates d
// with the reference tensor name.
func (f *modelsFixture) checkScores(t *testing.T, label, name string, score func(q, d int) float32) {
	t.Helper()
	got := make([]float32, len(f.cand))
	for i, d := range f.cand {
		got[i] = score(i/f.nc, int(d))
	}
	f.check(t, label, name, got)
}

func dense(sp []encode.Sparse, vocab int) []float32 {
	out := make([]float32, len(sp)*vocab)
	for i, s := range sp {
		for k, term := range s.Terms {
			out[i*vocab+int(term)] = s.Weights[k]
		}
	}
	return out
}

func sparseDot(a, b encode.Sparse) float32 {
	var s float64
	for i, j := 0, 0; i < len(a.Terms) && j < len(b.Terms); {
		switch {
		case a.Terms[i] < b.Terms[j]:
			i++
		case a.Terms[i] > b.Terms[j]:
			j++
		default:
			s += float64(a.Weights[i]) * float64(b.Weights[j])
			i++
			j++
		}
	}
	return float32(s)
}

// checkSparse verifies the Sparse invariants: terms strictly increasing and
// inside the vocabulary, weights > 0.
func checkSparse(t *testing.T, sp []encode.Sparse, vocab int) {
	t.Helper()
	for i, s := range sp {
		if len(s.Terms) != len(s.Weights) {
			t.Fatalf("vector %d: %d terms, %d weights", i, len(s.Terms), len(s.Weights))
		}
		for k, term := range s.Terms {
			if term < 0 || int(term) >= vocab || k > 0 && term <= s.Terms[k-1] || !(s.Weights[k] > 0) {
				t.Fatalf("vector %d entry %d: term %d weight %v breaks the invariants", i, k, term, s.Weights[k])
			}
		}
	}
}

// Options that pack several sequences per batch on two goroutines and
// split them over batches: scheduling is part of what parity checks.
var fixtureOpts = []encode.Options{{Threads: 1, BatchTokens: 1 << 20}, {Threads: 2, BatchTokens: 30}}

func TestSPLADEParity(t *testing.T) {
	f := loadModelsFixture(t)
	ck := loadCk(t, filepath.Join(fixtureDir, "tiny-splade"))
	ctx := context.Background()
	for _, opt := range fixtureOpts {
		label := fmt.Sprintf("threads %d", opt.Threads)
		s, err := encode.NewSPLADE(ck, opt)
		if err != nil {
			t.Fatal(err)
		}
		V := s.VocabSize()
		q, err := s.Encode(ctx, f.qb)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Encode(ctx, f.db)
		if err != nil {
			t.Fatal(err)
		}
		checkSparse(t, q, V)
		checkSparse(t, d, V)
		if len(q[0].Terms) == 0 || len(q[0].Terms) == V {
			t.Fatalf("query 0 has %d of %d terms: the fixture should be neither empty nor dense", len(q[0].Terms), V)
		}
		f.check(t, label, "splade_query", dense(q, V))
		f.check(t, label, "splade_doc", dense(d, V))
		f.checkScores(t, label, "splade_scores", func(qi, di int) float32 { return sparseDot(q[qi], d[di]) })
	}
}

func TestPolyEncoderParity(t *testing.T) {
	f := loadModelsFixture(t)
	ck := loadCk(t, filepath.Join(fixtureDir, "tiny-poly"))
	ctx := context.Background()
	for _, opt := range fixtureOpts {
		label := fmt.Sprintf("threads %d", opt.Threads)
		p, err := encode.NewPolyEncoder(ck, opt)
		if err != nil {
			t.Fatal(err)
		}
		m, h := p.M(), p.Dim()
		if m != 3 || h != ck.Config.HiddenSize {
			t.Fatalf("M, Dim = %d, %d, want 3, %d", m, h, ck.Config.HiddenSize)
		}
		q, err := p.EncodeQueries(ctx, f.qb)
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.EncodeDocs(ctx, f.db)
		if err != nil {
			t.Fatal(err)
		}
		f.check(t, label, "poly_query", q)
		f.check(t, label, "poly_doc", d)
		f.checkScores(t, label, "poly_scores", func(qi, di int) float32 {
			return model.PolyScore(q[qi*m*h:(qi+1)*m*h], m, h, d[di*h:(di+1)*h])
		})
	}
}

func TestMVDPRParity(t *testing.T) {
	f := loadModelsFixture(t)
	ck := loadCk(t, filepath.Join(fixtureDir, "tiny-mvdpr"))
	ctx := context.Background()
	for _, opt := range fixtureOpts {
		label := fmt.Sprintf("threads %d", opt.Threads)
		mv, err := encode.NewMVDPR(ck, opt)
		if err != nil {
			t.Fatal(err)
		}
		k, dim := mv.K(), mv.Dim()
		if k != 3 || dim != 16 {
			t.Fatalf("K, Dim = %d, %d, want 3, 16", k, dim)
		}
		q, err := mv.EncodeQueries(ctx, f.qb)
		if err != nil {
			t.Fatal(err)
		}
		d, err := mv.EncodeDocs(ctx, f.db)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dim != dim || len(d.Offsets) != f.db.N+1 {
			t.Fatalf("doc vectors: dim %d, %d offsets", d.Dim, len(d.Offsets))
		}
		for i := 0; i < f.db.N; i++ {
			if d.Len(i) != k {
				t.Fatalf("doc %d has %d vectors, want %d", i, d.Len(i), k)
			}
		}
		f.check(t, label, "mvdpr_query", q)
		f.check(t, label, "mvdpr_doc", d.Vectors)
		f.checkScores(t, label, "mvdpr_scores", func(qi, di int) float32 {
			return model.MaxSim(q[qi*k*dim:(qi+1)*k*dim], k, d.Doc(di), d.Len(di), dim)
		})
	}
}

// one returns sequence i of b as a batch of its own, cut to its last
// attended position (a caller encoding it alone pads no further).
func one(b encode.Batch, i int) encode.Batch {
	n := 0
	for j := 0; j < b.Len; j++ {
		if b.AttentionMask[i*b.Len+j] != 0 {
			n = j + 1
		}
	}
	return encode.Batch{N: 1, Len: n, IDs: b.IDs[i*b.Len : i*b.Len+n], AttentionMask: b.AttentionMask[i*b.Len : i*b.Len+n]}
}

// concat stacks batches of the same Len.
func concat(bs ...encode.Batch) encode.Batch {
	out := encode.Batch{Len: bs[0].Len}
	for _, b := range bs {
		out.N += b.N
		out.IDs = append(out.IDs, b.IDs...)
		out.AttentionMask = append(out.AttentionMask, b.AttentionMask...)
	}
	return out
}

// Which other sequences share a batch, and how the batch is padded and
// packed, must not change any sequence's output: each text encoded alone
// gives what it gives among all the fixture's queries and documents.
func TestModelsIndependentOfBatching(t *testing.T) {
	f := loadModelsFixture(t)
	ctx := context.Background()
	// Every query and document in one batch, padded to the documents' Len.
	all := encode.Batch{Len: f.db.Len}
	for _, b := range []encode.Batch{f.qb, f.db} {
		for i := 0; i < b.N; i++ {
			o := one(b, i)
			ids := make([]int32, f.db.Len)
			mask := make([]int32, f.db.Len)
			copy(ids, o.IDs)
			copy(mask, o.AttentionMask)
			all = concat(all, encode.Batch{N: 1, Len: f.db.Len, IDs: ids, AttentionMask: mask})
		}
	}
	const tol = 1e-5
	opt := encode.Options{Threads: 2, BatchTokens: 20}
	diff := func(what string, i int, d float64) {
		t.Helper()
		if d > tol {
			t.Errorf("%s: text %d alone differs from the batch by %g", what, i, d)
		}
	}

	s, err := encode.NewSPLADE(loadCk(t, filepath.Join(fixtureDir, "tiny-splade")), opt)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := s.Encode(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	p, err := encode.NewPolyEncoder(loadCk(t, filepath.Join(fixtureDir, "tiny-poly")), opt)
	if err != nil {
		t.Fatal(err)
	}
	pq, err := p.EncodeQueries(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	pd, err := p.EncodeDocs(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := encode.NewMVDPR(loadCk(t, filepath.Join(fixtureDir, "tiny-mvdpr")), opt)
	if err != nil {
		t.Fatal(err)
	}
	mq, err := mv.EncodeQueries(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	md, err := mv.EncodeDocs(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	V, m, h, kd := s.VocabSize(), p.M(), p.Dim(), mv.K()*mv.Dim()
	for i := 0; i < all.N; i++ {
		b := one(all, i)
		sp, err := s.Encode(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		diff("splade", i, maxAbs(dense(sp, V), dense(sb[i:i+1], V)))
		q, err := p.EncodeQueries(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		diff("poly queries", i, maxAbs(q, pq[i*m*h:(i+1)*m*h]))
		d, err := p.EncodeDocs(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		diff("poly docs", i, maxAbs(d, pd[i*h:(i+1)*h]))
		q, err = mv.EncodeQueries(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		diff("mv-dpr queries", i, maxAbs(q, mq[i*kd:(i+1)*kd]))
		dv, err := mv.EncodeDocs(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		diff("mv-dpr docs", i, maxAbs(dv.Doc(0), md.Doc(i)))
	}
}

// Each constructor refuses a checkpoint of another kind, naming both kinds.
func TestModelsRefuseOtherKinds(t *testing.T) {
	colbert := loadCk(t, filepath.Join(fixtureDir, "tiny-colbert"))
	poly := loadCk(t, filepath.Join(fixtureDir, "tiny-poly"))
	for _, c := range []struct {
		name string
		err  func(*model.Checkpoint) error
		ck   *model.Checkpoint
		want string
	}{
		{"splade", func(ck *model.Checkpoint) error { _, err := encode.NewSPLADE(ck, encode.Options{}); return err }, colbert, "colbert model, not splade"},
		{"poly", func(ck *model.Checkpoint) error { _, err := encode.NewPolyEncoder(ck, encode.Options{}); return err }, colbert, "colbert model, not poly-encoder"},
		{"mv-dpr", func(ck *model.Checkpoint) error { _, err := encode.NewMVDPR(ck, encode.Options{}); return err }, poly, "poly-encoder model, not mv-dpr"},
	} {
		if err := c.err(c.ck); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	// A head of the wrong shape is refused at construction, not mid-batch.
	bad := loadCk(t, filepath.Join(fixtureDir, "tiny-mvdpr"))
	bad.ColBERT.MVK = 2
	if _, err := encode.NewMVDPR(bad, encode.Options{}); err == nil || !strings.Contains(err.Error(), model.MVProjection) {
		t.Errorf("mv-dpr with mv_k not matching the projection: %v", err)
	}
	bad = loadCk(t, filepath.Join(fixtureDir, "tiny-splade"))
	delete(bad.Params, model.MLMBias)
	if _, err := encode.NewSPLADE(bad, encode.Options{}); err == nil || !strings.Contains(err.Error(), model.MLMBias) {
		t.Errorf("splade without %s: %v", model.MLMBias, err)
	}
	// A poly-encoder query with nothing to attend to has no context.
	p, err := encode.NewPolyEncoder(poly, encode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	empty := encode.Batch{N: 1, Len: 2, IDs: []int32{1, 2}, AttentionMask: []int32{0, 0}}
	if _, err := p.EncodeQueries(context.Background(), empty); err == nil || !strings.Contains(err.Error(), "no attended") {
		t.Errorf("query without attended positions: %v", err)
	}
}

// Every MV-DPR vector is L2-normalised, so MaxSim over them is cosine.
func TestMVDPRUnitVectors(t *testing.T) {
	f := loadModelsFixture(t)
	mv, err := encode.NewMVDPR(loadCk(t, filepath.Join(fixtureDir, "tiny-mvdpr")), encode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := mv.EncodeQueries(context.Background(), f.qb)
	if err != nil {
		t.Fatal(err)
	}
	for v := 0; v*mv.Dim() < len(q); v++ {
		if n := norm(q[v*mv.Dim() : (v+1)*mv.Dim()]); math.Abs(n-1) > 1e-5 {
			t.Fatalf("vector %d has norm %v", v, n)
		}
	}
}
