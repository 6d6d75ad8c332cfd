package metadb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testRows() []Row {
	return []Row{
		{PID: 0, ID: "a", Meta: map[string]any{"year": int64(2019), "source": "pubmed", "score": 0.5, "open": true}},
		{PID: 1, ID: "b", Meta: map[string]any{"year": int64(2021), "source": "pubmed", "tags": json.RawMessage(`["x","y"]`)}},
		{PID: 2, ID: "c", Meta: map[string]any{"year": json.Number("2023"), "source": "arxiv", "open": false}},
		{PID: 3, ID: "d's", Meta: nil},
	}
}

func create(t *testing.T, rows []Row) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "meta.sqlite")
	if err := Create(context.Background(), p, rows); err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t *testing.T, p string) *DB {
	t.Helper()
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSelect(t *testing.T) {
	d := open(t, create(t, testRows()))
	if got, want := d.Columns(), []string{"pid", "id", "open", "score", "source", "tags", "year"}; !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	if d.Rows() != 4 {
		t.Fatalf("rows %d", d.Rows())
	}
	for cond, want := range map[string][]int{
		"year >= 2020 AND source = 'pubmed'": {1},
		"year >= 2020":                       {1, 2},
		"source IN ('pubmed', 'arxiv')":      {0, 1, 2},
		"source IS NULL":                     {3},
		`"open" = 1`:                         {0},
		"NOT open":                           {2},
		"id = 'd''s'":                        {3},
		"score > 0.25 OR year BETWEEN 2022 AND 2024": {0, 2},
		"json_extract(tags, '$[1]') = 'y'":           {1},
		"lower(SOURCE) LIKE 'PUB%'":                  {0, 1},
		"pid % 2 = 1":                                {1, 3},
		"year > 3000":                                nil,
	} {
		got, err := d.Select(context.Background(), cond)
		if err != nil {
			t.Errorf("%s: %v", cond, err)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: pids %v, want %v", cond, got, want)
		}
	}
}

func TestBadFilters(t *testing.T) {
	d := open(t, create(t, testRows()))
	for cond, want := range map[string]string{
		"":                                "empty condition",
		"year > 2020; DROP TABLE meta":    "';'",
		"year > 2020 -- comment":          "comments",
		"year > 2020 /* x */":             "comments",
		"year > ?":                        "parameter",
		"year > :y":                       "parameter",
		"pid IN (SELECT pid FROM meta)":   "SELECT is not allowed",
		"1 UNION SELECT 1":                "UNION is not allowed",
		"year > 1 LIMIT 1":                "LIMIT is not allowed",
		"nosuch = 1":                      `unknown column "nosuch"`,
		`"no such" = 1`:                   `unknown column "no such"`,
		"load_extension('x') = 1":         "unknown function load_extension()",
		"randomblob(1000000000) = 1":      "unknown function randomblob()",
		"meta.year = 1":                   "unknown column \"meta\"",
		"year = 'x":                       "unterminated string",
		"(year = 1":                       "unclosed",
		"year = 1)":                       "unbalanced",
		"[year] = 1":                      "quoted names",
		"year = 12abc":                    "malformed number",
		"year >":                          "syntax error",
		"year = = 1":                      "syntax error",
		"max(year) > 1":                   "misuse of aggregate",
		"json_extract(source, '$.a') = 1": "malformed JSON",
		"AND":                             "no column or value",
		strings.Repeat("year = 1 OR ", 400) + "1": "at most",
	} {
		_, err := d.Select(context.Background(), cond)
		if err == nil || !errors.Is(err, ErrBadFilter) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want ErrBadFilter containing %q", cond, err, want)
		}
	}
}

// A column named like an SQL keyword is reachable in double quotes, and
// the error for the bare word says so.
func TestKeywordColumn(t *testing.T) {
	d := open(t, create(t, []Row{{PID: 0, ID: "a", Meta: map[string]any{"order": int64(3)}}, {PID: 1, ID: "b", Meta: map[string]any{"order": int64(1)}}}))
	if got, err := d.Select(context.Background(), `"order" > 2`); err != nil || !slices.Equal(got, []int{0}) {
		t.Fatalf("quoted keyword column: %v %v", got, err)
	}
	if _, err := d.Select(context.Background(), "order > 2"); err == nil || !strings.Contains(err.Error(), `double quotes ("order")`) {
		t.Fatalf("bare keyword column: %v", err)
	}
}

