package sweep

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/experiments/metrics"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/indexer"
)

// researchPLAID searches the index evaluate.Run built (or reused) again with
// the cell's PLAID knobs and rewrites the cell's result folder with them.
// evaluate.Options has no PLAID parameters (it always uses ColBERT's
// defaults for K); once it has, this second search can go.
func researchPLAID(ctx context.Context, eo evaluate.Options, e EvalSettings, sum *evaluate.Summary) error {
	ds, err := data.LoadBEIR(eo.Dataset, eo.Split)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	m, err := indexer.Load(eo.Checkpoint, eo.Tokenizer, encode.Options{Threads: eo.Threads})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	s, ix, err := m.OpenSearcher(eo.IndexDir, index.OpenOptions{})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	defer ix.Close()
	t0 := time.Now()
	qv, err := m.EncodeQueries(ctx, ds.Queries)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	encoded := time.Since(t0)
	p := search.DefaultParams(e.K)
	if e.NCells > 0 {
		p.NCells = e.NCells
	}
	if e.NDocs > 0 {
		p.NDocs = e.NDocs
	}
	if e.Threshold != 0 {
		p.Threshold = float32(e.Threshold)
	}
	t0 = time.Now()
	res, err := s.SearchBatch(ctx, qv, m.Dim(), p, search.BatchOptions{Threads: eo.Threads})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	wall := time.Since(t0)
	run := make(data.Run, len(ds.Queries))
	lat := make([]float64, len(res))
	for i, q := range ds.Queries {
		docs := make([]data.ScoredDoc, len(res[i].Hits))
		for j, h := range res[i].Hits {
			docs[j] = data.ScoredDoc{DocID: ix.PassageID(h.PID), Score: float64(h.Score)}
		}
		run[q.ID] = docs
		lat[i] = ms(res[i].Latency)
	}
	measures := eo.Measures
	if len(measures) == 0 {
		measures = evaluate.DefaultMeasures
	}
	mres, err := metrics.Evaluate(ds.Qrels, run, measures)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	pc := search.Percentiles(res, 50, 95)
	sum.Params, sum.Mean, sum.Latencies = &p, mres.Mean, lat
	sum.LatencyP50, sum.LatencyP95 = ms(pc[0]), ms(pc[1])
	sum.MeanMS = ms(encoded+wall) / float64(len(qv))
	sum.Seconds["encode_queries"], sum.Seconds["search"] = encoded.Seconds(), wall.Seconds()
	if err := data.WriteTRECRun(filepath.Join(eo.Out, "run.trec"), run, "colbert-plaid"); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if err := mres.WriteJSON(filepath.Join(eo.Out, "metrics.json")); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return evaluate.WriteResults(eo.Out, sum, mres)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
