package sweep

import (
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// The CSV and Parquet tables hold the rows' values; a missing measure is a
// dash in CSV and a null in Parquet.
func TestReportRoundTrip(t *testing.T) {
	rows := []Row{
		{Cell: 1, ID: "a", Settings: map[string]string{"nbits": "1", "lr": "0.0001"},
			Mean: map[string]float64{"mrr@10": 0.5, "ndcg@10": 0.25, "recall@100": 0.75}, BytesPerToken: 20, LatencyP50: 1.5, LatencyP95: 3, IndexBytes: 1000},
		{Cell: 2, ID: "b", Settings: map[string]string{"nbits": "2", "lr": "0.001"},
			Mean: map[string]float64{"mrr@10": 0.125, "ndcg@10": 0.375}, BytesPerToken: 36, MeanMS: 7},
	}
	dir := t.TempDir()
	keys := []string{"lr", "nbits"}
	files, err := WriteReport(dir, keys, rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3+len(keys)+1 {
		t.Errorf("files %v", files)
	}
	f, err := os.Open(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0][1] != "lr" || recs[2][1] != "0.001" || recs[2][2] != "2" {
		t.Fatalf("csv %v", recs)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if v, _ := strconv.ParseFloat(recs[1][col["nDCG@10"]], 64); v != 0.25 {
		t.Errorf("csv nDCG@10 of cell 1 = %q", recs[1][col["nDCG@10"]])
	}
	if recs[2][col["R@100"]] != "–" {
		t.Errorf("missing R@100 printed as %q", recs[2][col["R@100"]])
	}

	pf, err := file.OpenParquetFile(filepath.Join(dir, "sweep.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 2 {
		t.Fatalf("%d parquet rows", tbl.NumRows())
	}
	get := func(name string) any {
		idx := tbl.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("parquet column %s missing", name)
		}
		return tbl.Column(idx[0]).Data().Chunk(0)
	}
	nd := get("ndcg_at_10").(*array.Float64)
	rc := get("recall_at_100").(*array.Float64)
	lr := get("lr").(*array.String)
	ib := get("index_bytes").(*array.Int64)
	if nd.Value(0) != 0.25 || nd.Value(1) != 0.375 || lr.Value(1) != "0.001" || ib.Value(0) != 1000 {
		t.Errorf("parquet values: ndcg %v %v, lr %q, index bytes %d", nd.Value(0), nd.Value(1), lr.Value(1), ib.Value(0))
	}
	if rc.IsNull(0) || rc.Value(0) != 0.75 || !rc.IsNull(1) {
		t.Errorf("recall@100 nulls: %v %v", rc.IsNull(0), rc.IsNull(1))
	}
	if !math.IsNaN(mean(rows[1], "recall@100")) {
		t.Error("missing measure is not NaN")
	}
}

// The first real error wins over the cancellations it causes, and no job
// starts after it.
func TestPoolError(t *testing.T) {
	boom := errors.New("boom")
	started := 0
	jobs := []func(context.Context) error{
		func(context.Context) error { started++; return boom },
		func(context.Context) error { started++; return nil },
	}
	if err := pool(context.Background(), 1, jobs); !errors.Is(err, boom) || started != 1 {
		t.Errorf("pool: %v, %d jobs started; want boom after one", err, started)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pool(ctx, 2, jobs[1:]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pool: %v", err)
	}
}
