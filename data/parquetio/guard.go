package parquetio

import (
	"fmt"

	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/metadata"
)

// arrowSchemaKey holds the Arrow schema that pyarrow and arrow-go serialize
// into a file's key-value metadata.
const (
	arrowSchemaKey  = "ARROW:schema"
	hiddenSchemaKey = "colbert-go:ignored-ARROW:schema"
)

// hideArrowSchema keeps pqarrow from decoding the serialized Arrow schema.
// pqarrow trusts the lengths inside it, so a corrupt one makes it allocate
// gigabytes and kill the process (found by FuzzReadParquet), and no check
// short of a full flatbuffers verifier catches every case. The readers do
// not need it: they take the Parquet schema's types (string, list, float,
// int), which is also all a DuckDB- or Spark-written file offers. The key
// is renamed in the reader's own parsed copy of the footer; the file is
// not touched.
func hideArrowSchema(kv metadata.KeyValueMetadata) {
	for _, e := range kv {
		if e != nil && e.Key == arrowSchemaKey {
			e.Key = hiddenSchemaKey
		}
	}
}

// checkFooter rejects column chunks whose offsets or sizes fall outside the
// file. Arrow checks these only for old writers and otherwise allocates
// what the footer says, in goroutines where a panic cannot be recovered.
func checkFooter(pf *file.Reader, size int64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt footer: %v", r)
		}
	}()
	md := pf.MetaData()
	if md.NumRows < 0 {
		return fmt.Errorf("corrupt footer: %d rows", md.NumRows)
	}
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		if rg.NumRows() < 0 {
			return fmt.Errorf("corrupt footer: row group %d has %d rows", g, rg.NumRows())
		}
		for c := 0; c < rg.NumColumns(); c++ {
			col, err := rg.ColumnChunk(c)
			if err != nil {
				return fmt.Errorf("corrupt footer: row group %d column %d: %w", g, c, err)
			}
			start := col.DataPageOffset()
			if col.HasDictionaryPage() && col.DictionaryPageOffset() > 0 && start > col.DictionaryPageOffset() {
				start = col.DictionaryPageOffset()
			}
			n := col.TotalCompressedSize()
			if start < 0 || n < 0 || start > size || n > size-start || col.NumValues() < 0 {
				return fmt.Errorf("corrupt footer: row group %d column %d spans [%d, %d+%d) outside the file's %d bytes", g, c, start, start, n, size)
			}
		}
	}
	return nil
}
