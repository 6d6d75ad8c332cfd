package sparse

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildSmall builds a small index with a delete (every kind of file) and
// returns its directory.
func buildSmall(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "idx")
	mustBuild(t, dir, randomSource(120, 300, 30, 10, "s"), testOpts)
	if _, err := Delete(t.Context(), dir, []string{"s1", "s50"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenRefuses(t *testing.T) {
	dir := buildSmall(t)
	m, err := ParseManifest("m", readDir(t, dir)[ManifestName])
	if err != nil {
		t.Fatal(err)
	}
	docs := m.Postings + ".docs"
	cases := []struct {
		name   string
		damage func(d string)
		verify bool   // refused only when checksums are verified
		want   string // in the error, with the file's name
		file   string
	}{
		{"no manifest", func(d string) { os.Remove(filepath.Join(d, ManifestName)) }, false, "not a colbert-go sparse index", ""},
		{"foreign", func(d string) { editManifest(t, d, func(m map[string]any) { m["format"] = "colbert-go-index" }) }, false, "foreign format", ManifestName},
		{"newer", func(d string) { editManifest(t, d, func(m map[string]any) { m["version"] = 99 }) }, false, "version 99 not supported", ManifestName},
		{"bad vocab", func(d string) { editManifest(t, d, func(m map[string]any) { m["vocab_size"] = 0 }) }, false, "vocab_size", ManifestName},
		{"bad counts", func(d string) { editManifest(t, d, func(m map[string]any) { m["num_postings"] = 5 }) }, false, "postings", ManifestName},
		{"missing file", func(d string) { os.Remove(filepath.Join(d, docs)) }, false, "no such file", docs},
		{"truncated", func(d string) { truncate(t, filepath.Join(d, docs)) }, false, "truncated", docs},
		{"flipped docs", func(d string) { flip(t, filepath.Join(d, docs), 5) }, true, "checksum mismatch", docs},
		{"flipped ids", func(d string) { flip(t, filepath.Join(d, "chunk.00001.ids"), 3) }, true, "checksum mismatch", "chunk.00001.ids"},
		{"not json", func(d string) { os.WriteFile(filepath.Join(d, ManifestName), []byte("garbage"), 0o644) }, false, "not a colbert-go manifest", ManifestName},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			c.damage(d)
			_, err := Open(d, OpenOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("error %v, want %q naming %q", err, c.want, c.file)
			}
			_, err = Open(d, OpenOptions{SkipVerify: true})
			if c.verify && err != nil && strings.Contains(err.Error(), "checksum") {
				t.Fatalf("SkipVerify still checked checksums: %v", err)
			}
			if !c.verify && err == nil {
				t.Fatal("SkipVerify accepted a structurally broken index")
			}
		})
	}
}

// With checksums skipped, the structural checks still refuse postings that
// would break search: an out-of-range or unsorted pid, a zero impact, or a
// block maximum that lies.
func TestOpenStructural(t *testing.T) {
	dir := buildSmall(t)
	m, _ := ParseManifest("m", readDir(t, dir)[ManifestName])
	files := postingsFiles(m.Postings)
	cases := []struct {
		name string
		file string
		edit func(b []byte)
		want string
	}{
		{"pid out of range", files[1], func(b []byte) { b[3] = 0x7f }, "unsorted or out of range"},
		{"zero impact", files[2], func(b []byte) { b[0] = 0 }, "zero impact"},
		{"lying block max", files[3], func(b []byte) { b[len(b)-1] ^= 0x01 }, "max impact"},
		{"offsets", files[0], func(b []byte) { b[8] = 0xff }, "offsets"},
		{"ids", "chunk.00000.ids", func(b []byte) { b[0] = 0x7f }, "beyond end of file"},
		{"tombstones", m.Tombstones, func(b []byte) { b[0], b[4] = 9, 9 }, "unsorted or out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			p := filepath.Join(d, c.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(b)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(d, OpenOptions{SkipVerify: true})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("error %v, want %q naming %s", err, c.want, c.file)
			}
			if _, err := Open(d, OpenOptions{}); err == nil {
				t.Fatal("verified open accepted it")
			}
		})
	}
}

func editManifest(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, p string) {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, st.Size()-1); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, p string, off int) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[off%len(b)] ^= 0x40
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, dir string) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "copy")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range readDir(t, dir) {
		if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}
