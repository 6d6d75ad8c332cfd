package sparse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/data/progress"
)

// Source gives the already-encoded sparse vectors of a collection (a SPLADE
// encoder's output, or a file of them).
type Source interface {
	// NumPassages is the number of passages.
	NumPassages() int
	// ID is passage i's string id (unique within the index).
	ID(i int) string
	// Vector is passage i's sparse vector. The index copies what it needs:
	// the source may reuse the slices on the next call.
	Vector(i int) (Vector, error)
}

// Defaults of BuildOptions.
const DefaultChunkSize = 25000

// BuildOptions configures Build; zero fields take the defaults.
type BuildOptions struct {
	// VocabSize is the encoder's vocabulary size (required): term ids are
	// 0…VocabSize−1.
	VocabSize int
	// Checkpoint identifies the encoder (a hash); stored in the manifest so
	// search can refuse a different one.
	Checkpoint string
	// ChunkSize is the number of passages per chunk (the unit of resume).
	ChunkSize int
	// BlockSize is the number of postings per block-max block
	// (DefaultBlockSize).
	BlockSize int
	// Overwrite replaces an existing index at the destination.
	Overwrite bool
}

func (o *BuildOptions) fill() {
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
}

// plan is what a resumed build must agree on with the interrupted one; it
// is stored in the temporary directory. IDs is a SHA-256 over the passage
// ids in order; Probe one over the vectors of each chunk's first passage
// and of the last passage (a cheap check that the vectors did not change,
// e.g. re-encoded with another model, without reading them all again).
type plan struct {
	Passages   int    `json:"passages"`
	VocabSize  int    `json:"vocab_size"`
	Checkpoint string `json:"checkpoint"`
	ChunkSize  int    `json:"chunk_size"`
	BlockSize  int    `json:"block_size"`
	IDs        string `json:"ids_sha256"`
	Probe      string `json:"probe_sha256"`
}

// Build writes a new index for src into dir. The work happens in
// dir+".building", chunk by chunk, and is renamed into place at the end. If
// the build is interrupted (context cancelled, process killed), calling
// Build again with the same source and options resumes after the last
// finished chunk and gives the same bytes as an uninterrupted build. If the
// source or the options changed (passage count or ids, the probed vectors,
// vocabulary, chunk or block size, checkpoint), the unfinished build is
// discarded and Build starts afresh: it never mixes two inputs.
//
// The quantisation scale is MaxWeight/255 over all passages built, so the
// postings are written only after every chunk is: the chunks keep float32
// weights until then.
func Build(ctx context.Context, dir string, src Source, opt BuildOptions, bar *progress.Bar) (*Manifest, error) {
	opt.fill()
	if err := checkBuild(src, opt); err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err == nil && !opt.Overwrite {
		return nil, fmt.Errorf("sparse: %s already exists (use overwrite)", dir)
	}
	want, err := wantPlan(src, opt)
	if err != nil {
		return nil, err
	}
	tmp := diskfile.BuildingDir(dir)
	if !resumable(tmp, want) {
		if err := os.RemoveAll(tmp); err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return nil, fmt.Errorf("sparse: %w", err)
		}
		pb, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			return nil, err
		}
		if _, err := disk.WriteFile(filepath.Join(tmp, diskfile.PlanFile), pb); err != nil {
			return nil, err
		}
	}
	n := src.NumPassages()
	bar.SetTotal(int64(n))
	nchunks := (n + opt.ChunkSize - 1) / opt.ChunkSize
	m := &Manifest{Format: Format, Version: Version, Checkpoint: opt.Checkpoint, VocabSize: opt.VocabSize,
		BlockSize: opt.BlockSize, ChunkSize: opt.ChunkSize, NumPassages: n, Postings: postingsName(0),
		Files: map[string]FileInfo{}}
	for ci := 0; ci < nchunks; ci++ {
		lo, hi := ci*opt.ChunkSize, min(n, (ci+1)*opt.ChunkSize)
		mk, ok := chunkDone(tmp, ci, lo, hi)
		if ok {
			bar.Add(int64(hi - lo))
		} else if mk, err = writeChunk(ctx, tmp, ci, lo, src, lo, hi, opt.VocabSize, bar); err != nil {
			return nil, err
		}
		m.Chunks = append(m.Chunks, mk.Chunk)
		m.NumPostings += mk.Chunk.Postings
		m.MaxWeight = max(m.MaxWeight, mk.MaxWeight)
		m.Files[idsName(ci)] = mk.Files[idsName(ci)]
	}
	if m.MaxWeight == 0 {
		m.MaxWeight = 1 // no postings at all: any scale will do until an append
	}
	m.Scale = scaleFor(m.MaxWeight)
	fwd, unmap, err := mapForward(tmp, m.Chunks, 0)
	if err != nil {
		return nil, err
	}
	st, err := writePostings(ctx, tmp, m.Postings, m.VocabSize, m.BlockSize, m.Scale, nil, fwd)
	unmap()
	if err != nil {
		return nil, err
	}
	m.NumBlocks, m.Clamped = st.blocks, st.clamped
	for k, v := range st.files {
		m.Files[k] = v
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("sparse: internal error, built manifest invalid: %w", err)
	}
	if err := commitDir(tmp, dir, m, nchunks, opt.Overwrite); err != nil {
		return nil, err
	}
	return m, nil
}

