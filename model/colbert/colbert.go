// Package colbert adapts a ColBERT checkpoint to indexing and querying: it
// loads a checkpoint with its tokenizer (one loader, one tokenizer mapping:
// encode.TokenizerConfig) and the key that identifies its vectors, streams a
// collection's passage embeddings to an index build (tokenised once, with an
// id cache, encoded in length-bucketed batches), and encodes query texts
// into the vectors search and rerank score.
//
// Two encoders compute the same vectors (both within the parity tolerance of
// the transformers-made references): the pure-Go/OpenBLAS forward pass
// (model/encode, "go") and ONNX Runtime on the checkpoint's ONNX export
// (model/ort, "ort"). "auto", the default, takes ORT for encoders of hidden
// size ≥ AutoORTHidden when its library is found, Go otherwise: measured on
// 2 cores (BENCHMARKS.md, `make bench-encode`), ORT's own AVX-512 GEMM
// kernels encode a bert-base checkpoint faster than OpenBLAS's, while on
// the demo's 2-layer, hidden-128 model the Go encoder is faster (its
// per-call overhead is lower and it packs batches without padding).
package colbert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
	"github.com/colbert-go/colbert/model/ort"
)

// ErrNoTokens is returned for a query whose text has no wordpiece: ColBERT
// would score it by its markers and [MASK] padding alone, which ranks
// passages arbitrarily, so it is refused (the search service answers 400).
var ErrNoTokens = errors.New("query has no tokens")

// Encoder turns token ids into ColBERT vectors: *encode.ColBERT (Go) and
// *ort.ColBERT (ONNX Runtime).
type Encoder interface {
	Dim() int
	// EncodeQueries returns all Len vectors of every query, [N, Len, Dim].
	EncodeQueries(ctx context.Context, b encode.Batch) ([]float32, error)
	// EncodeDocIDs returns the kept vectors of unpadded documents.
	EncodeDocIDs(ctx context.Context, ids, vecMasks [][]int32) (*encode.DocVectors, error)
	// Close frees what the encoder holds outside Go's heap (an ORT session).
	Close() error
}

// Encoder backends (Options.Encoder).
const (
	EncoderAuto = "auto"
	EncoderGo   = "go"
	EncoderORT  = "ort"
)

// AutoORTHidden is the hidden size from which "auto" picks ONNX Runtime.
const AutoORTHidden = 384

// Options configures LoadWith.
type Options struct {
	// Encode is the Go encoder's scheduling; its Threads is also ORT's.
	Encode encode.Options
	// Encoder is "go", "ort" or "auto" ("" = "auto"; see the package doc).
	Encoder string
	// ORTLibrary is the ONNX Runtime shared library ("" = ort.FindLibrary's
	// search: $ONNXRUNTIME_LIB, then .deps/onnxruntime of the repository).
	ORTLibrary string
}

// Model is a ColBERT checkpoint ready to encode texts, with the key that
// identifies its vectors in an index manifest.
type Model struct {
	// Tok is the checkpoint's ColBERT tokenizer.
	Tok *tokenize.ColBERT
	// Encoder is the backend in use: "go" or "ort".
	Encoder string
	// Kind is the checkpoint's model kind (colbert, mv-dpr, poly-encoder,
	// splade; see kinds.go).
	Kind   model.Kind
	enc    Encoder
	sparse *encode.SPLADE // SPLADE's encoder (enc is then sparseOnly)
	// encoded counts the passages' encoding (EncodeDocIDs): calls'
	// nanoseconds, passages and kept vectors.
	encNanos, encPassages, encVectors atomic.Int64
	// Hash is model.Checkpoint.Hash: a digest of the parameters only.
	Hash string
	// Key is a digest of everything that decides the vectors: the
	// parameters (Hash), the forward pass's config, the ColBERT settings
	// (dim, maxlens, markers, query [MASK] attention, punctuation masking)
	// and the tokenizer file's content. Indexes record it as their
	// checkpoint, so that an index (or an interrupted build) is reused only
	// by an encoder that makes the same vectors; see Matches.
	Key string
	// Dir is the checkpoint directory.
	Dir string
}

