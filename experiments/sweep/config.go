// Package sweep runs a grid (or list) of experiment cells — training
// settings × index/search settings — on one BEIR folder and gathers them into
// one table and plots. Every training job and every evaluation is a
// resumable stage keyed by its settings, so a killed sweep restarted runs
// only the cells that are missing, and cells sharing their training settings
// share one trained checkpoint (train once, evaluate many). It is
// `colbert sweep`.
package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/train"
)

// Evaluation keys a cell may set besides the training ones.
const (
	KeyNBits       = "nbits"        // residual bits of the index: 1, 2 or 4
	KeyCodec       = "codec"        // residual | fp32 | fp16 | pca-int8 (evaluate.Codecs)
	KeySearch      = "search"       // plaid | exhaustive | rerank-bm25
	KeyK           = "k"            // passages retrieved per query
	KeyNCells      = "ncells"       // PLAID centroids probed per query token
	KeyNDocs       = "ndocs"        // PLAID candidates kept after stage 2
	KeyThreshold   = "threshold"    // PLAID centroid score threshold (centroid_score_threshold; 0 is a value, not "default")
	KeyRerankDepth = "rerank_depth" // BM25 depth rescored in rerank-bm25 mode
)

// MaxCells bounds a sweep: a grid beyond it is almost surely a typo, and
// expanding it would exhaust memory.
const MaxCells = 10000

var evalKeys = []string{KeyNBits, KeyCodec, KeySearch, KeyK, KeyNCells, KeyNDocs, KeyThreshold, KeyRerankDepth}

// Config is a sweep file.
type Config struct {
	// Dataset is the BEIR folder every cell is evaluated on.
	Dataset string `toml:"dataset"`
	Split   string `toml:"split"` // "" = test
	// Checkpoint is evaluated as is when no training setting is given
	// (search-only sweeps). With training, use init_from instead.
	Checkpoint string `toml:"checkpoint"`
	// TrainConfig is a `colbert train` TOML file: the base of every cell's
	// training settings; Train's keys override it, then the cell's.
	TrainConfig string         `toml:"train_config"`
	Train       map[string]any `toml:"train"`
	// Defaults of the evaluation keys (a cell overrides them).
	Eval map[string]any `toml:"eval"`
	Seed uint64         `toml:"seed"` // index k-means and sampling seed
	// Grid is a cartesian product over keys; Cells an explicit list. One of
	// the two is required.
	Grid  map[string][]any `toml:"grid"`
	Cells []map[string]any `toml:"cells"`

	gridOrder []string // grid keys in file order
	name      string
}

// EvalSettings are the index and search settings of one cell. NCells,
// NDocs and Threshold (nil = unset: 0 is a threshold of its own) override
// ColBERT's defaults for K in plaid cells; other search modes ignore them.
type EvalSettings struct {
	NBits       int      `json:"nbits"`
	Codec       string   `json:"codec,omitempty"`
	Search      string   `json:"search"`
	K           int      `json:"k"`
	NCells      int      `json:"ncells,omitempty"`
	NDocs       int      `json:"ndocs,omitempty"`
	Threshold   *float64 `json:"threshold,omitempty"`
	RerankDepth int      `json:"rerank_depth,omitempty"`
}

// Params are the cell's search depth and, in PLAID mode, its PLAID knobs
// (unset ones: ColBERT's defaults for K).
func (e EvalSettings) Params() search.Params {
	p := search.Params{K: e.K}
	if e.Search == evaluate.SearchPLAID {
		p.NCells, p.NDocs = e.NCells, e.NDocs
		if e.Threshold != nil {
			p.Threshold = new(float32(*e.Threshold))
		}
	}
	return p
}

// check rejects settings evaluate cannot run: only the residual codec has
// the centroids PLAID needs, and rerank-bm25 builds no index to encode.
func (e EvalSettings) check(label string, kind model.Kind) error {
	if e.Codec == evaluate.CodecResidual {
		return nil
	}
	if kind == model.KindPolyEncoder && e.Search == evaluate.SearchRerankBM25 {
		return nil // the poly-encoder reranks from its stored vectors
	}
	switch e.Search {
	case evaluate.SearchPLAID:
		return fmt.Errorf("%s%s = %q cannot be searched with %s = %q: only codec %q has the centroids PLAID needs (set %s = %q for this cell, or use [[cells]] to pair codecs with search modes)",
			label, KeyCodec, e.Codec, KeySearch, e.Search, evaluate.CodecResidual, KeySearch, evaluate.SearchExhaustive)
	case evaluate.SearchRerankBM25:
		return fmt.Errorf("%s%s = %q: %s = %q builds no index, so a codec does not apply", label, KeyCodec, e.Codec, KeySearch, e.Search)
	}
	return nil
}

// Cell is one point of the sweep.
type Cell struct {
	// Index is the cell's position in the sweep (table order).
	Index int
	// Settings are the cell's varied keys (grid or cell keys), by name.
	Settings map[string]any
	// Train is the resolved training config; nil evaluates Config.Checkpoint.
	Train *train.Config
	// TrainID names the training job (shared by cells with equal Train).
	TrainID string
	Eval    EvalSettings
	// ID fingerprints everything the cell's result depends on.
	ID string
}

