package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadExamplesForms(t *testing.T) {
	ids := func(s ...string) []string { return s }
	cases := []struct {
		name, in string
		want     []Example
	}{
		{"colbert triples", "[1, 2, 3]\n[\"q2\", \"p\", 4]\n", []Example{
			{QueryID: "1", DocIDs: ids("2", "3")}, {QueryID: "q2", DocIDs: ids("p", "4")}}},
		{"colbert n-way scored", "[7, [10, 9.5], [11, -1.25], [12, 0, \"extra ignored\"]]\r\n", []Example{
			{QueryID: "7", DocIDs: ids("10", "11", "12"), TeacherScores: []float32{9.5, -1.25, 0}}}},
		{"colbert n-way ids", "\ufeff[7, 10, 11, 12, 13]\n\n", []Example{{QueryID: "7", DocIDs: ids("10", "11", "12", "13")}}},
		{"objects", `{"qid": 1, "pos": 2, "neg": [3, "4"]}` + "\n" +
			`{"query_id": "a", "doc_ids": ["x", "y"], "teacher_scores": [1, 2]}` + "\n" +
			`{"query_id": "b", "positive": "x", "negatives": ["y", "z"]}`, []Example{
			{QueryID: "1", DocIDs: ids("2", "3", "4")},
			{QueryID: "a", DocIDs: ids("x", "y"), TeacherScores: []float32{1, 2}},
			{QueryID: "b", DocIDs: ids("x", "y", "z")}}},
		{"tsv triples", "1185869\t2\t7\r\n5\t6\t7\n", []Example{
			{QueryID: "1185869", DocIDs: ids("2", "7")}, {QueryID: "5", DocIDs: ids("6", "7")}}},
	}
	for _, c := range cases {
		got, err := ReadExamples(writeTemp(t, "ex", c.in))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v\n got %#v\nwant %#v", c.name, err, got, c.want)
		}
	}
}

func TestReadExamplesErrors(t *testing.T) {
	for _, in := range []string{
		"[1, 2, 3]\n[1, [2, 0.5], 3]\n",   // mixed pairs and ids
		"[1, 2, 3]\n[1]\n",                // no documents
		"[1, 2, 3]\n[1, [2]]\n",           // pair without score
		"[1, 2, 3]\n[1, [2, \"high\"]]\n", // score not a number
		"[1, 2, 3]\n[1, [2, 1e39]]\n",     // overflows float32
		"[1, 2, 3]\n[null, 2]\n",          // no query id
		"[1, 2, 3]\n{\"qid\": 1}\n",       // object without documents
		"{\"qid\": 1, \"pos\": 2}\n{\"query\": \"what\", \"positive\": \"text\"}\n", // texts, not ids
		"{\"query_id\": 1, \"doc_ids\": [2]}\n{\"query_id\": 1, \"doc_ids\": [2], \"teacher_scores\": [1, 2]}\n",
		"1\t2\t3\n1\n", // one field
		"1\t2\t3\nwhat is x\tsome passage\tanother\n", // text triples
		"[1, 2, 3]\nfoo\n",
	} {
		p := writeTemp(t, "train.jsonl", in)
		_, err := ReadExamples(p)
		if err == nil || !strings.Contains(err.Error(), p+" line 2:") {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}

func TestExamplesJSONLRoundTrip(t *testing.T) {
	exs := []Example{
		{QueryID: "1", DocIDs: []string{"10", "007", "x\"y"}, TeacherScores: []float32{1.5, -0.1, 3e-8}},
		{QueryID: "q-2", DocIDs: []string{"5", "6"}},
		{QueryID: "0", DocIDs: []string{"-3"}, TeacherScores: []float32{0}},
	}
	p := filepath.Join(t.TempDir(), "train.jsonl")
	if err := WriteExamplesJSONL(p, exs); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(b), `[1, [10, 1.5], ["007", -0.1], ["x\"y", 3e-08]]`+"\n[\"q-2\", 5, 6]\n") {
		t.Errorf("not ColBERT n-way form:\n%s", b)
	}
	got, err := ReadExamples(p)
	if err != nil || !reflect.DeepEqual(got, exs) {
		t.Fatalf("%v\n%#v", err, got)
	}
	for i, bad := range []Example{
		{QueryID: "", DocIDs: []string{"1"}},
		{QueryID: "1"},
		{QueryID: "1", DocIDs: []string{"1", "2"}, TeacherScores: []float32{1}},
		{QueryID: "1", DocIDs: []string{"\xff"}},
		{QueryID: "1", DocIDs: []string{""}},
	} {
		if err := WriteExamplesJSONL(p, []Example{bad}); err == nil {
			t.Errorf("bad example %d accepted", i)
		}
	}
}
