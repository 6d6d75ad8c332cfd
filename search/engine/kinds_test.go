package engine_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

// kindModel saves hf-tiny's encoder under a fresh head of kind (random
// weights, seeded) with its tokenizer and loads it for search.
func kindModel(t *testing.T, kind model.Kind) *colbert.Model {
	t.Helper()
	src := testassets.Path(t, "models/hf-tiny/colbert")
	ck, err := model.LoadCheckpoint(src)
	if err != nil {
		t.Fatal(err)
	}
	col := ck.ColBERT
	col.Dim, col.PolyM, col.MVK = 16, 4, 3
	out, _, err := ck.WithHead(kind, col, 11)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), string(kind))
	if err := model.SaveCheckpoint(dir, out); err != nil {
		t.Fatal(err)
	}
	m, err := colbert.Load(dir, "", encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func pidsOf(hits []search.Hit) []int {
	var p []int
	for _, h := range hits {
		p = append(p, h.PID)
	}
	return p
}

// TestOtherKindsSearch builds and searches an index of every other kind
// through the engine: SPLADE's pruned top k equals its exhaustive top k;
// MV-DPR (k vectors per passage in the residual index) searches with
// PLAID and exhaustively; the poly-encoder's exhaustive scores equal
// model.PolyScore on freshly encoded vectors, and reranking every passage
// gives its exhaustive top k.
func TestOtherKindsSearch(t *testing.T) {
	_, ps, qs := setup(t)
	ps, qs = ps[:40], qs[:4]
	ctx := context.Background()
	for _, kind := range []model.Kind{model.KindSPLADE, model.KindMVDPR, model.KindPolyEncoder} {
		m := kindModel(t, kind)
		dir := filepath.Join(t.TempDir(), "index")
		codec := ""
		if kind == model.KindPolyEncoder {
			codec = "fp32"
		}
		if _, err := engine.Build(ctx, m, dir, ps, engine.BuildOptions{Codec: codec, Threads: 2}); err != nil {
			t.Fatalf("%s: build: %v", kind, err)
		}
		e, err := engine.Open(m, dir, engine.OpenOptions{Codec: codec})
		if err != nil {
			t.Fatalf("%s: open: %v", kind, err)
		}
		p := search.Params{K: 10}
		ex, err := e.Search(ctx, qs, p, engine.SearchOptions{Exhaustive: true})
		if err != nil {
			t.Fatalf("%s: exhaustive: %v", kind, err)
		}
		st := e.Stats()
		t.Logf("%s: %s index, %d passages, %d B (%.0f B/passage)", kind, st.Codec, st.Passages, st.Bytes, st.BytesPerPassage)
		switch kind {
		case model.KindSPLADE:
			pr, err := e.Search(ctx, qs, p, engine.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range qs {
				if !slices.Equal(pidsOf(pr.PerQuery[i].Hits), pidsOf(ex.PerQuery[i].Hits)) {
					t.Errorf("splade query %d: pruned %v, exhaustive %v", i, pr.PerQuery[i].Hits, ex.PerQuery[i].Hits)
				}
			}
			// An id filter restricts the pruned search exactly.
			allow := []string{ps[3].ID, ps[7].ID, ps[11].ID}
			fr, err := e.Search(ctx, qs[:1], p, engine.SearchOptions{Filter: engine.Filter{IDs: allow}})
			if err != nil {
				t.Fatal(err)
			}
			if got := fr.Run[qs[0].ID]; len(got) != 3 || !slices.ContainsFunc(got, func(d data.ScoredDoc) bool { return d.DocID == ps[7].ID }) {
				t.Errorf("splade filtered to 3 ids: %v", got)
			}
			if _, err := e.Score(ctx, qs[0].Text, []int{1}); err == nil {
				t.Error("splade: rescoring stored vectors accepted")
			}
		case model.KindMVDPR:
			if st.Tokens != int64(3*len(ps)) {
				t.Errorf("mv-dpr index holds %d vectors, want 3 per passage (%d)", st.Tokens, 3*len(ps))
			}
			// With every passage kept through the stages PLAID is exact.
			all := 4 * len(ps)
			pl, err := e.Search(ctx, qs, search.Params{K: 10, NCells: 64, NDocs: all, Threshold: new(float32(-10))}, engine.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range qs {
				if !slices.Equal(pidsOf(pl.PerQuery[i].Hits), pidsOf(ex.PerQuery[i].Hits)) {
					t.Errorf("mv-dpr query %d: PLAID keeping every passage %v, exhaustive %v", i, pl.PerQuery[i].Hits, ex.PerQuery[i].Hits)
				}
			}
		case model.KindPolyEncoder:
			qv, err := m.EncodeQueries(ctx, qs[:1])
			if err != nil {
				t.Fatal(err)
			}
			dv, err := m.EncodeDocTexts(ctx, []string{ps[ex.PerQuery[0].Hits[0].PID].Content()})
			if err != nil {
				t.Fatal(err)
			}
			want := model.PolyScore(qv[0], m.QueryLen(), m.Dim(), dv.Doc(0))
			if got := ex.PerQuery[0].Hits[0].Score; got-want > 1e-4 || want-got > 1e-4 {
				t.Errorf("poly top score %v, PolyScore of fresh vectors %v", got, want)
			}
			first := data.Run{}
			for _, q := range qs {
				for _, p := range ps {
					first[q.ID] = append(first[q.ID], data.ScoredDoc{DocID: p.ID})
				}
			}
			rr, err := e.Rerank(ctx, qs, first, 10, engine.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range qs {
				if !slices.Equal(pidsOf(rr.PerQuery[i].Hits), pidsOf(ex.PerQuery[i].Hits)) {
					t.Errorf("poly query %d: rerank of every passage %v, exhaustive %v", i, rr.PerQuery[i].Hits, ex.PerQuery[i].Hits)
				}
			}
		}
		e.Close()
		m.Close()
	}
}

// TestBiEncoderSearch: a bi-encoder checkpoint (one [CLS] vector per query
// and passage) indexes by default into a flat fp32 index (the residual
// codec, which normalises, is refused), opens as stored and searches
// exhaustively through the engine without being asked; its scores are the
// dot products of model/encode's bi-encoder on the same tokens, and it
// ranks by them.
func TestBiEncoderSearch(t *testing.T) {
	_, ps, qs := setup(t)
	ps, qs = ps[:40], qs[:3]
	ctx := context.Background()
	m := kindModel(t, model.KindBiEncoder)
	if m.QueryLen() != 1 {
		t.Fatalf("bi-encoder query vectors %d, want 1", m.QueryLen())
	}
	if _, err := engine.Build(ctx, m, filepath.Join(t.TempDir(), "r"), ps, engine.BuildOptions{Codec: engine.CodecResidual, Threads: 2}); err == nil || !strings.Contains(err.Error(), "flat codec") {
		t.Errorf("residual codec for a bi-encoder: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "index")
	if _, err := engine.Build(ctx, m, dir, ps, engine.BuildOptions{Threads: 2}); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(m, dir, engine.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st := e.Stats(); st.Tokens != int64(len(ps)) || st.Codec != "fp32" {
		t.Errorf("index holds %d vectors as %q, want one per passage (%d) as fp32", st.Tokens, st.Codec, len(ps))
	}
	res, err := e.Search(ctx, qs, search.Params{K: len(ps)}, engine.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}

	ck, err := model.LoadCheckpoint(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	be, err := encode.NewBiEncoder(ck, encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(ps))
	for i, p := range ps {
		texts[i] = p.Content()
	}
	dv, err := be.Encode(ctx, encode.FromTokenize(m.Tok.EncodeDocs(texts)))
	if err != nil {
		t.Fatal(err)
	}
	dim := be.Dim()
	for i, q := range qs {
		qv, err := be.Encode(ctx, encode.FromTokenize(m.Tok.EncodeQueries([]string{q.Text})))
		if err != nil {
			t.Fatal(err)
		}
		hits := res.PerQuery[i].Hits
		if len(hits) != len(ps) {
			t.Fatalf("query %d: %d hits, want every passage", i, len(hits))
		}
		for r, h := range hits {
			var want float32
			for j := 0; j < dim; j++ {
				want += qv[j] * dv[h.PID*dim+j]
			}
			if d := float64(h.Score - want); d > 1e-3 || d < -1e-3 {
				t.Errorf("query %d rank %d (pid %d): score %g, dot product %g", i, r+1, h.PID, h.Score, want)
			}
			if r > 0 && h.Score > hits[r-1].Score {
				t.Errorf("query %d: rank %d scores above rank %d", i, r+1, r)
			}
		}
	}
}
