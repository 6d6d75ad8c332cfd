package distill

import (
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
)

// ParquetFormat stores datasets as Parquet (query_id string, doc_ids
// list<string>, teacher_scores list<float32>) with key-value metadata,
// written in row groups (bounded memory) and read in streaming batches.
type ParquetFormat struct{}

// Create starts a Parquet file that appears on Close.
func (ParquetFormat) Create(path string, meta map[string]string) (ExampleWriter, error) {
	return parquetio.NewExampleWriter(path, meta)
}

// ReadBatches streams the file.
func (ParquetFormat) ReadBatches(path string, rows int, fn func([]data.Example) error) error {
	return parquetio.ReadExamplesBatches(path, rows, fn)
}

// ReadMetadata reads the file's key-value metadata.
func (ParquetFormat) ReadMetadata(path string) (map[string]string, error) {
	return parquetio.ReadMetadata(path)
}

func parquetFormat() (Format, error) { return ParquetFormat{}, nil }