// encoderKey is Model.Key for a checkpoint whose weights hash is weights,
// its tokenizer and the tokenizer settings made from its ColBERT config.
func encoderKey(ck *model.Checkpoint, weights string, tok *tokenize.Tokenizer, cfg tokenize.Config) (string, error) {
	// Fields only training reads are left out, so that a config edit that
	// cannot change a vector does not invalidate indexes; every other
	// field, including ones added later, is covered.
	bert := ck.Config
	bert.Architectures, bert.ModelType, bert.InitializerRange = nil, "", 0
	bert.HiddenDropoutProb, bert.AttentionDropoutProb = 0, 0
	th := tok.Hash()
	b, err := json.Marshal(struct {
		Version   int
		Weights   string
		Kind      model.Kind
		Bert      model.BertConfig
		ColBERT   model.ColBERTConfig
		Tokenizer string
		TokConfig tokenize.Config
	}{1, weights, ck.Kind, bert, ck.ColBERT, hex.EncodeToString(th[:]), cfg})
	if err != nil {
		return "", fmt.Errorf("colbert: encoder key: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Matches reports whether recorded, the checkpoint an index or build plan
// names, is this encoder: its Key, or its weights Hash alone for indexes
// written before keys covered config and tokenizer (those cannot be checked
// further and are accepted as before).
func (m *Model) Matches(recorded string) bool {
	return recorded == m.Key || recorded == m.Hash
}

// Load reads a ColBERT checkpoint directory and its tokenizer.json
// (tokenizerPath "" = the checkpoint's own) for the Go encoder.
func Load(dir, tokenizerPath string, opt encode.Options) (*Model, error) {
	return LoadWith(dir, tokenizerPath, Options{Encode: opt, Encoder: EncoderGo})
}

// LoadWith reads a ColBERT checkpoint directory and its tokenizer.json
// (tokenizerPath "" = the checkpoint's own) for the encoder opt.Encoder.
// Close the model after use (it frees an ORT session).
func LoadWith(dir, tokenizerPath string, opt Options) (*Model, error) {
	backend, err := chooseEncoder(opt)
	if err != nil {
		return nil, err
	}
	ck, err := model.LoadCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	if ck.Kind == "" {
		ck.Kind = model.KindColBERT
	}
	if !Searchable(ck.Kind) {
		return nil, fmt.Errorf("colbert: checkpoint %s is a %s model: index and search take colbert, mv-dpr, poly-encoder, splade or bi-encoder", dir, ck.Kind)
	}
	if tokenizerPath == "" {
		if ck.Tokenizer == "" {
			return nil, fmt.Errorf("colbert: checkpoint %s has no tokenizer.json; give one", dir)
		}
		tokenizerPath = ck.Tokenizer
	}
	tok, err := tokenize.Load(tokenizerPath)
	if err != nil {
		return nil, err
	}
	tc, err := tokenize.NewColBERT(tok, encode.TokenizerConfig(ck.ColBERT))
	if err != nil {
		return nil, fmt.Errorf("colbert: %s: %w", tokenizerPath, err)
	}
	if tc.VocabSize() > ck.Config.VocabSize {
		return nil, fmt.Errorf("colbert: tokenizer %s has %d ids but the model's vocab_size is %d", tokenizerPath, tc.VocabSize(), ck.Config.VocabSize)
	}
	hash := ck.Hash()
	key, err := encoderKey(ck, hash, tok, tc.Config())
	if err != nil {
		return nil, err
	}
	m := &Model{Tok: tc, Kind: ck.Kind, Hash: hash, Key: key, Dir: dir}
	if ck.Kind != model.KindColBERT {
		if backend == EncoderORT {
			return nil, fmt.Errorf("colbert: encoder ort exports ColBERT only; %s is a %s model (use --encoder go)", dir, ck.Kind)
		}
		m.Encoder = EncoderGo
		if m.enc, m.sparse, err = newKindEncoder(ck, opt); err != nil {
			return nil, err
		}
		return m, nil
	}
	if m.enc, m.Encoder, err = newEncoder(ck, backend, opt); err != nil {
		return nil, err
	}
	return m, nil
}

// NewEncoder opens ck's encoder on the backend opt.Encoder asks for (see
// the package doc for "auto") and names the backend it chose. Close it
// after use.
func NewEncoder(ck *model.Checkpoint, opt Options) (Encoder, string, error) {
	backend, err := chooseEncoder(opt)
	if err != nil {
		return nil, "", err
	}
	return newEncoder(ck, backend, opt)
}

func newEncoder(ck *model.Checkpoint, backend string, opt Options) (Encoder, string, error) {
	if backend == EncoderAuto {
		backend = EncoderGo
		if ck.Config.HiddenSize >= AutoORTHidden {
			backend = EncoderORT
		}
	}
	if backend == EncoderGo {
		c, err := encode.NewColBERT(ck, opt.Encode)
		if err != nil {
			return nil, "", err
		}
		return goEncoder{c}, backend, nil
	}
	rt, err := sharedRuntime(opt.ORTLibrary)
	if err != nil {
		return nil, "", fmt.Errorf("colbert: encoder ort: %w", err)
	}
	if ck.Kind == "" {
		ck.Kind = model.KindColBERT
	}
	c, err := rt.NewColBERT(ck, ort.ColBERTOptions{Threads: opt.Encode.Threads})
	if err != nil {
		return nil, "", fmt.Errorf("colbert: %s on ONNX Runtime: %w", ck.Dir, err)
	}
	return c, backend, nil
}

// goEncoder is the Go encoder as an Encoder (nothing to close).
type goEncoder struct{ *encode.ColBERT }

func (goEncoder) Close() error { return nil }

// chooseEncoder checks opt.Encoder and resolves "auto" to "ort" only when
// the ORT library is found; it stays "auto" then, for LoadWith to decide
// by the model's size.
func chooseEncoder(opt Options) (string, error) {
	switch opt.Encoder {
	case EncoderGo, EncoderORT:
		return opt.Encoder, nil
	case EncoderAuto, "":
		if _, err := ort.FindLibrary(opt.ORTLibrary); err != nil {
			return EncoderGo, nil
		}
		return EncoderAuto, nil
	}
	return "", fmt.Errorf("colbert: unknown encoder %q (want go, ort or auto)", opt.Encoder)
}

// ONNX Runtime has one environment per process: every ORT model shares it.
var (
	rtOnce sync.Once
	rt     *ort.Runtime
	rtErr  error
	rtLib  string
)

func sharedRuntime(lib string) (*ort.Runtime, error) {
	rtOnce.Do(func() {
		rtLib = lib
		rt, rtErr = ort.NewRuntime(lib)
	})
	if rtErr == nil && lib != "" && lib != rtLib && lib != rt.Library() {
		return nil, fmt.Errorf("ONNX Runtime already loaded from %s; cannot also load %s", rt.Library(), lib)
	}
	return rt, rtErr
}

// Close frees the encoder (an ORT session); the model cannot encode after.
func (m *Model) Close() error { return m.enc.Close() }

// Dim is the vector size.
func (m *Model) Dim() int { return m.enc.Dim() }

// EncodeDocIDs encodes unpadded documents (ids and vector masks as
// tokenize.ColBERT.PackDoc returns them) into their kept vectors.
func (m *Model) EncodeDocIDs(ctx context.Context, ids, vecMasks [][]int32) (*encode.DocVectors, error) {
	t0 := time.Now()
	dv, err := m.enc.EncodeDocIDs(ctx, ids, vecMasks)
	if err == nil {
		m.encNanos.Add(int64(time.Since(t0)))
		m.encPassages.Add(int64(len(ids)))
		m.encVectors.Add(int64(len(dv.Vectors) / max(1, dv.Dim)))
	}
	return dv, err
}

// EncodeStats is what a model has spent on passages so far: wall time in
// the encoder (calls from several goroutines add up), passages and kept
// vectors (tokens).
type EncodeStats struct {
	Time     time.Duration
	Passages int64
	Vectors  int64
}

// Sub is the difference s − o (the work between two readings).
func (s EncodeStats) Sub(o EncodeStats) EncodeStats {
	return EncodeStats{Time: s.Time - o.Time, Passages: s.Passages - o.Passages, Vectors: s.Vectors - o.Vectors}
}

// TokensPerSecond is vectors per second of encoder time (0 before any).
func (s EncodeStats) TokensPerSecond() float64 {
	if s.Time <= 0 {
		return 0
	}
	return float64(s.Vectors) / s.Time.Seconds()
}

// PassageStats reads the passage-encoding counters (EncodeDocIDs, and so
// Source.Embed and EncodeDocTexts).
func (m *Model) PassageStats() EncodeStats {
	return EncodeStats{Time: time.Duration(m.encNanos.Load()), Passages: m.encPassages.Load(), Vectors: m.encVectors.Load()}
}

// EncodeDocTexts tokenises documents and returns their kept vectors.
func (m *Model) EncodeDocTexts(ctx context.Context, texts []string) (*encode.DocVectors, error) {
	ids := make([][]int32, len(texts))
	masks := make([][]int32, len(texts))
	for i, s := range texts {
		ids[i], masks[i] = m.Tok.EncodeDoc(s)
	}
	return m.EncodeDocIDs(ctx, ids, masks)
}

// QueryLen is the number of vectors of every encoded query (query_maxlen:
// the [MASK] padding is kept, as ColBERT's query augmentation scores it;
// k for MV-DPR, m for the poly-encoder).
func (m *Model) QueryLen() int {
	if f, ok := m.enc.(fixedVectors); ok {
		return f.queryVectors()
	}
	return m.Tok.Config().QueryMaxLen
}

// queryIDs tokenises queries; one without any wordpiece is an error naming
// its id (ErrNoTokens).
func (m *Model) queryIDs(qs []data.Query) ([][]int32, error) {
	tok := m.Tok.Tokenizer()
	ids := make([][]int32, len(qs))
	for i, q := range qs {
		ids[i] = tok.Encode(q.Text)
		if len(ids[i]) == 0 {
			return nil, fmt.Errorf("colbert: query %q (%q): %w", q.ID, truncate(q.Text, 40), ErrNoTokens)
		}
	}
	return ids, nil
}

// EncodeQueries encodes queries into one row-major QueryLen×Dim matrix each.
// A query without any wordpiece is an error naming its id (ErrNoTokens).
func (m *Model) EncodeQueries(ctx context.Context, qs []data.Query) ([][]float32, error) {
	ids, err := m.queryIDs(qs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(qs))
	const batch = 256 // queries are short; bounded memory for big query sets
	n := m.QueryLen() * m.Dim()
	for lo := 0; lo < len(qs); lo += batch {
		hi := min(len(qs), lo+batch)
		b := m.Tok.PackQueries(ids[lo:hi])
		v, err := m.enc.EncodeQueries(ctx, encode.FromTokenize(b))
		if err != nil {
			return nil, err
		}
		if len(v) != (hi-lo)*n {
			return nil, fmt.Errorf("colbert: query batch of %d gave %d values, want %d×%d", hi-lo, len(v), hi-lo, n)
		}
		for i := lo; i < hi; i++ {
			out[i] = v[(i-lo)*n : (i-lo+1)*n : (i-lo+1)*n]
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// SourceOptions configures NewSource.
type SourceOptions struct {
	// CachePath is the token id cache file ("" = tokenise without a cache).
	// A resumed build reads the ids back instead of tokenising again.
	CachePath string
	// Threads tokenises in parallel (0 = GOMAXPROCS).
	Threads int
	// Bar advances by one per tokenised passage; nil is silent.
	Bar *progress.Bar
}

// Source streams a collection's passage embeddings to codec/index.Build: it
// implements index.Source and index.Picker. Passages are tokenised once up
// front (ids are ~4 bytes per token, far less than the index); embeddings are
// computed on demand, one Embed call per batch, which the encoder packs
// without padding and groups by length.
type Source struct {
	m    *Model
	ids  []string
	toks [][]int32
}

// NewSource tokenises passages (Content: title + " " + text) with the
// model's tokenizer. Passage ids must be non-empty and unique.
func NewSource(ctx context.Context, m *Model, passages []data.Passage, opt SourceOptions) (*Source, error) {
	s := &Source{m: m, ids: make([]string, len(passages))}
	seen := make(map[string]int, len(passages))
	texts := make([]string, len(passages))
	for i, p := range passages {
		if p.ID == "" {
			return nil, fmt.Errorf("colbert: passage %d has an empty id", i+1)
		}
		if j, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("colbert: passage id %q appears twice (passages %d and %d)", p.ID, j+1, i+1)
		}
		seen[p.ID] = i
		s.ids[i] = p.ID
		texts[i] = p.Content()
	}
	tok := m.Tok.Tokenizer()
	var err error
	if opt.CachePath != "" {
		s.toks, err = tok.TokenizeCached(ctx, opt.CachePath, texts, opt.Threads, opt.Bar)
	} else {
		s.toks, err = tok.TokenizeAll(ctx, texts, opt.Threads, opt.Bar)
	}
	if err != nil {
		return nil, fmt.Errorf("colbert: tokenise: %w", err)
	}
	return s, nil
}

// Len is the number of passages.
func (s *Source) Len() int { return len(s.ids) }

// ID is passage i's id.
func (s *Source) ID(i int) string { return s.ids[i] }

// NumTokens is the number of vectors the index will hold (kept positions
// after truncation to doc_maxlen and punctuation masking).
func (s *Source) NumTokens() int64 {
	if f, ok := s.m.enc.(fixedVectors); ok {
		return int64(f.passageVectors()) * int64(len(s.toks))
	}
	var n int64
	for _, t := range s.toks {
		_, mask := s.m.Tok.PackDoc(t)
		for _, v := range mask {
			if v != 0 {
				n++
			}
		}
	}
	return n
}

// Embed encodes passages start…end−1.
func (s *Source) Embed(ctx context.Context, start, end int) ([][]float32, error) {
	if start < 0 || end > len(s.ids) || start > end {
		return nil, fmt.Errorf("colbert: embed passages %d…%d of %d", start, end, len(s.ids))
	}
	pids := make([]int, end-start)
	for i := range pids {
		pids[i] = start + i
	}
	return s.EmbedPIDs(ctx, pids)
}

// EmbedPIDs encodes the given passages in one call (the k-means sample).
func (s *Source) EmbedPIDs(ctx context.Context, pids []int) ([][]float32, error) {
	ids := make([][]int32, len(pids))
	masks := make([][]int32, len(pids))
	for i, p := range pids {
		if p < 0 || p >= len(s.toks) {
			return nil, fmt.Errorf("colbert: passage %d out of range (%d passages)", p, len(s.toks))
		}
		ids[i], masks[i] = s.m.Tok.PackDoc(s.toks[p])
	}
	dv, err := s.m.EncodeDocIDs(ctx, ids, masks)
	if err != nil {
		return nil, fmt.Errorf("colbert: encode passages: %w", err)
	}
	out := make([][]float32, len(pids))
	for i := range out {
		out[i] = dv.Doc(i)
	}
	return out, nil
}
