// Package index is colbert-go's on-disk ColBERTv2 index: a directory with a
// versioned JSON manifest and little-endian binary files, built in chunks
// from a stream of passage embeddings (bounded memory, atomic, resumable),
// loaded with mmap, and updatable by appending passages or tombstoning them.
//
// Directory layout (all binary numbers little-endian):
//
//	manifest.json                JSON Manifest: format, version, settings, counts, per-file size + CRC-32C
//	centroids.f32                K×dim float32, unit rows
//	buckets.f32                  2^b−1 cutoffs, 2^b weights, dim average |residual|, float32
//	chunk.NNNNN.codes            int32 centroid id per token
//	chunk.NNNNN.residuals        dim·b/8 bytes per token (bit layout: package residual)
//	chunk.NNNNN.doclens          uint32 token count per passage
//	chunk.NNNNN.ids              per passage: uvarint byte length + the passage's string id
//	ivf.GGGGG.bin                (K+1) uint64 offsets, then uint32 pids: centroid → sorted unique pids
//	tombstones.GGGGG.bin         sorted uint32 deleted pids (absent when nothing is deleted)
//	meta.GGGGG.sqlite            passage metadata, SQLite table meta(pid, id, fields…) (codec/metadb; absent when none)
//
// Internal pids are 0…NumPassages−1 in collection order, then appended
// passages; a tombstoned pid keeps its slot.
package index

