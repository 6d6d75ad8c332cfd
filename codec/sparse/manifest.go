// Package sparse is colbert-go's on-disk SPLADE index: an inverted index of
// sparse passage vectors (term id → non-negative weight) with uint8
// quantised impacts and block-max metadata for exact dynamic pruning
// (search/sparse). It follows the residual index's conventions
// (codec/index): a versioned JSON manifest listing every file with its size
// and CRC-32C, little-endian binary files mapped read-only, an atomic and
// resumable chunked build, and appends and deletes as new generations.
//
// Directory layout (all binary numbers little-endian):
//
//	manifest.json              JSON Manifest: format, version, vocabulary, scale, counts, per-file size + CRC-32C
//	chunk.NNNNN.ids            per passage of the chunk: uvarint byte length + the passage's string id
//	postings.GGGGG.offsets     (VocabSize+1) uint64: term t's postings are [offsets[t], offsets[t+1])
//	postings.GGGGG.docs        uint32 pid per posting, strictly increasing within a term (plain, not delta coded)
//	postings.GGGGG.impacts     uint8 quantised impact per posting, 1…255 (weight ≈ impact × Scale)
//	postings.GGGGG.blocks      per block of BlockSize postings of a term, in term order: NumBlocks uint32
//	                           last pid of the block, then NumBlocks uint8 maximum impact of the block
//	tombstones.GGGGG.bin       sorted uint32 deleted pids (absent when nothing is deleted)
//
// Docids are stored plain (uint32, not delta or varint coded) so the
// mapped file is the search structure itself: a block's postings are read
// and binary-searched in place without decoding. That costs 5 bytes per
// posting; a compressed layout is a later, separate format version.
//
// Internal pids are 0…NumPassages−1 in collection order, then appended
// passages; a tombstoned pid keeps its slot.
//
// During a build (and an append) each chunk also has temporary forward
// files (chunk.NNNNN.lens, .terms, .weights: the unquantised vectors) from
// which the postings are assembled; they are the unit of resume and are
// removed when the index is committed, so they are never part of an index.
package sparse

import (
	"fmt"
	"math"
	"regexp"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// Format identifies a colbert-go sparse index manifest; Version is the
// newest layout this package reads and writes.
const (
	Format  = "colbert-go-sparse-index"
	Version = 1
	// ManifestName is the manifest's file name inside an index directory.
	ManifestName = diskfile.ManifestName
	// DefaultBlockSize is the number of postings per block-max block.
	DefaultBlockSize = 128
	// maxVocab bounds VocabSize (the offsets file is 8 bytes per term).
	maxVocab = 1 << 26
	// maxPostings bounds NumPostings (so size arithmetic cannot overflow).
	maxPostings = 1 << 40
)

// Manifest describes a sparse index directory. It is the commit point: a
// file not listed here is not part of the index. It holds no timestamps, so
// the same inputs and options give the same bytes.
type Manifest struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Checkpoint string `json:"checkpoint"` // caller-given model hash
	VocabSize  int    `json:"vocab_size"`
	// MaxWeight is the largest weight of the passages Build saw; Scale is
	// MaxWeight/255, fixed at build: impact q stands for the weight q·Scale.
	// Appended weights above 255·Scale are clamped to 255 (Clamped counts
	// those postings).
	MaxWeight   float32 `json:"max_weight"`
	Scale       float32 `json:"scale"`
	Clamped     int64   `json:"clamped"`
	BlockSize   int     `json:"block_size"`
	NumPassages int     `json:"num_passages"` // including tombstoned ones
	NumDeleted  int     `json:"num_deleted"`
	NumPostings int64   `json:"num_postings"`
	NumBlocks   int64   `json:"num_blocks"`
	ChunkSize   int     `json:"chunk_size"`
	// Generation increases with every append or delete.
	Generation int    `json:"generation"`
	Postings   string `json:"postings"`             // base name postings.GGGGG of the four postings files
	Tombstones string `json:"tombstones,omitempty"` // file name, "" when none
	// Chunks are the id files' ranges of pids.
	Chunks []ChunkInfo `json:"chunks"`
	// Files lists every file of the index but the manifest.
	Files map[string]FileInfo `json:"files"`
}

// ChunkInfo is one chunk of passages [FirstPID, FirstPID+Passages) holding
// Postings postings.
type ChunkInfo struct {
	FirstPID int   `json:"first_pid"`
	Passages int   `json:"passages"`
	Postings int64 `json:"postings"`
}

// FileInfo is a file's size and CRC-32C (Castagnoli) checksum
// (codec/internal/diskfile.FileInfo; JSON {"size", "crc32c"}).
type FileInfo = diskfile.FileInfo

var (
	postingsRE = regexp.MustCompile(`^postings\.[0-9]{5,}$`)
	tombRE     = regexp.MustCompile(`^tombstones\.[0-9]{5,}\.bin$`)
)

