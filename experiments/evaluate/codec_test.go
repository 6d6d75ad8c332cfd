package evaluate

import (
	"context"
	"encoding/json"
	"github.com/colbert-go/colbert/model"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

func readSummary(t *testing.T, dir string) Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Explicit PLAID knobs reach the search (the run is what search returns
// with them) and are recorded in summary.json and report.md; a threshold of
// exactly 0 is honoured, not read as "default".
func TestEvaluatePLAIDKnobs(t *testing.T) {
	ckpt := testassets.Path(t, "models/hf-tiny/colbert")
	dsDir := smallCranfield(t)
	ctx := context.Background()
	out := t.TempDir()
	opt := Options{Checkpoint: ckpt, Dataset: dsDir, Threads: 2, Seed: 7, Params: search.Params{K: 20, NCells: 3, NDocs: 40, Threshold: new(float32(0))},
		Out: filepath.Join(out, "knobs"), IndexDir: filepath.Join(out, "index")}
	sum, err := Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Codec != CodecResidual || sum.NBits != index.DefaultNBits {
		t.Errorf("codec %q nbits %d, want residual %d", sum.Codec, sum.NBits, index.DefaultNBits)
	}
	def, err := search.DefaultParams(20).Resolve() // what a run records: every knob set
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Summary{*sum, readSummary(t, opt.Out)} {
		p := s.Params
		if p == nil || p.K != 20 || p.NCells != 3 || p.NDocs != 40 || p.Threshold == nil || *p.Threshold != 0 {
			t.Fatalf("recorded params %+v, want k 20, ncells 3, ndocs 40, threshold 0", p)
		}
	}
	md, _ := os.ReadFile(filepath.Join(opt.Out, "report.md"))
	if !strings.Contains(string(md), "ncells 3, ndocs 40, centroid score threshold 0)") {
		t.Errorf("report.md does not show the knobs:\n%s", md)
	}

	// The run is the searcher's answer with exactly those knobs.
	ds, err := data.LoadBEIR(dsDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	m, err := colbert.Load(ckpt, "", encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(m, opt.IndexDir, engine.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.Searcher()
	qv, err := m.EncodeQueries(ctx, ds.Queries)
	if err != nil {
		t.Fatal(err)
	}
	run, err := data.ReadTRECRun(filepath.Join(opt.Out, "run.trec"))
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range ds.Queries {
		hits, err := s.Search(qv[i], m.Dim(), search.Params{K: 20, NCells: 3, NDocs: 40, Threshold: new(float32(0))})
		if err != nil {
			t.Fatal(err)
		}
		got := run[q.ID]
		if len(got) != len(hits) {
			t.Fatalf("query %s: run has %d hits, search with the knobs %d", q.ID, len(got), len(hits))
		}
		for j, h := range hits {
			if got[j].DocID != e.PassageID(h.PID) {
				t.Fatalf("query %s rank %d: run %s, search with the knobs %s", q.ID, j+1, got[j].DocID, e.PassageID(h.PID))
			}
		}
	}

	// The defaults for k stay the defaults when nothing is set.
	d := opt
	d.Params, d.Out = search.Params{K: 20}, filepath.Join(out, "defaults")
	sd, err := Run(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if !sd.IndexReused || sd.Params == nil || !sameParams(*sd.Params, def) {
		t.Errorf("defaults run: reused %v, params %+v, want %+v", sd.IndexReused, sd.Params, def)
	}
}

// The flat codecs store float32 vectors once and search them exhaustively
// through the codec: fp32 scores are exact MaxSim, fp16 close to them, and
// each reports its own size. A residual index in the same folder is not
// taken for a flat one, nor the reverse.
func TestEvaluateFlatCodecs(t *testing.T) {
	ckpt := testassets.Path(t, "models/hf-tiny/colbert")
	dsDir := smallCranfield(t)
	ctx := context.Background()
	out := t.TempDir()
	base := Options{Checkpoint: ckpt, Dataset: dsDir, Threads: 2, Search: SearchExhaustive, IndexDir: filepath.Join(out, "index")}
	sums := map[string]*Summary{}
	for i, c := range []string{CodecFP32, CodecFP16, CodecPCAInt8, CodecResidual, CodecFP16} {
		o := base
		o.Codec, o.Out = c, filepath.Join(out, c)
		s, err := Run(ctx, o)
		if err != nil {
			t.Fatalf("codec %s: %v", c, err)
		}
		// Flat codecs share the stored vectors; switching to residual
		// and back rebuilds each.
		if wantReused := i == 1 || i == 2; s.IndexReused != wantReused {
			t.Errorf("run %d (codec %s): index reused %v, want %v", i, c, s.IndexReused, wantReused)
		}
		if s.Codec != c || readSummary(t, o.Out).Codec != c {
			t.Errorf("codec %s recorded as %q", c, s.Codec)
		}
		if r := s.Mean["recall@1000"]; math.Abs(r-1) > 1e-12 {
			t.Errorf("codec %s: exhaustive recall@1000 = %v, want 1", c, r)
		}
		assertConsistent(t, o.Out, dsDir)
		sums[c] = s
	}
	n, ntok := float64(sums[CodecFP32].Passages), float64(sums[CodecFP32].Embeddings)
	dim := 128.0
	for c, bpv := range map[string]float64{CodecFP32: 4 * dim, CodecFP16: 2 * dim, CodecPCAInt8: dim / 4} {
		want := bpv + 4*n/ntok
		if c == CodecPCAInt8 {
			want += 4 * (dim + dim/4*dim + dim/4) / ntok
		}
		if got := sums[c].BytesPerToken; math.Abs(got-want) > 1e-9 {
			t.Errorf("codec %s: %g bytes/token, want %g", c, got, want)
		}
		if sums[c].Embeddings != sums[CodecResidual].Embeddings {
			t.Errorf("codec %s: %d embeddings, residual %d", c, sums[c].Embeddings, sums[CodecResidual].Embeddings)
		}
	}
	if sums[CodecPCAInt8].PCAComponents != 32 || sums[CodecResidual].BytesPerToken >= sums[CodecFP16].BytesPerToken {
		t.Errorf("pca components %d; residual %g bytes/token vs fp16 %g", sums[CodecPCAInt8].PCAComponents,
			sums[CodecResidual].BytesPerToken, sums[CodecFP16].BytesPerToken)
	}
	md, _ := os.ReadFile(filepath.Join(out, CodecFP16, "report.md"))
	if !strings.Contains(string(md), "flat fp16 vectors") {
		t.Errorf("report.md does not name the codec:\n%s", md)
	}

	// fp32 scores are exact MaxSim of the model's vectors; fp16 within
	// half-precision rounding of them.
	ds, err := data.LoadBEIR(dsDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	m, err := colbert.Load(ckpt, "", encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(ds.Corpus))
	pos := map[string]int{}
	for i, p := range ds.Corpus {
		texts[i], pos[p.ID] = p.Content(), i
	}
	dv, err := m.EncodeDocTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	off := make([]int, len(texts)+1)
	for i := range texts {
		off[i+1] = off[i] + dv.Len(i)
	}
	qv, err := m.EncodeQueries(ctx, ds.Queries[:2])
	if err != nil {
		t.Fatal(err)
	}
	for c, tol := range map[string]float64{CodecFP32: 1e-4, CodecFP16: 0.05} {
		run, err := data.ReadTRECRun(filepath.Join(out, c, "run.trec"))
		if err != nil {
			t.Fatal(err)
		}
		for qi, q := range ds.Queries[:2] {
			for _, d := range run[q.ID] {
				i := pos[d.DocID]
				want := float64(model.MaxSim(qv[qi], len(qv[qi])/dv.Dim, dv.Vectors[off[i]*dv.Dim:off[i+1]*dv.Dim], off[i+1]-off[i], dv.Dim))
				if math.Abs(d.Score-want) > tol {
					t.Fatalf("codec %s, query %s, doc %s: score %v, exact MaxSim %v", c, q.ID, d.DocID, d.Score, want)
				}
			}
		}
	}
}

func TestEvaluateCodecAndKnobErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := Options{Checkpoint: "x", Dataset: dir, Out: dir}
	neg, nan := float32(-1), float32(math.NaN())
	for _, c := range []struct {
		name string
		edit func(*Options)
		want []string
	}{
		{"unknown codec", func(o *Options) { o.Codec = "fp8" }, []string{`"fp8"`, "residual, fp32, fp16, pca-int8"}},
		{"flat codec with plaid", func(o *Options) { o.Codec = CodecFP16 }, []string{"fp16", "PLAID", "exhaustive"}},
		{"flat codec with rerank", func(o *Options) { o.Codec, o.Search = CodecPCAInt8, SearchRerankBM25 }, []string{"pca-int8", "no index"}},
		{"ncells with exhaustive", func(o *Options) { o.Search, o.Params.NCells = SearchExhaustive, 2 }, []string{"PLAID settings", "exhaustive"}},
		{"threshold with rerank", func(o *Options) { o.Search, o.Params.Threshold = SearchRerankBM25, &neg }, []string{"PLAID settings"}},
		{"NaN threshold", func(o *Options) { o.Params.Threshold = &nan }, []string{"threshold", "NaN"}},
		{"negative ndocs", func(o *Options) { o.Params.NDocs = -4 }, []string{"ndocs -4"}},
		{"nbits 3", func(o *Options) { o.NBits = 3 }, []string{"nbits 3"}},
	} {
		o := base
		c.edit(&o)
		_, err := Run(ctx, o)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err %v, want one containing %q", c.name, err, w)
			}
		}
	}
	// A negative threshold is legal (ColBERT takes any number).
	o := base
	o.Params.Threshold = &neg
	if err := o.fill(); err != nil {
		t.Errorf("threshold -1: %v", err)
	}
}

// sameParams compares Params by value (Threshold is a pointer).
func sameParams(a, b search.Params) bool {
	ta, tb := a.Threshold, b.Threshold
	a.Threshold, b.Threshold = nil, nil
	return a == b && (ta == nil) == (tb == nil) && (ta == nil || *ta == *tb)
}
