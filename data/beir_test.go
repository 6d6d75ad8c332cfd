package data

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLoadBEIRCranfieldAndCISI(t *testing.T) {
	for _, c := range []struct {
		dir                string
		docs, judged, allQ int
		emptyDocs          []string
	}{
		{"classic/cranfield", 1400, 225, 225, []string{"471", "995"}},
		{"classic/cisi", 1460, 76, 112, nil},
	} {
		ds, err := LoadBEIR(assetPath(t, c.dir), "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Corpus) != c.docs || len(ds.Queries) != c.judged || len(ds.AllQueries) != c.allQ || len(ds.Qrels) != c.judged {
			t.Errorf("%s: %d docs, %d/%d queries, %d judged", c.dir, len(ds.Corpus), len(ds.Queries), len(ds.AllQueries), len(ds.Qrels))
		}
		var empty []string
		for i, p := range ds.Corpus {
			if p.Content() == "" {
				empty = append(empty, p.ID)
			}
			if p.ID != strconv.Itoa(i+1) {
				t.Fatalf("%s: doc %d has id %q", c.dir, i, p.ID)
			}
		}
		if strings.Join(empty, ",") != strings.Join(c.emptyDocs, ",") {
			t.Errorf("%s: empty docs %v, want %v", c.dir, empty, c.emptyDocs)
		}
		for _, q := range ds.Queries {
			if _, ok := ds.Qrels[q.ID]; !ok || q.Text == "" {
				t.Fatalf("%s: query %q unjudged or empty", c.dir, q.ID)
			}
		}
		if miss := ds.MissingDocs(); len(miss) != 0 {
			t.Errorf("%s: judged docs missing from corpus: %v", c.dir, miss)
		}
	}
	// Cranfield's qrels point at the empty doc 995 (query 125, grade 2).
	ds, _ := LoadBEIR(assetPath(t, "classic/cranfield"), "")
	if ds.Qrels["125"]["995"] != 2 {
		t.Errorf("qrels 125/995 = %d", ds.Qrels["125"]["995"])
	}
}

func TestLoadBEIRQueriesSciFact(t *testing.T) {
	dir := assetPath(t, "beir/scifact")
	for split, n := range map[string]int{"test": 300, "train": 809} {
		ds, err := LoadBEIRQueries(dir, split)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Queries) != n || len(ds.AllQueries) != 1109 || ds.Corpus != nil {
			t.Errorf("%s: %d judged of %d queries", split, len(ds.Queries), len(ds.AllQueries))
		}
	}
	if _, err := LoadBEIR(dir, "test"); err == nil || !strings.Contains(err.Error(), "corpus.jsonl") {
		t.Errorf("no corpus: err = %v", err)
	}
}

func TestLoadBEIRRejectsUnknownJudgedQuery(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "qrels"), 0o755)
	WriteQueriesJSONL(filepath.Join(dir, "queries.jsonl"), []Query{{"1", "a"}})
	WriteCorpusJSONL(filepath.Join(dir, "corpus.jsonl"), []Passage{{ID: "d1", Text: "x"}})
	WriteQrelsTSV(filepath.Join(dir, "qrels", "dev.tsv"), Qrels{"1": {"d1": 1, "d9": 1}, "2": {"d1": 1}})
	if _, err := LoadBEIR(dir, "dev"); err == nil || !strings.Contains(err.Error(), `query "2"`) {
		t.Fatalf("err = %v", err)
	}
	WriteQrelsTSV(filepath.Join(dir, "qrels", "dev.tsv"), Qrels{"1": {"d1": 1, "d9": 1}})
	ds, err := LoadBEIR(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if m := ds.MissingDocs(); len(m) != 1 || m[0] != "d9" {
		t.Errorf("missing %v", m)
	}
}
