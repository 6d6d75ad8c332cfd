package index

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// TestCommitDirKeepsOldIndexWhenSwapFails: replacing an index moves the old
// one aside, then moves the new one in; when that second rename fails, the
// old index is put back where it was, intact, and the error says so.
func TestCommitDirKeepsOldIndexWhenSwapFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	buildT(t, dir, newSource(60, 20, 3, "old"), testOpts)
	before := dirFiles(t, dir)

	tmp := diskfile.BuildingDir(dir)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Format: "new index"}
	failIn := errors.New("injected rename failure")
	var calls []string
	rename := func(oldpath, newpath string) error {
		calls = append(calls, filepath.Base(oldpath)+" → "+filepath.Base(newpath))
		if oldpath == tmp {
			return failIn // the new index cannot be moved in
		}
		return os.Rename(oldpath, newpath)
	}
	err := commitDir(tmp, dir, m, 0, true, rename)
	if !errors.Is(err, failIn) {
		t.Fatalf("commitDir: error %v, want the rename failure (renames: %v)", err, calls)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("old index lost after the failed swap: %v (renames: %v)", err, calls)
	}
	after := dirFiles(t, dir)
	if !maps.EqualFunc(before, after, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("old index changed: files %v, were %v", keys(after), keys(before))
	}
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatalf("old index does not open after the failed swap: %v", err)
	}
	ix.Close()
	if _, err := os.Stat(filepath.Clean(dir) + ".old"); !os.IsNotExist(err) {
		t.Errorf("the moved-aside copy is left behind: %v", err)
	}

	// When putting it back fails too, the error names where it is.
	rename = func(oldpath, newpath string) error {
		if oldpath == tmp || newpath == dir {
			return failIn
		}
		return os.Rename(oldpath, newpath)
	}
	err = commitDir(tmp, dir, m, 0, true, rename)
	if old := filepath.Clean(dir) + ".old"; err == nil || !strings.Contains(err.Error(), old) {
		t.Fatalf("commitDir with both renames failing: %v, want an error naming %s", err, old)
	}
	if got := dirFiles(t, filepath.Clean(dir)+".old"); len(got) != len(before) {
		t.Fatalf("the old index at .old has %d files, want %d", len(got), len(before))
	}
}
