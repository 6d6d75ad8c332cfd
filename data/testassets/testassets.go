// Package testassets locates the shared real-data assets (../shared/assets
// beside the repository) for tests, and skips a test with a clear message when
// they are absent, as on a user's clone.
package testassets

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Root returns the assets directory, or "" when it cannot be found. The
// COLBERT_ASSETS environment variable overrides the search.
func Root() string {
	if d := os.Getenv("COLBERT_ASSETS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			cand := filepath.Join(dir, "..", "shared", "assets")
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return cand
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Path returns the asset at rel (e.g. "models/hf-tiny/reference.safetensors")
// or skips the test when it is missing.
func Path(t testing.TB, rel string) string {
	t.Helper()
	root := Root()
	if root == "" {
		t.Skipf("shared assets not found (../shared/assets beside the repo, or COLBERT_ASSETS); skipping test that needs %s", rel)
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared asset %s missing: %v", rel, err)
	}
	return p
}

// CheckpointVariant links every file of the checkpoint directory src into a
// new temporary directory except name, a JSON file rewritten by edit, and
// returns the directory and the path of the rewritten file: a checkpoint
// that differs from src in one setting, without copying its weights.
func CheckpointVariant(t testing.TB, src, name string, edit func(map[string]any)) (string, string) {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == name {
			continue
		}
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(src, name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	if b, err = json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}
