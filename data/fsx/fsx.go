// Package fsx commits files and directories atomically and durably: an
// output appears under its final name complete or not at all, also after a
// crash or a power loss, and a failed write leaves the previous output
// intact and no temporary file behind. Later stages (and resumed runs) trust
// any file that exists under its final name, so a half-written one would be
// taken for a finished one.
//
// It is the one place of the pipeline that does this, so every writer gets
// the same guarantees: the temporary file lives in the destination's
// directory (rename is atomic only within one file system), its contents are
// fsynced before the rename (else the rename can reach the disk before the
// data and a crash leaves an empty file under the final name), and the
// directory is fsynced after it (else the rename itself can be lost).
package fsx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is a file that appears at its final path only when Commit succeeds.
// Writes go to a hidden temporary file beside the final path.
type File struct {
	f    *os.File
	path string
	perm os.FileMode
	done bool
}

// Create opens a temporary file beside path for writing; Commit gives it the
// mode perm (exactly: not filtered by the umask, so an output's mode does
// not depend on who wrote it) and moves it to path.
func Create(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("fsx: create %s: %w", path, err)
	}
	return &File{f: f, path: path, perm: perm}, nil
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Path is the final path the file will have after Commit.
func (f *File) Path() string { return f.path }

// Commit sets the mode, fsyncs and closes the temporary file, renames it to
// the final path and fsyncs the directory. On an error before the rename the
// temporary file is removed and any previous file at the path is untouched;
// an error syncing the directory comes after the new file is in place.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("fsx: commit %s: already committed or aborted", f.path)
	}
	f.done = true
	tmp := f.f.Name()
	err := f.f.Chmod(f.perm)
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fsx: commit %s: %w", f.path, err)
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort discards the temporary file; it is a no-op after Commit, so callers
// can defer it unconditionally.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}

// WriteFile writes path through write and commits it (see File.Commit) only
// when write returns nil. w is buffered; WriteFile flushes it. An error from
// write is returned as it is, so the caller's own message stays intact.
func WriteFile(path string, perm os.FileMode, write func(w io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("fsx: write %s: %w", path, err)
	}
	return f.Commit()
}

// WriteBytes writes b to path and commits it (see File.Commit).
func WriteBytes(path string, perm os.FileMode, b []byte) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("fsx: write %s: %w", path, err)
	}
	return f.Commit()
}

// SyncDir fsyncs a directory, which makes the creations, renames and
// removals of entries in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsx: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsx: sync %s: %w", dir, err)
	}
	return nil
}

// DirCommit replaces a directory by one built beside it, so that readers see
// the old directory or the new one, never a mix, and a failure keeps the old
// one. The zero value is ready to use.
type DirCommit struct {
	// Rename moves a directory; nil means os.Rename. Tests set it to make
	// one of the renames fail.
	Rename func(oldpath, newpath string) error
	// Aside is where an existing destination waits while the new directory
	// takes its place, and where it stays if it cannot be put back; "" means
	// the new directory's path + ".old". A directory already there is
	// removed first.
	Aside string
}

// CommitDir replaces dst by tmp with a zero DirCommit.
func CommitDir(tmp, dst string) error { return DirCommit{}.Commit(tmp, dst) }

// Commit fsyncs tmp, moves an existing dst aside, renames tmp to dst,
// removes the old directory and fsyncs dst's parent. When tmp cannot take
// dst's place the old directory is moved back, and if that fails too the
// error names where it is. The files in tmp must already be durable (write
// them with this package).
func (c DirCommit) Commit(tmp, dst string) error {
	rename := c.Rename
	if rename == nil {
		rename = os.Rename
	}
	aside := c.Aside
	if aside == "" {
		aside = filepath.Clean(tmp) + ".old"
	}
	if err := SyncDir(tmp); err != nil {
		return err
	}
	moved := false
	if _, err := os.Stat(dst); err == nil {
		if err := os.RemoveAll(aside); err != nil {
			return fmt.Errorf("fsx: commit %s: %w", dst, err)
		}
		if err := rename(dst, aside); err != nil {
			return fmt.Errorf("fsx: commit %s: moving the previous one aside: %w", dst, err)
		}
		moved = true
	}
	if err := rename(tmp, dst); err != nil {
		if moved {
			if rerr := rename(aside, dst); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restoring the previous %s from %s: %w", dst, aside, rerr))
			}
		}
		return fmt.Errorf("fsx: commit %s: %w", dst, err)
	}
	if moved {
		os.RemoveAll(aside) // the new directory is in place; a leftover is only clutter
	}
	return SyncDir(filepath.Dir(filepath.Clean(dst)))
}
