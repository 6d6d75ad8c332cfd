package data

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkReadCorpusJSONL reads the real Cranfield corpus (1,400 docs,
// 1.6 MB); MB/s is over the file size.
func BenchmarkReadCorpusJSONL(b *testing.B) {
	p := assetPath(b, "classic/cranfield/corpus.jsonl")
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	for i := 0; i < b.N; i++ {
		if _, err := ReadCorpusJSONL(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTRECRun writes and reads back a 1,000-query × 100-document run.
func BenchmarkTRECRun(b *testing.B) {
	run := Run{}
	for q := 0; q < 1000; q++ {
		docs := make([]ScoredDoc, 100)
		for d := range docs {
			docs[d] = ScoredDoc{DocID: strconv.Itoa(q*7919 + d*104729), Score: float64(float32(100 - d))}
		}
		run[strconv.Itoa(q)] = docs
	}
	p := filepath.Join(b.TempDir(), "run.trec")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteTRECRun(p, run, "bench"); err != nil {
			b.Fatal(err)
		}
		if _, err := ReadTRECRun(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100000)/b.Elapsed().Seconds(), "lines/s")
}
