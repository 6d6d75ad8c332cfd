package diskfile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const disk = Owner("test")

func TestWriteCheckMap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	fi, err := disk.WriteFile(path, []byte("abc"), nil, []byte("defg"))
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := Checksum(strings.NewReader("abcdefg"))
	if fi != sum || fi.Size != 7 {
		t.Fatalf("FileInfo %+v, want %+v", fi, sum)
	}
	if err := disk.Check(path, fi, false); err != nil {
		t.Fatal(err)
	}
	if err := disk.Check(path, FileInfo{Size: 7, CRC32C: fi.CRC32C + 1}, false); err == nil ||
		!strings.Contains(err.Error(), "test: "+path+": checksum mismatch") {
		t.Fatalf("corrupt file: %v", err)
	}
	if err := disk.Check(path, FileInfo{Size: 7, CRC32C: fi.CRC32C + 1}, true); err != nil {
		t.Fatalf("skipCRC still checked the checksum: %v", err)
	}
	if err := disk.Check(path, FileInfo{Size: 8}, true); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("wrong size: %v", err)
	}
	if err := disk.CheckAll(dir, map[string]FileInfo{"f.bin": fi, "g.bin": fi}, false); err == nil ||
		!strings.Contains(err.Error(), "g.bin") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if !disk.Intact(dir, []string{"f.bin"}, map[string]FileInfo{"f.bin": fi}, false) ||
		disk.Intact(dir, []string{"f.bin", "g.bin"}, map[string]FileInfo{"f.bin": fi}, false) {
		t.Fatal("Intact")
	}
	m := disk.Maps(dir)
	b, err := m.Map("f.bin")
	if err != nil || string(b) != "abcdefg" {
		t.Fatalf("Map: %q, %v", b, err)
	}
	if _, err := disk.WriteFile(filepath.Join(dir, "empty"), nil); err != nil {
		t.Fatal(err)
	}
	if b, err := m.Map("empty"); b != nil || err != nil {
		t.Fatalf("empty file mapped to %q, %v", b, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestGroupAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	g, err := disk.CreateGroup(dir, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.WriteEach([]byte("1"), []byte("22")); err != nil {
		t.Fatal(err)
	}
	g.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("aborted group left %v", ents)
	}
	g, _ = disk.CreateGroup(dir, "a", "b")
	g.WriteEach([]byte("1"), []byte("22"))
	files, err := g.Commit()
	if err != nil || files["a"].Size != 1 || files["b"].Size != 2 {
		t.Fatalf("Commit: %v, %v", files, err)
	}
}

func TestViewsUnaligned(t *testing.T) {
	v := []uint64{1, 2, 1 << 40}
	b := append([]byte{0}, U64Bytes(v)...)[1:] // misaligned copy
	if got := Uint64s(b); !reflect.DeepEqual(got, v) {
		t.Fatalf("Uint64s %v", got)
	}
	w := []int32{-1, 7}
	b = append([]byte{0}, I32Bytes(w)...)[1:]
	if got := Int32s(b); !reflect.DeepEqual(got, w) {
		t.Fatalf("Int32s %v", got)
	}
	f := []float32{1.5, -2}
	if got := Float32s(F32Bytes(f)); !reflect.DeepEqual(got, f) {
		t.Fatalf("Float32s %v", got)
	}
}

func TestTombstones(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"a", "b", "c", "d"}
	deleted := []bool{false, true, false, false}
	live, err := disk.LiveIDs(dir, ids, deleted, 1)
	if err != nil || len(live) != 3 {
		t.Fatalf("LiveIDs %v, %v", live, err)
	}
	pid := func(id string) (int, bool) { p, ok := live[id]; return int(p), ok }
	if _, err := disk.Tombstone(dir, deleted, pid, []string{"b"}); err == nil {
		t.Fatal("deleted a deleted id")
	}
	if _, err := disk.Tombstone(dir, deleted, pid, []string{"c", "c"}); err == nil {
		t.Fatal("deleted an id twice")
	}
	dead, err := disk.Tombstone(dir, deleted, pid, []string{"d", "a"})
	if err != nil || !reflect.DeepEqual(dead, []uint32{0, 1, 3}) {
		t.Fatalf("Tombstone %v, %v", dead, err)
	}
	prev := map[string]FileInfo{"ids.bin": {Size: 1}, "tombstones.00002.bin": {Size: 4}}
	name, files, err := disk.NextTombstones(dir, 3, prev, "tombstones.00002.bin", dead)
	if err != nil || name != "tombstones.00003.bin" || files[name].Size != 12 || len(files) != 2 || files["ids.bin"].Size != 1 || len(prev) != 2 {
		t.Fatalf("NextTombstones %q %+v %v (previous list now %+v)", name, files, err, prev)
	}
	m := disk.Maps(dir)
	defer m.Close()
	got, err := m.Deleted(name, 4)
	if err != nil || !reflect.DeepEqual(got, []bool{true, true, false, true}) {
		t.Fatalf("Deleted %v, %v", got, err)
	}
	if _, err := m.Deleted(name, 3); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("pid beyond the index: %v", err)
	}
	if name, files, _ := disk.NextTombstones(dir, 4, prev, "tombstones.00002.bin", nil); name != "" || len(files) != 1 {
		t.Fatalf("no tombstones: %q, files %+v", name, files)
	}
	if _, err := disk.LiveIDs(dir, []string{"x", "x"}, []bool{false, false}, 0); err == nil {
		t.Fatal("duplicate live id accepted")
	}
}

