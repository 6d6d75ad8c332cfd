package data

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadCorpusJSONLQuirks(t *testing.T) {
	in := "\ufeff{\"_id\": 12, \"title\": \"T\", \"text\": \"a\\tb\", \"metadata\": {\"x\": [1]}}\r\n" +
		"{\"_id\": \"doc-7\", \"text\": \"no title\"}\r\n" +
		"{\"_id\": \"3\", \"title\": null, \"text\": \"\"}\r\n" +
		"{\"id\": 4.5, \"title\": \"alt id key\"}\n" +
		"   \n\n"
	p := writeTemp(t, "corpus.jsonl", in)
	got, err := ReadCorpusJSONL(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Passage{{ID: "12", Title: "T", Text: "a\tb", Meta: map[string]any{"x": json.RawMessage(`[1]`)}}, {ID: "doc-7", Title: "", Text: "no title"}, {ID: "3", Title: "", Text: ""}, {ID: "4.5", Title: "alt id key", Text: ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestCorpusJSONLErrorsNameFileAndLine(t *testing.T) {
	cases := map[string]string{
		"bad json":     "{\"_id\":\"1\",\"text\":\"x\"}\n{\"_id\": \"2\", \"text\": \n",
		"missing id":   "{\"_id\":\"1\",\"text\":\"x\"}\n{\"text\":\"y\"}\n",
		"bool id":      "{\"_id\":\"1\",\"text\":\"x\"}\n{\"_id\":true,\"text\":\"y\"}\n",
		"number text":  "{\"_id\":\"1\",\"text\":\"x\"}\n{\"_id\":2,\"text\":5}\n",
		"duplicate id": "{\"_id\":\"1\",\"text\":\"x\"}\n{\"_id\":1,\"text\":\"y\"}\n",
		"array line":   "{\"_id\":\"1\",\"text\":\"x\"}\n[1,2]\n",
		"empty id":     "{\"_id\":\"1\",\"text\":\"x\"}\n{\"_id\":\"\"}\n",
	}
	for name, in := range cases {
		p := writeTemp(t, "corpus.jsonl", in)
		_, err := ReadCorpusJSONL(p)
		var le *LineError
		if !errors.As(err, &le) || le.Line != 2 || le.File != p {
			t.Errorf("%s: err = %v, want a LineError at %s line 2", name, err, p)
			continue
		}
		if !strings.Contains(err.Error(), "corpus.jsonl line 2: ") {
			t.Errorf("%s: message %q", name, err)
		}
	}
	if _, err := ReadCorpusJSONL(filepath.Join(t.TempDir(), "nope.jsonl")); err == nil || !strings.Contains(err.Error(), "nope.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

func TestCorpusAndQueriesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ps := []Passage{{ID: "1", Title: "Title <&>", Text: "text with \"quotes\" and é\nnewline"}, {ID: "x y", Title: "", Text: ""}, {ID: "007", Title: "", Text: "zero-padded id stays a string"}}
	p := filepath.Join(dir, "corpus.jsonl")
	if err := WriteCorpusJSONL(p, ps); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCorpusJSONL(p)
	if err != nil || !reflect.DeepEqual(got, ps) {
		t.Fatalf("round trip: %v %#v", err, got)
	}
	b, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(b), `{"_id":"1","title":"Title <&>",`) {
		t.Errorf("unexpected encoding: %s", truncate(string(b), 60))
	}
	qs := []Query{{"q1", "what is é?"}, {"2", ""}}
	qp := filepath.Join(dir, "queries.jsonl")
	if err := WriteQueriesJSONL(qp, qs); err != nil {
		t.Fatal(err)
	}
	gq, err := ReadQueriesJSONL(qp)
	if err != nil || !reflect.DeepEqual(gq, qs) {
		t.Fatalf("queries round trip: %v %#v", err, gq)
	}
	if err := WriteCorpusJSONL(filepath.Join(dir, "bad.jsonl"), []Passage{{ID: ""}}); err == nil {
		t.Error("empty id written")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.jsonl")); !os.IsNotExist(err) {
		t.Error("failed write left a file")
	}
}

func TestStreamCorpusJSONLBatches(t *testing.T) {
	var ps []Passage
	for i := 0; i < 23; i++ {
		ps = append(ps, Passage{ID: string(rune('a'+i%26)) + strings.Repeat("x", i), Text: strings.Repeat("w ", i)})
	}
	p := filepath.Join(t.TempDir(), "corpus.jsonl.gz")
	// gzip transparently on read: write plain, then compress.
	plain := filepath.Join(t.TempDir(), "corpus.jsonl")
	if err := WriteCorpusJSONL(plain, ps); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(plain)
	f, _ := os.Create(p)
	zw := gzip.NewWriter(f)
	zw.Write(raw)
	zw.Close()
	f.Close()
	for _, batch := range []int{1, 5, 23, 100} {
		var got []Passage
		var sizes []int
		err := StreamCorpusJSONL(p, batch, func(b []Passage) error {
			sizes = append(sizes, len(b))
			got = append(got, b...)
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, ps) {
			t.Fatalf("batch %d: %v", batch, err)
		}
		for i, n := range sizes {
			if n > batch || (i < len(sizes)-1 && n != batch) {
				t.Fatalf("batch %d: sizes %v", batch, sizes)
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := StreamCorpusJSONL(p, 5, func([]Passage) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("callback error not propagated: %v after %d calls", err, calls)
	}
	if err := StreamCorpusJSONL(p, 0, func([]Passage) error { return nil }); err == nil {
		t.Fatal("batch 0 accepted")
	}
}

func TestReadQueriesJSONLScifactReal(t *testing.T) {
	p := assetPath(t, "beir/scifact/queries.jsonl")
	qs, err := ReadQueriesJSONL(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1109 {
		t.Fatalf("%d queries, want 1109 (assets README)", len(qs))
	}
	if qs[0].ID != "0" || qs[0].Text != "0-dimensional biomaterials lack inductive properties." {
		t.Errorf("first query %+v", qs[0])
	}
}

// Keys beyond _id, id, title and text become Meta, typed; BEIR's
// "metadata" object is flattened under them.
func TestCorpusJSONLMeta(t *testing.T) {
	in := `{"_id": "a", "text": "x", "year": 2021, "score": 0.5, "source": "pubmed", "open": true, "none": null, "tags": ["p", "q"], "metadata": {"url": "u", "year": 1999}}` + "\n" +
		`{"_id": "b", "text": "y", "metadata": {}}` + "\n" +
		`{"_id": "c", "text": "z", "metadata": "plain", "big": 12345678901234567890}` + "\n"
	got, err := ReadCorpusJSONL(writeTemp(t, "corpus.jsonl", in))
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"year": int64(2021), "score": 0.5, "source": "pubmed", "open": true, "none": nil, "tags": json.RawMessage(`["p", "q"]`), "url": "u"},
		nil,
		{"metadata": "plain", "big": 1.2345678901234567e19},
	}
	for i, p := range got {
		if !reflect.DeepEqual(p.Meta, want[i]) {
			t.Errorf("passage %s: meta %#v, want %#v", p.ID, p.Meta, want[i])
		}
	}
}
