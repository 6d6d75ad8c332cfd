package parquetio

import (
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
)

func randExamples(rng *rand.Rand, n int) []data.Example {
	exs := make([]data.Example, n)
	for i := range exs {
		k := 1 + rng.Intn(8)
		ex := data.Example{QueryID: "q" + strconv.Itoa(i)}
		for j := 0; j < k; j++ {
			ex.DocIDs = append(ex.DocIDs, strconv.Itoa(rng.Intn(100000)))
		}
		if i%3 != 0 {
			for j := 0; j < k; j++ {
				ex.TeacherScores = append(ex.TeacherScores, float32(rng.NormFloat64()*5))
			}
		}
		exs[i] = ex
	}
	return exs
}

func randPassages(rng *rand.Rand, n int) []data.Passage {
	words := []string{"wing", "slipstream", "é", "boundary", "layer", "\"quoted\"", "tab\there", "line\nbreak", "日本"}
	ps := make([]data.Passage, n)
	for i := range ps {
		var sb strings.Builder
		for j := rng.Intn(30); j > 0; j-- {
			sb.WriteString(words[rng.Intn(len(words))])
			sb.WriteByte(' ')
		}
		ps[i] = data.Passage{ID: strconv.Itoa(i * 3), Text: sb.String()}
		if i%2 == 0 {
			ps[i].Title = words[i%len(words)]
		}
	}
	return ps
}

func TestRoundTripsAndMetadata(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(3))
	meta := map[string]string{"teacher_sha256": "ab12", "settings": `{"nway":8}`, "empty": ""}

	ps := randPassages(rng, 500)
	ps[7].Text = "" // Cranfield-style empty document
	p := filepath.Join(dir, "passages.parquet")
	if err := WritePassages(p, ps, meta); err != nil {
		t.Fatal(err)
	}
	gotP, gotMeta, err := ReadPassages(p)
	if err != nil || !reflect.DeepEqual(gotP, ps) || !reflect.DeepEqual(gotMeta, meta) {
		t.Fatalf("passages: %v meta %v", err, gotMeta)
	}

	qs := []data.Query{{ID: "1", Text: "what similarity laws"}, {ID: "x", Text: ""}}
	qp := filepath.Join(dir, "queries.parquet")
	if err := WriteQueries(qp, qs, nil); err != nil {
		t.Fatal(err)
	}
	gotQ, qmeta, err := ReadQueries(qp)
	if err != nil || !reflect.DeepEqual(gotQ, qs) || len(qmeta) != 0 {
		t.Fatalf("queries: %v %v %v", err, gotQ, qmeta)
	}

	exs := randExamples(rng, 300)
	ep := filepath.Join(dir, "examples.parquet")
	if err := WriteExamples(ep, exs, meta); err != nil {
		t.Fatal(err)
	}
	gotE, emeta, err := ReadExamples(ep)
	if err != nil || !reflect.DeepEqual(gotE, exs) || !reflect.DeepEqual(emeta, meta) {
		t.Fatalf("examples: %v", err)
	}
	if m, err := ReadMetadata(ep); err != nil || !reflect.DeepEqual(m, meta) {
		t.Fatalf("ReadMetadata: %v %v", err, m)
	}
	if n, err := NumRows(ep); err != nil || n != 300 {
		t.Fatalf("NumRows %d %v", n, err)
	}

	run := data.Run{"2": {{DocID: "d9", Score: 3.5}, {DocID: "d1", Score: 3.5}, {DocID: "d3", Score: -1e-9}}, "10": {{DocID: "a", Score: 0.1}}}
	rp := filepath.Join(dir, "run.parquet")
	if err := WriteRun(rp, run, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	gotR, rmeta, err := ReadRun(rp)
	if err != nil || !reflect.DeepEqual(gotR, run) || rmeta["k"] != "v" {
		t.Fatalf("run: %v %v", err, gotR)
	}
}

