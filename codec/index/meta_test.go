package index

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/codec/metadb"
)

func selectPIDs(t *testing.T, ix *Index, cond string) []int {
	t.Helper()
	d, err := metadb.Open(ix.MetadataPath())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pids, err := d.Select(context.Background(), cond)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// The metadata database is built with the index, listed in the manifest
// with its checksum, and kept in step by append and delete: each makes a
// new generation's file and removes the old one.
func TestMetadataBuildAppendDelete(t *testing.T) {
	src := newSource(150, 30, 4, "a")
	dir := filepath.Join(t.TempDir(), "idx")
	opt := testOpts
	opt.Meta = func(i int) map[string]any {
		return map[string]any{"year": int64(2000 + i%30), "even": i%2 == 0}
	}
	m := buildT(t, dir, src, opt)
	if m.Metadata != "meta.00000.sqlite" || m.Files[m.Metadata].Size == 0 {
		t.Fatalf("manifest metadata %q, files %v", m.Metadata, m.Files[m.Metadata])
	}
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{}
	for i := 0; i < 150; i++ {
		if 2000+i%30 >= 2025 && i%2 == 0 {
			want = append(want, i)
		}
	}
	if got := selectPIDs(t, ix, "year >= 2025 AND even"); !slices.Equal(got, want) {
		t.Fatalf("select: %v, want %v", got, want)
	}
	if got := selectPIDs(t, ix, "id = 'a7'"); !slices.Equal(got, []int{7}) {
		t.Fatalf("by id: %v", got)
	}
	ix.Close()

	more := newSource(20, 30, 5, "b")
	m, err = Append(context.Background(), dir, more, AppendOptions{Meta: func(i int) map[string]any {
		return map[string]any{"year": int64(2100), "lang": "fr"}
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata != "meta.00001.sqlite" {
		t.Fatalf("after append: metadata %q", m.Metadata)
	}
	if _, err := os.Stat(filepath.Join(dir, "meta.00000.sqlite")); !os.IsNotExist(err) {
		t.Fatal("old metadata generation not removed")
	}
	m, err = Delete(dir, []string{"b3", "a0"})
	if err != nil {
		t.Fatal(err)
	}
	ix, err = Open(dir, OpenOptions{}) // verifies the new file's checksum
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if got := selectPIDs(t, ix, "lang = 'fr'"); len(got) != 19 || slices.Contains(got, 153) || got[0] != 150 {
		t.Fatalf("appended rows after delete: %v", got)
	}
	if got := selectPIDs(t, ix, "pid < 2"); !slices.Equal(got, []int{1}) {
		t.Fatalf("deleted row kept: %v", got)
	}
	if got := selectPIDs(t, ix, "lang IS NULL AND year = 2100"); len(got) != 0 {
		t.Fatalf("appended rows without lang: %v", got)
	}
	if m.Metadata != "meta.00002.sqlite" || len(m.Files) != len(dirNames(t, dir))-2 { // + manifest and update lock
		t.Fatalf("files %v, directory %v", m.Files, dirNames(t, dir))
	}
	st, err := Stat(dir)
	if err != nil || st.Bytes["metadata"] != m.Files[m.Metadata].Size {
		t.Fatalf("stat: %v %v", err, st.Bytes)
	}

	// A corrupt metadata file is refused like any other.
	p := filepath.Join(dir, m.Metadata)
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	os.WriteFile(p, b, 0o644)
	if _, err := Open(dir, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupt metadata: %v", err)
	}
}

// An index built without metadata gets a database on the first append
// that brings some, with a row (id only) for every live passage before.
func TestMetadataFirstOnAppend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	buildT(t, dir, newSource(40, 20, 4, "a"), testOpts)
	if _, err := Delete(dir, []string{"a5"}); err != nil {
		t.Fatal(err)
	}
	m, err := Append(context.Background(), dir, newSource(5, 20, 5, "b"), AppendOptions{Meta: func(i int) map[string]any {
		return map[string]any{"n": i}
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if m.Metadata == "" {
		t.Fatal("no metadata after append with Meta")
	}
	if got := selectPIDs(t, ix, "n >= 3"); !slices.Equal(got, []int{43, 44}) {
		t.Fatalf("appended: %v", got)
	}
	if got := selectPIDs(t, ix, "n IS NULL"); len(got) != 39 || slices.Contains(got, 5) {
		t.Fatalf("earlier live rows: %d %v", len(got), got)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// SetMetadata gives an existing index a database (rows for live passages
// only), and replaces it as a new generation.
func TestSetMetadata(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	buildT(t, dir, newSource(30, 20, 4, "a"), testOpts)
	if _, err := Delete(dir, []string{"a3"}); err != nil {
		t.Fatal(err)
	}
	m, err := SetMetadata(context.Background(), dir, func(id string) map[string]any {
		if id == "a5" || id == "a3" {
			return map[string]any{"tag": "x"}
		}
		return nil
	})
	if err != nil || m.Generation != 2 || m.Metadata != "meta.00002.sqlite" {
		t.Fatalf("set: %v %+v", err, m)
	}
	m, err = SetMetadata(context.Background(), dir, func(id string) map[string]any { return map[string]any{"n": len(id)} })
	if err != nil || m.Metadata != "meta.00003.sqlite" {
		t.Fatalf("replace: %v %q", err, m.Metadata)
	}
	if _, err := os.Stat(filepath.Join(dir, "meta.00002.sqlite")); !os.IsNotExist(err) {
		t.Fatal("replaced database not removed")
	}
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if got := selectPIDs(t, ix, "n = 3"); len(got) != 20 || got[0] != 10 {
		t.Fatalf("n = 3: %v", got)
	}
	if got := selectPIDs(t, ix, "n >= 0"); len(got) != 29 || slices.Contains(got, 3) {
		t.Fatalf("rows: %v", got)
	}
}