// checkBuild rejects options and sources no index can be built from.
func checkBuild(src Source, opt BuildOptions) error {
	if !diskfile.HostLittleEndian {
		return errors.New("sparse: big-endian hosts are not supported")
	}
	if opt.VocabSize <= 0 || opt.VocabSize > maxVocab {
		return fmt.Errorf("sparse: vocabulary size must be 1…%d, got %d", maxVocab, opt.VocabSize)
	}
	if opt.ChunkSize < 0 {
		return fmt.Errorf("sparse: chunk size %d must be positive", opt.ChunkSize)
	}
	if opt.BlockSize < 0 || opt.BlockSize > 1<<16 {
		return fmt.Errorf("sparse: block size must be 1…%d, got %d", 1<<16, opt.BlockSize)
	}
	n := src.NumPassages()
	if n == 0 {
		return errors.New("sparse: empty collection")
	}
	if n > maxPassages {
		return fmt.Errorf("sparse: %d passages, at most %d", n, maxPassages)
	}
	seen := make(map[string]int, n)
	for i := 0; i < n; i++ {
		id := src.ID(i)
		if j, dup := seen[id]; dup {
			return fmt.Errorf("sparse: passage id %q at %d and %d", id, j, i)
		}
		seen[id] = i
	}
	return nil
}

// maxPassages keeps pids within uint32 postings and int32 filters.
const maxPassages = 1<<31 - 1

