package colbert_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/model/encode"
)

func setup(t testing.TB) (*colbert.Model, []data.Passage, []data.Query) {
	t.Helper()
	ckdir := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	m, err := colbert.Load(ckdir, "", encode.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return m, ps[:240], qs[:20]
}

func TestEncodeQueries(t *testing.T) {
	m, _, qs := setup(t)
	ctx := context.Background()
	v, err := m.EncodeQueries(ctx, qs[:3])
	if err != nil {
		t.Fatal(err)
	}
	// Batched encoding equals one query at a time, and rows are unit vectors.
	for i := range 3 {
		one, err := m.EncodeQueries(ctx, qs[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		for k := range one[0] {
			if d := one[0][k] - v[i][k]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("query %d value %d: batched %v, alone %v", i, k, v[i][k], one[0][k])
			}
		}
		for r := 0; r < m.QueryLen(); r++ {
			var n float32
			for _, x := range v[i][r*m.Dim() : (r+1)*m.Dim()] {
				n += x * x
			}
			if n < 0.999 || n > 1.001 {
				t.Fatalf("query %d row %d: squared norm %v", i, r, n)
			}
		}
	}
	bad := []data.Query{qs[0], {ID: "blank", Text: " \n\t "}}
	if _, err := m.EncodeQueries(ctx, bad); !errors.Is(err, colbert.ErrNoTokens) || !strings.Contains(err.Error(), `"blank"`) {
		t.Errorf("blank query: %v, want ErrNoTokens naming it", err)
	}
	dup := []data.Passage{{ID: "a", Text: "x"}, {ID: "a", Text: "y"}}
	if _, err := colbert.NewSource(ctx, m, dup, colbert.SourceOptions{}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("duplicate id: %v", err)
	}
}

// TestEncodeQueriesNoTokens: the real query encoder refuses text the
// tokenizer finds no wordpiece in (control characters, as `colbert serve`
// may receive in a JSON body) with ErrNoTokens, which the search service
// answers as the client's mistake (400).
func TestEncodeQueriesNoTokens(t *testing.T) {
	m, _, _ := setup(t)
	for _, text := range []string{"\u0007\u0007", "", "\u200b"} {
		_, err := m.EncodeQueries(context.Background(), []data.Query{{ID: "request", Text: text}})
		if !errors.Is(err, colbert.ErrNoTokens) {
			t.Errorf("query %q: error %v, want ErrNoTokens", text, err)
		}
	}
}
