package train

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/metrics"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// DevSet is a small evaluation set scored exhaustively (every query against
// every document) during training.
type DevSet struct {
	QueryIDs []string
	Queries  [][]int32 // wordpiece ids
	DocIDs   []string
	Docs     [][]int32
	Qrels    data.Qrels
}

// NewDevSet keeps the first maxQueries judged queries (in id order; 0 = all)
// and, when maxDocs > 0, their judged documents plus a sample (seeded) of
// the others up to maxDocs in all; maxDocs 0 keeps the whole collection.
func NewDevSet(qs []data.Query, qrels data.Qrels, ps []data.Passage, tok *tokenize.Tokenizer, maxQueries, maxDocs int, seed uint64) *DevSet {
	d := &DevSet{Qrels: qrels}
	byID := map[string]string{}
	for _, q := range qs {
		byID[q.ID] = q.Text
	}
	judged := map[string]bool{}
	for _, id := range data.SortedIDs(qrels) {
		text, ok := byID[id]
		if !ok || !hasRelevant(qrels[id]) {
			continue
		}
		if maxQueries > 0 && len(d.QueryIDs) == maxQueries {
			break
		}
		d.QueryIDs = append(d.QueryIDs, id)
		d.Queries = append(d.Queries, tok.Encode(text))
		for doc := range qrels[id] {
			judged[doc] = true
		}
	}
	keep := func(int) bool { return true }
	if maxDocs > 0 && maxDocs < len(ps) {
		var others []int
		n := 0
		for i, p := range ps {
			if judged[p.ID] {
				n++
			} else {
				others = append(others, i)
			}
		}
		chosen := map[int]bool{}
		r := rand.New(rand.NewPCG(seed, 0x646576))
		for _, k := range r.Perm(len(others))[:max(0, min(len(others), maxDocs-n))] {
			chosen[others[k]] = true
		}
		keep = func(i int) bool { return judged[ps[i].ID] || chosen[i] }
	}
	for i, p := range ps {
		if keep(i) {
			d.DocIDs = append(d.DocIDs, p.ID)
			d.Docs = append(d.Docs, tok.Encode(p.Content()))
		}
	}
	return d
}

func hasRelevant(j map[string]int) bool {
	for _, r := range j {
		if r > 0 {
			return true
		}
	}
	return false
}

// Evaluate returns the mean nDCG@10 (trec_eval's ndcg_cut_10: linear gains,
// ties by document id descending) of the current student on dev, encoding
// with model/encode's inference path: MaxSim for ColBERT, the dot product
// of [CLS] embeddings for the bi-encoder.
func (t *Trainer) Evaluate(ctx context.Context, dev *DevSet) (float64, error) {
	if len(dev.QueryIDs) == 0 || len(dev.DocIDs) == 0 {
		return 0, fmt.Errorf("train: empty dev set (%d judged queries, %d documents)", len(dev.QueryIDs), len(dev.DocIDs))
	}
	var scores func(i int, out []float32) // query i against every document
	switch t.Ckpt.Kind {
	case model.KindColBERT:
		c, err := encode.NewColBERT(t.Ckpt, encode.Options{})
		if err != nil {
			return 0, err
		}
		qb := t.Enc.PackQueries(dev.Queries)
		qv, err := c.EncodeQueries(ctx, encode.FromTokenize(qb))
		if err != nil {
			return 0, err
		}
		ids, masks := make([][]int32, len(dev.Docs)), make([][]int32, len(dev.Docs))
		for i, d := range dev.Docs {
			ids[i], masks[i] = t.Enc.PackDoc(d)
		}
		dv, err := c.EncodeDocIDs(ctx, ids, masks)
		if err != nil {
			return 0, err
		}
		dim, lq := c.Dim(), qb.Len
		scores = func(i int, out []float32) { dv.ScoreAll(qv[i*lq*dim:(i+1)*lq*dim], lq, out) }
	case model.KindBiEncoder:
		be, err := encode.NewBiEncoder(t.Ckpt, encode.Options{})
		if err != nil {
			return 0, err
		}
		qv, err := be.Encode(ctx, encode.FromTokenize(t.Enc.PackQueries(dev.Queries)))
		if err != nil {
			return 0, err
		}
		dv, err := be.Encode(ctx, encode.FromTokenize(t.Enc.PackDocs(dev.Docs)))
		if err != nil {
			return 0, err
		}
		dim := be.Dim()
		scores = func(i int, out []float32) {
			for j := range out {
				out[j] = model.MaxSim(qv[i*dim:(i+1)*dim], 1, dv[j*dim:(j+1)*dim], 1, dim)
			}
		}
	default:
		return 0, fmt.Errorf("train: dev evaluation supports colbert and bi-encoder models, not %s", t.Ckpt.Kind)
	}
	// metrics computes the measure, so the figure logged during training is
	// the one `colbert eval` prints for ndcg@10.
	ndcg10 := metrics.Measure{Kind: metrics.NDCG, K: 10}
	var sum float64
	s := make([]float32, len(dev.DocIDs))
	run := make([]data.ScoredDoc, len(dev.DocIDs))
	for i, qid := range dev.QueryIDs {
		scores(i, s)
		for j, did := range dev.DocIDs {
			run[j] = data.ScoredDoc{DocID: did, Score: float64(s[j])}
		}
		v, err := metrics.QueryValue(ndcg10, qid, run, dev.Qrels[qid])
		if err != nil {
			return 0, fmt.Errorf("train: dev evaluation: %w", err)
		}
		sum += v
	}
	return sum / float64(len(dev.QueryIDs)), nil
}