func TestStreamingWriterAndBatches(t *testing.T) {
	dir := t.TempDir()
	exs := randExamples(rand.New(rand.NewSource(5)), 1000)
	p := filepath.Join(dir, "train.parquet")
	w, err := NewExampleWriter(p, map[string]string{"teacher": "x"})
	if err != nil {
		t.Fatal(err)
	}
	w.w.groupRows = 128 // force several row groups
	for i := 0; i < len(exs); i += 77 {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatal("file visible before Close")
		}
		if err := w.Write(exs[i:min(i+77, len(exs))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(exs[:1]); err == nil {
		t.Fatal("write after Close accepted")
	}
	tb, err := openTable(p, 10)
	if err != nil {
		t.Fatal(err)
	}
	if g := tb.pf.NumRowGroups(); g != 8 {
		t.Errorf("%d row groups, want 8 (1000 rows / 128)", g)
	}
	tb.close()
	for _, batch := range []int{1, 100, 128, 333, 5000} {
		var got []data.Example
		calls := 0
		err := ReadExamplesBatches(p, batch, func(b []data.Example) error {
			calls++
			if len(b) > batch || len(b) == 0 {
				t.Fatalf("batch of %d rows, limit %d", len(b), batch)
			}
			got = append(got, b...)
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, exs) {
			t.Fatalf("batch %d: %v (%d rows)", batch, err, len(got))
		}
		if want := (1000 + batch - 1) / batch; calls < want {
			t.Errorf("batch %d: %d calls, want at least %d", batch, calls, want)
		}
	}
	stop := errors.New("stop")
	if err := ReadExamplesBatches(p, 10, func([]data.Example) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error lost: %v", err)
	}

	// Passages stream the same way.
	ps := randPassages(rand.New(rand.NewSource(9)), 700)
	pp := filepath.Join(dir, "collection.parquet")
	pw, err := NewPassageWriter(pp, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw.w.groupBytes = 2000 // flush on size
	if err := pw.Write(ps); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	var got []data.Passage
	if err := ReadPassagesBatches(pp, 64, func(b []data.Passage) error { got = append(got, b...); return nil }); err != nil || !reflect.DeepEqual(got, ps) {
		t.Fatalf("passages batches: %v", err)
	}
	tb, _ = openTable(pp, 10)
	if tb.pf.NumRowGroups() < 5 {
		t.Errorf("size limit did not split row groups: %d", tb.pf.NumRowGroups())
	}
	tb.close()
}

func TestWriterRejectsAndAborts(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.parquet")
	for i, ex := range []data.Example{
		{QueryID: "", DocIDs: []string{"1"}},
		{QueryID: "1"},
		{QueryID: "1", DocIDs: []string{"a", "b"}, TeacherScores: []float32{1}},
		{QueryID: "1", DocIDs: []string{"\xff"}},
	} {
		w, err := NewExampleWriter(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write([]data.Example{{QueryID: "ok", DocIDs: []string{"1"}}, ex}); err == nil || !strings.Contains(err.Error(), "row 1") {
			t.Errorf("case %d: err = %v", i, err)
		}
		if err := w.Close(); err == nil {
			t.Errorf("case %d: Close after failed Write succeeded", i)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("aborted writers left files: %v", ents)
	}
	w, _ := NewRunWriter(p, nil)
	w.Write("q", []data.ScoredDoc{{DocID: "d", Score: 1}})
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Abort left files: %v", ents)
	}
	if _, err := NewExampleWriter(p, map[string]string{"ARROW:schema": "x"}); err == nil {
		t.Error("reserved metadata key accepted")
	}
}

// writeForeign writes a Parquet file with an arbitrary Arrow schema, as
// another tool would.
func writeForeign(t *testing.T, path string, sc *arrow.Schema, fill func(b *array.RecordBuilder)) {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	fill(b)
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestForeignFiles(t *testing.T) {
	dir := t.TempDir()
	// Integer ids, float64 scores, an extra column.
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "extra", Type: arrow.PrimitiveTypes.Int8},
		{Name: ColQueryID, Type: arrow.PrimitiveTypes.Int64},
		{Name: ColDocIDs, Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
		{Name: ColTeacherScores, Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
	}, nil)
	p := filepath.Join(dir, "foreign.parquet")
	writeForeign(t, p, sc, func(b *array.RecordBuilder) {
		b.Field(0).(*array.Int8Builder).AppendValues([]int8{1, 2}, nil)
		b.Field(1).(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
		lb := b.Field(2).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{10, 11}, nil)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{12}, nil)
		sb := b.Field(3).(*array.ListBuilder)
		sb.Append(true)
		sb.ValueBuilder().(*array.Float64Builder).AppendValues([]float64{0.5, -2}, nil)
		sb.AppendNull()
	})
	got, _, err := ReadExamples(p)
	want := []data.Example{{QueryID: "7", DocIDs: []string{"10", "11"}, TeacherScores: []float32{0.5, -2}}, {QueryID: "8", DocIDs: []string{"12"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("foreign examples: %v %#v", err, got)
	}

	// Wrong types and nulls are reported with file, row and column.
	bad := filepath.Join(dir, "badtypes.parquet")
	writeForeign(t, bad, arrow.NewSchema([]arrow.Field{
		{Name: ColQueryID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColDocIDs, Type: arrow.BinaryTypes.String},
	}, nil), func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
		b.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "y"}, nil)
	})
	if _, _, err := ReadExamples(bad); err == nil || !strings.Contains(err.Error(), bad+" row 0 column doc_ids: want a list") {
		t.Errorf("wrong type: %v", err)
	}
	if _, _, err := ReadQueries(bad); err == nil || !strings.Contains(err.Error(), `no column "id"`) {
		t.Errorf("missing column: %v", err)
	}
	nulls := filepath.Join(dir, "nulls.parquet")
	writeForeign(t, nulls, arrow.NewSchema([]arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColText, Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil), func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "", "c"}, []bool{true, true, false})
		b.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "", "z"}, []bool{true, false, true})
	})
	if _, _, err := ReadPassages(nulls); err == nil || !strings.Contains(err.Error(), "row 2 column id: null value") {
		t.Errorf("null id: %v", err)
	}
}

