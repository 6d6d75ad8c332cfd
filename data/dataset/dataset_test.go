package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
)

var (
	passages = []data.Passage{{ID: "d1", Title: "T", Text: "first passage"}, {ID: "d2", Text: "second"}, {ID: "d3", Text: "third one"}}
	queries  = []data.Query{{ID: "q1", Text: "what first"}, {ID: "q2", Text: "which second"}}
)

// beirDir writes a BEIR directory judging only q2 in split test.
func beirDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must(t, data.WriteCorpusJSONL(filepath.Join(dir, "corpus.jsonl"), passages))
	must(t, data.WriteQueriesJSONL(filepath.Join(dir, "queries.jsonl"), queries))
	must(t, os.MkdirAll(filepath.Join(dir, "qrels"), 0o755))
	must(t, data.WriteQrelsTSV(filepath.Join(dir, "qrels", "test.tsv"), data.Qrels{"q2": {"d2": 1}}))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]Format{
		"a.parquet": Parquet, "A.PARQUET": Parquet, "x/collection.tsv": TSV, "c.TSV.gz": TSV, "q.jsonl": JSONL,
		"corpus.jsonl.gz": JSONL, "run.trec": TREC, "RUN.TXT": TREC, "noext": JSONL,
	} {
		if got := FormatOf(path); got != want {
			t.Errorf("FormatOf(%q) = %v, want %v", path, got, want)
		}
	}
}

// Every format gives the same passages and queries back, whatever the
// case of its extension, and streaming gives what reading whole gives.
func TestPassagesAndQueriesEveryFormat(t *testing.T) {
	dir := t.TempDir()
	paths := map[string][2]string{
		"jsonl":   {filepath.Join(dir, "corpus.jsonl"), filepath.Join(dir, "queries.jsonl")},
		"tsv":     {filepath.Join(dir, "collection.TSV"), filepath.Join(dir, "queries.tsv")},
		"parquet": {filepath.Join(dir, "passages.Parquet"), filepath.Join(dir, "queries.parquet")},
		"beir":    {beirDir(t), ""},
	}
	must(t, data.WriteCorpusJSONL(paths["jsonl"][0], passages))
	must(t, data.WriteQueriesJSONL(paths["jsonl"][1], queries))
	must(t, data.WriteMSMARCOCollection(paths["tsv"][0], passages))
	must(t, data.WriteMSMARCOQueries(paths["tsv"][1], queries))
	must(t, parquetio.WritePassages(paths["parquet"][0], passages, nil))
	must(t, parquetio.WriteQueries(paths["parquet"][1], queries, nil))
	for name, p := range paths {
		ps, err := Passages(p[0])
		must(t, err)
		want := passages
		if name == "tsv" { // MS MARCO has no titles
			want = []data.Passage{{ID: "d1", Text: "T first passage"}, {ID: "d2", Text: "second"}, {ID: "d3", Text: "third one"}}
		}
		if !reflect.DeepEqual(ps, want) {
			t.Errorf("%s passages: %+v", name, ps)
		}
		var streamed []data.Passage
		must(t, StreamPassages(p[0], 2, func(b []data.Passage) error { streamed = append(streamed, b...); return nil }))
		if !reflect.DeepEqual(streamed, ps) {
			t.Errorf("%s: streamed %+v, read %+v", name, streamed, ps)
		}
		qp := p[1]
		if qp == "" {
			qp = p[0]
		}
		qs, err := Queries(qp, "")
		must(t, err)
		if !reflect.DeepEqual(qs, queries) {
			t.Errorf("%s queries: %+v", name, qs)
		}
	}
}

