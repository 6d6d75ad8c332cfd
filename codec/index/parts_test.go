package index

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// partsSource is the collection every process of the parts test rebuilds
// (deterministic from its parameters, as a checkpoint + corpus would be).
func partsSource() *memSource { return newSource(500, 40, 11, "doc") }

const partsWorkerEnv = "COLBERT_INDEX_PART_WORKER" // "planDir part nparts"

// TestEncodePartWorker is the worker process of TestPartsMatchBuild: the
// test binary re-executed with partsWorkerEnv set. Without it, it skips.
func TestEncodePartWorker(t *testing.T) {
	spec := os.Getenv(partsWorkerEnv)
	if spec == "" {
		t.Skip("worker process of TestPartsMatchBuild only")
	}
	var dir string
	var part, nparts int
	if _, err := fmt.Sscanf(spec, "%s %d %d", &dir, &part, &nparts); err != nil {
		t.Fatalf("bad %s=%q: %v", partsWorkerEnv, spec, err)
	}
	if err := EncodePart(context.Background(), dir, partsSource(), part, nparts, 1, nil); err != nil {
		t.Fatal(err)
	}
}

// runWorkers encodes all parts in separate processes running at once.
func runWorkers(t *testing.T, dir string, nparts int) {
	t.Helper()
	cmds := make([]*exec.Cmd, nparts)
	outs := make([]*bytes.Buffer, nparts)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestEncodePartWorker$", "-test.count=1", "-test.v")
		cmds[i].Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", partsWorkerEnv, dir, i, nparts))
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("worker %d/%d: %v\n%s", i, nparts, err, outs[i])
		}
		if strings.Contains(outs[i].String(), "SKIP") {
			t.Fatalf("worker %d/%d did not run:\n%s", i, nparts, outs[i])
		}
	}
}