func TestManifestFraming(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := disk.ReadManifest(dir, "thing"); err == nil || !strings.Contains(err.Error(), "is not a thing (no manifest.json)") {
		t.Fatalf("no manifest: %v", err)
	}
	type man struct {
		Format  string              `json:"format"`
		Version int                 `json:"version"`
		Files   map[string]FileInfo `json:"files"`
	}
	in := man{Format: "f", Version: 1, Files: map[string]FileInfo{"b": {Size: 2, CRC32C: 3}, "a": {}}}
	if err := disk.WriteManifest(dir, in); err != nil {
		t.Fatal(err)
	}
	_, b, err := disk.ReadManifest(dir, "thing")
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"format\": \"f\",\n  \"version\": 1,\n  \"files\": {\n    \"a\": {\n      \"size\": 0,\n      \"crc32c\": 0\n    },\n    \"b\": {\n      \"size\": 2,\n      \"crc32c\": 3\n    }\n  }\n}\n"
	if string(b) != want {
		t.Fatalf("manifest bytes:\n%s", b)
	}
	var out man
	if err := disk.DecodeManifest("m", b, "f", 1, &out, func() error { return nil }); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip %+v, %v", out, err)
	}
	for _, c := range []struct {
		format  string
		version int
		msg     string
	}{
		{"g", 1, "foreign format"}, {"f", 0, "not supported"},
	} {
		if err := disk.DecodeManifest("m", b, c.format, c.version, &out, func() error { return nil }); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	if err := ValidateFiles(map[string]FileInfo{"manifest.json": {}}); err == nil {
		t.Fatal("manifest listed as a file")
	}
	if err := ValidateFiles(map[string]FileInfo{"Bad": {}}); err == nil {
		t.Fatal("bad name accepted")
	}
}

func TestCommitDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ix")
	tmp := BuildingDir(dir)
	os.MkdirAll(tmp, 0o755)
	for _, f := range []string{PlanFile, MarkerName(0), "keep"} {
		os.WriteFile(filepath.Join(tmp, f), []byte("x"), 0o644)
	}
	if err := disk.CommitDir(tmp, dir, map[string]int{"a": 1}, []string{MarkerName(0)}, false, nil); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"keep", ManifestName}) {
		t.Fatalf("committed %v", names)
	}
	os.MkdirAll(tmp, 0o755)
	if err := disk.CommitDir(tmp, dir, nil, nil, false, nil); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrite without leave: %v", err)
	}
}