// wantPlan is the plan a build of src with opt must agree on.
func wantPlan(src Source, opt BuildOptions) (plan, error) {
	n := src.NumPassages()
	h := sha256.New()
	var buf []byte
	for i := 0; i < n; i++ {
		buf = diskfile.AppendID(buf[:0], src.ID(i))
		h.Write(buf)
	}
	p := plan{Passages: n, VocabSize: opt.VocabSize, Checkpoint: opt.Checkpoint, ChunkSize: opt.ChunkSize,
		BlockSize: opt.BlockSize, IDs: hex.EncodeToString(h.Sum(nil))}
	h.Reset()
	for i := 0; i < n; i += opt.ChunkSize {
		if err := probe(h, src, i); err != nil {
			return p, err
		}
	}
	if err := probe(h, src, n-1); err != nil {
		return p, err
	}
	p.Probe = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

func probe(h interface{ Write([]byte) (int, error) }, src Source, i int) error {
	v, err := src.Vector(i)
	if err != nil {
		return fmt.Errorf("sparse: passage %q: %w", src.ID(i), err)
	}
	h.Write([]byte(fmt.Sprintf("%d:%d;", i, len(v.Terms))))
	h.Write(diskfile.I32Bytes(v.Terms))
	h.Write(diskfile.F32Bytes(v.Weights))
	return nil
}

// resumable reports whether tmp holds an unfinished build of the same plan.
func resumable(tmp string, want plan) bool {
	b, err := os.ReadFile(filepath.Join(tmp, diskfile.PlanFile))
	if err != nil {
		return false
	}
	var got plan
	return json.Unmarshal(b, &got) == nil && reflect.DeepEqual(got, want)
}

// chunkMarker is written after a chunk's files are committed.
type chunkMarker struct {
	Chunk     ChunkInfo           `json:"chunk"`
	MaxWeight float32             `json:"max_weight"`
	Files     map[string]FileInfo `json:"files"`
}

// chunkFileNames are the forward files and the ids file of chunk ci.
func chunkFileNames(ci int) []string {
	f := forwardFiles(ci)
	return []string{f[0], f[1], f[2], idsName(ci)}
}

// chunkDone reads a finished chunk of an interrupted build whose files are
// intact (sizes and checksums verified).
func chunkDone(tmp string, ci, lo, hi int) (chunkMarker, bool) {
	b, err := os.ReadFile(filepath.Join(tmp, diskfile.MarkerName(ci)))
	if err != nil {
		return chunkMarker{}, false
	}
	var mk chunkMarker
	if json.Unmarshal(b, &mk) != nil || mk.Chunk.FirstPID != lo || mk.Chunk.Passages != hi-lo || len(mk.Files) != 4 {
		return chunkMarker{}, false
	}
	if !disk.Intact(tmp, chunkFileNames(ci), mk.Files, false) {
		return chunkMarker{}, false
	}
	return mk, true
}

// writeChunk writes source passages srcLo…srcHi−1 as chunk ci, whose first
// pid is firstPID, into dir: forward files with the float32 weights, the ids
// file and the marker. Every vector is validated against the vocabulary.
func writeChunk(ctx context.Context, dir string, ci, firstPID int, src Source, srcLo, srcHi, vocab int, bar *progress.Bar) (chunkMarker, error) {
	g, err := disk.CreateGroup(dir, chunkFileNames(ci)...)
	if err != nil {
		return chunkMarker{}, err
	}
	mk := chunkMarker{Chunk: ChunkInfo{FirstPID: firstPID, Passages: srcHi - srcLo}}
	const batch = 256 // passages per write and per context check
	var lens []uint32
	var terms []int32
	var weights []float32
	var idbuf []byte
	for b := srcLo; b < srcHi; b += batch {
		if err := ctx.Err(); err != nil {
			g.Abort()
			return mk, err
		}
		lens, terms, weights, idbuf = lens[:0], terms[:0], weights[:0], idbuf[:0]
		e := min(srcHi, b+batch)
		for i := b; i < e; i++ {
			v, err := src.Vector(i)
			if err == nil {
				err = v.Validate(vocab)
			}
			if err != nil {
				g.Abort()
				return mk, fmt.Errorf("sparse: passage %q: %w", src.ID(i), err)
			}
			lens = append(lens, uint32(len(v.Terms)))
			terms = append(terms, v.Terms...)
			weights = append(weights, v.Weights...)
			for _, w := range v.Weights {
				mk.MaxWeight = max(mk.MaxWeight, w)
			}
			idbuf = diskfile.AppendID(idbuf, src.ID(i))
		}
		if err := g.WriteEach(diskfile.U32Bytes(lens), diskfile.I32Bytes(terms), diskfile.F32Bytes(weights), idbuf); err != nil {
			g.Abort()
			return mk, err
		}
		mk.Chunk.Postings += int64(len(terms))
		bar.Add(int64(e - b))
	}
	if mk.Files, err = g.Commit(); err != nil {
		return mk, err
	}
	mb, err := json.Marshal(mk)
	if err != nil {
		return mk, err
	}
	if _, err := disk.WriteFile(filepath.Join(dir, diskfile.MarkerName(ci)), mb); err != nil {
		return mk, err
	}
	return mk, nil
}

// mapForward maps the forward files of chunks[from:] (chunk indexes from…)
// and checks their sizes against the chunk counts; unmap releases them.
func mapForward(dir string, chunks []ChunkInfo, from int) ([]fwdChunk, func(), error) {
	maps := disk.Maps(dir)
	unmap := func() { maps.Close() }
	var out []fwdChunk
	for ci := from; ci < len(chunks); ci++ {
		c := chunks[ci]
		f := forwardFiles(ci)
		var b [3][]byte
		for j, name := range f {
			var err error
			if b[j], err = maps.Map(name); err != nil {
				unmap()
				return nil, nil, err
			}
		}
		fc := fwdChunk{firstPID: c.FirstPID, lens: diskfile.Uint32s(b[0]), terms: diskfile.Uint32s(b[1]), weights: diskfile.Float32s(b[2])}
		var sum int64
		for _, l := range fc.lens {
			sum += int64(l)
		}
		if len(fc.lens) != c.Passages || sum != c.Postings || int64(len(fc.terms)) != sum || int64(len(fc.weights)) != sum {
			unmap()
			return nil, nil, fmt.Errorf("sparse: %s: chunk %d's forward files do not hold its %d passages / %d postings", dir, ci, c.Passages, c.Postings)
		}
		out = append(out, fc)
	}
	return out, unmap, nil
}

// commitDir commits the building directory tmp as the index dir with its
// manifest m (diskfile's CommitDir), removing the markers and forward
// files of its nchunks chunks.
func commitDir(tmp, dir string, m *Manifest, nchunks int, overwrite bool) error {
	var scratch []string
	for ci := 0; ci < nchunks; ci++ {
		f := forwardFiles(ci)
		scratch = append(scratch, diskfile.MarkerName(ci), f[0], f[1], f[2])
	}
	return disk.CommitDir(tmp, dir, m, scratch, overwrite, nil)
}
