package parquetio

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data"
)

// BenchmarkPassages writes and reads 20,000 synthetic passages (~30 words).
func BenchmarkPassages(b *testing.B) {
	ps := randPassages(rand.New(rand.NewSource(1)), 20000)
	p := filepath.Join(b.TempDir(), "p.parquet")
	b.Run("write", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := WritePassages(p, ps, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("read", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := ReadPassagesBatches(p, 4096, func([]data.Passage) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkExamples writes and reads 20,000 examples of up to 8 scored docs.
func BenchmarkExamples(b *testing.B) {
	exs := randExamples(rand.New(rand.NewSource(1)), 20000)
	p := filepath.Join(b.TempDir(), "e.parquet")
	b.Run("write", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := WriteExamples(p, exs, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(exs))/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("read", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := ReadExamplesBatches(p, 4096, func([]data.Example) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(exs))/b.Elapsed().Seconds(), "rows/s")
	})
}
