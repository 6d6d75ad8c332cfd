package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/data/parquetio"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// Prepare loads everything a run needs from cfg: the tokenizer, the student
// (from init_from, or freshly initialised with the small config and seed),
// the examples and the texts they reference, tokenised on threads workers.
func Prepare(ctx context.Context, cfg Config, threads int, bar *progress.Bar) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tokPath := cfg.Tokenizer
	if tokPath == "" && cfg.InitFrom != "" {
		tokPath = filepath.Join(cfg.InitFrom, "tokenizer.json")
	}
	if tokPath == "" {
		return nil, fmt.Errorf("train: config tokenizer is required when training from scratch")
	}
	tok, err := tokenize.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("train: tokenizer %s: %w", tokPath, err)
	}
	var ck *model.Checkpoint
	if cfg.InitFrom != "" {
		if ck, err = model.LoadCheckpoint(cfg.InitFrom); err != nil {
			return nil, fmt.Errorf("train: init_from: %w", err)
		}
	}
	col := model.DefaultColBERTConfig()
	if ck != nil {
		col = ck.ColBERT
		if string(ck.Kind) != cfg.ModelKind {
			// A cross-encoder teacher warm-started from a trained ColBERT
			// (or the reverse): keep the encoder, start a fresh head.
			col.Dim, col.PolyM, col.MVK = cfg.Dim, cfg.PolyM, cfg.MVK
			if ck, _, err = ck.WithHead(model.Kind(cfg.ModelKind), col, cfg.Seed); err != nil {
				return nil, fmt.Errorf("train: init_from %s: %w", cfg.InitFrom, err)
			}
		}
	}
	col.QueryMaxLen, col.DocMaxLen = cfg.QueryMaxLen, cfg.DocMaxLen
	// The one mapping index and search use, so all three tokenise alike.
	enc, err := tokenize.NewColBERT(tok, encode.TokenizerConfig(col))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if ck == nil {
		if cfg.Hidden%32 != 0 || cfg.Hidden <= 0 || cfg.Layers <= 0 || cfg.Dim <= 0 {
			return nil, fmt.Errorf("train: config hidden = %d, layers = %d, dim = %d: hidden must be a positive multiple of 32 (heads of 32), layers and dim > 0", cfg.Hidden, cfg.Layers, cfg.Dim)
		}
		bc := model.SmallConfig(enc.VocabSize())
		bc.HiddenSize, bc.NumHiddenLayers, bc.NumAttentionHeads, bc.IntermediateSize = cfg.Hidden, cfg.Layers, cfg.Hidden/32, 4*cfg.Hidden
		bc.MaxPositionEmbeddings = max(bc.MaxPositionEmbeddings, cfg.DocMaxLen, cfg.QueryMaxLen, cfg.PairMaxLen)
		col.Dim, col.PolyM, col.MVK = cfg.Dim, cfg.PolyM, cfg.MVK
		if ck, err = model.NewCheckpoint(bc, model.Kind(cfg.ModelKind), col, cfg.Seed); err != nil {
			return nil, fmt.Errorf("train: init: %w", err)
		}
		for _, name := range []string{"embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight"} {
			for i := range ck.Params[name].Data {
				ck.Params[name].Data[i] *= float32(cfg.PositionInitScale)
			}
		}
		if cfg.QKTieInit > 0 {
			tieQueryKey(ck, cfg.QKTieInit, cfg.Seed)
		}
	}
	if need := longestInput(cfg); need > ck.Config.MaxPositionEmbeddings {
		return nil, fmt.Errorf("train: inputs of up to %d tokens (query_maxlen/doc_maxlen/pair_maxlen) but the model has %d position embeddings", need, ck.Config.MaxPositionEmbeddings)
	}
	// The checkpoint's head settings stay as its kind made them (a
	// poly-encoder's dim is its hidden size); the lengths are the run's.
	ck.ColBERT.QueryMaxLen, ck.ColBERT.DocMaxLen = col.QueryMaxLen, col.DocMaxLen
	ck.Tokenizer = tokPath
	d, err := LoadData(ctx, cfg, tok, threads, bar)
	if err != nil {
		return nil, err
	}
	t, err := New(cfg, ck, enc, d)
	if err != nil {
		return nil, err
	}
	t.Threads = threads
	if cfg.DevQrels == "" {
		return t, nil
	}
	if ck.Kind != model.KindColBERT && ck.Kind != model.KindBiEncoder {
		return nil, fmt.Errorf("train: dev evaluation (dev_qrels) supports model_kind colbert and bi-encoder, not %s (evaluate its checkpoints with colbert evaluate)", ck.Kind)
	}
	qrels, err := data.ReadQrels(cfg.DevQrels)
	if err != nil {
		return nil, fmt.Errorf("train: dev_qrels: %w", err)
	}
	qpath := cfg.DevQueries
	if qpath == "" {
		qpath = cfg.Queries
	}
	qs, err := dataset.Queries(qpath, "")
	if err != nil {
		return nil, fmt.Errorf("train: dev queries: %w", err)
	}
	ps, err := dataset.Passages(cfg.Collection)
	if err != nil {
		return nil, fmt.Errorf("train: collection: %w", err)
	}
	t.Dev = NewDevSet(qs, qrels, ps, tok, cfg.DevMaxQueries, cfg.DevMaxDocs, cfg.Seed)
	if len(t.Dev.QueryIDs) == 0 {
		return nil, fmt.Errorf("train: dev_qrels %s: no judged query found in %s", cfg.DevQrels, qpath)
	}
	return t, nil
}

