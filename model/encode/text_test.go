package encode_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model/encode"
)

// From text to vectors: tokenizer + encoder against the reference made
// with HF tokenizers and transformers.
func TestTextsEndToEnd(t *testing.T) {
	ref, root := loadRef(t)
	var rj struct {
		Queries []string `json:"queries"`
		Docs    []string `json:"docs"`
	}
	raw, err := os.ReadFile(root + "reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rj); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := encode.LoadColBERT(root+"colbert", "", encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	qv, err := c.EncodeQueryTexts(ctx, rj.Queries)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(qv, ref.floats(t, "query_vectors")); d > 1e-4 {
		t.Errorf("query vectors from text differ by %g", d)
	}
	dv, err := c.EncodeDocTexts(ctx, rj.Docs)
	if err != nil {
		t.Fatal(err)
	}
	want := ref.floats(t, "doc_vectors")
	vm, shape := ref.ints(t, "doc_vector_mask")
	L, dim := shape[1], c.Dim()
	worst := 0.0
	for i := range rj.Docs {
		k := 0
		for j := 0; j < L; j++ {
			if vm[i*L+j] == 0 {
				continue
			}
			if k >= dv.Len(i) {
				t.Fatalf("doc %d: %d vectors, reference keeps more", i, dv.Len(i))
			}
			worst = math.Max(worst, maxAbs(dv.Doc(i)[k*dim:(k+1)*dim], want[(i*L+j)*dim:(i*L+j+1)*dim]))
			k++
		}
		if k != dv.Len(i) {
			t.Fatalf("doc %d: %d vectors, reference keeps %d", i, dv.Len(i), k)
		}
	}
	if worst > 1e-4 {
		t.Errorf("doc vectors from text differ by %g", worst)
	}
}

// ScoreTexts = tokenizer pairs + cross-encoder, against the reference logits
// (three pairs, to keep the test short).
func TestScoreTexts(t *testing.T) {
	ref, root := loadRef(t)
	var rj struct {
		Pairs [][2]string `json:"ce_pairs"`
	}
	raw, err := os.ReadFile(root + "reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rj); err != nil {
		t.Fatal(err)
	}
	ce, err := encode.NewCrossEncoder(loadCk(t, root+"cross-encoder"), encode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenize.Load(root + "cross-encoder/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var qs, ps []string
	for _, p := range rj.Pairs[1:4] {
		qs, ps = append(qs, p[0]), append(ps, p[1])
	}
	s, err := ce.ScoreTexts(context.Background(), tok, qs, ps, 512)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(s, ref.floats(t, "ce_logits")[1:4]); d > 1e-4 {
		t.Errorf("cross-encoder scores from text differ by %g", d)
	}
}
