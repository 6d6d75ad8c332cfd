package parquetio

import (
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/colbert-go/colbert/data"
)

// duckdbModules finds node_modules holding @duckdb/node-api: the Makefile's
// $COLBERT_DUCKDB_NODE_MODULES, else .deps/node/node_modules at the repo root.
func duckdbModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found; skipping DuckDB interop test (run `make setup`)")
	}
	modules = os.Getenv("COLBERT_DUCKDB_NODE_MODULES")
	if modules == "" {
		dir, _ := os.Getwd()
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				modules = filepath.Join(dir, ".deps", "node", "node_modules")
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if _, err := os.Stat(filepath.Join(modules, "@duckdb", "node-api", "package.json")); modules == "" || err != nil {
		t.Skipf("@duckdb/node-api not found in %q; skipping DuckDB interop test (run `make setup`)", modules)
	}
	return node, modules
}

type duckResult struct {
	Rows  []map[string]any  `json:"rows"`
	Meta  map[string]string `json:"meta"`
	Types map[string]string `json:"types"`
}

// duckRun writes DuckDB's files into outDir and returns DuckDB's view of
// each of files.
func duckRun(t *testing.T, node, modules, outDir string, files ...string) []duckResult {
	t.Helper()
	args := append([]string{"testdata/duckdb_read.mjs", modules, outDir}, files...)
	out, err := exec.Command(node, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("duckdb: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var r []duckResult
	if err := json.Unmarshal(out, &r); err != nil || len(r) != len(files) {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	return r
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestDuckDBInterop has DuckDB read the files we write (values, list
// columns, types, key-value metadata) and has us read files DuckDB writes.
func TestDuckDBInterop(t *testing.T) {
	node, modules := duckdbModules(t)
	dir := t.TempDir()
	duckDir := t.TempDir()
	meta := map[string]string{"teacher_sha256": "0123abcd", "settings": `{"nway": 16, "q": "it's"}`}

	exs := randExamples(rand.New(rand.NewSource(11)), 50)
	exs[1].DocIDs[0] = "ünïcode 'id'"
	ep := filepath.Join(dir, "examples.parquet")
	if err := WriteExamples(ep, exs, meta); err != nil {
		t.Fatal(err)
	}
	run := data.Run{"q1": {{DocID: "d7", Score: 12.5}, {DocID: "d2", Score: 0.1}}, "2": {{DocID: "x", Score: -3}}}
	rp := filepath.Join(dir, "run.parquet")
	if err := WriteRun(rp, run, nil); err != nil {
		t.Fatal(err)
	}
	ps := []data.Passage{{ID: "1", Title: "T", Text: "a"}, {ID: "2", Text: ""}}
	pp := filepath.Join(dir, "passages.parquet")
	if err := WritePassages(pp, ps, nil); err != nil {
		t.Fatal(err)
	}
	res := duckRun(t, node, modules, duckDir, ep, rp, pp)

	r := res[0]
	if !reflect.DeepEqual(r.Meta, meta) {
		t.Errorf("DuckDB sees metadata %v, want %v", r.Meta, meta)
	}
	wantTypes := map[string]string{"query_id": "VARCHAR", "doc_ids": "VARCHAR[]", "teacher_scores": "FLOAT[]"}
	if !reflect.DeepEqual(r.Types, wantTypes) {
		t.Errorf("DuckDB types %v, want %v", r.Types, wantTypes)
	}
	if len(r.Rows) != len(exs) {
		t.Fatalf("DuckDB read %d rows, want %d", len(r.Rows), len(exs))
	}
	for i, row := range r.Rows {
		ex := exs[i]
		if row["query_id"] != ex.QueryID || !reflect.DeepEqual(strs(row["doc_ids"]), ex.DocIDs) {
			t.Fatalf("row %d: %v, want %+v", i, row, ex)
		}
		if ex.TeacherScores == nil {
			if row["teacher_scores"] != nil {
				t.Fatalf("row %d: scores %v, want null", i, row["teacher_scores"])
			}
			continue
		}
		got := row["teacher_scores"].([]any)
		if len(got) != len(ex.TeacherScores) {
			t.Fatalf("row %d: %d scores", i, len(got))
		}
		for j, s := range got {
			if float32(s.(float64)) != ex.TeacherScores[j] {
				t.Fatalf("row %d score %d: DuckDB %v, ours %v", i, j, s, ex.TeacherScores[j])
			}
		}
	}

	rr := res[1]
	wantRun := []map[string]any{
		{"query_id": "2", "doc_id": "x", "rank": 1.0, "score": -3.0},
		{"query_id": "q1", "doc_id": "d7", "rank": 1.0, "score": 12.5},
		{"query_id": "q1", "doc_id": "d2", "rank": 2.0, "score": 0.1},
	}
	if !reflect.DeepEqual(rr.Rows, wantRun) || rr.Types["rank"] != "INTEGER" || rr.Types["score"] != "DOUBLE" {
		t.Errorf("DuckDB run %v %v", rr.Rows, rr.Types)
	}

	pr := res[2]
	wantP := []map[string]any{{"id": "1", "title": "T", "text": "a"}, {"id": "2", "title": "", "text": ""}}
	if !reflect.DeepEqual(pr.Rows, wantP) {
		t.Errorf("DuckDB passages %v", pr.Rows)
	}

	// Files DuckDB wrote.
	dir = duckDir
	gotEx, gotMeta, err := ReadExamples(filepath.Join(dir, "duck_examples.parquet"))
	wantEx := []data.Example{
		{QueryID: "q1", DocIDs: []string{"d1", "d2", "d3"}, TeacherScores: []float32{1.5, -0.25, 3}},
		{QueryID: "q2", DocIDs: []string{"d4"}},
	}
	if err != nil || !reflect.DeepEqual(gotEx, wantEx) || gotMeta["teacher"] != "duck" {
		t.Errorf("examples: %v %#v %v", err, gotEx, gotMeta)
	}
	gotP, _, err := ReadPassages(filepath.Join(dir, "duck_passages.parquet"))
	if err != nil || !reflect.DeepEqual(gotP, []data.Passage{{ID: "1", Title: "Title", Text: "text one"}, {ID: "2", Text: "text two"}}) {
		t.Errorf("passages: %v %#v", err, gotP)
	}
	gotRun, _, err := ReadRun(filepath.Join(dir, "duck_run.parquet"))
	if err != nil || !reflect.DeepEqual(gotRun, data.Run{"q1": {{DocID: "d1", Score: 0.75}, {DocID: "d2", Score: 0.5}}}) {
		t.Errorf("run: %v %v", err, gotRun)
	}
}
