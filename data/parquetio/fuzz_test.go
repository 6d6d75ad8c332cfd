package parquetio

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data"
)

// FuzzReadParquet feeds mutated Parquet files to the footer path of the
// readers (open, footer checks, key-value metadata, schema and column
// resolution): it must return an error, never panic, hang or exhaust memory.
// Data pages are not decoded here: arrow-go's thrift page-header decoder can
// spin for minutes on some corrupt headers (upstream; see the report), so
// page corruption is covered by TestCorruptFiles' fixed cases instead.
func FuzzReadParquet(f *testing.F) {
	dir := f.TempDir()
	seeds := map[string]func(p string) error{
		"examples": func(p string) error {
			return WriteExamples(p, randExamples(rand.New(rand.NewSource(1)), 5), map[string]string{"k": "v"})
		},
		"passages": func(p string) error { return WritePassages(p, randPassages(rand.New(rand.NewSource(2)), 4), nil) },
		"run": func(p string) error {
			return WriteRun(p, data.Run{"q": {{DocID: "a", Score: 1}, {DocID: "b", Score: 0.5}}}, nil)
		},
	}
	for name, write := range seeds {
		p := filepath.Join(dir, name+".parquet")
		if err := write(p); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := openReader(bytes.NewReader(b), int64(len(b)), "fuzz", 16)
		if err != nil {
			return
		}
		defer tb.close()
		tb.metadata()
		for _, cols := range [][]column{exampleCols, passageCols, runCols} {
			resolveOnly(tb, cols)
		}
	})
}

// resolveOnly resolves columns and builds the record reader without reading
// a batch.
func resolveOnly(tb *table, cols []column) (err error) {
	defer recoverCorrupt(tb.path, &err)
	sc, err := tb.fr.Schema()
	if err != nil {
		return err
	}
	var leafIdx []int
	for _, c := range cols {
		if fi := sc.FieldIndices(c.name); len(fi) > 0 {
			leafIdx = leaves(tb.fr.Manifest.Fields[fi[0]], leafIdx)
		}
	}
	if len(leafIdx) == 0 {
		return nil
	}
	rr, err := tb.fr.GetRecordReader(context.Background(), leafIdx, nil)
	if err == nil {
		rr.Release()
	}
	return err
}