func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	if err := WriteExamples(good, randExamples(rand.New(rand.NewSource(1)), 200), nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	cases := map[string][]byte{
		"empty":     nil,
		"text":      []byte("query-id\tcorpus-id\tscore\n1\t2\t1\n"),
		"truncated": raw[:len(raw)/2],
		"no footer": raw[:len(raw)-8],
	}
	// Flip bytes in the data pages (not the footer) to corrupt values.
	flipped := append([]byte(nil), raw...)
	for i := 8; i < len(flipped)/2; i += 7 {
		flipped[i] ^= 0x5a
	}
	cases["flipped"] = flipped
	for name, b := range cases {
		p := filepath.Join(dir, name+".parquet")
		os.WriteFile(p, b, 0o644)
		_, _, err := ReadExamples(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, _, err := ReadExamples(filepath.Join(dir, "missing.parquet")); err == nil {
		t.Error("missing file")
	}
	if err := ReadExamplesBatches(good, 0, func([]data.Example) error { return nil }); err == nil {
		t.Error("batch 0 accepted")
	}
}

func TestCranfieldCorpusRoundTrip(t *testing.T) {
	ps, err := data.ReadCorpusJSONL(testassets.Path(t, "classic/cranfield/corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cranfield.parquet")
	if err := WritePassages(p, ps, map[string]string{"source": "cranfield"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := ReadPassages(p)
	if err != nil || !reflect.DeepEqual(got, ps) {
		t.Fatalf("%v", err)
	}
	st, _ := os.Stat(p)
	t.Logf("Cranfield: 1400 passages, jsonl 1598715 B, parquet (snappy) %d B", st.Size())
}

// TestCorruptArrowSchemaIsIgnored corrupts the length inside the serialized
// Arrow schema that arrow-go writes into the footer; pqarrow would trust it
// and allocate gigabytes. The readers ignore that schema, so the file reads.
func TestCorruptArrowSchemaIsIgnored(t *testing.T) {
	p := filepath.Join(t.TempDir(), "e.parquet")
	exs := randExamples(rand.New(rand.NewSource(4)), 20)
	if err := WriteExamples(p, exs, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	// base64 of the IPC continuation marker 0xFFFFFFFF followed by the
	// metadata length.
	k := strings.Index(string(raw), "ARROW:schema")
	i := strings.Index(string(raw[k+1:]), "/////") + k + 1
	if k < 0 || i <= k {
		t.Fatal("no serialized Arrow schema found in the footer")
	}
	copy(raw[i+5:], "////////")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, meta, err := ReadExamples(p)
	if err != nil || !reflect.DeepEqual(got, exs) || !reflect.DeepEqual(meta, map[string]string{"k": "v"}) {
		t.Fatalf("%v %v", err, meta)
	}
}

// A passages file's columns beyond id, title and text become each
// passage's Meta (nulls left out), typed, also when streamed.
func TestPassageMetaColumns(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meta.parquet")
	writeForeign(t, p, arrow.NewSchema([]arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: "year", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: ColText, Type: arrow.BinaryTypes.String},
		{Name: "source", Type: arrow.BinaryTypes.String},
		{Name: "open", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, nil), func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
		b.Field(1).(*array.Int32Builder).AppendValues([]int32{2021, 0}, []bool{true, false})
		b.Field(2).(*array.StringBuilder).AppendValues([]string{"x", "y"}, nil)
		b.Field(3).(*array.StringBuilder).AppendValues([]string{"pubmed", "arxiv"}, nil)
		b.Field(4).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
		lb := b.Field(5).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"p", "q"}, nil)
		lb.Append(true)
	})
	want := []data.Passage{
		{ID: "a", Text: "x", Meta: map[string]any{"year": int64(2021), "source": "pubmed", "open": true, "tags": json.RawMessage(`["p","q"]`)}},
		{ID: "b", Text: "y", Meta: map[string]any{"source": "arxiv", "open": false, "tags": json.RawMessage(`[]`)}},
	}
	got, _, err := ReadPassages(p)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("passages with metadata columns: %v\n got %#v\nwant %#v", err, got, want)
	}
	var streamed []data.Passage
	if err := ReadPassagesBatches(p, 1, func(b []data.Passage) error { streamed = append(streamed, b...); return nil }); err != nil || !reflect.DeepEqual(streamed, want) {
		t.Fatalf("streamed: %v %#v", err, streamed)
	}
}
