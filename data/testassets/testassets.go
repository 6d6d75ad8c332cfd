// Package testassets locates the shared real-data assets (../shared/assets
// beside the repository) for tests, and skips a test with a clear message when
// they are absent, as on a user's clone.
package testassets

import (
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
