package distill

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model/ort"
)

func TestRerank(t *testing.T) {
	ce, tok, pad := tinyTeacher(t, 128)
	ref := loadRefJSON(t)
	queries := map[string]string{"a": ref.Queries[0], "b": ref.Queries[5]}
	passages := map[string]string{}
	run := data.Run{}
	for i, d := range ref.Docs[:8] {
		id := string(rune('0' + i))
		passages[id] = d
		run["a"] = append(run["a"], data.ScoredDoc{DocID: id, Score: float64(10 - i)})
		run["b"] = append(run["b"], data.ScoredDoc{DocID: id, Score: float64(i)})
	}
	opt := PairOptions{BatchSize: 3, Bucket: true, PadID: pad}
	got, err := Rerank(context.Background(), run, queries, passages, 5, tok, ce, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	for qid, docs := range got {
		if len(docs) != 5 {
			t.Fatalf("%s: %d docs, want depth 5", qid, len(docs))
		}
		for i, d := range docs {
			if i > 0 && d.Score > docs[i-1].Score {
				t.Errorf("%s: not sorted by teacher score", qid)
			}
			if strings.Compare(d.DocID, "5") >= 0 {
				t.Errorf("%s: %s is below depth 5 of the run", qid, d.DocID)
			}
			one, err := ScorePairs(context.Background(), []string{queries[qid]}, []string{passages[d.DocID]}, tok, ce, PairOptions{PadID: pad}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(d.Score-float64(one[0])) > 1e-5 {
				t.Errorf("%s/%s: reranked score %v, alone %v", qid, d.DocID, d.Score, one[0])
			}
		}
	}
	delete(passages, "2")
	if _, err := Rerank(context.Background(), run, queries, passages, 5, tok, ce, opt, nil); err == nil || !strings.Contains(err.Error(), `"2"`) {
		t.Errorf("missing document: %v", err)
	}
}

// With the real ms-marco-MiniLM-L-6-v2 teacher exported to ONNX (not
// shipped in the assets: only its tokenizer is), the model card's example
// must come out: relevant passage ≫ irrelevant one.
func TestRealTeacherModelCard(t *testing.T) {
	dir := testassets.Path(t, "models/cross-encoder-ms-marco-MiniLM-L-6-v2")
	var model string
	for _, p := range []string{"model.onnx", "onnx/model.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			model = filepath.Join(dir, p)
			break
		}
	}
	if model == "" {
		t.Skipf("no ONNX export of ms-marco-MiniLM-L-6-v2 in %s (weights cannot be downloaded here)", dir)
	}
	r := sharedRuntime(t)
	ce, err := r.NewCrossEncoder(model, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ce.Close()
	tk, err := tokenize.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tok, pad, err := HFPairTokenizer(tk, 512)
	if err != nil {
		t.Fatal(err)
	}
	q := "How many people live in Berlin?"
	got, err := ScorePairs(context.Background(), []string{q, q}, []string{
		"Berlin had a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
		"Berlin is well known for its museums."}, tok, ce, PairOptions{PadID: pad}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{8.607138, -4.320078} // the model card's printed scores
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-3 {
			t.Errorf("pair %d: %v, model card says %v", i, got[i], want[i])
		}
	}
}
