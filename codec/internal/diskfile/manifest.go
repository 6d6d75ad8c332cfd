package diskfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/colbert-go/colbert/data/fsx"
)

const (
	// ManifestName is the manifest's file name inside an index directory.
	ManifestName = "manifest.json"
	// MaxManifest bounds the manifest read (a corrupt file must not OOM us).
	MaxManifest = 64 << 20
	// PlanFile is the plan of an unfinished build, in its building
	// directory.
	PlanFile = "plan.json"
)

// Join is filepath.Join of a directory and a file name.
func Join(dir, name string) string { return filepath.Join(dir, name) }

// ReadManifest reads the manifest of the index in dir; what names the
// kind of index ("colbert-go index") in the error for a directory without
// one. It returns the manifest's path and bytes.
func (o Owner) ReadManifest(dir, what string) (string, []byte, error) {
	mpath := Join(dir, ManifestName)
	f, err := os.Open(mpath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return mpath, nil, o.errorf("%s is not a %s (no %s)", dir, what, ManifestName)
		}
		return mpath, nil, o.errorf("%w", err)
	}
	mb, err := io.ReadAll(io.LimitReader(f, MaxManifest+1))
	f.Close()
	if err != nil {
		return mpath, nil, o.errorf("read %s: %w", mpath, err)
	}
	if len(mb) > MaxManifest {
		return mpath, nil, o.errorf("%s larger than %d bytes", mpath, MaxManifest)
	}
	return mpath, mb, nil
}

// DecodeManifest decodes the manifest b into m after checking its format
// and version (1…version) first, so a foreign or newer file gets the right
// message instead of a field error, then checks it with validate; name is
// used in errors.
func (o Owner) DecodeManifest(name string, b []byte, format string, version int, m any, validate func() error) error {
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return o.errorf("%s: not a colbert-go manifest: %w", name, err)
	}
	if head.Format != format {
		return o.errorf("%s: foreign format %q (want %q)", name, head.Format, format)
	}
	if head.Version < 1 || head.Version > version {
		return o.errorf("%s: format version %d not supported (this build reads 1…%d)", name, head.Version, version)
	}
	if err := json.Unmarshal(b, m); err != nil {
		return o.errorf("%s: %w", name, err)
	}
	if err := validate(); err != nil {
		return o.errorf("%s: %w", name, err)
	}
	return nil
}

// Without is a copy of a manifest's file list without names (the next
// generation's list, before its new files are added).
func Without(files map[string]FileInfo, names ...string) map[string]FileInfo {
	out := make(map[string]FileInfo, len(files))
	for k, v := range files {
		out[k] = v
	}
	for _, name := range names {
		delete(out, name)
	}
	return out
}

var fileNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._]*$`)

// ValidateFiles checks a manifest's file list: plain lower-case names
// other than the manifest's, sizes not negative.
func ValidateFiles(files map[string]FileInfo) error {
	for name, fi := range files {
		if !fileNameRE.MatchString(name) || name == ManifestName {
			return fmt.Errorf("bad file name %q", name)
		}
		if fi.Size < 0 {
			return fmt.Errorf("file %s: negative size", name)
		}
	}
	return nil
}

// MarshalManifest is the canonical manifest encoding (indented, map keys
// sorted by encoding/json, a final newline), so equal manifests are equal
// bytes.
func MarshalManifest(m any) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteManifest atomically replaces dir's manifest with m's canonical
// bytes.
func (o Owner) WriteManifest(dir string, m any) error {
	mb, err := MarshalManifest(m)
	if err != nil {
		return err
	}
	_, err = o.WriteFile(Join(dir, ManifestName), mb)
	return err
}

// BuildingDir is where an unfinished build of dir lives (a sibling of the
// destination, so the final rename is atomic).
func BuildingDir(dir string) string { return filepath.Clean(dir) + ".building" }

// MarkerName is the marker an unfinished build writes once chunk ci's
// files are committed.
func MarkerName(ci int) string { return fmt.Sprintf("chunk.%05d.done", ci) }

// CommitDir writes the manifest m into the building directory tmp, removes
// the build's bookkeeping files there (the plan, and the names in
// scratch), and puts tmp in place of dir with fsx.DirCommit (replacing an
// old index if overwrite: it is moved aside to dir.old, and moved back if
// tmp cannot take its place). rename is nil (os.Rename) except in tests,
// which make it fail.
func (o Owner) CommitDir(tmp, dir string, m any, scratch []string, overwrite bool, rename func(oldpath, newpath string) error) error {
	if err := o.WriteManifest(tmp, m); err != nil {
		return err
	}
	os.Remove(Join(tmp, PlanFile))
	for _, name := range scratch {
		os.Remove(Join(tmp, name))
	}
	if _, err := os.Stat(dir); err == nil && !overwrite {
		return o.errorf("%s already exists", dir)
	}
	swap := fsx.DirCommit{Rename: rename, Aside: filepath.Clean(dir) + ".old"}
	if err := swap.Commit(tmp, dir); err != nil {
		return o.errorf("%w", err)
	}
	return nil
}
