package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"syscall"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/codec/kmeans"
	"github.com/colbert-go/colbert/codec/residual"
	"github.com/colbert-go/colbert/data/progress"
)

// Source streams the per-passage token embeddings of a collection (already
// L2-normalised, skiplisted tokens already dropped), typically an encoder
// over a passage file.
type Source interface {
	// Len is the number of passages.
	Len() int
	// ID is passage i's string id (unique within the index).
	ID(i int) string
	// Embed returns the embeddings of passages start…end−1, one flat
	// ntokens×dim row-major slice per passage. The index copies what it
	// needs: the source may reuse the slices on the next call.
	Embed(ctx context.Context, start, end int) ([][]float32, error)
}

// Picker is optionally implemented by sources that can embed arbitrary
// passages in one call (an encoder batches them); Build uses it to embed the
// random training sample, else it calls Embed once per sampled passage.
type Picker interface {
	EmbedPIDs(ctx context.Context, pids []int) ([][]float32, error)
}

// Defaults of BuildOptions.
const (
	DefaultNBits        = 2
	DefaultDim          = 128
	DefaultKMeansIters  = residual.DefaultTrainIters
	DefaultChunkSize    = 25000
	DefaultEmbedBatch   = 256
	DefaultSampleBudget = 160 << 20
	DefaultSeed         = 123 // the seed [SF] gives faiss
)

// BuildOptions configures Build; zero fields take the defaults above.
type BuildOptions struct {
	Dim, NBits int
	// Checkpoint identifies the model that made the embeddings (a hash);
	// stored in the manifest so search can refuse a different encoder.
	Checkpoint string
	// SamplePassages overrides ColBERTv2's min(1+16·sqrt(120·N), N).
	SamplePassages int
	// SampleBudget caps the bytes of float32 sample vectors held for
	// k-means (the only part of the build that grows with the collection
	// beyond the output). [SF] has no cap; at ≤256·K points per centroid
	// the cap only binds for very large collections.
	SampleBudget int64
	// NumCentroids overrides 2^floor(log2(16·sqrt(avgdoclen·N))).
	NumCentroids int
	KMeansIters  int
	// ChunkSize is the number of passages per chunk (the unit of resume).
	ChunkSize int
	// EmbedBatch is the number of passages per Source.Embed call.
	EmbedBatch int
	Threads    int
	// Seed drives sampling and k-means; set it explicitly (DefaultSeed is
	// [SF]'s value; 0 is a valid seed).
	Seed uint64
	// Overwrite replaces an existing index at the destination.
	Overwrite bool
	// Meta, when set, gives each passage's metadata fields: Build then
	// stores a metadata database (codec/metadb) with a row per passage,
	// committed with the index. Not part of the plan: a resumed build
	// rewrites it.
	Meta MetaFunc
	// PoolFactor > 1 pools each passage's token vectors into
	// max(1, n/PoolFactor) cluster means (codec/pool, Ward linkage) before
	// k-means and compression; 0 and 1 store every token. Recorded in the
	// manifest (and used again by Append).
	PoolFactor int
}