// ParseManifest decodes and validates a manifest; name is used in errors.
func ParseManifest(name string, b []byte) (*Manifest, error) {
	var m Manifest
	if err := disk.DecodeManifest(name, b, Format, Version, &m, m.validate); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks the manifest's internal consistency and the file sizes
// its counts imply (not the files themselves).
func (m *Manifest) validate() error {
	if m.VocabSize <= 0 || m.VocabSize > maxVocab {
		return fmt.Errorf("vocab_size %d invalid", m.VocabSize)
	}
	if !(m.MaxWeight > 0) || math.IsInf(float64(m.MaxWeight), 0) || !(m.Scale > 0) || math.IsInf(float64(m.Scale), 0) {
		return fmt.Errorf("max_weight %g / scale %g invalid", m.MaxWeight, m.Scale)
	}
	if m.BlockSize < 1 || m.BlockSize > 1<<16 {
		return fmt.Errorf("block_size %d invalid", m.BlockSize)
	}
	if m.ChunkSize < 1 {
		return fmt.Errorf("chunk_size %d invalid", m.ChunkSize)
	}
	if m.NumPassages < 0 || m.NumPassages > math.MaxInt32 || m.NumDeleted < 0 || m.NumDeleted > m.NumPassages ||
		m.NumPostings < 0 || m.NumPostings > maxPostings || m.NumBlocks < 0 || m.NumBlocks > m.NumPostings || m.Clamped < 0 || m.Clamped > m.NumPostings {
		return fmt.Errorf("counts invalid (passages %d, deleted %d, postings %d, blocks %d, clamped %d)",
			m.NumPassages, m.NumDeleted, m.NumPostings, m.NumBlocks, m.Clamped)
	}
	// Every term with postings has at least one block and at most
	// ceil(len/BlockSize) ≥ len/BlockSize of them.
	if m.NumBlocks*int64(m.BlockSize) < m.NumPostings {
		return fmt.Errorf("%d blocks of %d cannot hold %d postings", m.NumBlocks, m.BlockSize, m.NumPostings)
	}
	if m.Generation < 0 {
		return fmt.Errorf("generation %d invalid", m.Generation)
	}
	pid, post := 0, int64(0)
	for i, c := range m.Chunks {
		if c.FirstPID != pid || c.Passages < 0 || c.Postings < 0 {
			return fmt.Errorf("chunk %d: first_pid %d, passages %d, postings %d inconsistent (expected first_pid %d)", i, c.FirstPID, c.Passages, c.Postings, pid)
		}
		pid += c.Passages
		post += c.Postings
		if pid > m.NumPassages || post > m.NumPostings {
			break // reported below
		}
	}
	if pid != m.NumPassages || post != m.NumPostings {
		return fmt.Errorf("chunks hold %d passages / %d postings, manifest says %d / %d", pid, post, m.NumPassages, m.NumPostings)
	}
	if !postingsRE.MatchString(m.Postings) {
		return fmt.Errorf("postings name %q invalid", m.Postings)
	}
	if (m.Tombstones == "") != (m.NumDeleted == 0) {
		return fmt.Errorf("tombstones file %q inconsistent with num_deleted %d", m.Tombstones, m.NumDeleted)
	}
	if m.Tombstones != "" && !tombRE.MatchString(m.Tombstones) {
		return fmt.Errorf("tombstones file name %q invalid", m.Tombstones)
	}
	if err := diskfile.ValidateFiles(m.Files); err != nil {
		return err
	}
	expect := m.expectedSizes()
	if len(m.Files) != len(expect) {
		return fmt.Errorf("%d files listed, the layout has %d", len(m.Files), len(expect))
	}
	for f, want := range expect {
		fi, ok := m.Files[f]
		if !ok {
			return fmt.Errorf("required file %q not listed", f)
		}
		if want >= 0 && fi.Size != want {
			return fmt.Errorf("file %s: size %d, the layout implies %d", f, fi.Size, want)
		}
	}
	return nil
}

// expectedSizes maps every file of the layout to its implied size (−1 when
// only the file itself knows, as for id files).
func (m *Manifest) expectedSizes() map[string]int64 {
	e := map[string]int64{}
	for i := range m.Chunks {
		e[idsName(i)] = -1
	}
	p := postingsFiles(m.Postings)
	e[p[0]] = 8 * (int64(m.VocabSize) + 1)
	e[p[1]] = 4 * m.NumPostings
	e[p[2]] = m.NumPostings
	e[p[3]] = 5 * m.NumBlocks
	if m.Tombstones != "" {
		e[m.Tombstones] = 4 * int64(m.NumDeleted)
	}
	return e
}

// postingsFiles are the offsets, docs, impacts and blocks files of a
// postings generation.
func postingsFiles(base string) [4]string {
	return [4]string{base + ".offsets", base + ".docs", base + ".impacts", base + ".blocks"}
}

func postingsName(gen int) string { return fmt.Sprintf("postings.%05d", gen) }
func idsName(ci int) string       { return fmt.Sprintf("chunk.%05d.ids", ci) }

// forwardFiles are chunk ci's temporary lens, terms and weights files.
func forwardFiles(ci int) [3]string {
	p := fmt.Sprintf("chunk.%05d.", ci)
	return [3]string{p + "lens", p + "terms", p + "weights"}
}
