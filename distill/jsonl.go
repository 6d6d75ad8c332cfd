package distill

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/colbert-go/colbert/data"
)

// JSONLFormat is ColBERT's n-way JSONL ([qid, [pid, score], …] with teacher
// scores, [qid, pid, …] without), the file Stanford ColBERT trains from.
// Metadata goes to a "<path>.meta.json" sidecar. The writer holds the
// dataset until Close; prefer Parquet for large runs.
type JSONLFormat struct{}

type jsonlWriter struct {
	path string
	meta map[string]string
	exs  []data.Example
}

// Create starts a JSONL file.
func (JSONLFormat) Create(path string, meta map[string]string) (ExampleWriter, error) {
	return &jsonlWriter{path: path, meta: meta}, nil
}

func (w *jsonlWriter) Write(exs []data.Example) error {
	for _, ex := range exs {
		ex.DocIDs = append([]string(nil), ex.DocIDs...)
		if ex.TeacherScores != nil {
			ex.TeacherScores = append([]float32(nil), ex.TeacherScores...)
		}
		w.exs = append(w.exs, ex)
	}
	return nil
}

func (w *jsonlWriter) Abort() { w.exs = nil }

func (w *jsonlWriter) Close() error {
	if len(w.meta) > 0 {
		raw, err := json.MarshalIndent(w.meta, "", "  ")
		if err != nil {
			return err
		}
		if err := data.WriteFileAtomic(w.path+".meta.json", func(b *bufio.Writer) error {
			_, err := b.Write(append(raw, '\n'))
			return err
		}); err != nil {
			return err
		}
	}
	return data.WriteExamplesJSONL(w.path, w.exs)
}

// ReadBatches reads the whole file, then hands it out in batches.
func (JSONLFormat) ReadBatches(path string, rows int, fn func([]data.Example) error) error {
	exs, err := data.ReadExamples(path)
	if err != nil {
		return err
	}
	rows = max(rows, 1)
	for i := 0; i < len(exs); i += rows {
		if err := fn(exs[i:min(i+rows, len(exs))]); err != nil {
			return err
		}
	}
	return nil
}

// ReadMetadata reads the "<path>.meta.json" sidecar.
func (JSONLFormat) ReadMetadata(path string) (map[string]string, error) { return ReadJSONLMeta(path) }

// ReadJSONLMeta reads the metadata sidecar of a JSONL dataset.
func ReadJSONLMeta(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path + ".meta.json")
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("distill: %s.meta.json: %w", path, err)
	}
	return m, nil
}

// FormatFor picks the dataset format from a file name: .jsonl (ColBERT
// n-way JSONL) or .parquet.
func FormatFor(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl":
		return JSONLFormat{}, nil
	case ".parquet":
		return parquetFormat()
	}
	return nil, fmt.Errorf("distill: %s: unknown dataset format (use .parquet or .jsonl)", path)
}
