package sparse

import (
	"fmt"
	"strings"
)

// Stats summarises an open index.
type Stats struct {
	Passages, Live, Deleted int
	Postings, Blocks        int64
	// Clamped counts postings of appended passages whose weight exceeded
	// the build's maximum and was stored as impact 255.
	Clamped int64
	// Bytes is the whole index: the manifest and every file it lists;
	// PostingBytes only the postings files (offsets, docs, impacts,
	// blocks), the part search reads.
	Bytes, PostingBytes int64
	// BytesPerPassage is Bytes over Passages (tombstoned ones included);
	// BytesPerPosting is PostingBytes over Postings.
	BytesPerPassage, BytesPerPosting float64
	Generation                       int
}

// Stats sums the index's sizes from its manifest.
func (ix *Index) Stats() Stats {
	m := ix.man
	s := Stats{Passages: m.NumPassages, Live: ix.NumLive(), Deleted: m.NumDeleted, Postings: m.NumPostings,
		Blocks: m.NumBlocks, Clamped: m.Clamped, Generation: m.Generation, Bytes: ix.manSize}
	for name, fi := range m.Files {
		s.Bytes += fi.Size
		if strings.HasPrefix(name, m.Postings+".") {
			s.PostingBytes += fi.Size
		}
	}
	if s.Passages > 0 {
		s.BytesPerPassage = float64(s.Bytes) / float64(s.Passages)
	}
	if s.Postings > 0 {
		s.BytesPerPosting = float64(s.PostingBytes) / float64(s.Postings)
	}
	return s
}

// String renders the stats on one line.
func (s Stats) String() string {
	return fmt.Sprintf("%d passages (%d deleted), %d postings in %d blocks, %d clamped, %.2f MiB (%.1f B/passage, postings %.2f B/posting), generation %d",
		s.Passages, s.Deleted, s.Postings, s.Blocks, s.Clamped, float64(s.Bytes)/(1<<20), s.BytesPerPassage, s.BytesPerPosting, s.Generation)
}
