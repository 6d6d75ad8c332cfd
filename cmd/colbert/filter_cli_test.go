package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/urfave/cli/v2"
)

// TestFilterCLI: index build stores a collection's extra fields and a
// --metadata side file; index info shows the columns; search --filter and
// --filter-ids return only the selected passages (exactly the exhaustive
// top k among them); append and delete keep the metadata in step; bad
// filters are errors naming the problem and write no run.
func TestFilterCLI(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := data.ReadQueriesJSONL(filepath.Join(cran, "queries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The collection carries "year"; the side file adds "source".
	var corpus, side strings.Builder
	for i, p := range ps[:100] {
		fmt.Fprintf(&corpus, "{\"_id\": %q, \"title\": %q, \"text\": %q, \"year\": %d}\n", p.ID, p.Title, p.Text, 1950+i%10)
		fmt.Fprintf(&side, "{\"id\": %q, \"source\": %q}\n", p.ID, []string{"naca", "jas"}[i%2])
	}
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	corpusPath, sidePath := write("corpus.jsonl", corpus.String()), write("side.jsonl", side.String())
	extra := write("extra.jsonl", fmt.Sprintf("{\"_id\": \"new1\", \"text\": %q, \"year\": 1999, \"source\": \"naca\"}\n", ps[100].Text))
	queries := filepath.Join(dir, "queries.jsonl")
	must(t, data.WriteQueriesJSONL(queries, qs[:5]))

	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: append(indexCommands(), searchCommands()...)}
	run := func(args ...string) string {
		t.Helper()
		out.Reset()
		errw.Reset()
		if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errw.String())
		}
		return out.String() + errw.String()
	}
	idx := filepath.Join(dir, "idx")
	run("index", "build", "--checkpoint", ck, "--collection", corpusPath, "--metadata", sidePath, "--out", idx,
		"--centroids", "32", "--sample", "40", "--threads", "2", "-q")
	if info := run("index", "info", idx); !strings.Contains(info, "metadata    100 rows, columns pid, id, source, year (meta.00000.sqlite)") {
		t.Fatalf("index info:\n%s", info)
	}

	allowed := map[string]bool{}
	for i, p := range ps[:100] {
		if 1950+i%10 >= 1957 && i%2 == 0 {
			allowed[p.ID] = true
		}
	}
	cond := "year >= 1957 AND source = 'naca'"
	runs := map[string]data.Run{}
	for _, mode := range []string{"plaid", "exhaustive"} {
		r := filepath.Join(dir, mode+".trec")
		args := []string{"search", "--checkpoint", ck, "--index", idx, "--queries", queries, "--k", "5", "--filter", cond, "--out", r, "--threads", "2", "-q"}
		if mode == "exhaustive" {
			args = append(args, "--exhaustive")
		}
		msg := run(args...)
		if !strings.Contains(msg, fmt.Sprintf("filter=%q (%d passages)", cond, len(allowed))) {
			t.Errorf("%s: report lacks the filter:\n%s", mode, msg)
		}
		runs[mode] = readTREC(t, r)
		for q, docs := range runs[mode] {
			if len(docs) != 5 {
				t.Fatalf("%s query %s: %d hits", mode, q, len(docs))
			}
			for _, d := range docs {
				if !allowed[d.DocID] {
					t.Fatalf("%s query %s: %s returned, not allowed", mode, q, d.DocID)
				}
			}
		}
	}
	for q := range runs["plaid"] {
		for i, d := range runs["plaid"][q] {
			if e := runs["exhaustive"][q][i]; e.DocID != d.DocID {
				t.Fatalf("query %s rank %d: PLAID %s, exhaustive %s", q, i+1, d.DocID, e.DocID)
			}
		}
	}

	// Ids, and append/delete keeping the metadata in step.
	ids := write("ids.txt", ps[0].ID+"\n"+ps[2].ID+"\nnew1\n")
	run("index", "append", "--index", idx, "--checkpoint", ck, "--collection", extra, "--threads", "2", "-q")
	run("index", "delete", "--index", idx, "--ids", ps[2].ID)
	r := filepath.Join(dir, "ids.trec")
	fail := func(want string, args ...string) {
		t.Helper()
		os.Remove(r)
		err := app.Run(append([]string{"colbert"}, args...))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one containing %q", args, err, want)
		}
		if _, serr := os.Stat(r); !os.IsNotExist(serr) {
			t.Errorf("run written after an error")
		}
	}
	search := []string{"search", "--checkpoint", ck, "--index", idx, "--queries", queries, "--k", "10", "--out", r, "-q"}
	fail("1 of 3 ids name no live passage", append(search, "--filter-ids", ids)...)
	must(t, os.WriteFile(ids, []byte(ps[0].ID+"\nnew1\n"), 0o644))
	run(append(search, "--filter-ids", ids, "--filter", "source = 'naca'")...)
	for q, docs := range readTREC(t, r) {
		if len(docs) != 2 {
			t.Fatalf("query %s: ids filter gave %v", q, docs)
		}
	}
	fail(`unknown column "venue"`, append(search, "--filter", "venue = 'x'")...)
	fail("';'", append(search, "--filter", "year > 1; DROP TABLE meta")...)
	fail("SELECT is not allowed", append(search, "--filter", "pid IN (SELECT pid FROM meta)")...)
	// index metadata replaces the fields of an existing index.
	langs := write("langs.jsonl", fmt.Sprintf("{\"id\": %q, \"lang\": \"fr\"}\n{\"id\": \"new1\", \"lang\": \"de\"}\n", ps[4].ID))
	run("index", "metadata", "--index", idx, "--metadata", langs)
	run(append(search, "--filter", "lang IS NOT NULL")...)
	for q, docs := range readTREC(t, r) {
		if len(docs) != 2 {
			t.Fatalf("query %s: lang filter gave %v", q, docs)
		}
	}
	fail(`unknown column "year"`, append(search, "--filter", "year > 0")...)
	gone := write("gone.jsonl", fmt.Sprintf("{\"id\": %q, \"lang\": \"fr\"}\n", ps[2].ID))
	if err := app.Run([]string{"colbert", "index", "metadata", "--index", idx, "--metadata", gone}); err == nil || !strings.Contains(err.Error(), "1 ids with no live passage") {
		t.Errorf("metadata for a deleted passage: %v", err)
	}
}
