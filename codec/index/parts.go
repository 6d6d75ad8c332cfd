package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/codec/residual"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
)

// A build split across machines runs in three steps over one directory on
// shared storage: WritePlan (sample, k-means, buckets: everything before the
// chunks), EncodePart on each of N workers (a contiguous range of chunks
// each, resumable), and Merge (IVF, manifest, checksums). The result is
// byte-identical to Build with the same options, which runs the same code
// in its own ".building" directory.

// PlanInfo describes a plan directory written by WritePlan.
type PlanInfo struct {
	Dir          string
	Passages     int
	Chunks       int
	NumCentroids int
	// Options are the build settings the plan fixes (Threads and
	// Overwrite are left zero: they do not change the bytes).
	Options BuildOptions
	// Meta is what the caller stored with WritePlan.
	Meta map[string]string
	// Encoded lists the chunks whose files are written (sizes checked;
	// Merge verifies the checksums), in order.
	Encoded []int
}

// PartChunks is the range of chunks lo…hi−1 that part (0-based) of nparts
// encodes: contiguous, balanced to within one chunk, empty when nparts
// exceeds the number of chunks.
func (p *PlanInfo) PartChunks(part, nparts int) (lo, hi int) {
	return data.PartRange(p.Chunks, part, nparts)
}

// PartPassages is the range of passages lo…hi−1 of a part.
func (p *PlanInfo) PartPassages(part, nparts int) (lo, hi int) {
	clo, chi := p.PartChunks(part, nparts)
	cs := p.Options.ChunkSize
	return min(p.Passages, clo*cs), min(p.Passages, chi*cs)
}

