package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/experiments/evaluate"
)

// tinyCranfield writes a BEIR folder with Cranfield's first 60 documents
// and up to 6 queries judged against them.
func tinyCranfield(t *testing.T) string {
	t.Helper()
	root := testassets.Path(t, "classic/cranfield")
	ds, err := data.LoadBEIR(root, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	corpus := ds.Corpus[:60]
	in := map[string]bool{}
	for _, p := range corpus {
		in[p.ID] = true
	}
	var qs []data.Query
	var qrels strings.Builder
	qrels.WriteString("query-id\tcorpus-id\tscore\n")
	for _, q := range ds.Queries {
		var docs []string
		for d, rel := range ds.Qrels[q.ID] {
			if in[d] && rel > 0 {
				docs = append(docs, d)
			}
		}
		if len(docs) == 0 {
			continue
		}
		sort.Strings(docs)
		for _, d := range docs {
			fmt.Fprintf(&qrels, "%s\t%s\t%d\n", q.ID, d, ds.Qrels[q.ID][d])
		}
		if qs = append(qs, q); len(qs) == 6 {
			break
		}
	}
	if err := data.WriteCorpusJSONL(filepath.Join(dir, "corpus.jsonl"), corpus); err != nil {
		t.Fatal(err)
	}
	var qb strings.Builder
	for _, q := range qs {
		b, _ := json.Marshal(map[string]string{"_id": q.ID, "text": q.Text})
		qb.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "queries.jsonl"), []byte(qb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "qrels"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "qrels", "test.tsv"), []byte(qrels.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func hfTiny(t *testing.T) string {
	return testassets.Path(t, "models/hf-tiny/colbert")
}

// A search-only 2×2 sweep interrupted after its first cell finishes only the
// three missing cells when run again, and the table then has all four.
func TestInterruptedSweepResumes(t *testing.T) {
	ds, ckpt := tinyCranfield(t), hfTiny(t)
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`
dataset = %q
checkpoint = %q
[eval]
k = 100
[grid]
nbits = [1, 2]
ncells = [1, 3]
`, ds, ckpt)), "sweep.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first []int
	res, err := Run(ctx, cfg, Options{Out: out, Threads: 2, OnCell: func(r Row) {
		first = append(first, r.Cell)
		cancel()
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sweep: err %v, want context.Canceled", err)
	}
	if len(first) != 1 || res.CellsRan != 1 {
		t.Fatalf("interrupted sweep finished cells %v (ran %d), want exactly one", first, res.CellsRan)
	}
	if _, err := os.Stat(filepath.Join(out, "sweep.md")); err == nil {
		t.Error("an interrupted sweep wrote its table")
	}

	var ran []int
	res, err = Run(context.Background(), cfg, Options{Out: out, Threads: 2, Parallel: 2, OnCell: func(r Row) {
		if !r.Reused {
			ran = append(ran, r.Cell)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.CellsReused != 1 || res.CellsRan != 3 || len(ran) != 3 {
		t.Fatalf("resumed sweep: reused %d, ran %d %v; want 1 and 3", res.CellsReused, res.CellsRan, ran)
	}
	for _, c := range ran {
		if c == first[0] {
			t.Errorf("cell %d ran twice", c)
		}
	}
	if len(res.Rows) != 4 || strings.Join(res.Keys, ",") != "nbits,ncells" {
		t.Fatalf("%d rows, keys %v", len(res.Rows), res.Keys)
	}
	bpt := map[string]float64{}
	for i, r := range res.Rows {
		if r.Cell != i+1 {
			t.Errorf("row %d is cell %d", i, r.Cell)
		}
		for _, m := range []string{"mrr@10", "ndcg@10", "recall@100"} {
			if v, ok := r.Mean[m]; !ok || math.IsNaN(v) || v < 0 || v > 1 {
				t.Errorf("cell %d: %s = %v (present %v)", r.Cell, m, v, ok)
			}
		}
		if r.LatencyP50 <= 0 || r.LatencyP95 < r.LatencyP50 {
			t.Errorf("cell %d: latency p50 %g p95 %g", r.Cell, r.LatencyP50, r.LatencyP95)
		}
		// Each cell really searched with its own ncells.
		var sum evaluate.Summary
		b, err := os.ReadFile(filepath.Join(out, "cells", r.ID, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Params == nil || fmt.Sprint(sum.Params.NCells) != r.Settings["ncells"] || fmt.Sprint(sum.NBits) != r.Settings["nbits"] {
			t.Errorf("cell %d (%v) searched with %+v, nbits %d", r.Cell, r.Settings, sum.Params, sum.NBits)
		}
		// Cells with the same nbits share one index.
		if prev, ok := bpt[r.Settings["nbits"]]; ok && prev != r.BytesPerToken {
			t.Errorf("nbits %s: bytes/token %g and %g: index not shared", r.Settings["nbits"], prev, r.BytesPerToken)
		}
		bpt[r.Settings["nbits"]] = r.BytesPerToken
	}
	if !(bpt["1"] > 0 && bpt["1"] < bpt["2"]) {
		t.Errorf("bytes/token: nbits 1 %g, nbits 2 %g; want 0 < 1-bit < 2-bit", bpt["1"], bpt["2"])
	}
	ents, _ := os.ReadDir(filepath.Join(out, "indexes"))
	var idx []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			idx = append(idx, e.Name())
		}
	}
	if len(idx) != 2 {
		t.Errorf("indexes %v, want one per nbits", idx)
	}

	csv, err := os.ReadFile(filepath.Join(out, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "cell,nbits,ncells,MRR@10,nDCG@10,R@100,bytes/token") {
		t.Errorf("sweep.csv:\n%s", csv)
	}
	if n, err := parquetio.NumRows(filepath.Join(out, "sweep.parquet")); err != nil || n != 4 {
		t.Errorf("sweep.parquet: %d rows, %v", n, err)
	}
	for _, f := range []string{"sweep.md", "ndcg10-vs-nbits.png", "ndcg10-vs-ncells.png", "latency-vs-recall.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}

	// A third run does nothing but rewrite the table.
	res, err = Run(context.Background(), cfg, Options{Out: out, Threads: 2})
	if err != nil || res.CellsRan != 0 || res.CellsReused != 4 {
		t.Errorf("finished sweep re-run: ran %d reused %d (%v)", res.CellsRan, res.CellsReused, err)
	}
}

// A sweep over codecs and PLAID knobs: every cell runs evaluate once (one
// search each) with its own settings, recorded in its folder; the residual
// cells share one index, the flat cells one stored encoding, and the
// codecs' sizes differ. Run again, every cell is reused.
func TestSweepCodecsAndKnobs(t *testing.T) {
	ds, ckpt := tinyCranfield(t), hfTiny(t)
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`
dataset = %q
checkpoint = %q
[eval]
k = 100
[[cells]]
codec = "residual"
ncells = 1
[[cells]]
codec = "residual"
ncells = 2
ndocs = 64
threshold = 0
[[cells]]
codec = "fp16"
search = "exhaustive"
[[cells]]
codec = "pca-int8"
search = "exhaustive"
`, ds, ckpt)), "codecs.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var mu sync.Mutex
	bars := map[string]int{}
	newBar := func(label string, total int64, unit string) *progress.Bar {
		mu.Lock()
		bars[label]++
		mu.Unlock()
		return nil
	}
	res, err := Run(context.Background(), cfg, Options{Out: out, Threads: 2, Parallel: 2, NewBar: newBar})
	if err != nil {
		t.Fatal(err)
	}
	if res.CellsRan != 4 || bars["search"] != 4 {
		t.Fatalf("ran %d cells with %d searches; want 4 and 4 (one search per cell)", res.CellsRan, bars["search"])
	}
	if bars["index"] != 1 || bars["encode"] != 1 {
		t.Errorf("%d residual index builds and %d flat encodings, want 1 and 1", bars["index"], bars["encode"])
	}
	if got := strings.Join(res.Keys, ","); got != "codec,ncells,ndocs,threshold,search" {
		t.Errorf("varied keys %s", got)
	}
	sums := make([]evaluate.Summary, len(res.Rows))
	for i, r := range res.Rows {
		b, err := os.ReadFile(filepath.Join(out, "cells", r.ID, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &sums[i]); err != nil {
			t.Fatal(err)
		}
		if s := sums[i]; s.Codec != r.Settings["codec"] || s.K != 100 {
			t.Errorf("cell %d (%v): summary codec %q k %d", r.Cell, r.Settings, s.Codec, s.K)
		}
	}
	p0, p1 := sums[0].Params, sums[1].Params
	if p0 == nil || p0.NCells != 1 || p0.NDocs != 1024 || p0.Threshold == nil || *p0.Threshold != 0.45 {
		t.Errorf("cell 1 searched with %+v, want ncells 1 and the defaults for k 100 (ndocs 1024, threshold 0.45)", p0)
	}
	if p1 == nil || p1.NCells != 2 || p1.NDocs != 64 || p1.Threshold == nil || *p1.Threshold != 0 {
		t.Errorf("cell 2 searched with %+v, want ncells 2, ndocs 64, threshold 0", p1)
	}
	for i := 2; i < 4; i++ {
		if sums[i].Params != nil || sums[i].Search != evaluate.SearchExhaustive || sums[i].NBits != 0 {
			t.Errorf("cell %d: params %+v, search %s, nbits %d; want an exhaustive flat search", i+1, sums[i].Params, sums[i].Search, sums[i].NBits)
		}
		if r := sums[i].Mean["recall@100"]; math.Abs(r-1) > 1e-12 {
			t.Errorf("cell %d: exhaustive recall@100 over 60 passages = %v, want 1", i+1, r)
		}
	}
	bpt := []float64{res.Rows[0].BytesPerToken, res.Rows[1].BytesPerToken, res.Rows[2].BytesPerToken, res.Rows[3].BytesPerToken}
	// (On 60 passages the residual index's centroids and IVF outweigh
	// PCA-int8's 32 bytes per token; both are far below fp16's 256.)
	if bpt[0] != bpt[1] || bpt[2] < 256 || !(bpt[0] < bpt[2] && bpt[3] < bpt[2]) || bpt[0] == bpt[3] {
		t.Errorf("bytes/token residual %g %g, fp16 %g, pca-int8 %g; want residual shared, fp16 ≥ 256 above both others", bpt[0], bpt[1], bpt[2], bpt[3])
	}
	ents, _ := os.ReadDir(filepath.Join(out, "indexes"))
	var idx []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			idx = append(idx, e.Name())
		}
	}
	if strings.Join(idx, ",") != "given-flat,given-nbits2" {
		t.Errorf("indexes %v, want given-flat and given-nbits2", idx)
	}
	csv, _ := os.ReadFile(filepath.Join(out, "sweep.csv"))
	if !strings.Contains(string(csv), "pca-int8") || !strings.HasPrefix(string(csv), "cell,codec,") {
		t.Errorf("sweep.csv:\n%s", csv)
	}

	bars = map[string]int{}
	res, err = Run(context.Background(), cfg, Options{Out: out, Threads: 2, NewBar: newBar})
	if err != nil || res.CellsRan != 0 || res.CellsReused != 4 || bars["search"] != 0 {
		t.Errorf("re-run: ran %d, reused %d, %d searches (%v)", res.CellsRan, res.CellsReused, bars["search"], err)
	}
}
