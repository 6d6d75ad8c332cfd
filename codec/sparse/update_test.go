package sparse

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppendDelete(t *testing.T) {
	base := randomSource(200, 300, 30, 5, "a")
	dir := filepath.Join(t.TempDir(), "idx")
	m0 := mustBuild(t, dir, base, testOpts)
	old := mustOpen(t, dir) // a reader of generation 0
	oldPids, _ := old.Postings(7)
	oldCopy := append([]uint32(nil), oldPids...)

	// Appended weights up to 2× the build's maximum: those above it clamp.
	add := randomSource(150, 300, 30, 6, "b")
	var clamped int64
	for _, v := range add.vecs {
		for j := range v.Weights {
			v.Weights[j] *= 2
			if q := float64(v.Weights[j]) / float64(m0.Scale); q >= 255.5 {
				clamped++
			}
		}
	}
	if clamped == 0 {
		t.Fatal("test data has nothing to clamp")
	}
	m1, err := Append(context.Background(), dir, add, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m1.Generation != 1 || m1.NumPassages != 350 || m1.Scale != m0.Scale || m1.Clamped != clamped {
		t.Fatalf("after append: generation %d, passages %d, scale %g (was %g), clamped %d (want %d)", m1.Generation, m1.NumPassages, m1.Scale, m0.Scale, m1.Clamped, clamped)
	}
	ix := mustOpen(t, dir)
	want := map[int32][]refPosting{}
	reference(300, m0.Scale, base.vecs, want, 0)
	reference(300, m0.Scale, add.vecs, want, 200)
	checkPostings(t, ix, want)
	for p := 0; p < 350; p++ {
		id := base.ids[min(p, 199)]
		if p >= 200 {
			id = add.ids[p-200]
		}
		if ix.ID(p) != id {
			t.Fatalf("pid %d: id %q, want %q", p, ix.ID(p), id)
		}
	}
	if st := ix.Stats(); st.Clamped != clamped || st.Generation != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The old reader still sees generation 0, unchanged.
	if p, _ := old.Postings(7); len(p) != len(oldCopy) || (len(p) > 0 && p[len(p)-1] != oldCopy[len(oldCopy)-1]) || old.NumPassages() != 200 {
		t.Fatal("old reader changed under an append")
	}

	// Colliding ids are refused and change nothing.
	if _, err := Append(context.Background(), dir, randomSource(3, 300, 5, 7, "a"), nil); err == nil || !strings.Contains(err.Error(), "already present") {
		t.Fatalf("append of existing ids: %v", err)
	}
	// A cancelled append leaves the index as it was.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Append(ctx, dir, randomSource(40, 300, 5, 8, "z"), nil); err == nil {
		t.Fatal("cancelled append succeeded")
	}
	if got := readDir(t, dir); len(got) != len(m1.Files)+2 { // + manifest and update lock
		t.Fatalf("cancelled append left files: %d, want %d", len(got), len(m1.Files)+2)
	}

	// Deletes are tombstones: pids stay, ids disappear from PID.
	m2, err := Delete(context.Background(), dir, []string{"a3", "b10"})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Generation != 2 || m2.NumDeleted != 2 {
		t.Fatalf("after delete: generation %d, deleted %d", m2.Generation, m2.NumDeleted)
	}
	ix2 := mustOpen(t, dir)
	if !ix2.Deleted(3) || !ix2.Deleted(210) || ix2.Deleted(4) || ix2.NumLive() != 348 {
		t.Fatal("tombstones not applied")
	}
	if _, ok := ix2.PID("a3"); ok {
		t.Fatal("deleted id still found")
	}
	if ix2.ID(3) != "a3" {
		t.Fatal("a deleted pid lost its id")
	}
	checkPostings(t, ix2, want) // postings unchanged
	if ix.Deleted(3) {
		t.Fatal("the generation-1 reader sees a later delete")
	}
	for _, ids := range [][]string{{"a3"}, {"nope"}, {"a5", "a5"}} {
		if _, err := Delete(context.Background(), dir, ids); err == nil {
			t.Fatalf("delete %q succeeded", ids)
		}
	}
	// A deleted id can be appended again, under a new pid.
	re := &memSource{ids: []string{"a3"}, vecs: []Vector{{Terms: []int32{1, 2}, Weights: []float32{1, 2}}}}
	if _, err := Append(context.Background(), dir, re, nil); err != nil {
		t.Fatal(err)
	}
	ix3 := mustOpen(t, dir)
	if p, ok := ix3.PID("a3"); !ok || p != 350 || !ix3.Deleted(3) {
		t.Fatalf("re-added id at %d %v", p, ok)
	}
	// Deleting more keeps the earlier tombstones.
	if _, err := Delete(context.Background(), dir, []string{"a4"}); err != nil {
		t.Fatal(err)
	}
	ix4 := mustOpen(t, dir)
	if !ix4.Deleted(3) || !ix4.Deleted(4) || !ix4.Deleted(210) || ix4.Deleted(350) || ix4.Manifest().NumDeleted != 3 {
		t.Fatal("tombstones lost")
	}
}

// TestUpdateLock: while another update holds the index's update lock, an
// append and a delete are refused with ErrUpdating and change nothing;
// once it is released they run.
func TestUpdateLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	mustBuild(t, dir, randomSource(50, 300, 30, 5, "a"), testOpts)
	release, err := disk.LockUpdate(dir) // the other update
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Append(context.Background(), dir, randomSource(5, 300, 30, 6, "b"), nil); !errors.Is(err, ErrUpdating) {
		t.Errorf("append during another update: %v", err)
	}
	if _, err := Delete(context.Background(), dir, []string{"a1"}); !errors.Is(err, ErrUpdating) || !strings.Contains(err.Error(), dir) {
		t.Errorf("delete during another update: %v", err)
	}
	if st := mustOpen(t, dir).Stats(); st.Generation != 0 {
		t.Fatalf("refused updates changed the index: generation %d", st.Generation)
	}
	release()
	if _, err := Delete(context.Background(), dir, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Append(context.Background(), dir, randomSource(5, 300, 30, 6, "b"), nil); err != nil {
		t.Fatal(err)
	}
}