// The connection is read-only: even a statement that got past validation
// could not write.
func TestReadOnly(t *testing.T) {
	p := create(t, testRows())
	d := open(t, p)
	if _, err := d.db.Exec("DELETE FROM meta"); err == nil {
		t.Fatal("DELETE on the read connection succeeded")
	}
	if got, _ := d.Select(context.Background(), "pid >= 0"); len(got) != 4 {
		t.Fatalf("rows after refused delete: %v", got)
	}
}

func TestUpdate(t *testing.T) {
	src := create(t, testRows())
	before, _ := os.ReadFile(src)
	dst := filepath.Join(filepath.Dir(src), "meta.2.sqlite")
	add := []Row{{PID: 4, ID: "e", Meta: map[string]any{"year": int64(2024), "lang": "fr"}}}
	if err := Update(context.Background(), src, dst, add, []int{1}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(src); !slices.Equal(before, after) {
		t.Fatal("Update modified its source")
	}
	d := open(t, dst)
	if got, _ := d.Select(context.Background(), "year >= 2020"); !slices.Equal(got, []int{2, 4}) {
		t.Fatalf("after update: %v, want [2 4]", got)
	}
	if got, _ := d.Select(context.Background(), "lang = 'fr'"); !slices.Equal(got, []int{4}) {
		t.Fatalf("new column: %v", got)
	}
	if err := Update(context.Background(), src, filepath.Join(filepath.Dir(src), "meta.3.sqlite"),
		[]Row{{PID: 5, ID: "f", Meta: map[string]any{"YEAR": 1}}}, nil); err == nil || !strings.Contains(err.Error(), "only in case") {
		t.Fatalf("case clash: %v", err)
	}
	if err := Create(context.Background(), filepath.Join(t.TempDir(), "x"), []Row{{ID: "a", Meta: map[string]any{"pid": 1}}}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("reserved field: %v", err)
	}
}

// FuzzValidate: Validate never panics, and whatever it accepts SQLite
// either evaluates read-only or refuses as a bad filter; the table is
// never changed.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"year >= 2020 AND source = 'pubmed'", "id IN ('a','b')", "x; DROP TABLE meta",
		"\"year\" > 1 -- c", "lower(source) LIKE '%med'", "pid IN (SELECT 1)", "0x1F = pid", "'a''b' = id"} {
		f.Add(s)
	}
	p := filepath.Join(f.TempDir(), "meta.sqlite")
	if err := Create(context.Background(), p, testRows()); err != nil {
		f.Fatal(err)
	}
	d, err := Open(p)
	if err != nil {
		f.Fatal(err)
	}
	defer d.Close()
	f.Fuzz(func(t *testing.T, cond string) {
		pids, err := d.Select(context.Background(), cond)
		if err != nil {
			if !errors.Is(err, ErrBadFilter) {
				t.Fatalf("%q: error %v does not wrap ErrBadFilter", cond, err)
			}
			return
		}
		for _, p := range pids {
			if p < 0 || p > 3 {
				t.Fatalf("%q: pid %d not in the table", cond, p)
			}
		}
		if got, err := d.Select(context.Background(), "pid >= 0"); err != nil || len(got) != 4 {
			t.Fatalf("after %q: table changed: %v %v", cond, got, err)
		}
	})
}

// TestRelativePaths: Create, Update and Open take paths relative to the
// working directory, as `colbert index append --index idx` passes them
// (a relative path once became a SQLite URI authority: "invalid uri
// authority: idx").
func TestRelativePaths(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("idx", 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, dst := filepath.Join("idx", "meta.1.sqlite"), filepath.Join("idx", "meta.2.sqlite")
	if err := Create(ctx, src, testRows()); err != nil {
		t.Fatal(err)
	}
	if err := Update(ctx, src, dst, []Row{{PID: 4, ID: "e", Meta: map[string]any{"year": int64(2024)}}}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := open(t, dst).Select(ctx, "year >= 2024"); !slices.Equal(got, []int{4}) {
		t.Fatalf("relative paths: %v, want [4]", got)
	}
}
