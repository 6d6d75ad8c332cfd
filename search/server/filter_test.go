package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/codec/metadb"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

// "filter" and "filter_ids" restrict a search to the passages they select:
// the answer is exactly the exhaustive top k among them; bad filters are
// 400 naming the problem.
func TestSearchFilter(t *testing.T) {
	f := newFixture(t)
	n := f.idx.NumPassages()
	rows := make([]metadb.Row, n)
	for p := range rows {
		rows[p] = metadb.Row{PID: p, ID: fmt.Sprintf("doc%d", p), Meta: map[string]any{"bucket": int64(p % 10), "kind": []string{"a", "b", "c"}[p%3]}}
	}
	db := filepath.Join(t.TempDir(), "meta.sqlite")
	if err := metadb.Create(context.Background(), db, rows); err != nil {
		t.Fatal(err)
	}
	e := f.engine(t, nil, func(p *engine.Parts) { p.Metadata = db })
	srv := f.server(t, func(c *Config) { c.Source = Static{e} })

	var allowed []int
	for p := 0; p < n; p++ {
		if p%10 == 3 && p%3 != 0 {
			allowed = append(allowed, p)
		}
	}
	want := func(q string, k int, pids []int) []search.Hit {
		sf, err := search.NewFilter(n, pids)
		if err != nil {
			t.Fatal(err)
		}
		hits, err := f.s.ExhaustiveFilter(f.enc.query(t, q), dim, k, sf)
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	check := func(label string, got []Result, want []search.Hit) {
		t.Helper()
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d results, want %d", label, len(got), len(want))
		}
		for i, r := range got {
			if r.PID != want[i].PID || r.Score != want[i].Score || r.ID != fmt.Sprintf("doc%d", r.PID) {
				t.Fatalf("%s: result %d = %+v, want %+v", label, i, r, want[i])
			}
		}
	}

	code, body := post(t, srv, `{"query": "alpha beta gamma", "k": 5, "filter": "bucket = 3 AND kind != 'a'"}`)
	var resp Response
	if code != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		t.Fatalf("filter: %d %s", code, body)
	}
	check("filter", resp.Results, want("alpha beta gamma", 5, allowed))

	code, body = post(t, srv, `{"queries": ["alpha beta", "delta"], "k": 3, "filter": "bucket = 3 AND kind != 'a'", "filter_ids": ["doc13", "doc23", "doc43", "doc7"]}`)
	var batch BatchResponse
	if code != http.StatusOK || json.Unmarshal(body, &batch) != nil {
		t.Fatalf("batch filter: %d %s", code, body)
	}
	check("batch 0", batch.Results[0].Results, want("alpha beta", 3, []int{13, 23, 43}))
	check("batch 1", batch.Results[1].Results, want("delta", 3, []int{13, 23, 43}))

	code, body = post(t, srv, `{"query": "alpha", "k": 2, "filter_ids": ["doc5", "doc250", "doc9"]}`)
	if code != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		t.Fatalf("filter_ids: %d %s", code, body)
	}
	check("filter_ids", resp.Results, want("alpha", 2, []int{5, 9, 250}))

	for _, c := range []struct{ body, want string }{
		{`{"query": "alpha", "filter": "bucket = 1; DROP TABLE meta"}`, "';'"},
		{`{"query": "alpha", "filter": "year > 2000"}`, `unknown column \"year\"`},
		{`{"query": "alpha", "filter": "pid IN (SELECT pid FROM meta)"}`, "SELECT is not allowed"},
		{`{"query": "alpha", "filter": "bucket = 'x"}`, "unterminated string"},
		{`{"query": "alpha", "filter": " "}`, "empty condition"},
		{`{"query": "alpha", "filter_ids": ["doc1", "nope"]}`, `1 of 2 ids name no live passage: [\"nope\"]`},
	} {
		code, body := post(t, srv, c.body)
		if code != http.StatusBadRequest || !strings.Contains(string(body), c.want) || !strings.Contains(string(body), "bad filter") {
			t.Errorf("%s: %d %s, want 400 naming %s", c.body, code, body, c.want)
		}
	}

	// Without a metadata database a condition is refused (ids still work).
	plain := f.server(t, nil)
	code, body = post(t, plain, `{"query": "alpha", "filter": "bucket = 1"}`)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "keeps no passage metadata") {
		t.Errorf("filter without metadata: %d %s", code, body)
	}
	code, _ = post(t, plain, `{"query": "alpha", "filter_ids": ["doc1"]}`)
	if code != http.StatusOK {
		t.Errorf("filter_ids without metadata: %d", code)
	}
	if !slices.Contains(e.MetadataColumns(), "bucket") {
		t.Errorf("columns %v", e.MetadataColumns())
	}
}
