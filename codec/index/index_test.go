package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/codec/internal/synth"
	"github.com/colbert-go/colbert/codec/kmeans"
)

// memSource is an in-memory Source; onEmbed runs before each Embed call.
type memSource struct {
	ids     []string
	docs    [][]float32
	calls   atomic.Int64
	onEmbed func(call int64)
}

func (s *memSource) Len() int        { return len(s.docs) }
func (s *memSource) ID(i int) string { return s.ids[i] }
func (s *memSource) Embed(ctx context.Context, start, end int) ([][]float32, error) {
	c := s.calls.Add(1)
	if s.onEmbed != nil {
		s.onEmbed(c)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.docs[start:end], nil
}

// newSource makes n passages of 0…maxLen clustered unit vectors (dim 128).
func newSource(n, maxLen int, seed uint64, prefix string) *memSource {
	rng := rand.New(rand.NewPCG(seed, 1))
	lens := make([]int, n)
	total := 0
	for i := range lens {
		lens[i] = rng.IntN(maxLen + 1)
		if i%50 == 7 {
			lens[i] = 0 // empty passages must work
		}
		total += lens[i]
	}
	// All test collections share one set of centres (as one encoder's
	// embedding space would); seed changes the draws.
	vecs, _ := synth.Around(synth.Random(48, 128, 99), 128, total, 0.7, seed)
	s := &memSource{}
	off := 0
	for i, l := range lens {
		s.ids = append(s.ids, fmt.Sprintf("%s%d", prefix, i))
		s.docs = append(s.docs, vecs[off*128:(off+l)*128])
		off += l
	}
	return s
}

// testOpts fixes K at 256 to keep the tests fast; TestDefaultCentroidRule
// covers the ColBERT rule.
var testOpts = BuildOptions{NBits: 2, ChunkSize: 64, EmbedBatch: 16, Seed: 123, Checkpoint: "test-ckpt", Threads: 2, NumCentroids: 256}

func buildT(t *testing.T, dir string, src Source, opt BuildOptions) *Manifest {
	t.Helper()
	m, err := Build(context.Background(), dir, src, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildOpenRoundTrip(t *testing.T) {
	src := newSource(300, 50, 1, "doc-")
	dir := filepath.Join(t.TempDir(), "idx")
	for _, nbits := range []int{1, 2, 4} {
		opt := testOpts
		opt.NBits = nbits
		opt.Overwrite = true
		m := buildT(t, dir, src, opt)
		if _, err := os.Stat(diskfile.BuildingDir(dir)); !os.IsNotExist(err) {
			t.Fatalf("temporary directory left behind: %v", err)
		}
		ix, err := Open(dir, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkIndex(t, ix, src, 0)
		if ix.NumPassages() != 300 || len(m.Chunks) != 5 || ix.Manifest().Checkpoint != "test-ckpt" {
			t.Fatalf("manifest: %d passages, %d chunks, checkpoint %q", ix.NumPassages(), len(m.Chunks), ix.Manifest().Checkpoint)
		}
		// Batch decompression equals per-passage decompression.
		pids := []int32{5, 0, 7, 299, 5}
		flat, offs, err := ix.DecompressBatch(pids, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pids {
			one, _ := ix.Decompress(int(p), nil)
			if !slices.Equal(one, flat[offs[i]*128:offs[i+1]*128]) {
				t.Fatalf("batch decompression of pid %d differs", p)
			}
		}
		if _, err := ix.Decompress(300, nil); err == nil {
			t.Fatal("out-of-range pid accepted")
		}
		ix.Close()
	}
}

// checkIndex verifies every passage of src at pids base… against the index:
// ids, codes and residuals equal the codec's own compression, decompression
// is close to the input, and the IVF lists exactly the (centroid, pid) pairs.
func checkIndex(t *testing.T, ix *Index, src *memSource, base int) {
	t.Helper()
	codec := ix.Codec()
	var minCos = 1.0
	for i, doc := range src.docs {
		pid := base + i
		if ix.PassageID(pid) != src.ids[i] {
			t.Fatalf("pid %d: id %q, want %q", pid, ix.PassageID(pid), src.ids[i])
		}
		if p, ok := ix.PID(src.ids[i]); !ok || p != pid {
			t.Fatalf("PID(%q) = %d, %v", src.ids[i], p, ok)
		}
		n := len(doc) / 128
		if ix.DocLen(pid) != n {
			t.Fatalf("pid %d: doclen %d, want %d", pid, ix.DocLen(pid), n)
		}
		codes := make([]int32, n)
		packed := make([]byte, n*codec.PackedSize())
		codec.Compress(doc, 1, codes, packed)
		if !slices.Equal(codes, ix.Codes(pid)) || !bytes.Equal(packed, ix.Residuals(pid)) {
			t.Fatalf("pid %d: stored codes/residuals differ from compressing the input", pid)
		}
		rec, err := ix.Decompress(pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < n; j++ {
			var dot float64
			for d := 0; d < 128; d++ {
				dot += float64(rec[j*128+d]) * float64(doc[j*128+d])
			}
			minCos = min(minCos, dot)
		}
		for _, c := range codes {
			if _, found := slices.BinarySearch(ix.IVF(int(c)), int32(pid)); !found {
				t.Fatalf("pid %d has code %d but is not in its IVF list", pid, c)
			}
		}
	}
	// Every IVF entry is justified and lists are sorted and unique.
	var entries int
	for c := 0; c < ix.NumCentroids(); c++ {
		l := ix.IVF(c)
		if !sort.SliceIsSorted(l, func(a, b int) bool { return l[a] < l[b] }) {
			t.Fatalf("IVF list %d unsorted", c)
		}
		for i, p := range l {
			if i > 0 && l[i-1] == p {
				t.Fatalf("IVF list %d repeats pid %d", c, p)
			}
			if !slices.Contains(ix.Codes(int(p)), int32(c)) {
				t.Fatalf("IVF list %d holds pid %d without such a code", c, p)
			}
		}
		entries += len(l)
	}
	if entries == 0 {
		t.Fatal("empty IVF")
	}
	// Worst-case cosine of a reconstruction: loose, per nbits.
	floor := map[int]float64{1: 0.6, 2: 0.75, 4: 0.9}[ix.NBits()]
	if minCos < floor {
		t.Fatalf("%d bits: worst reconstruction cosine %.3f < %.2f", ix.NBits(), minCos, floor)
	}
}

func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestResumeIsByteIdentical(t *testing.T) {
	src := newSource(300, 50, 2, "p")
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	buildT(t, ref, src, testOpts)
	want := dirFiles(t, ref)

	// Embed calls: the sample (one per passage here, no Picker) comes first,
	// then 4 per chunk. Cancel inside training and inside chunk 3.
	for _, cancelAt := range []int64{5, 300 + 4*2 + 2} {
		dir := filepath.Join(root, fmt.Sprintf("cut%d", cancelAt))
		ctx, cancel := context.WithCancel(context.Background())
		cut := &memSource{ids: src.ids, docs: src.docs}
		cut.onEmbed = func(c int64) {
			if c == cancelAt {
				cancel()
			}
		}
		if _, err := Build(ctx, dir, cut, testOpts, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel at call %d: err %v, want context.Canceled", cancelAt, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("interrupted build published %s", dir)
		}
		if _, err := Open(dir, OpenOptions{}); err == nil {
			t.Fatal("opened an unfinished index")
		}
		again := &memSource{ids: src.ids, docs: src.docs}
		buildT(t, dir, again, testOpts)
		if cancelAt > 300 && again.calls.Load() >= 300+4*5 {
			t.Fatalf("resume re-embedded everything (%d Embed calls)", again.calls.Load())
		}
		got := dirFiles(t, dir)
		if len(got) != len(want) {
			t.Fatalf("resumed index has files %v, want %v", keys(got), keys(want))
		}
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Fatalf("cancel at %d: file %s differs after resume", cancelAt, name)
			}
		}
	}
	if _, err := Build(context.Background(), ref, src, testOpts, nil); err == nil {
		t.Fatal("Build over an existing index without Overwrite succeeded")
	}

	// A changed option must not reuse the interrupted state: interrupt a
	// 2-bit build, resume with 4 bits, compare with a fresh 4-bit build.
	opt4 := testOpts
	opt4.NBits = 4
	fresh := filepath.Join(root, "fresh4")
	buildT(t, fresh, src, opt4)
	dir := filepath.Join(root, "switched")
	ctx, cancel := context.WithCancel(context.Background())
	cut := &memSource{ids: src.ids, docs: src.docs, onEmbed: func(c int64) {
		if c == 300+4*3 {
			cancel()
		}
	}}
	if _, err := Build(ctx, dir, cut, testOpts, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted build: %v", err)
	}
	buildT(t, dir, src, opt4)
	a, b := dirFiles(t, fresh), dirFiles(t, dir)
	for name, want := range a {
		if !bytes.Equal(b[name], want) {
			t.Fatalf("after switching nbits, %s differs from a fresh build", name)
		}
	}
}

// pickSource adds Picker to memSource: the index must not depend on which
// way the sample is embedded.
type pickSource struct{ *memSource }

func (p pickSource) EmbedPIDs(ctx context.Context, pids []int) ([][]float32, error) {
	out := make([][]float32, len(pids))
	for i, q := range pids {
		out[i] = p.docs[q]
	}
	return out, nil
}

func TestPickerGivesSameIndex(t *testing.T) {
	src := newSource(200, 40, 13, "k")
	root := t.TempDir()
	buildT(t, filepath.Join(root, "a"), src, testOpts)
	ps := pickSource{&memSource{ids: src.ids, docs: src.docs}}
	buildT(t, filepath.Join(root, "b"), ps, testOpts)
	if calls := ps.calls.Load(); calls != 3*4+1 { // chunks of 64,64,64,8 passages in batches of 16
		t.Fatalf("%d Embed calls with a Picker, want 13 (chunks only)", calls)
	}
	a, b := dirFiles(t, filepath.Join(root, "a")), dirFiles(t, filepath.Join(root, "b"))
	for name, want := range a {
		if !bytes.Equal(b[name], want) {
			t.Fatalf("%s differs between Embed and EmbedPIDs sampling", name)
		}
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func TestOpenRefusesBadDirectories(t *testing.T) {
	src := newSource(120, 30, 3, "x")
	root := t.TempDir()
	good := filepath.Join(root, "good")
	buildT(t, good, src, testOpts)
	files := dirFiles(t, good)

	variant := func(name string, edit func(dir string)) string {
		dir := filepath.Join(root, name)
		os.MkdirAll(dir, 0o755)
		for n, b := range files {
			os.WriteFile(filepath.Join(dir, n), b, 0o644)
		}
		edit(dir)
		return dir
	}
	flip := func(file string, at int) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, file)
			b, _ := os.ReadFile(p)
			b[at%len(b)] ^= 0x40
			os.WriteFile(p, b, 0o644)
		}
	}
	cases := []struct {
		name, wantErr string
		edit          func(string)
		skipVerifyOK  bool
	}{
		{"flipped-residual", "checksum", flip("chunk.00001.residuals", 77), true},
		{"flipped-codes", "checksum", flip("chunk.00000.codes", 3), false}, // code out of range even unverified
		{"truncated", "size", func(d string) {
			os.Truncate(filepath.Join(d, "chunk.00000.residuals"), 100)
		}, false},
		{"missing-file", "no such file", func(d string) { os.Remove(filepath.Join(d, "centroids.f32")) }, false},
		{"no-manifest", "not a colbert-go index", func(d string) { os.Remove(filepath.Join(d, ManifestName)) }, false},
		{"foreign", "foreign format", func(d string) {
			os.WriteFile(filepath.Join(d, ManifestName), []byte(`{"format":"plaid","version":1}`), 0o644)
		}, false},
		{"newer", "not supported", func(d string) {
			b := files[ManifestName]
			b = bytes.Replace(b, []byte(`"version": 1`), []byte(`"version": 99`), 1)
			os.WriteFile(filepath.Join(d, ManifestName), b, 0o644)
		}, false},
		{"garbage-manifest", "not a colbert-go manifest", func(d string) {
			os.WriteFile(filepath.Join(d, ManifestName), []byte("PK\x03\x04"), 0o644)
		}, false},
	}
	for _, c := range cases {
		dir := variant(c.name, c.edit)
		_, err := Open(dir, OpenOptions{})
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: Open error %v, want one mentioning %q", c.name, err, c.wantErr)
		}
		ix, err := Open(dir, OpenOptions{SkipVerify: true})
		if c.skipVerifyOK != (err == nil) {
			t.Errorf("%s with SkipVerify: error %v (want success %v)", c.name, err, c.skipVerifyOK)
		}
		if ix != nil {
			ix.Close()
		}
	}
}

func TestAppendAndDelete(t *testing.T) {
	first := newSource(150, 40, 4, "a")
	more := newSource(90, 40, 5, "b")
	dir := filepath.Join(t.TempDir(), "idx")
	buildT(t, dir, first, testOpts)
	before, _ := Open(dir, OpenOptions{})
	oldIVF := before.Manifest().IVF

	m, err := Append(context.Background(), dir, more, AppendOptions{ChunkSize: 40, EmbedBatch: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumPassages != 240 || m.Generation != 1 {
		t.Fatalf("after append: %d passages, generation %d", m.NumPassages, m.Generation)
	}
	if _, err := os.Stat(filepath.Join(dir, oldIVF)); !os.IsNotExist(err) {
		t.Fatalf("old IVF %s not removed", oldIVF)
	}
	// The reader opened before the append still sees its snapshot.
	if before.NumPassages() != 150 || len(before.IVF(0)) > 150 {
		t.Fatal("open reader changed by append")
	}
	before.Close()
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, ix, first, 0)
	checkIndex(t, ix, more, 150)
	ix.Close()

	if _, err := Append(context.Background(), dir, newSource(3, 5, 6, "a"), AppendOptions{}, nil); err == nil || !strings.Contains(err.Error(), `"a0"`) {
		t.Fatalf("duplicate id append: %v", err)
	}
	if _, err := Delete(dir, []string{"a3", "b10", "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("delete of unknown id: %v", err)
	}
	if _, err := Delete(dir, []string{"a3", "a3"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("delete of a repeated id: %v", err)
	}
	if _, err := Delete(dir, []string{"a3", "b10"}); err != nil {
		t.Fatal(err)
	}
	m, err = Delete(dir, []string{"a4"})
	if err != nil {
		t.Fatal(err)
	}
	if m.NumDeleted != 3 {
		t.Fatalf("NumDeleted %d, want 3", m.NumDeleted)
	}
	// Re-adding a deleted id is allowed and gets a new pid.
	readd := &memSource{ids: []string{"a3"}, docs: [][]float32{first.docs[3]}}
	if _, err := Append(context.Background(), dir, readd, AppendOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for _, p := range []int{3, 4, 150 + 10} {
		if !ix.Deleted(p) {
			t.Errorf("pid %d not tombstoned", p)
		}
	}
	if p, ok := ix.PID("a3"); !ok || p != 240 || ix.Deleted(240) {
		t.Fatalf("re-added a3 at pid %d (%v), want live pid 240", p, ok)
	}
	if _, ok := ix.PID("a4"); ok {
		t.Fatal("deleted id still resolves")
	}
	if ix.NumLive() != 238 {
		t.Fatalf("NumLive %d, want 238", ix.NumLive())
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if _, listed := ix.Manifest().Files[e.Name()]; !listed && e.Name() != ManifestName && e.Name() != diskfile.UpdateLockName {
			t.Errorf("stray file %s after updates", e.Name())
		}
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	bad := newSource(40, 10, 7, "z")
	if len(bad.docs[33]) == 0 { // before the slice, which would panic
		t.Skip("passage 33 happens to be empty")
	}
	bad.docs[33] = bad.docs[33][:len(bad.docs[33])-1]
	opt := testOpts
	opt.SamplePassages = 1 // keep the ragged passage out of the sample
	if _, err := Build(context.Background(), dir, bad, opt, nil); err == nil || !strings.Contains(err.Error(), `"z33"`) {
		t.Fatalf("ragged embedding: %v", err)
	}
	if _, err := Build(context.Background(), dir, &memSource{}, testOpts, nil); err == nil {
		t.Fatal("empty collection accepted")
	}
	opt = testOpts
	opt.NBits = 3
	if _, err := Build(context.Background(), dir, newSource(5, 5, 8, "q"), opt, nil); err == nil {
		t.Fatal("nbits 3 accepted")
	}
}

// TestBytesPerToken checks the size targets at dim 128 on a real build.
func TestBytesPerToken(t *testing.T) {
	src := newSource(200, 60, 9, "s")
	for nbits, limit := range map[int]float64{1: 20, 2: 36, 4: 68} {
		dir := filepath.Join(t.TempDir(), "idx")
		opt := testOpts
		opt.NBits = nbits
		m := buildT(t, dir, src, opt)
		var codesRes int64
		for i := range m.Chunks {
			f := chunkFiles(i)
			codesRes += m.Files[f[0]].Size + m.Files[f[1]].Size
		}
		bpt := float64(codesRes) / float64(m.NumEmbeddings)
		if math.Abs(bpt-limit) > 1e-9 {
			t.Errorf("%d bits: %.2f bytes/token for codes+residuals, want %.0f", nbits, bpt, limit)
		}
	}
}

func TestDefaultCentroidRule(t *testing.T) {
	src := newSource(150, 40, 10, "r")
	opt := testOpts
	opt.NumCentroids = 0
	opt.SamplePassages = 60
	m := buildT(t, filepath.Join(t.TempDir(), "idx"), src, opt)
	want := kmeans.NumCentroids(int(m.Build.AvgDocLen * 150))
	if m.NumCentroids != want || m.Build.SamplePassages != 60 {
		t.Fatalf("K = %d (want 2^floor(log2(16·sqrt(%.1f·150))) = %d), sample %d passages", m.NumCentroids, m.Build.AvgDocLen, want, m.Build.SamplePassages)
	}
	if m.Build.HeldOut != max(1, kmeans.HeldOut(m.Build.SampleVectors)) || m.Build.TrainPoints != m.Build.SampleVectors-m.Build.HeldOut {
		t.Fatalf("held out %d / trained on %d of %d sample vectors", m.Build.HeldOut, m.Build.TrainPoints, m.Build.SampleVectors)
	}
}

func TestStat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	m := buildT(t, dir, newSource(100, 30, 12, "s"), testOpts)
	s, err := Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	var disk int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, _ := e.Info()
		disk += fi.Size()
	}
	if s.TotalBytes != disk {
		t.Fatalf("Stat total %d, files on disk %d", s.TotalBytes, disk)
	}
	if s.CodeBytesPerToken != 36 || s.Bytes["codes"] != 4*m.NumEmbeddings {
		t.Fatalf("code bytes/token %g, codes %d bytes for %d tokens", s.CodeBytesPerToken, s.Bytes["codes"], m.NumEmbeddings)
	}
	if !strings.Contains(s.String(), "test-ckpt") {
		t.Fatalf("info text lacks the checkpoint:\n%s", s)
	}
	if _, err := Stat(t.TempDir()); err == nil {
		t.Fatal("Stat of an empty directory succeeded")
	}
}

// TestUpdateLock: while another update holds the index's update lock (a
// `colbert index append` in another process, say), Append, Delete and
// SetMetadata are refused with ErrUpdating and change nothing; once it is
// released they run.
func TestUpdateLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	buildT(t, dir, newSource(60, 40, 4, "a"), testOpts)
	release, err := disk.LockUpdate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := Append(ctx, dir, newSource(5, 40, 5, "b"), AppendOptions{}, nil); !errors.Is(err, ErrUpdating) {
		t.Errorf("append during another update: %v", err)
	}
	if _, err := Delete(dir, []string{"a1"}); !errors.Is(err, ErrUpdating) || !strings.Contains(err.Error(), dir) {
		t.Errorf("delete during another update: %v", err)
	}
	if _, err := SetMetadata(ctx, dir, func(string) map[string]any { return nil }); !errors.Is(err, ErrUpdating) {
		t.Errorf("metadata during another update: %v", err)
	}
	ix, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := ix.Manifest().Generation; g != 0 {
		t.Errorf("refused updates changed the index: generation %d", g)
	}
	ix.Close()
	release()
	if _, err := Delete(dir, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Append(ctx, dir, newSource(5, 40, 5, "b"), AppendOptions{}, nil); err != nil {
		t.Fatal(err)
	}
}