// WritePlan samples src, trains the centroids and buckets with opt and
// writes them with the plan into dir (created if needed). meta is stored
// as is (e.g. the checkpoint and collection paths workers reopen). Running
// it again with the same inputs keeps the existing plan (and any encoded
// chunks); a dir holding a different plan is refused rather than removed.
func WritePlan(ctx context.Context, dir string, src Source, opt BuildOptions, meta map[string]string, bar *progress.Bar) (*PlanInfo, error) {
	opt.fill()
	if err := checkBuild(src, opt); err != nil {
		return nil, err
	}
	src = poolSource(src, opt.PoolFactor, opt.Dim, opt.Threads)
	want := wantPlan(src, opt, meta)
	if _, err := os.Stat(filepath.Join(dir, diskfile.PlanFile)); err == nil {
		codec, pl, err := resumePlan(dir, want)
		if err != nil {
			return nil, err
		}
		if codec == nil {
			return nil, fmt.Errorf("index: %s holds a different or damaged plan (other collection, model or settings); remove it or choose another directory", dir)
		}
		return planInfo(dir, pl), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	// Chunks left by an earlier, unfinished plan were made with other
	// centroids: they must not be taken for this plan's.
	old, _ := filepath.Glob(filepath.Join(dir, "chunk.*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	bar.SetTotal(int64(sampleCount(src.Len(), opt)))
	_, pl, err := trainPlan(ctx, dir, src, opt, want, bar)
	if err != nil {
		return nil, err
	}
	return planInfo(dir, pl), nil
}

// loadPlan reads and verifies a plan directory.
func loadPlan(dir string) (*residual.Codec, plan, error) {
	b, err := os.ReadFile(filepath.Join(dir, diskfile.PlanFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, plan{}, fmt.Errorf("index: %s is not a plan directory (no %s; run the plan step first)", dir, diskfile.PlanFile)
		}
		return nil, plan{}, fmt.Errorf("index: %w", err)
	}
	var pl plan
	if err := json.Unmarshal(b, &pl); err != nil {
		return nil, plan{}, fmt.Errorf("index: %s: %w", filepath.Join(dir, diskfile.PlanFile), err)
	}
	if pl.Passages <= 0 || pl.Passages > 1<<31-1 || pl.ChunkSize <= 0 || pl.EmbedBatch <= 0 || pl.K <= 0 || pl.K > 1<<28 {
		return nil, plan{}, fmt.Errorf("index: %s: passages %d, chunk size %d, embed batch %d, centroids %d invalid",
			filepath.Join(dir, diskfile.PlanFile), pl.Passages, pl.ChunkSize, pl.EmbedBatch, pl.K)
	}
	want := pl
	want.Build, want.K, want.Files = BuildInfo{}, 0, nil
	codec, got, err := resumePlan(dir, want)
	if err == nil && codec == nil {
		err = fmt.Errorf("index: %s: centroids or buckets missing or damaged (checksums differ from %s)", dir, diskfile.PlanFile)
	}
	return codec, got, err
}

func planInfo(dir string, pl plan) *PlanInfo {
	p := &PlanInfo{Dir: dir, Passages: pl.Passages, Chunks: pl.numChunks(), NumCentroids: pl.K,
		Options: pl.buildOptions(0), Meta: pl.Meta}
	p.Options.Threads = 0
	// Only chunks with a marker can be done: the markers on disk bound
	// the work, not the (file-given) chunk count.
	marks, _ := filepath.Glob(filepath.Join(dir, "chunk.*.done"))
	for _, mk := range marks {
		var ci int
		if _, err := fmt.Sscanf(filepath.Base(mk), "chunk.%05d.done", &ci); err != nil || ci < 0 || ci >= p.Chunks || diskfile.MarkerName(ci) != filepath.Base(mk) {
			continue
		}
		if _, _, ok := chunkDone(dir, ci, ci*pl.ChunkSize, min(pl.Passages, (ci+1)*pl.ChunkSize), true); ok {
			p.Encoded = append(p.Encoded, ci)
		}
	}
	slices.Sort(p.Encoded)
	return p
}

// ReadPlan reads a plan directory and checks which chunks are encoded.
func ReadPlan(dir string) (*PlanInfo, error) {
	_, pl, err := loadPlan(dir)
	if err != nil {
		return nil, err
	}
	return planInfo(dir, pl), nil
}

// EncodePart embeds and compresses part (0-based) of nparts of the plan in
// dir: a contiguous range of chunks, written next to the plan. src must be
// the collection the plan was made from (same ids in the same order); it
// is only asked for the part's passages. Chunks a killed run finished are
// kept, so re-running the same part resumes. Parts may run concurrently.
func EncodePart(ctx context.Context, dir string, src Source, part, nparts, threads int, bar *progress.Bar) error {
	if nparts < 1 || part < 0 || part >= nparts {
		return fmt.Errorf("index: part %d/%d: want 0 ≤ part < nparts", part, nparts)
	}
	codec, pl, err := loadPlan(dir)
	if err != nil {
		return err
	}
	if src.Len() != pl.Passages {
		return fmt.Errorf("index: %s: the plan has %d passages, the collection %d", dir, pl.Passages, src.Len())
	}
	if d := idsDigest(src); d != pl.IDs {
		return fmt.Errorf("index: %s: the collection's passage ids differ from the plan's (other file or order)", dir)
	}
	if threads <= 0 {
		threads = pl.buildOptions(0).Threads
	}
	src = poolSource(src, pl.PoolFactor, pl.Dim, threads)
	lo, hi := data.PartRange(pl.numChunks(), part, nparts)
	bar.SetTotal(int64(min(pl.Passages, hi*pl.ChunkSize) - min(pl.Passages, lo*pl.ChunkSize)))
	return encodeChunks(ctx, dir, src, codec, pl, threads, lo, hi, bar)
}

// Merge assembles the encoded chunks of the plan in planDir into a new
// index in out: chunk files are hard-linked (copied across file systems),
// the IVF and manifest are written, and out appears atomically. It fails,
// naming the first missing chunk, until every part is encoded. The plan
// directory is left intact (remove it once the index is checked).
func Merge(ctx context.Context, planDir, out string, overwrite bool) (*Manifest, error) {
	if !diskfile.HostLittleEndian {
		return nil, errors.New("index: big-endian hosts are not supported")
	}
	_, pl, err := loadPlan(planDir)
	if err != nil {
		return nil, err
	}
	return commitFromPlan(out, planDir, "index", overwrite, func(tmp string) (*Manifest, error) {
		return assemble(ctx, planDir, tmp, pl)
	})
}

// commitFromPlan writes a new index at out from the plan in planDir
// (what is an index or a shard, for messages): it refuses the plan
// directory itself and an existing out without overwrite, assembles into
// out's building directory and commits it, removing it on failure.
func commitFromPlan(out, planDir, what string, overwrite bool, assembleInto func(tmp string) (*Manifest, error)) (*Manifest, error) {
	pa, err1 := filepath.Abs(planDir)
	oa, err2 := filepath.Abs(out)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if pa == oa || pa == diskfile.BuildingDir(oa) {
		return nil, fmt.Errorf("index: the %s %s must not be the plan directory %s", what, out, planDir)
	}
	if _, err := os.Stat(out); err == nil && !overwrite {
		return nil, fmt.Errorf("index: %s already exists (use overwrite)", out)
	}
	tmp := diskfile.BuildingDir(out)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	m, err := assembleInto(tmp)
	if err == nil {
		err = commitDir(tmp, out, m, 0, overwrite, nil)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return m, nil
}

// linkOrCopy makes dst hold src's bytes: a hard link when both are on one
// file system, else a copy whose checksum must match want.
func linkOrCopy(src, dst string, want FileInfo) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	w, err := disk.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.Abort()
		return fmt.Errorf("index: copy %s: %w", src, err)
	}
	fi, err := w.Commit()
	if err != nil {
		return err
	}
	if fi != want {
		os.Remove(dst)
		return fmt.Errorf("index: %s changed while being copied (checksum differs from the plan's)", src)
	}
	return nil
}
