package index

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestMergeShard: the shards of a plan hold, between them, every passage
// once, in order, with the same ids, codes and residuals as the whole
// index (one codec), pids renumbered from 0; a shard needs only its own
// part encoded, and an impossible or unencoded shard is refused.
func TestMergeShard(t *testing.T) {
	src := newSource(300, 30, 21, "doc")
	root := t.TempDir()
	plan := filepath.Join(root, "plan")
	ctx := context.Background()
	opt := testOpts // chunks of 64: 5 chunks
	if _, err := WritePlan(ctx, plan, src, opt, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := EncodePart(ctx, plan, src, 0, 2, 2, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := MergeShard(ctx, plan, filepath.Join(root, "s1"), 1, 2, false); err == nil {
		t.Fatal("shard 1/2 merged before its part was encoded")
	}
	if _, err := MergeShard(ctx, plan, filepath.Join(root, "s0"), 0, 2, false); err != nil {
		t.Fatalf("shard 0/2 with only part 0/2 encoded: %v", err)
	}
	if err := EncodePart(ctx, plan, src, 1, 2, 2, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := MergeShard(ctx, plan, filepath.Join(root, "s1"), 1, 2, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(ctx, plan, filepath.Join(root, "whole"), false); err != nil {
		t.Fatal(err)
	}
	whole, err := Open(filepath.Join(root, "whole"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	gpid := 0
	for s := 0; s < 2; s++ {
		ix, err := Open(filepath.Join(root, []string{"s0", "s1"}[s]), OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ix.Centroids(), whole.Centroids()) {
			t.Errorf("shard %d has other centroids than the whole index", s)
		}
		for pid := 0; pid < ix.NumPassages(); pid++ {
			if ix.PassageID(pid) != whole.PassageID(gpid) || !slices.Equal(ix.Codes(pid), whole.Codes(gpid)) ||
				string(ix.Residuals(pid)) != string(whole.Residuals(gpid)) {
				t.Fatalf("shard %d pid %d (%s) differs from the whole index's pid %d (%s)", s, pid, ix.PassageID(pid), gpid, whole.PassageID(gpid))
			}
			gpid++
		}
		checkIndex(t, ix, &memSource{ids: src.ids[gpid-ix.NumPassages() : gpid], docs: src.docs[gpid-ix.NumPassages() : gpid]}, 0)
		ix.Close()
	}
	if gpid != 300 {
		t.Errorf("the shards hold %d passages, want 300", gpid)
	}
	for _, bad := range [][2]int{{0, 6}, {2, 2}, {-1, 2}} {
		if _, err := MergeShard(ctx, plan, filepath.Join(root, "bad"), bad[0], bad[1], false); err == nil {
			t.Errorf("shard %d/%d accepted", bad[0], bad[1])
		}
	}
}