func (o *BuildOptions) fill() {
	if o.Dim == 0 {
		o.Dim = DefaultDim
	}
	if o.NBits == 0 {
		o.NBits = DefaultNBits
	}
	if o.SampleBudget == 0 {
		o.SampleBudget = DefaultSampleBudget
	}
	if o.KMeansIters == 0 {
		o.KMeansIters = DefaultKMeansIters
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.EmbedBatch == 0 {
		o.EmbedBatch = DefaultEmbedBatch
	}
	if o.Threads <= 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if o.PoolFactor == 1 {
		o.PoolFactor = 0 // identity: the same bytes as no pooling
	}
}

// plan is what a resumed build must agree on with the interrupted one; it is
// stored in the temporary directory with the trained codec's files.
type plan struct {
	Passages       int    `json:"passages"`
	Dim            int    `json:"dim"`
	NBits          int    `json:"nbits"`
	Checkpoint     string `json:"checkpoint"`
	SamplePassages int    `json:"sample_passages"`
	SampleBudget   int64  `json:"sample_budget"`
	NumCentroids   int    `json:"num_centroids"`
	KMeansIters    int    `json:"kmeans_iters"`
	ChunkSize      int    `json:"chunk_size"`
	EmbedBatch     int    `json:"embed_batch"`
	Seed           uint64 `json:"seed"`
	PoolFactor     int    `json:"pool_factor,omitempty"`
	PoolKeep       int    `json:"pool_keep,omitempty"`
	// IDs is idsDigest of the collection; Meta is the caller's (the CLI
	// keeps what a worker needs to rebuild the Source).
	IDs   string              `json:"ids_sha256"`
	Meta  map[string]string   `json:"meta,omitempty"`
	Build BuildInfo           `json:"build"`
	K     int                 `json:"k"`
	Files map[string]FileInfo `json:"files"`
}

// Build writes a new index for src into dir. The work happens in
// dir+".building" and is renamed into place at the end; if the build is
// interrupted (context cancelled, process killed), calling Build again with
// the same options resumes after the last finished chunk and produces the
// same bytes as an uninterrupted build. Build is WritePlan, EncodePart 0/1
// and Merge run in one directory, so a build split into parts gives the
// same bytes.
func Build(ctx context.Context, dir string, src Source, opt BuildOptions, bar *progress.Bar) (*Manifest, error) {
	opt.fill()
	if err := checkBuild(src, opt); err != nil {
		return nil, err
	}
	src = poolSource(src, opt.PoolFactor, opt.Dim, opt.Threads)
	n := src.Len()
	if _, err := os.Stat(dir); err == nil && !opt.Overwrite {
		return nil, fmt.Errorf("index: %s already exists (use overwrite)", dir)
	}
	tmp := diskfile.BuildingDir(dir)
	want := wantPlan(src, opt, nil)

	codec, pl, err := resumePlan(tmp, want)
	if err != nil {
		return nil, err
	}
	if codec == nil {
		if err := os.RemoveAll(tmp); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		bar.SetTotal(int64(n) + int64(sampleCount(n, opt)))
		if codec, pl, err = trainPlan(ctx, tmp, src, opt, want, bar); err != nil {
			return nil, err
		}
	} else {
		bar.SetTotal(int64(n))
	}
	nchunks := pl.numChunks()
	if err := encodeChunks(ctx, tmp, src, codec, pl, opt.Threads, 0, nchunks, bar); err != nil {
		return nil, err
	}
	m, err := assemble(ctx, tmp, tmp, pl)
	if err != nil {
		return nil, err
	}
	if opt.Meta != nil {
		if err := createMeta(ctx, tmp, m, 0, metaRows(src, 0, opt.Meta)); err != nil {
			return nil, err
		}
	}
	if err := commitDir(tmp, dir, m, nchunks, opt.Overwrite, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// checkBuild rejects options and sources no index can be built from.
func checkBuild(src Source, opt BuildOptions) error {
	if !diskfile.HostLittleEndian {
		return errors.New("index: big-endian hosts are not supported")
	}
	if opt.NBits != 1 && opt.NBits != 2 && opt.NBits != 4 {
		return fmt.Errorf("index: nbits must be 1, 2 or 4, got %d", opt.NBits)
	}
	if opt.Dim%8 != 0 || opt.Dim <= 0 {
		return fmt.Errorf("index: dim must be a positive multiple of 8, got %d", opt.Dim)
	}
	if opt.PoolFactor < 0 {
		return fmt.Errorf("index: pool factor must be ≥ 0, got %d", opt.PoolFactor)
	}
	if opt.ChunkSize < 0 || opt.EmbedBatch < 0 {
		return fmt.Errorf("index: chunk size %d and embed batch %d must be positive", opt.ChunkSize, opt.EmbedBatch)
	}
	if src.Len() == 0 {
		return errors.New("index: empty collection")
	}
	return nil
}

// wantPlan is the plan a build of src with opt must agree on.
func wantPlan(src Source, opt BuildOptions, meta map[string]string) plan {
	if len(meta) == 0 {
		meta = nil
	}
	p := plan{Passages: src.Len(), IDs: idsDigest(src), Dim: opt.Dim, NBits: opt.NBits, Checkpoint: opt.Checkpoint,
		SamplePassages: opt.SamplePassages, SampleBudget: opt.SampleBudget, NumCentroids: opt.NumCentroids,
		KMeansIters: opt.KMeansIters, ChunkSize: opt.ChunkSize, EmbedBatch: opt.EmbedBatch, Seed: opt.Seed,
		PoolFactor: opt.PoolFactor, Meta: meta}
	if opt.PoolFactor > 1 {
		p.PoolKeep = PoolKeepFirst
	}
	return p
}

// idsDigest is a SHA-256 over the passage ids in order: parts encoded on
// other machines must see the same collection in the same order.
func idsDigest(src Source) string {
	h := sha256.New()
	var buf []byte
	for i := 0; i < src.Len(); i++ {
		buf = diskfile.AppendID(buf[:0], src.ID(i))
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (p plan) numChunks() int { return (p.Passages + p.ChunkSize - 1) / p.ChunkSize }

// buildOptions are the settings the plan fixes, with the caller's threads.
func (p plan) buildOptions(threads int) BuildOptions {
	o := BuildOptions{Dim: p.Dim, NBits: p.NBits, Checkpoint: p.Checkpoint, SamplePassages: p.SamplePassages,
		SampleBudget: p.SampleBudget, NumCentroids: p.NumCentroids, KMeansIters: p.KMeansIters,
		ChunkSize: p.ChunkSize, EmbedBatch: p.EmbedBatch, Seed: p.Seed, Threads: threads, PoolFactor: p.PoolFactor}
	o.fill()
	return o
}

// encodeChunks writes chunks lo…hi−1 of the plan into dir, skipping the
// ones an earlier run finished.
func encodeChunks(ctx context.Context, dir string, src Source, codec *residual.Codec, pl plan, threads, lo, hi int, bar *progress.Bar) error {
	opt := pl.buildOptions(threads)
	for ci := lo; ci < hi; ci++ {
		first, end := ci*opt.ChunkSize, min(pl.Passages, (ci+1)*opt.ChunkSize)
		if _, _, ok := chunkDone(dir, ci, first, end, false); ok {
			bar.Add(int64(end - first))
			continue
		}
		if _, _, err := writeChunk(ctx, dir, ci, first, end, src, codec, opt, bar); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// assemble gathers the plan's finished chunks from from into dir (hard
// links, or copies across file systems, when the two differ), writes the
// IVF there and returns the manifest. Missing chunks are an error.
func assemble(ctx context.Context, from, dir string, pl plan) (*Manifest, error) {
	m := &Manifest{Format: Format, Version: Version, Codec: "residual", NBits: pl.NBits, Dim: pl.Dim,
		Checkpoint: pl.Checkpoint, NumCentroids: pl.K, NumPassages: pl.Passages, IVF: ivfName(0), Build: pl.Build,
		PoolFactor: pl.PoolFactor, PoolKeep: pl.PoolKeep, Files: map[string]FileInfo{}}
	for k, v := range pl.Files {
		m.Files[k] = v
	}
	for ci := 0; ci < pl.numChunks(); ci++ {
		lo, hi := ci*pl.ChunkSize, min(pl.Passages, (ci+1)*pl.ChunkSize)
		info, files, ok := chunkDone(from, ci, lo, hi, false)
		if !ok {
			// Stop at the first gap (the chunk count comes from a file).
			marks, _ := filepath.Glob(filepath.Join(from, "chunk.*.done"))
			return nil, fmt.Errorf("index: %s: chunk %d of %d (passages %d…) not encoded yet, %d chunks done; run the missing encode parts",
				from, ci, pl.numChunks(), lo, len(marks))
		}
		m.Chunks = append(m.Chunks, info)
		m.NumEmbeddings += info.Embeddings
		for k, v := range files {
			m.Files[k] = v
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if from != dir {
		for name, fi := range m.Files {
			if err := linkOrCopy(filepath.Join(from, name), filepath.Join(dir, name), fi); err != nil {
				return nil, err
			}
		}
	}
	fi, err := writeIVF(dir, m, nil)
	if err != nil {
		return nil, err
	}
	m.Files[m.IVF] = fi
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("index: internal error, built manifest invalid: %w", err)
	}
	return m, nil
}

func sampleCount(n int, opt BuildOptions) int {
	if opt.SamplePassages > 0 {
		return min(opt.SamplePassages, n)
	}
	return kmeans.SamplePassages(n)
}

// resumePlan returns the codec of an interrupted build whose plan matches
// want and whose codec files are intact, or nil to start afresh.
func resumePlan(tmp string, want plan) (*residual.Codec, plan, error) {
	b, err := os.ReadFile(filepath.Join(tmp, diskfile.PlanFile))
	if err != nil {
		return nil, plan{}, nil
	}
	var got plan
	if json.Unmarshal(b, &got) != nil {
		return nil, plan{}, nil
	}
	cmp := got
	cmp.Build, cmp.K, cmp.Files = BuildInfo{}, 0, nil
	if !reflect.DeepEqual(cmp, want) {
		return nil, plan{}, nil
	}
	if disk.CheckAll(tmp, got.Files, false) != nil {
		return nil, plan{}, nil
	}
	cb, err1 := os.ReadFile(filepath.Join(tmp, centroidsFile))
	bb, err2 := os.ReadFile(filepath.Join(tmp, bucketsFile))
	if err1 != nil || err2 != nil {
		return nil, plan{}, nil
	}
	nb := 1 << want.NBits
	bv := append([]float32(nil), diskfile.Float32s(bb)...)
	if len(bv) != 2*nb-1+want.Dim || got.K <= 0 || len(cb) != 4*got.K*want.Dim {
		return nil, plan{}, nil
	}
	c, err := residual.New(want.Dim, want.NBits, append([]float32(nil), diskfile.Float32s(cb)...), bv[:nb-1], bv[nb-1:2*nb-1])
	if err != nil {
		return nil, plan{}, nil
	}
	c.AvgResidual = bv[2*nb-1:]
	return c, got, nil
}

// trainPlan embeds a random sample of passages, trains the codec on their
// vectors with residual.Train and writes both with the plan into tmp.
func trainPlan(ctx context.Context, tmp string, src Source, opt BuildOptions, pl plan, bar *progress.Bar) (*residual.Codec, plan, error) {
	n, dim := src.Len(), opt.Dim
	// One generator draws the passages here and the held-out split and
	// subsample in residual.Train: the index files depend on its stream.
	rng := rand.New(rand.NewPCG(opt.Seed, 0x73616d706c65)) // "sample"
	nSample := sampleCount(n, opt)
	perm := rng.Perm(n)[:nSample]
	budget := int(max(1, opt.SampleBudget/int64(4*dim)))
	// The sample lives outside the Go heap (anonymous mmap, pages
	// committed as they are written): the garbage collector then sizes
	// its heap target on the small live heap instead of doubling the
	// sample, which keeps the build's peak RSS ≈ sample + one batch.
	region, err := syscall.Mmap(-1, 0, budget*dim*4, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, pl, fmt.Errorf("index: reserve %d MiB for the k-means sample: %w", budget*dim*4>>20, err)
	}
	defer syscall.Munmap(region)
	sample := diskfile.Float32s(region)[:0]
	taken := 0
	for i := 0; i < len(perm) && len(sample)/dim < budget; i += opt.EmbedBatch {
		pids := perm[i:min(len(perm), i+opt.EmbedBatch)]
		embs, err := embedPIDs(ctx, src, pids)
		if err != nil {
			return nil, pl, err
		}
		for j, e := range embs {
			if len(e)%dim != 0 {
				return nil, pl, fmt.Errorf("index: passage %q: %d values is not a multiple of dim %d", src.ID(pids[j]), len(e), dim)
			}
			if len(sample)/dim >= budget {
				break
			}
			take := min(len(e), budget*dim-len(sample))
			sample = append(sample, e[:take]...)
			taken++
		}
		bar.Add(int64(len(pids)))
	}
	sample = sample[:min(len(sample), budget*dim)]
	nvec := len(sample) / dim
	if nvec < 2 {
		return nil, pl, fmt.Errorf("index: the sample of %d passages has %d vectors, need ≥ 2", taken, nvec)
	}
	avgDoc := float64(nvec) / float64(taken)
	k := opt.NumCentroids
	if k <= 0 {
		// ColBERTv2's rule on the collection's estimated embeddings, not
		// the sample's.
		k = kmeans.NumCentroids(int(avgDoc * float64(n)))
	}
	codec, info, err := residual.Train(ctx, sample, dim, residual.TrainOptions{NBits: opt.NBits, K: k,
		Iters: opt.KMeansIters, Threads: opt.Threads, Seed: opt.Seed, Rand: rng})
	if err != nil {
		return nil, pl, fmt.Errorf("index: codec from %d sampled passages: %w", taken, err)
	}
	pl.K = info.K
	pl.Build = BuildInfo{SamplePassages: taken, SampleVectors: nvec, HeldOut: info.HeldOut, TrainPoints: info.TrainPoints,
		KMeansIters: opt.KMeansIters, Inertia: info.Inertia, Seed: opt.Seed, ChunkSize: opt.ChunkSize, AvgDocLen: avgDoc}
	pl.Files = map[string]FileInfo{}
	if pl.Files[centroidsFile], err = disk.WriteFile(filepath.Join(tmp, centroidsFile), diskfile.F32Bytes(codec.Centroids)); err != nil {
		return nil, pl, err
	}
	bv := append(append(append([]float32(nil), codec.Cutoffs...), codec.Weights...), codec.AvgResidual...)
	if pl.Files[bucketsFile], err = disk.WriteFile(filepath.Join(tmp, bucketsFile), diskfile.F32Bytes(bv)); err != nil {
		return nil, pl, err
	}
	pb, err := json.MarshalIndent(pl, "", "  ")
	if err != nil {
		return nil, pl, err
	}
	if _, err := disk.WriteFile(filepath.Join(tmp, diskfile.PlanFile), pb); err != nil {
		return nil, pl, err
	}
	return codec, pl, nil
}

func embedPIDs(ctx context.Context, src Source, pids []int) ([][]float32, error) {
	if p, ok := src.(Picker); ok {
		e, err := p.EmbedPIDs(ctx, pids)
		if err == nil && len(e) != len(pids) {
			err = fmt.Errorf("index: source returned %d embeddings for %d passages", len(e), len(pids))
		}
		return e, err
	}
	out := make([][]float32, 0, len(pids))
	for _, p := range pids {
		e, err := src.Embed(ctx, p, p+1)
		if err != nil {
			return nil, err
		}
		if len(e) != 1 {
			return nil, fmt.Errorf("index: source returned %d embeddings for 1 passage", len(e))
		}
		out = append(out, append([]float32(nil), e[0]...))
	}
	return out, nil
}

// chunkMarker is written after a chunk's files are committed.
type chunkMarker struct {
	Chunk ChunkInfo           `json:"chunk"`
	Files map[string]FileInfo `json:"files"`
}

// chunkDone reports a finished chunk of an interrupted build whose files
// are intact (checksums verified unless sizesOnly).
func chunkDone(tmp string, ci, lo, hi int, sizesOnly bool) (ChunkInfo, map[string]FileInfo, bool) {
	b, err := os.ReadFile(filepath.Join(tmp, diskfile.MarkerName(ci)))
	if err != nil {
		return ChunkInfo{}, nil, false
	}
	var mk chunkMarker
	if json.Unmarshal(b, &mk) != nil || mk.Chunk.FirstPID != lo || mk.Chunk.Passages != hi-lo || len(mk.Files) != 4 {
		return ChunkInfo{}, nil, false
	}
	names := chunkFiles(ci)
	if !disk.Intact(tmp, names[:], mk.Files, sizesOnly) {
		return ChunkInfo{}, nil, false
	}
	return mk.Chunk, mk.Files, true
}

// writeChunk embeds and compresses passages lo…hi−1 into chunk ci's files,
// streaming batch by batch so memory stays at one batch.
func writeChunk(ctx context.Context, dir string, ci, lo, hi int, src Source, codec *residual.Codec, opt BuildOptions, bar *progress.Bar) (ChunkInfo, map[string]FileInfo, error) {
	names := chunkFiles(ci)
	g, err := disk.CreateGroup(dir, names[:]...)
	if err != nil {
		return ChunkInfo{}, nil, err
	}
	dim, ps := opt.Dim, codec.PackedSize()
	info := ChunkInfo{FirstPID: lo, Passages: hi - lo}
	var flat []float32
	var codes []int32
	var packed, idbuf []byte
	var doclens []uint32
	for b := lo; b < hi; b += opt.EmbedBatch {
		e := min(hi, b+opt.EmbedBatch)
		if err := ctx.Err(); err != nil {
			g.Abort()
			return info, nil, err
		}
		embs, err := src.Embed(ctx, b, e)
		if err == nil && len(embs) != e-b {
			err = fmt.Errorf("index: source returned %d embeddings for passages %d…%d", len(embs), b, e-1)
		}
		if err != nil {
			g.Abort()
			return info, nil, err
		}
		flat, doclens, idbuf = flat[:0], doclens[:0], idbuf[:0]
		for j, v := range embs {
			if len(v)%dim != 0 {
				g.Abort()
				return info, nil, fmt.Errorf("index: passage %q: %d values is not a multiple of dim %d", src.ID(b+j), len(v), dim)
			}
			flat = append(flat, v...)
			doclens = append(doclens, uint32(len(v)/dim))
			idbuf = diskfile.AppendID(idbuf, src.ID(b+j))
		}
		nt := len(flat) / dim
		if cap(codes) < nt {
			codes = make([]int32, nt)
			packed = make([]byte, nt*ps)
		}
		codes, packed = codes[:nt], packed[:nt*ps]
		codec.Compress(flat, opt.Threads, codes, packed)
		if err := g.WriteEach(diskfile.I32Bytes(codes), packed, diskfile.U32Bytes(doclens), idbuf); err != nil {
			g.Abort()
			return info, nil, err
		}
		info.Embeddings += int64(nt)
		bar.Add(int64(e - b))
	}
	files, err := g.Commit()
	if err != nil {
		return info, nil, err
	}
	mb, err := json.Marshal(chunkMarker{Chunk: info, Files: files})
	if err != nil {
		return info, nil, err
	}
	if _, err := disk.WriteFile(filepath.Join(dir, diskfile.MarkerName(ci)), mb); err != nil {
		return info, nil, err
	}
	return info, files, nil
}

// writeIVF writes the IVF for m's chunks into dir under m.IVF. When prev is
// non-nil its lists are reused for the first prevPassages pids and only
// the chunks holding later pids are scanned (append).
func writeIVF(dir string, m *Manifest, prev *ivfPrev) (FileInfo, error) {
	k := m.NumCentroids
	counts := make([]uint64, k)
	last := make([]int32, k)
	startChunk := 0
	if prev != nil {
		for c := 0; c < k; c++ {
			counts[c] = prev.view.offsets[c+1] - prev.view.offsets[c]
		}
		startChunk = prev.chunks
	}
	scan := func(visit func(c int32, pid int32)) error {
		for i := range last {
			last[i] = -1
		}
		for ci := startChunk; ci < len(m.Chunks); ci++ {
			names := chunkFiles(ci)
			cb, err := disk.Map(filepath.Join(dir, names[0]))
			if err != nil {
				return err
			}
			db, err := disk.Map(filepath.Join(dir, names[2]))
			if err != nil {
				diskfile.Unmap(cb)
				return err
			}
			codes, doclens := diskfile.Int32s(cb), diskfile.Uint32s(db)
			pid, tok := int32(m.Chunks[ci].FirstPID), 0
			for _, l := range doclens {
				for _, c := range codes[tok : tok+int(l)] {
					if last[c] != pid {
						last[c] = pid
						visit(c, pid)
					}
				}
				tok += int(l)
				pid++
			}
			diskfile.Unmap(cb)
			diskfile.Unmap(db)
		}
		return nil
	}
	if err := scan(func(c, _ int32) { counts[c]++ }); err != nil {
		return FileInfo{}, err
	}
	offsets := make([]uint64, k+1)
	for c := 0; c < k; c++ {
		offsets[c+1] = offsets[c] + counts[c]
	}
	pids := make([]int32, offsets[k])
	fill := make([]uint64, k)
	copy(fill, offsets[:k])
	if prev != nil {
		for c := 0; c < k; c++ {
			fill[c] += uint64(copy(pids[offsets[c]:], prev.view.pids[prev.view.offsets[c]:prev.view.offsets[c+1]]))
		}
	}
	if err := scan(func(c, pid int32) { pids[fill[c]] = pid; fill[c]++ }); err != nil {
		return FileInfo{}, err
	}
	w, err := disk.Create(filepath.Join(dir, m.IVF))
	if err != nil {
		return FileInfo{}, err
	}
	if _, err := w.Write(diskfile.U64Bytes(offsets)); err != nil {
		w.Abort()
		return FileInfo{}, err
	}
	if _, err := w.Write(diskfile.I32Bytes(pids)); err != nil {
		w.Abort()
		return FileInfo{}, err
	}
	return w.Commit()
}

// ivfPrev is the IVF of an index being appended to, covering its first
// `chunks` chunks.
type ivfPrev struct {
	view   ivfView
	chunks int
}

// commitDir commits the building directory tmp as the index dir with its
// manifest m (diskfile's CommitDir), removing the markers of its nchunks
// chunks. rename is nil (os.Rename) except in tests, which make it fail.
func commitDir(tmp, dir string, m *Manifest, nchunks int, overwrite bool, rename func(oldpath, newpath string) error) error {
	scratch := make([]string, nchunks)
	for ci := range scratch {
		scratch[ci] = diskfile.MarkerName(ci)
	}
	return disk.CommitDir(tmp, dir, m, scratch, overwrite, rename)
}
