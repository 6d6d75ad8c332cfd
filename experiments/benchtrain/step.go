package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/graph"
	"github.com/colbert-go/colbert/train"
)

// Token ids of the synthetic batch: specials below 1000, words drawn from
// [1000, vocab).
const (
	idCLS, idQ, idD, idSEP, idMASK = 2, 5, 6, 3, 4
	firstWord                      = 1000
)

// batch is one packed micro-batch as train.makeBatch builds it for a
// ColBERT student with the KL loss and in-batch negatives.
type batch struct {
	q, d    graph.Tokens
	dvec    []float32 // documents' vector mask (1 = scored)
	cand    [][]int   // [B][nway] document rows, positive first
	teacher []float32 // [B·nway]
	ibCand  [][]int   // in-batch candidates: every document but the query's own negatives
	ibLabel []int     // position of the query's positive in ibCand
}

// newBatch draws a batch of shape s. Queries are packed as
// tokenize.ColBERT.PackQueries does with attend_to_mask_tokens false
// (colbertv2.0's and the trainer's default): [CLS] [Q] words [SEP] attended,
// the [MASK] padding not attended but scored (vector mask 1 everywhere).
// Documents are packed as tokenize.ColBERT.PackDocs does: document i is
// [CLS] [D] words [SEP], s.DocLens()[i] tokens, attended and scored, then
// [PAD] (id 0, attention and vector mask 0) up to the longest document.
func newBatch(s Shape, seed uint64) (*batch, error) {
	if s.QueryAttended < 3 || s.QueryAttended > s.QueryLen || s.DocLen < 3 || s.Vocab <= firstWord ||
		s.DocLenMin != 0 && (s.DocLenMin < 3 || s.DocLenMin > s.DocLen) {
		return nil, fmt.Errorf("benchtrain: need 3 ≤ query attended ≤ query length, 3 ≤ doc length min ≤ doc length, vocab > %d", firstWord)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	word := func() int { return firstWord + r.IntN(s.Vocab-firstWord) }
	b := &batch{}
	b.q = graph.Tokens{B: s.Batch, L: s.QueryLen, IDs: make([]int, s.Batch*s.QueryLen), Mask: make([]float32, s.Batch*s.QueryLen)}
	for i := 0; i < s.Batch; i++ {
		row, att := b.q.IDs[i*s.QueryLen:][:s.QueryLen], b.q.Mask[i*s.QueryLen:][:s.QueryLen]
		for j := range row {
			switch {
			case j == 0:
				row[j] = idCLS
			case j == 1:
				row[j] = idQ
			case j < s.QueryAttended-1:
				row[j] = word()
			case j == s.QueryAttended-1:
				row[j] = idSEP
			default:
				row[j] = idMASK
			}
			if j < s.QueryAttended {
				att[j] = 1
			}
		}
	}
	n := s.Docs()
	lens := s.DocLens()
	w := 0 // padded to the longest document, as PackDocs pads
	for _, l := range lens {
		w = max(w, l)
	}
	b.d = graph.Tokens{B: n, L: w, IDs: make([]int, n*w), Mask: make([]float32, n*w)}
	b.dvec = make([]float32, n*w)
	for i, l := range lens {
		row := b.d.IDs[i*w:][:w]
		for j := 0; j < l; j++ {
			switch j {
			case 0:
				row[j] = idCLS
			case 1:
				row[j] = idD
			case l - 1:
				row[j] = idSEP
			default:
				row[j] = word()
			}
			b.d.Mask[i*w+j], b.dvec[i*w+j] = 1, 1
		}
		// row[l:] stays id 0 ([PAD]), attention mask 0, vector mask 0.
	}
	for i := 0; i < s.Batch; i++ {
		c := make([]int, s.NWay)
		for j := range c {
			c[j] = i*s.NWay + j
			b.teacher = append(b.teacher, float32(r.NormFloat64()))
		}
		b.cand = append(b.cand, c)
	}
	if s.InBatch {
		b.ibCand, b.ibLabel = train.InBatchCandidates(b.cand, s.NWay)
	}
	return b, nil
}

// newStudent is a from-scratch ColBERT student of shape s (train.Load's
// initialisation without the position-embedding scaling, which costs
// nothing per step).
func newStudent(s Shape, seed uint64) (*model.Checkpoint, error) {
	bc := model.SmallConfig(s.Vocab)
	bc.HiddenSize, bc.NumHiddenLayers, bc.NumAttentionHeads, bc.IntermediateSize = s.Hidden, s.Layers, s.Heads, s.Intermediate
	bc.MaxPositionEmbeddings = max(bc.MaxPositionEmbeddings, s.QueryLen, s.DocLen)
	col := model.DefaultColBERTConfig()
	col.Dim, col.QueryMaxLen, col.DocMaxLen = s.Dim, s.QueryLen, s.DocLen
	ck, err := model.NewCheckpoint(bc, model.KindColBERT, col, seed)
	if err != nil {
		return nil, err
	}
	model.DropMLMHead(ck.Params) // as train.New does for every loss but mlm
	return ck, nil
}

// trainStep is one optimizer step as train.Trainer.Step does it for the
// KL student (accum_steps 1): graph.New → Encode (queries) and
// EncodeBucketed (documents, as the trainer does: rows sorted by length,
// buckets of 16 rows each padded only to its own longest) → ColBERT →
// MaxSim → KLLoss (+ CELoss over the in-batch candidates) → Sum →
// Backward, then ClipGradNorm and the AdamW update. This is the one call
// site to adapt when model/graph's API changes.
func trainStep(ck *model.Checkpoint, opt *train.AdamW, cfg train.Config, b *batch) (float32, error) {
	g := graph.New(ck.Config, ck.Params)
	qv := g.ColBERT(g.Encode(b.q))
	dv := g.ColBERT(g.EncodeBucketed(b.d, graph.SequenceLengths(b.d.Mask, b.d.B, b.d.L)))
	loss := g.KLLoss(g.MaxSim(qv, dv, b.dvec, b.cand), b.teacher, cfg.DistillationAlpha)
	if b.ibCand != nil {
		ib := g.CELoss(g.MaxSim(qv, dv, b.dvec, b.ibCand), b.ibLabel, 1)
		loss = g.Sum([]float32{1, 1}, loss, ib)
	}
	res, err := g.Backward(loss)
	if err != nil {
		return 0, err
	}
	train.ClipGradNorm(res.Grads, cfg.MaxGradNorm)
	opt.Update(ck.Params, res.Grads, cfg.LR)
	return res.Loss, nil
}
