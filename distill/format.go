package distill

import "github.com/colbert-go/colbert/data"

// ExampleWriter appends examples to a file that appears only on Close
// (temp file + rename); Abort discards it.
type ExampleWriter interface {
	Write([]data.Example) error
	Close() error
	Abort()
}

// Format reads and writes example datasets. The production format is
// Parquet (query_id, doc_ids, teacher_scores + key-value metadata); tests can
// substitute another.
type Format interface {
	// Create starts a file at path carrying the key-value metadata.
	Create(path string, meta map[string]string) (ExampleWriter, error)
	// ReadBatches streams a file's examples in order, batchRows at a time.
	ReadBatches(path string, batchRows int, fn func([]data.Example) error) error
	// ReadMetadata returns the key-value metadata written by Create.
	ReadMetadata(path string) (map[string]string, error)
}
