package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFilesMatchesSaveCheckpoint: WriteFiles (used by training
// checkpoints, which add files of their own) writes exactly the files and
// bytes SaveCheckpoint commits, and refuses an invalid checkpoint.
func TestWriteFilesMatchesSaveCheckpoint(t *testing.T) {
	for _, kind := range []Kind{KindColBERT, KindCrossEncoder} {
		ck := tinyCheckpoint(t, kind)
		saved := filepath.Join(t.TempDir(), "saved")
		if err := SaveCheckpoint(saved, ck); err != nil {
			t.Fatal(err)
		}
		written := t.TempDir()
		if err := ck.WriteFiles(written); err != nil {
			t.Fatal(err)
		}
		a, b := readDir(t, saved), readDir(t, written)
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("%s: SaveCheckpoint wrote %d files, WriteFiles %d", kind, len(a), len(b))
		}
		for name, want := range a {
			if got, ok := b[name]; !ok || got != want {
				t.Errorf("%s: %s differs (present %v)", kind, name, ok)
			}
		}
	}
	ck := tinyCheckpoint(t, KindColBERT)
	delete(ck.Params, "linear.weight")
	dir := t.TempDir()
	if err := ck.WriteFiles(dir); err == nil || !strings.Contains(err.Error(), "linear.weight") {
		t.Fatalf("WriteFiles of an invalid checkpoint: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("invalid checkpoint wrote %d files", len(ents))
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}