// ParseConfig reads a sweep TOML; name labels errors.
func ParseConfig(raw []byte, name string) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(raw), &c)
	if err != nil {
		return nil, fmt.Errorf("sweep: config %s: %w", name, err)
	}
	// Tables of arbitrary keys (train, eval, grid, cells) are decoded into
	// maps; only unknown top-level keys are reported here.
	for _, k := range md.Undecoded() {
		if len(k) == 1 {
			return nil, fmt.Errorf("sweep: config %s: unknown key %q", name, k.String())
		}
	}
	for _, k := range md.Keys() {
		if len(k) == 2 && k[0] == "grid" {
			c.gridOrder = append(c.gridOrder, k[1])
		}
	}
	c.name = name
	if c.Dataset == "" {
		return nil, fmt.Errorf("sweep: config %s: dataset is required", name)
	}
	if len(c.Grid) == 0 && len(c.Cells) == 0 {
		return nil, fmt.Errorf("sweep: config %s: need a [grid] or [[cells]]", name)
	}
	if len(c.Grid) > 0 && len(c.Cells) > 0 {
		return nil, fmt.Errorf("sweep: config %s: [grid] and [[cells]] are exclusive", name)
	}
	for k, vs := range c.Grid {
		if len(vs) == 0 {
			return nil, fmt.Errorf("sweep: config %s: grid.%s has no values", name, k)
		}
	}
	// Expanding validates every key and value.
	if _, err := c.Expand(); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadConfig reads a sweep TOML file.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: config: %w", err)
	}
	return ParseConfig(raw, path)
}

// trainKeys are the TOML keys of train.Config.
func trainKeys() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeOf(train.Config{})
	for i := 0; i < t.NumField(); i++ {
		if k := t.Field(i).Tag.Get("toml"); k != "" {
			keys[k] = true
		}
	}
	return keys
}

// VariedKeys are the keys that differ between cells, in a stable order
// (grid file order, else first appearance in the cells list).
func (c *Config) VariedKeys() []string {
	if len(c.Grid) > 0 {
		return slices.Clone(c.gridOrder)
	}
	var keys []string
	for _, cell := range c.Cells {
		var ks []string
		for k := range cell {
			if !slices.Contains(keys, k) {
				ks = append(ks, k)
			}
		}
		sort.Strings(ks)
		keys = append(keys, ks...)
	}
	return keys
}

