package distill

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/data/tokenize"
)

// A Teacher scores a candidates file to the same bytes as the ScoreJob
// that `colbert distill score` and the demo assembled by hand before
// OpenTeacher existed, and reranks as Rerank does.
func TestTeacherScoresAsTheHandBuiltJob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	model := testassets.Path(t, "models/hf-tiny/cross-encoder/model.onnx")
	tokPath := testassets.Path(t, "models/hf-tiny/cross-encoder/tokenizer.json")
	const maxLen = 40
	ce, pair, pad := tinyTeacher(t, maxLen) // the hand-built pieces, on the shared runtime
	teacher, err := OpenTeacher(TeacherOptions{Model: model, Tokenizer: tokPath, MaxLen: maxLen, Runtime: sharedRuntime(t), IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer teacher.Close()

	queries := []data.Query{{ID: "q1", Text: "what is a wing"}, {ID: "q2", Text: "boundary layer transition"}}
	corpus := []data.Passage{{ID: "d1", Title: "Wings", Text: "a wing is a surface that produces lift"},
		{ID: "d2", Text: "laminar flow becomes turbulent"}, {ID: "d3", Text: "the boundary layer thickens downstream of the leading edge"},
		{ID: "d4", Text: "unrelated text about cooking"}}
	texts := data.NewTexts(queries, corpus)
	if texts.Passages["d1"] != "Wings a wing is a surface that produces lift" || texts.Queries["q2"] != queries[1].Text {
		t.Fatalf("texts %+v", texts)
	}
	cands := filepath.Join(dir, "cands.parquet")
	w, err := ParquetFormat{}.Create(cands, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]data.Example{{QueryID: "q1", DocIDs: []string{"d1", "d2", "d4"}}, {QueryID: "q2", DocIDs: []string{"d3", "d2", "d1"}},
		{QueryID: "q1", DocIDs: []string{"d1", "d3", "d4"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pairs := PairOptions{BatchSize: 4, Bucket: true, Threads: 2, Workers: 1}

	hash, err := FileSHA256(model)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenize.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	handPairs := pairs
	handPairs.PadID = pad
	hand := filepath.Join(dir, "hand.parquet")
	if _, err := Score(ctx, ScoreJob{Candidates: cands, Out: hand, Format: ParquetFormat{}, CandidatesFormat: ParquetFormat{},
		Queries: texts.Queries, Passages: texts.Passages, Tokenize: pair, Teacher: ce,
		Settings: map[string]string{"teacher": "model.onnx", "teacher_sha256": hash, "tokenizer_sha256": TokenizerHash(tok),
			"max_len": strconv.Itoa(maxLen), "teacher_token_ids": strconv.FormatBool(ce.UsesTokenTypes())},
		ShardSize: 2, Pairs: handPairs}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "teacher.parquet")
	st, err := teacher.ScoreFile(ctx, cands, out, texts, ScoreOptions{Pairs: pairs, ShardSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.Examples != 3 || st.Pairs != 9 || st.Shards != 2 {
		t.Errorf("stats %+v", st)
	}
	if a, b := mustReadFile(t, hand), mustReadFile(t, out); !bytes.Equal(a, b) {
		t.Error("Teacher.ScoreFile differs from the hand-built ScoreJob")
	}
	// A teacher name other than the file's goes into the settings.
	named, err := OpenTeacher(TeacherOptions{Model: model, Tokenizer: tokPath, MaxLen: maxLen, Runtime: sharedRuntime(t), Name: "demo teacher"})
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	if s, err := named.Settings(); err != nil || s["teacher"] != "demo teacher" || s["teacher_sha256"] != hash || s["max_len"] != "40" {
		t.Errorf("settings %v, %v", s, err)
	}

	run := data.Run{"q1": {{DocID: "d4", Score: 3}, {DocID: "d2", Score: 2}, {DocID: "d1", Score: 1}}, "q2": {{DocID: "d1"}, {DocID: "d3"}}}
	want, err := Rerank(ctx, run, texts.Queries, texts.Passages, 3, pair, ce, handPairs, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := teacher.Rerank(ctx, run, texts, 3, pairs, nil)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Teacher.Rerank %v (%v), Rerank %v", got, err, want)
	}
}

// Opening fails with the file named, and leaves the shared runtime usable.
func TestOpenTeacherErrors(t *testing.T) {
	model := testassets.Path(t, "models/hf-tiny/cross-encoder/model.onnx")
	rt := sharedRuntime(t)
	if _, err := OpenTeacher(TeacherOptions{Model: model, Tokenizer: filepath.Join(t.TempDir(), "none.json"), Runtime: rt}); err == nil ||
		!strings.Contains(err.Error(), "none.json") {
		t.Errorf("missing tokenizer: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTeacher(TeacherOptions{Model: bad, Tokenizer: "unused", Runtime: rt}); err == nil || !strings.Contains(err.Error(), "bad.onnx") {
		t.Errorf("bad model: %v", err)
	}
	tt, err := OpenTeacher(TeacherOptions{Model: model, Tokenizer: testassets.Path(t, "models/hf-tiny/cross-encoder/tokenizer.json"), Runtime: rt})
	if err != nil {
		t.Fatalf("after failed opens: %v", err)
	}
	if err := tt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tt.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