// LoadData reads the examples, the queries and the collection named by cfg
// and tokenises the texts the examples reference.
func LoadData(ctx context.Context, cfg Config, tok *tokenize.Tokenizer, threads int, bar *progress.Bar) (*Data, error) {
	for key, p := range map[string]string{"examples": cfg.Examples, "queries": cfg.Queries, "collection": cfg.Collection} {
		if p == "" {
			return nil, fmt.Errorf("train: config %s is required", key)
		}
	}
	exs, err := readExamples(cfg.Examples)
	if err != nil {
		return nil, err
	}
	qs, err := dataset.Queries(cfg.Queries, "")
	if err != nil {
		return nil, fmt.Errorf("train: queries: %w", err)
	}
	ps, err := dataset.Passages(cfg.Collection)
	if err != nil {
		return nil, fmt.Errorf("train: collection: %w", err)
	}
	needQ, needD := map[string]bool{}, map[string]bool{}
	for _, ex := range exs {
		needQ[ex.QueryID] = true
		for _, id := range ex.DocIDs {
			needD[id] = true
		}
	}
	var ids, texts []string
	for _, q := range qs {
		if needQ[q.ID] {
			ids, texts = append(ids, q.ID), append(texts, q.Text)
		}
	}
	nq := len(ids)
	for _, p := range ps {
		if needD[p.ID] {
			ids, texts = append(ids, p.ID), append(texts, p.Content())
		}
	}
	if bar != nil {
		bar.SetTotal(int64(len(texts)))
	}
	toks, err := tok.TokenizeAll(ctx, texts, threads, bar)
	if err != nil {
		return nil, fmt.Errorf("train: tokenise: %w", err)
	}
	d := &Data{Examples: exs, Queries: map[string][]int32{}, Docs: map[string][]int32{}}
	if cfg.ModelKind == string(model.KindCrossEncoder) {
		d.QueryText, d.DocText = map[string]string{}, map[string]string{}
		for i, id := range ids {
			if i < nq {
				d.QueryText[id] = texts[i]
			} else {
				d.DocText[id] = texts[i]
			}
		}
	}
	for i, id := range ids {
		if i < nq {
			d.Queries[id] = toks[i]
		} else {
			d.Docs[id] = toks[i]
		}
	}
	return d, nil
}

// readExamples reads the teacher-score Parquet of distill, or JSONL/TSV.
func readExamples(path string) ([]data.Example, error) {
	var exs []data.Example
	var err error
	if dataset.FormatOf(path) == dataset.Parquet {
		exs, _, err = parquetio.ReadExamples(path)
	} else {
		exs, err = data.ReadExamples(path)
	}
	if err != nil {
		return nil, fmt.Errorf("train: examples: %w", err)
	}
	return exs, nil
}

// longestInput is the longest token sequence the model will see.
func longestInput(cfg Config) int {
	if cfg.ModelKind == string(model.KindCrossEncoder) {
		return cfg.PairMaxLen
	}
	return max(cfg.QueryMaxLen, cfg.DocMaxLen)
}

// tieQueryKey redraws every layer's attention query weights from N(0, std)
// and copies them into the key weights (biases stay zero). The attention
// logit of tokens x and y is then x·WᵀW·y, largest when y is x itself, so an
// untrained model already links a query word to its copies in the passage.
func tieQueryKey(ck *model.Checkpoint, std float64, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x71c7))
	for l := range ck.Config.NumHiddenLayers {
		q := ck.Params[fmt.Sprintf("encoder.layer.%d.attention.self.query.weight", l)].Data
		k := ck.Params[fmt.Sprintf("encoder.layer.%d.attention.self.key.weight", l)].Data
		for i := range q {
			q[i] = float32(r.NormFloat64() * std)
		}
		copy(k, q)
	}
}
