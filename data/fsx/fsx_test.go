package fsx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entries lists a directory's names, so a test sees any temporary file left.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFile(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("x", 1<<18)) // more than the buffer: bytes reach the temporary file
		return boom
	})
	if err != boom {
		t.Fatalf("err = %v, want the callback's error as it is", err)
	}
	if got := readFile(t, p); got != "old" {
		t.Fatalf("failed write changed the file: %.20q", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary file left behind: %v", names)
	}
}

func TestWriteFileCommits(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("0123456789", 20000) // spans several buffer flushes
	if err := WriteFile(p, 0o666, func(w io.Writer) error {
		for i := 0; i < len(want); i += 7 {
			if _, err := io.WriteString(w, want[i:min(i+7, len(want))]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != want {
		t.Fatalf("content: %d bytes, want %d", len(got), len(want))
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	// 0666 survives only if the mode is set exactly (a umask would clear bits).
	if st.Mode().Perm() != 0o666 {
		t.Errorf("mode %v, want 0666", st.Mode().Perm())
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary file left behind: %v", names)
	}
}

// TestCommitFailureLeavesNoTemp: when the rename fails (the destination is a
// non-empty directory) the destination is untouched and the temporary file
// is gone.
func TestCommitFailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(p, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteBytes(p, 0o644, []byte("new"))
	if err == nil || !strings.Contains(err.Error(), "fsx: commit "+p) {
		t.Fatalf("err = %v, want a commit error naming %s", err, p)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "out" {
		t.Fatalf("directory holds %v, want only out", names)
	}
	if st, err := os.Stat(filepath.Join(p, "inner")); err != nil || !st.IsDir() {
		t.Fatalf("destination changed: %v", err)
	}
}

// TestCommitAfterDirectoryRemoved: the file is synced and closed, then the
// rename fails; nothing is created.
func TestCommitAfterDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Create(filepath.Join(dir, "x"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("commit into a removed directory succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory reappeared: %v", err)
	}
}

func TestWriteBytesMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	err := WriteBytes(filepath.Join(dir, "no", "such", "f"), 0o644, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "fsx: create") {
		t.Fatalf("err = %v, want a create error", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("left %v", names)
	}
}

func TestFileCommitAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != p {
		t.Fatalf("Path %q, want %q", f.Path(), p)
	}
	io.WriteString(f, "hello")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("file visible before Commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // no-op after Commit
	if got := readFile(t, p); got != "hello" {
		t.Fatalf("got %q", got)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("second Commit succeeded")
	}

	g, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(g, "discarded")
	g.Abort()
	if err := g.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	if got := readFile(t, p); got != "hello" {
		t.Fatalf("aborted write changed the file: %q", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary file left behind: %v", names)
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	if err := SyncDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("SyncDir of a missing directory: %v", err)
	}
}

// mkdir makes a directory holding one file "f" with content.
func mkdir(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCommitDirReplaces(t *testing.T) {
	root := t.TempDir()
	dst, tmp := filepath.Join(root, "dst"), filepath.Join(root, ".dst.tmp")
	mkdir(t, tmp, "first")
	if err := CommitDir(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "f")); got != "first" {
		t.Fatalf("got %q", got)
	}
	mkdir(t, tmp, "second")
	mkdir(t, tmp+".old", "stale leftover") // removed before the old one moves there
	if err := CommitDir(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "f")); got != "second" {
		t.Fatalf("got %q", got)
	}
	if names := entries(t, root); len(names) != 1 || names[0] != "dst" {
		t.Fatalf("root holds %v, want only dst", names)
	}
}

// TestCommitDirMissingTmp: the fsync of tmp runs first, so a missing tmp
// fails before the destination is touched.
func TestCommitDirMissingTmp(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "dst")
	mkdir(t, dst, "old")
	var renames int
	c := DirCommit{Rename: func(o, n string) error { renames++; return os.Rename(o, n) }}
	if err := c.Commit(filepath.Join(root, "nope"), dst); err == nil {
		t.Fatal("commit of a missing directory succeeded")
	}
	if renames != 0 {
		t.Fatalf("%d renames before the failed sync", renames)
	}
	if got := readFile(t, filepath.Join(dst, "f")); got != "old" {
		t.Fatalf("got %q", got)
	}
}

func TestCommitDirRestoresOldWhenSecondRenameFails(t *testing.T) {
	root := t.TempDir()
	dst, tmp := filepath.Join(root, "dst"), filepath.Join(root, "dst.building")
	aside := filepath.Join(root, "dst.old")
	mkdir(t, dst, "old")
	mkdir(t, tmp, "new")
	failIn := errors.New("injected rename failure")
	var calls []string
	c := DirCommit{Aside: aside, Rename: func(o, n string) error {
		calls = append(calls, filepath.Base(o)+" → "+filepath.Base(n))
		if o == tmp {
			return failIn
		}
		return os.Rename(o, n)
	}}
	err := c.Commit(tmp, dst)
	if !errors.Is(err, failIn) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	want := []string{"dst → dst.old", "dst.building → dst", "dst.old → dst"}
	if strings.Join(calls, "; ") != strings.Join(want, "; ") {
		t.Fatalf("renames %v, want %v", calls, want)
	}
	if got := readFile(t, filepath.Join(dst, "f")); got != "old" {
		t.Fatalf("dst holds %q after the failed swap, want the old one", got)
	}
	if _, err := os.Stat(aside); !os.IsNotExist(err) {
		t.Fatalf("aside copy left behind: %v", err)
	}
	if got := readFile(t, filepath.Join(tmp, "f")); got != "new" {
		t.Fatalf("tmp holds %q, want it kept for the caller", got)
	}

	// When putting it back fails too, the error says where it is.
	c.Rename = func(o, n string) error {
		if o == tmp || n == dst {
			return failIn
		}
		return os.Rename(o, n)
	}
	err = c.Commit(tmp, dst)
	if err == nil || !strings.Contains(err.Error(), "restoring the previous "+dst+" from "+aside) {
		t.Fatalf("err = %v, want one naming %s", err, aside)
	}
	if got := readFile(t, filepath.Join(aside, "f")); got != "old" {
		t.Fatalf("aside holds %q, want the old directory", got)
	}
}

func TestCommitDirFirstRenameFails(t *testing.T) {
	root := t.TempDir()
	dst, tmp := filepath.Join(root, "dst"), filepath.Join(root, "t")
	mkdir(t, dst, "old")
	mkdir(t, tmp, "new")
	failIn := errors.New("injected rename failure")
	c := DirCommit{Rename: func(o, n string) error {
		if o == dst {
			return failIn
		}
		return os.Rename(o, n)
	}}
	if err := c.Commit(tmp, dst); !errors.Is(err, failIn) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	if got := readFile(t, filepath.Join(dst, "f")); got != "old" {
		t.Fatalf("dst holds %q", got)
	}
}
