package index

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// Stats summarises an index directory for `colbert index info`.
type Stats struct {
	Manifest Manifest
	// Bytes per kind of file: manifest, centroids, buckets, codes,
	// residuals, doclens, ids, ivf, tombstones, metadata.
	Bytes      map[string]int64
	TotalBytes int64
	// BytesPerToken counts every file; CodeBytesPerToken only codes and
	// residuals (the per-vector cost: 4 + dim·nbits/8).
	BytesPerToken, CodeBytesPerToken float64
}

// Stat reads dir's manifest (without verifying the files) and sums sizes:
// the manifest and every file it lists, which is the whole directory of a
// finished index. It is the one size computation; `colbert index`, `index
// info`, `index merge` and evaluate report it.
func Stat(dir string) (*Stats, error) {
	mpath := filepath.Join(dir, ManifestName)
	f, err := os.Open(mpath)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, diskfile.MaxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("index: read %s: %w", mpath, err)
	}
	m, err := ParseManifest(mpath, b)
	if err != nil {
		return nil, err
	}
	s := &Stats{Manifest: *m, Bytes: map[string]int64{"manifest": int64(len(b))}}
	s.TotalBytes = int64(len(b))
	for name, fi := range m.Files {
		kind := name[strings.LastIndexByte(name, '.')+1:]
		switch {
		case strings.HasPrefix(name, "ivf."):
			kind = "ivf"
		case strings.HasPrefix(name, "tombstones."):
			kind = "tombstones"
		case strings.HasPrefix(name, "meta."):
			kind = "metadata"
		case name == centroidsFile:
			kind = "centroids"
		case name == bucketsFile:
			kind = "buckets"
		}
		s.Bytes[kind] += fi.Size
		s.TotalBytes += fi.Size
	}
	if m.NumEmbeddings > 0 {
		s.BytesPerToken = float64(s.TotalBytes) / float64(m.NumEmbeddings)
		s.CodeBytesPerToken = float64(s.Bytes["codes"]+s.Bytes["residuals"]) / float64(m.NumEmbeddings)
	}
	return s, nil
}

// String renders the stats as the lines `colbert index info` prints.
func (s *Stats) String() string {
	m := &s.Manifest
	var w strings.Builder
	fmt.Fprintf(&w, "format        %s v%d, codec %s, %d bits, dim %d\n", m.Format, m.Version, m.Codec, m.NBits, m.Dim)
	fmt.Fprintf(&w, "checkpoint    %s\n", m.Checkpoint)
	fmt.Fprintf(&w, "passages      %d (%d deleted), %d embeddings in %d chunks, generation %d\n", m.NumPassages, m.NumDeleted, m.NumEmbeddings, len(m.Chunks), m.Generation)
	fmt.Fprintf(&w, "centroids     %d (k-means on %d points, %d iterations, seed %d, inertia %.6g)\n", m.NumCentroids, m.Build.TrainPoints, m.Build.KMeansIters, m.Build.Seed, m.Build.Inertia)
	fmt.Fprintf(&w, "size          %.2f MiB, %.2f B/token (codes+residuals %.2f B/token)\n", float64(s.TotalBytes)/(1<<20), s.BytesPerToken, s.CodeBytesPerToken)
	kinds := make([]string, 0, len(s.Bytes))
	for k := range s.Bytes {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&w, "  %-11s %12d bytes\n", k, s.Bytes[k])
	}
	return w.String()
}