import (
	"fmt"
	"regexp"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// Format identifies a colbert-go index manifest; Version is the newest
// layout this package reads and writes.
const (
	Format  = "colbert-go-index"
	Version = 1
	// ManifestName is the manifest's file name inside an index directory.
	ManifestName = diskfile.ManifestName
)

// Manifest describes an index directory. It is the commit point: a file not
// listed here is not part of the index. It holds no timestamps or thread
// counts, so the same inputs and options always give the same bytes.
type Manifest struct {
	Format        string `json:"format"`
	Version       int    `json:"version"`
	Codec         string `json:"codec"` // "residual"
	NBits         int    `json:"nbits"`
	Dim           int    `json:"dim"`
	Checkpoint    string `json:"checkpoint"` // caller-given model hash
	NumCentroids  int    `json:"num_centroids"`
	NumPassages   int    `json:"num_passages"` // including tombstoned ones
	NumDeleted    int    `json:"num_deleted"`
	NumEmbeddings int64  `json:"num_embeddings"`
	// Generation increases with every append or delete.
	Generation int    `json:"generation"`
	IVF        string `json:"ivf"`                  // file name of the current IVF
	Tombstones string `json:"tombstones,omitempty"` // file name, "" when none
	// Metadata is the file name of the passages' metadata database
	// (codec/metadb, table meta keyed by pid), "" when none.
	Metadata string      `json:"metadata,omitempty"`
	Chunks   []ChunkInfo `json:"chunks"`
	Build    BuildInfo   `json:"build"`
	// PoolFactor > 1: each passage's token vectors were pooled into
	// max(1, n/PoolFactor) cluster means before compression (codec/pool);
	// appended passages are pooled the same way.
	PoolFactor int `json:"pool_factor,omitempty"`
	// PoolKeep is the number of leading vectors per passage left unpooled
	// (PoolKeepFirst when PoolFactor > 1).
	PoolKeep int `json:"pool_keep,omitempty"`
	// Files lists every file of the index but the manifest.
	Files map[string]FileInfo `json:"files"`
}

// ChunkInfo is one chunk of passages [FirstPID, FirstPID+Passages).
type ChunkInfo struct {
	FirstPID   int   `json:"first_pid"`
	Passages   int   `json:"passages"`
	Embeddings int64 `json:"embeddings"`
}

// BuildInfo records how the codec was trained (for reproducibility).
type BuildInfo struct {
	SamplePassages int     `json:"sample_passages"`
	SampleVectors  int     `json:"sample_vectors"`
	HeldOut        int     `json:"held_out"`
	TrainPoints    int     `json:"kmeans_points"`
	KMeansIters    int     `json:"kmeans_iters"`
	Inertia        float64 `json:"kmeans_inertia"`
	Seed           uint64  `json:"seed"`
	ChunkSize      int     `json:"chunk_size"`
	AvgDocLen      float64 `json:"avg_doclen_estimate"`
}

// FileInfo is a file's size and CRC-32C (Castagnoli) checksum
// (codec/internal/diskfile.FileInfo; JSON {"size", "crc32c"}).
type FileInfo = diskfile.FileInfo

var metaRE = regexp.MustCompile(`^meta\.[0-9]{5,}\.sqlite$`)

// ParseManifest decodes and validates a manifest; name is used in errors.
func ParseManifest(name string, b []byte) (*Manifest, error) {
	var m Manifest
	if err := disk.DecodeManifest(name, b, Format, Version, &m, m.validate); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks the manifest's internal consistency (not the files).
func (m *Manifest) validate() error {
	if m.Codec != "residual" {
		return fmt.Errorf("codec %q not supported", m.Codec)
	}
	if m.NBits != 1 && m.NBits != 2 && m.NBits != 4 {
		return fmt.Errorf("nbits %d not in {1,2,4}", m.NBits)
	}
	if m.Dim <= 0 || m.Dim%8 != 0 || m.Dim > 1<<16 {
		return fmt.Errorf("dim %d invalid", m.Dim)
	}
	if m.PoolFactor < 0 {
		return fmt.Errorf("pool_factor %d invalid", m.PoolFactor)
	}
	if m.NumCentroids <= 0 || m.NumCentroids > 1<<28 {
		return fmt.Errorf("num_centroids %d invalid", m.NumCentroids)
	}
	if m.NumPassages < 0 || m.NumPassages > 1<<31-1 || m.NumDeleted < 0 || m.NumDeleted > m.NumPassages || m.NumEmbeddings < 0 {
		return fmt.Errorf("counts invalid (passages %d, deleted %d, embeddings %d)", m.NumPassages, m.NumDeleted, m.NumEmbeddings)
	}
	if m.Generation < 0 {
		return fmt.Errorf("generation %d invalid", m.Generation)
	}
	pid, emb := 0, int64(0)
	for i, c := range m.Chunks {
		if c.FirstPID != pid || c.Passages < 0 || c.Embeddings < 0 {
			return fmt.Errorf("chunk %d: first_pid %d, passages %d, embeddings %d inconsistent (expected first_pid %d)", i, c.FirstPID, c.Passages, c.Embeddings, pid)
		}
		pid += c.Passages
		emb += c.Embeddings
		for _, f := range chunkFiles(i) {
			if _, ok := m.Files[f]; !ok {
				return fmt.Errorf("chunk %d: file %s not listed", i, f)
			}
		}
	}
	if pid != m.NumPassages || emb != m.NumEmbeddings {
		return fmt.Errorf("chunks hold %d passages / %d embeddings, manifest says %d / %d", pid, emb, m.NumPassages, m.NumEmbeddings)
	}
	if (m.Tombstones == "") != (m.NumDeleted == 0) {
		return fmt.Errorf("tombstones file %q inconsistent with num_deleted %d", m.Tombstones, m.NumDeleted)
	}
	need := []string{centroidsFile, bucketsFile, m.IVF}
	if m.Tombstones != "" {
		need = append(need, m.Tombstones)
	}
	if m.Metadata != "" {
		if !metaRE.MatchString(m.Metadata) {
			return fmt.Errorf("metadata file name %q invalid", m.Metadata)
		}
		need = append(need, m.Metadata)
	}
	for _, f := range need {
		if _, ok := m.Files[f]; !ok {
			return fmt.Errorf("required file %q not listed", f)
		}
	}
	if err := diskfile.ValidateFiles(m.Files); err != nil {
		return err
	}
	// Sizes the layout implies.
	k, dim := int64(m.NumCentroids), int64(m.Dim)
	nb := int64(1) << m.NBits
	expect := map[string]int64{
		centroidsFile: 4 * k * dim,
		bucketsFile:   4 * (2*nb - 1 + dim),
	}
	for i, c := range m.Chunks {
		f := chunkFiles(i)
		expect[f[0]] = 4 * c.Embeddings
		expect[f[1]] = c.Embeddings * dim * int64(m.NBits) / 8
		expect[f[2]] = 4 * int64(c.Passages)
	}
	if m.Tombstones != "" {
		expect[m.Tombstones] = 4 * int64(m.NumDeleted)
	}
	for f, want := range expect {
		if got := m.Files[f].Size; got != want {
			return fmt.Errorf("file %s: size %d, the layout implies %d", f, got, want)
		}
	}
	if s := m.Files[m.IVF].Size; s < 8*(k+1) || (s-8*(k+1))%4 != 0 {
		return fmt.Errorf("file %s: size %d impossible for %d centroids", m.IVF, s, k)
	}
	return nil
}

const (
	centroidsFile = "centroids.f32"
	bucketsFile   = "buckets.f32"
)

// chunkFiles are chunk i's codes, residuals, doclens and ids files.
func chunkFiles(i int) [4]string {
	p := fmt.Sprintf("chunk.%05d.", i)
	return [4]string{p + "codes", p + "residuals", p + "doclens", p + "ids"}
}

func ivfName(gen int) string { return fmt.Sprintf("ivf.%05d.bin", gen) }