// Expand lists the sweep's cells, validating every setting: an unknown key or
// a value of the wrong type is an error naming the key and the cell.
func (c *Config) Expand() ([]Cell, error) {
	var points []map[string]any
	if len(c.Grid) > 0 {
		keys := c.gridOrder
		if len(keys) != len(c.Grid) { // built in code rather than parsed
			keys = keys[:0]
			for k := range c.Grid {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			c.gridOrder = keys
		}
		n := 1
		for _, k := range keys {
			if n *= len(c.Grid[k]); n > MaxCells {
				return nil, fmt.Errorf("sweep: config %s: the grid has more than %d cells", c.name, MaxCells)
			}
		}
		points = []map[string]any{{}}
		for _, k := range keys {
			var next []map[string]any
			for _, p := range points {
				for _, v := range c.Grid[k] {
					q := make(map[string]any, len(p)+1)
					for pk, pv := range p {
						q[pk] = pv
					}
					q[k] = v
					next = append(next, q)
				}
			}
			points = next
		}
	} else {
		points = c.Cells
	}
	tk := trainKeys()
	hasTrain := c.TrainConfig != "" || len(c.Train) > 0
	for _, p := range points {
		for k := range p {
			if tk[k] {
				hasTrain = true
			}
		}
	}
	if hasTrain && c.Checkpoint != "" {
		return nil, fmt.Errorf("sweep: config %s: checkpoint and training settings are exclusive (train from a checkpoint with init_from)", c.name)
	}
	if !hasTrain && c.Checkpoint == "" {
		return nil, fmt.Errorf("sweep: config %s: need a checkpoint or training settings (train_config, [train] or training keys in cells)", c.name)
	}
	var base train.Config
	if hasTrain {
		base = train.DefaultConfig()
		if c.TrainConfig != "" {
			var err error
			if base, err = train.LoadConfig(c.TrainConfig); err != nil {
				return nil, fmt.Errorf("sweep: config %s: train_config: %w", c.name, err)
			}
		}
		if err := applyTrain(&base, c.Train, tk, "train."); err != nil {
			return nil, fmt.Errorf("sweep: config %s: %w", c.name, err)
		}
	}
	evalBase := EvalSettings{Search: evaluate.SearchPLAID, Codec: evaluate.CodecResidual, NBits: 2, K: 1000}
	if err := applyEval(&evalBase, c.Eval, "eval."); err != nil {
		return nil, fmt.Errorf("sweep: config %s: %w", c.name, err)
	}
	cells := make([]Cell, 0, len(points))
	for i, p := range points {
		cell := Cell{Index: i, Settings: p, Eval: evalBase}
		label := fmt.Sprintf("cell %d: ", i+1)
		trainPart, evalPart := map[string]any{}, map[string]any{}
		for k, v := range p {
			switch {
			case tk[k]:
				if k == "out_dir" {
					return nil, fmt.Errorf("sweep: config %s: %sout_dir is set by the sweep", c.name, label)
				}
				trainPart[k] = v
			case slices.Contains(evalKeys, k):
				evalPart[k] = v
			default:
				return nil, fmt.Errorf("sweep: config %s: %sunknown key %q (want a train key or one of %s)", c.name, label, k, strings.Join(evalKeys, ", "))
			}
		}
		var tc train.Config
		if hasTrain {
			tc = base
			if err := applyTrain(&tc, trainPart, tk, label); err != nil {
				return nil, fmt.Errorf("sweep: config %s: %w", c.name, err)
			}
			// A model kind searched otherwise than ColBERT (splade,
			// poly-encoder) starts from its own codec and mode unless the
			// sweep sets them.
			codec, mode := evaluate.KindDefaults(model.Kind(tc.ModelKind))
			if _, set := c.Eval[KeyCodec]; !set {
				cell.Eval.Codec = codec
			}
			if _, set := c.Eval[KeySearch]; !set {
				cell.Eval.Search = mode
			}
		}
		if err := applyEval(&cell.Eval, evalPart, label); err != nil {
			return nil, fmt.Errorf("sweep: config %s: %w", c.name, err)
		}
		if err := cell.Eval.check(label, model.Kind(tc.ModelKind)); err != nil {
			return nil, fmt.Errorf("sweep: config %s: %w", c.name, err)
		}
		var ckpt string
		if hasTrain {
			tc.OutDir = "sweep" // set per training job by Run
			if err := tc.Validate(); err != nil {
				return nil, fmt.Errorf("sweep: config %s: %s%w", c.name, label, err)
			}
			tc.OutDir = ""
			enc, err := tc.Encode()
			if err != nil {
				return nil, fmt.Errorf("sweep: config %s: %s%w", c.name, label, err)
			}
			cell.Train, cell.TrainID = &tc, shortHash(enc)
			ckpt = "train:" + cell.TrainID
		} else {
			ckpt = "checkpoint:" + c.Checkpoint
		}
		keyEval := cell.Eval
		if keyEval.Codec == evaluate.CodecResidual {
			keyEval.Codec = "" // cells finished before codecs existed stay finished
		}
		key, _ := json.Marshal(struct {
			Checkpoint, Dataset, Split string
			Seed                       uint64
			Eval                       EvalSettings
		}{ckpt, c.Dataset, c.Split, c.Seed, keyEval})
		cell.ID = shortHash(key)
		cells = append(cells, cell)
	}
	return cells, nil
}

// applyTrain sets training keys on cfg through the TOML decoder, so a value
// is accepted exactly when `colbert train` would accept it in its config.
func applyTrain(cfg *train.Config, kv map[string]any, known map[string]bool, label string) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] {
			return fmt.Errorf("%sunknown training key %q", label, k)
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(map[string]any{k: kv[k]}); err != nil {
			return fmt.Errorf("%s%s = %v: %w", label, k, kv[k], err)
		}
		if _, err := toml.Decode(buf.String(), cfg); err != nil {
			return fmt.Errorf("%s%s = %v: wrong type: %w", label, k, kv[k], err)
		}
	}
	return nil
}

// applyEval sets evaluation keys, checking types and ranges.
func applyEval(e *EvalSettings, kv map[string]any, label string) error {
	for k, v := range kv {
		bad := func(why string) error { return fmt.Errorf("%s%s = %v: %s", label, k, v, why) }
		switch k {
		case KeySearch:
			s, ok := v.(string)
			if !ok || !slices.Contains(evaluate.Modes, s) {
				return bad("want one of " + strings.Join(evaluate.Modes, ", "))
			}
			e.Search = s
		case KeyCodec:
			s, ok := v.(string)
			if !ok || !slices.Contains(evaluate.Codecs, s) {
				return bad("want one of " + strings.Join(evaluate.Codecs, ", "))
			}
			e.Codec = s
		case KeyThreshold:
			f, ok := toFloat(v)
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
				return bad("want a finite number")
			}
			e.Threshold = &f
		case KeyNBits, KeyK, KeyNCells, KeyNDocs, KeyRerankDepth:
			n, ok := v.(int64)
			if !ok || n < 1 || n > 1<<30 {
				return bad("want a positive integer")
			}
			switch k {
			case KeyNBits:
				if n != 1 && n != 2 && n != 4 {
					return bad("want 1, 2 or 4")
				}
				e.NBits = int(n)
			case KeyK:
				e.K = int(n)
			case KeyNCells:
				e.NCells = int(n)
			case KeyNDocs:
				e.NDocs = int(n)
			case KeyRerankDepth:
				e.RerankDepth = int(n)
			}
		default:
			return fmt.Errorf("%sunknown key %q (want one of %s)", label, k, strings.Join(evalKeys, ", "))
		}
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func shortHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// FormatValue prints a setting as the table shows it.
func FormatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprint(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