func TestBEIRDirectorySplitAndOpen(t *testing.T) {
	dir := beirDir(t)
	qs, err := Queries(dir, "test")
	must(t, err)
	if len(qs) != 1 || qs[0].ID != "q2" {
		t.Errorf("judged test queries: %+v, want q2 only", qs)
	}
	ps, qs, err := Open(dir, "", "test")
	must(t, err)
	if len(ps) != 3 || len(qs) != 1 {
		t.Errorf("Open(dir): %d passages, %d queries", len(ps), len(qs))
	}
	// A queries file is taken whole; the split applies to the directory only.
	qf := filepath.Join(t.TempDir(), "q.jsonl")
	must(t, data.WriteQueriesJSONL(qf, queries))
	if _, qs, err = Open(dir, qf, "test"); err != nil || len(qs) != 2 {
		t.Errorf("Open(dir, file): %d queries, %v", len(qs), err)
	}
	qs, err = QueriesFor(dir, "")
	if err != nil || len(qs) != 2 {
		t.Errorf("QueriesFor(dir): %d queries, %v", len(qs), err)
	}
	qr, path, err := QrelsFor(dir, "", "test")
	if err != nil || len(qr) != 1 || qr["q2"]["d2"] != 1 || path != filepath.Join(dir, "qrels", "test.tsv") {
		t.Errorf("QrelsFor(dir): %v from %s, %v", qr, path, err)
	}
	corpus := filepath.Join(dir, "corpus.jsonl")
	if _, _, err := QrelsFor(corpus, "", "test"); err == nil || !strings.Contains(err.Error(), "qrels are required") {
		t.Errorf("QrelsFor(file) without qrels: %v", err)
	}
	if _, _, err := Open(corpus, "", "test"); err == nil || !strings.Contains(err.Error(), corpus) {
		t.Errorf("Open(file) without queries: %v, want an error naming the file", err)
	}
	if _, err := QueriesFor(corpus, ""); err == nil {
		t.Errorf("QueriesFor(file) without queries: no error")
	}
	if _, err := Passages(filepath.Join(dir, "missing.jsonl")); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

func TestRunRoundTrip(t *testing.T) {
	run := data.Run{"q1": {{DocID: "d2", Score: 2.5}, {DocID: "d1", Score: 1}}, "q2": {{DocID: "d3", Score: 0.5}}}
	dir := t.TempDir()
	for _, name := range []string{"run.trec", "run.PARQUET"} {
		path := filepath.Join(dir, name)
		must(t, WriteRun(path, run, "tag", map[string]string{"k": "10"}))
		got, err := ReadRun(path)
		must(t, err)
		if !reflect.DeepEqual(got, run) {
			t.Errorf("%s: read %+v, wrote %+v", name, got, run)
		}
	}
	meta, err := parquetio.ReadMetadata(filepath.Join(dir, "run.PARQUET"))
	must(t, err)
	if meta["tag"] != "tag" || meta["k"] != "10" {
		t.Errorf("parquet run metadata %v", meta)
	}
}

func TestMetadataSideFile(t *testing.T) {
	dir := t.TempDir()
	side := filepath.Join(dir, "meta.jsonl")
	if err := os.WriteFile(side, []byte(`{"id": "a", "year": 2020, "title": "T"}`+"\n"+`{"_id": 7, "source": "x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Metadata(side)
	if err != nil {
		t.Fatal(err)
	}
	ps := []data.Passage{{ID: "a", Meta: map[string]any{"year": int64(1), "lang": "en"}}, {ID: "7"}, {ID: "z"}}
	if err := AddMetadata(ps, m, side); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"year": int64(2020), "title": "T", "lang": "en"}, {"source": "x"}, nil}
	for i, p := range ps {
		if !reflect.DeepEqual(p.Meta, want[i]) {
			t.Errorf("%s: %#v, want %#v", p.ID, p.Meta, want[i])
		}
	}
	if err := AddMetadata(ps[:1], m, side); err == nil || !strings.Contains(err.Error(), `lacks (first: "7")`) {
		t.Errorf("unknown side id: %v", err)
	}
	if _, err := Metadata(filepath.Join(dir, "m.parquet")); err == nil {
		t.Error("parquet side file accepted")
	}
}
