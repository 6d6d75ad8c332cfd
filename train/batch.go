package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/tokenize"
)

// Data is the tokenised training set: examples (positive first) and the
// wordpiece ids (no special tokens) of every query and document they name.
type Data struct {
	Examples []data.Example
	Queries  map[string][]int32
	Docs     map[string][]int32
	// QueryText and DocText hold the texts, needed by the cross-encoder
	// (its pairs are tokenised together, truncated longest-first).
	QueryText, DocText map[string]string
}

// Check verifies that every example has nway documents, known ids and, for
// the KL loss, one teacher score per document.
func (d *Data) Check(nway int, needTeacher bool) error {
	return d.check(nway, needTeacher, false)
}

func (d *Data) check(nway int, needTeacher, needText bool) error {
	if len(d.Examples) == 0 {
		return fmt.Errorf("train: no training examples")
	}
	for i, ex := range d.Examples {
		if len(ex.DocIDs) < nway {
			return fmt.Errorf("train: example %d (query %s) has %d documents, nway is %d", i, ex.QueryID, len(ex.DocIDs), nway)
		}
		if _, ok := d.Queries[ex.QueryID]; !ok {
			return fmt.Errorf("train: example %d: query %s not in the queries", i, ex.QueryID)
		}
		for _, id := range ex.DocIDs {
			if _, ok := d.Docs[id]; !ok {
				return fmt.Errorf("train: example %d (query %s): document %s not in the collection", i, ex.QueryID, id)
			}
		}
		if needText {
			if _, ok := d.QueryText[ex.QueryID]; !ok {
				return fmt.Errorf("train: example %d: no text for query %s (the cross-encoder needs texts)", i, ex.QueryID)
			}
			for _, id := range ex.DocIDs {
				if _, ok := d.DocText[id]; !ok {
					return fmt.Errorf("train: example %d: no text for document %s (the cross-encoder needs texts)", i, id)
				}
			}
		}
		if needTeacher && len(ex.TeacherScores) != len(ex.DocIDs) {
			return fmt.Errorf("train: example %d (query %s): %d teacher scores for %d documents (loss kl needs teacher scores)", i, ex.QueryID, len(ex.TeacherScores), len(ex.DocIDs))
		}
	}
	return nil
}

// batch is one packed micro-batch.
type batch struct {
	queries tokenize.Batch
	docs    tokenize.Batch
	cand    [][]int   // [B][nway] rows of docs
	teacher []float32 // [B·nway] or nil
	ibCand  [][]int   // in-batch candidates per query (ColBERT's all-but-own-negatives)
	ibLabel []int
	pairs   *tokenize.Batch // cross-encoder: B·nway (query, doc) pairs, query-major
	mlm     *mlmBatch       // loss mlm: masked pairs instead of all of the above
}

// order maps the k-th example drawn (counting from the start of training)
// to an example index: a fresh seeded permutation per epoch, so the data
// order depends only on (seed, k) and resumes exactly. The current epoch's
// permutation is cached.
type order struct {
	seed  uint64
	n     int
	epoch int64
	perm  []int
}

func (o *order) at(k int64) int {
	e := k / int64(o.n)
	if o.perm == nil || e != o.epoch {
		o.perm = rand.New(rand.NewPCG(o.seed, 0x6f72646572+uint64(e))).Perm(o.n)
		o.epoch = e
	}
	return o.perm[k%int64(o.n)]
}

// pick returns the nway document positions of an example: the positive and
// the first nway-1 negatives, or nway-1 negatives drawn with an RNG seeded by
// (seed, k).
func pick(ex data.Example, nway int, sample bool, seed uint64, k int64) []int {
	idx := make([]int, nway)
	for j := range idx {
		idx[j] = j
	}
	if !sample || len(ex.DocIDs) == nway {
		return idx
	}
	r := rand.New(rand.NewPCG(seed, 0x6e6567+uint64(k)))
	neg := r.Perm(len(ex.DocIDs) - 1)[:nway-1]
	for j, p := range neg {
		idx[j+1] = p + 1
	}
	return idx
}

// makeBatch packs examples k0 … k0+bsize-1 of the training order.
func makeBatch(d *Data, enc *tokenize.ColBERT, cfg Config, ord *order, k0 int64) (*batch, error) {
	nway := cfg.NWay
	b := &batch{}
	qids := make([][]int32, cfg.BatchSize)
	var docToks [][]int32
	row := map[string]int{}
	useTeacher := cfg.Loss == LossKL
	var pq, pd []string
	for i := 0; i < cfg.BatchSize; i++ {
		k := k0 + int64(i)
		ex := d.Examples[ord.at(k)]
		qids[i] = d.Queries[ex.QueryID]
		c := make([]int, nway)
		for j, p := range pick(ex, nway, cfg.SampleNegatives, cfg.Seed, k) {
			id := ex.DocIDs[p]
			if cfg.ModelKind == "cross-encoder" {
				pq, pd = append(pq, d.QueryText[ex.QueryID]), append(pd, d.DocText[id])
			}
			r, ok := row[id]
			if !ok {
				r = len(docToks)
				row[id] = r
				docToks = append(docToks, d.Docs[id])
			}
			c[j] = r
			if useTeacher {
				b.teacher = append(b.teacher, ex.TeacherScores[p])
			}
		}
		b.cand = append(b.cand, c)
	}
	if pq != nil {
		pb, err := enc.Tokenizer().EncodePairs(pq, pd, cfg.PairMaxLen)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		b.pairs = &pb
		return b, nil
	}
	b.queries = enc.PackQueries(qids)
	b.docs = enc.PackDocs(docToks)
	if cfg.InBatchNegatives {
		b.ibCand, b.ibLabel = InBatchCandidates(b.cand, nway)
	}
	return b, nil
}

// InBatchCandidates is ColBERT's in-batch layout for nway-document lists
// (cand[i][0] the positive): query i against every document of the batch
// except its own negatives, with its positive at position nway·i (label).
func InBatchCandidates(cand [][]int, nway int) (ib [][]int, label []int) {
	for i := range cand {
		var c []int
		for i2, c2 := range cand {
			for j, r := range c2 {
				if i2 != i || j == 0 {
					c = append(c, r)
				}
			}
		}
		ib = append(ib, c)
		label = append(label, nway*i)
	}
	return ib, label
}

func ints(v []int32) []int {
	o := make([]int, len(v))
	for i, x := range v {
		o[i] = int(x)
	}
	return o
}

func floats(v []int32) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}