func TestPartsMatchBuild(t *testing.T) {
	src := partsSource()
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	opt := testOpts
	opt.Threads = 2 // the workers use 1: threads must not change the bytes
	buildT(t, ref, src, opt)
	want := dirFiles(t, ref)

	ctx := context.Background()
	planDir := filepath.Join(root, "plan")
	meta := map[string]string{"collection": "synthetic"}
	pi, err := WritePlan(ctx, planDir, src, opt, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pi.Chunks != 8 || pi.Passages != 500 || pi.Meta["collection"] != "synthetic" || pi.NumCentroids != 256 {
		t.Fatalf("plan info %+v", pi)
	}
	if len(pi.Encoded) != 0 {
		t.Fatalf("fresh plan reports encoded chunks %v", pi.Encoded)
	}
	out := filepath.Join(root, "idx")
	if _, err := Merge(ctx, planDir, out, false); err == nil || !strings.Contains(err.Error(), "chunk 0") {
		t.Fatalf("merge before encoding: err = %v, want missing chunk 0", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("failed merge left an index behind")
	}

	runWorkers(t, planDir, 3)

	// Re-running the plan step keeps the plan and the encoded chunks; a
	// re-run part resumes (nothing left to embed).
	if pi, err = WritePlan(ctx, planDir, src, opt, meta, nil); err != nil {
		t.Fatal(err)
	}
	if len(pi.Encoded) != 8 || pi.Encoded[0] != 0 || pi.Encoded[7] != 7 {
		t.Fatalf("encoded chunks %v after all parts ran, want 0…7", pi.Encoded)
	}
	calls := src.calls.Load()
	if err := EncodePart(ctx, planDir, src, 1, 3, 1, nil); err != nil {
		t.Fatal(err)
	}
	if got := src.calls.Load(); got != calls {
		t.Fatalf("re-run part embedded %d batches, want 0", got-calls)
	}

	m, err := Merge(ctx, planDir, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumPassages != 500 {
		t.Fatalf("merged %d passages", m.NumPassages)
	}
	got := dirFiles(t, out)
	if len(got) != len(want) {
		t.Fatalf("merged index files %v, single-process %v", keys(got), keys(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Fatalf("%s differs between the merged and the single-process index", name)
		}
	}
	ix, err := Open(out, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, ix, src, 0)
	ix.Close()
	if _, err := Merge(ctx, planDir, out, false); err == nil {
		t.Fatal("merge over an existing index without overwrite succeeded")
	}
	if _, err := Merge(ctx, planDir, planDir, true); err == nil {
		t.Fatal("merge into the plan directory succeeded")
	}
}

func TestPlanRefusals(t *testing.T) {
	ctx := context.Background()
	src := newSource(200, 30, 3, "p")
	planDir := filepath.Join(t.TempDir(), "plan")
	if err := EncodePart(ctx, planDir, src, 0, 1, 1, nil); err == nil || !strings.Contains(err.Error(), "not a plan directory") {
		t.Fatalf("encode without a plan: %v", err)
	}
	if _, err := WritePlan(ctx, planDir, src, testOpts, nil, nil); err != nil {
		t.Fatal(err)
	}
	other := testOpts
	other.Seed++
	if _, err := WritePlan(ctx, planDir, src, other, nil, nil); err == nil || !strings.Contains(err.Error(), "different") {
		t.Fatalf("plan with other settings over an existing one: %v", err)
	}
	if err := EncodePart(ctx, planDir, newSource(200, 30, 3, "q"), 0, 2, 1, nil); err == nil || !strings.Contains(err.Error(), "ids differ") {
		t.Fatalf("encode another collection: %v", err)
	}
	if err := EncodePart(ctx, planDir, newSource(199, 30, 3, "p"), 0, 2, 1, nil); err == nil || !strings.Contains(err.Error(), "199") {
		t.Fatalf("encode a shorter collection: %v", err)
	}
	if err := EncodePart(ctx, planDir, src, 2, 2, 1, nil); err == nil {
		t.Fatal("part 2/2 accepted")
	}
	// A damaged centroids file is found before any encoding.
	if err := os.WriteFile(filepath.Join(planDir, centroidsFile), []byte("xxxx"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPlan(planDir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged plan: %v", err)
	}
}

func TestPartRanges(t *testing.T) {
	for _, tc := range []struct{ chunks, nparts int }{{8, 3}, {1, 4}, {7, 7}, {100, 6}, {5, 1}} {
		p := &PlanInfo{Chunks: tc.chunks, Passages: tc.chunks*10 - 3, Options: BuildOptions{ChunkSize: 10}}
		next, nextP := 0, 0
		for i := 0; i < tc.nparts; i++ {
			lo, hi := p.PartChunks(i, tc.nparts)
			plo, phi := p.PartPassages(i, tc.nparts)
			if lo != next || hi < lo || hi-lo > tc.chunks/tc.nparts+1 || plo != nextP || phi < plo {
				t.Fatalf("%d chunks, part %d/%d: chunks %d…%d passages %d…%d", tc.chunks, i, tc.nparts, lo, hi, plo, phi)
			}
			next, nextP = hi, phi
		}
		if next != tc.chunks || nextP != p.Passages {
			t.Fatalf("%d chunks in %d parts cover %d chunks / %d passages", tc.chunks, tc.nparts, next, nextP)
		}
	}
}

// FuzzReadPlan: a damaged plan.json next to intact codec files is an error
// (or a consistent plan), never a panic or a huge allocation.
func FuzzReadPlan(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "plan")
	if _, err := WritePlan(context.Background(), dir, newSource(100, 20, 5, "p"), testOpts, map[string]string{"a": "b"}, nil); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, diskfile.PlanFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"passages": 1e18}`))
	f.Add(bytes.Replace(good, []byte(`"passages": 100`), []byte(`"passages": 4000000000000`), 1))
	f.Add(bytes.Replace(good, []byte(`"chunk_size": 64`), []byte(`"chunk_size": 0`), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, diskfile.PlanFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := ReadPlan(dir)
		if err == nil && (p.Passages <= 0 || len(p.Encoded) > p.Chunks || p.Chunks*p.Options.ChunkSize < p.Passages) {
			t.Fatalf("inconsistent plan accepted: %+v", p)
		}
	})
}
