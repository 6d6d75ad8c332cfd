package sweep

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	badTrain := filepath.Join(dir, "train.toml")
	if err := os.WriteFile(badTrain, []byte("steps = 2\nlearning_rate = 1e-5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, toml, want string }{
		{"top-level key", "dataset = \"d\"\ncheckpoint = \"c\"\ndatasets = \"x\"\n[grid]\nnbits = [1]\n", `"datasets"`},
		{"grid key", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nnbit = [1, 2]\n", `"nbit"`},
		{"cells key", "dataset = \"d\"\ncheckpoint = \"c\"\n[[cells]]\nnbits = 2\n[[cells]]\nncell = 2\n", `cell 2: unknown key "ncell"`},
		{"train value type", "dataset = \"d\"\n[grid]\nlr = [\"fast\"]\n", "lr = fast"},
		{"train value range", "dataset = \"d\"\n[grid]\nnway = [1]\n", "nway"},
		{"nbits", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nnbits = [2, 3]\n", "nbits = 3"},
		{"search", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nsearch = [\"plaid\", \"fast\"]\n", "search = fast"},
		{"threshold", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nthreshold = [\"high\"]\n", "threshold = high"},
		{"infinite threshold", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nthreshold = [inf]\n", "threshold = +Inf: want a finite number"},
		{"codec name", "dataset = \"d\"\ncheckpoint = \"c\"\n[eval]\nsearch = \"exhaustive\"\n[grid]\ncodec = [\"residual\", \"fp8\"]\n", "cell 2: codec = fp8: want one of residual, fp32, fp16, pca-int8"},
		{"codec type", "dataset = \"d\"\ncheckpoint = \"c\"\n[[cells]]\ncodec = 16\n", "cell 1: codec = 16: want one of"},
		{"eval codec", "dataset = \"d\"\ncheckpoint = \"c\"\n[eval]\ncodec = \"int4\"\n[grid]\nk = [10]\n", "eval.codec = int4"},
		{"flat codec with plaid", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\ncodec = [\"residual\", \"fp16\"]\nncells = [1, 2]\n",
			`cell 3: codec = "fp16" cannot be searched with search = "plaid"`},
		{"flat codec with rerank", "dataset = \"d\"\ncheckpoint = \"c\"\n[[cells]]\ncodec = \"fp32\"\nsearch = \"rerank-bm25\"\n", `cell 1: codec = "fp32": search = "rerank-bm25" builds no index`},
		{"eval table", "dataset = \"d\"\ncheckpoint = \"c\"\n[eval]\nk = -1\n[grid]\nnbits = [1]\n", "eval.k = -1"},
		{"inline train", "dataset = \"d\"\n[train]\nstepz = 3\n[grid]\nnbits = [1]\n", `train.unknown training key "stepz"`},
		{"train_config", "dataset = \"d\"\ntrain_config = \"" + badTrain + "\"\n[grid]\nnbits = [1]\n", `"learning_rate"`},
		{"out_dir", "dataset = \"d\"\n[grid]\nout_dir = [\"x\"]\n", "out_dir"},
		{"both", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nlr = [1e-5]\n", "exclusive"},
		{"neither", "dataset = \"d\"\n[grid]\nnbits = [1]\n", "need a checkpoint"},
		{"no cells", "dataset = \"d\"\ncheckpoint = \"c\"\n", "[grid] or [[cells]]"},
		{"empty grid values", "dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nnbits = []\n", "grid.nbits has no values"},
		{"no dataset", "checkpoint = \"c\"\n[grid]\nnbits = [1]\n", "dataset is required"},
		{"syntax", "dataset = \"d\n", "sweep.toml"},
	} {
		_, err := ParseConfig([]byte(tc.toml), "sweep.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// Cells that differ only in index/search settings share one training job;
// any training setting that differs gives another.
func TestExpandSharesTraining(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
dataset = "d"
[train]
steps = 3
warmup_steps = 0
init_from = "ckpt"
[grid]
lr = [1e-5, 3e-5]
nbits = [1, 2]
ncells = [1, 2, 4]
`), "sweep.toml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := cfg.Expand()
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 12 {
		t.Fatalf("%d cells, want 2×2×3", len(cells))
	}
	if got := strings.Join(cfg.VariedKeys(), ","); got != "lr,nbits,ncells" {
		t.Errorf("varied keys %s, want the grid's file order", got)
	}
	ids, trains := map[string]bool{}, map[string]float64{}
	for _, c := range cells {
		ids[c.ID] = true
		if c.Train == nil || c.Train.Steps != 3 || c.Train.InitFrom != "ckpt" {
			t.Fatalf("cell %d: train config %+v lost the [train] keys", c.Index, c.Train)
		}
		if c.Train.LR != c.Settings["lr"] {
			t.Errorf("cell %d: lr %g, setting %v", c.Index, c.Train.LR, c.Settings["lr"])
		}
		if lr, ok := trains[c.TrainID]; ok && lr != c.Train.LR {
			t.Errorf("train job %s has lr %g and %g", c.TrainID, lr, c.Train.LR)
		}
		trains[c.TrainID] = c.Train.LR
		if want := c.Settings["nbits"].(int64); int64(c.Eval.NBits) != want {
			t.Errorf("cell %d: nbits %d, want %d", c.Index, c.Eval.NBits, want)
		}
	}
	if len(ids) != 12 || len(trains) != 2 {
		t.Errorf("%d distinct cells and %d training jobs, want 12 and 2", len(ids), len(trains))
	}
	again, _ := cfg.Expand()
	for i := range cells {
		if again[i].ID != cells[i].ID {
			t.Fatalf("cell %d: id %s then %s: ids must be stable", i, cells[i].ID, again[i].ID)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\nnbits = [1, 2]\nncells = [1, 2]\n")
	f.Add("dataset = \"d\"\n[train]\nsteps = 2\nwarmup_steps = 0\n[[cells]]\nlr = 1e-5\nnbits = 2\n[[cells]]\nloss = \"ce\"\nsearch = \"exhaustive\"\n")
	f.Add("dataset = \"d\"\ncheckpoint = \"c\"\n[eval]\nk = 10\nthreshold = 0.4\n[grid]\nndocs = [256]\n")
	f.Add("dataset = \"d\"\ncheckpoint = \"c\"\n[[cells]]\ncodec = \"fp16\"\nsearch = \"exhaustive\"\n[[cells]]\ncodec = \"residual\"\nthreshold = 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "train_config") {
			return // would read files named by the input
		}
		cfg, err := ParseConfig([]byte(s), "fuzz.toml")
		if err != nil {
			return
		}
		a, err := cfg.Expand()
		if err != nil {
			t.Fatalf("parsed but does not expand: %v", err)
		}
		b, _ := cfg.Expand()
		if len(a) != len(b) {
			t.Fatal("expansion not deterministic")
		}
		for i := range a {
			if a[i].ID != b[i].ID {
				t.Fatal("cell ids not deterministic")
			}
		}
		if _, err := Table(cfg.VariedKeys(), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// The shipped example parses and shares one training job per loss.
func TestExampleConfig(t *testing.T) {
	cfg, err := LoadConfig("example.toml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := cfg.Expand()
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]string{}
	for _, c := range cells {
		jobs[c.TrainID] = c.Train.Loss
		if c.Train.Steps != 400 || c.Eval.K != 1000 || c.Train.Loss != c.Settings["loss"] {
			t.Errorf("cell %d: steps %d, k %d, loss %s (setting %v)", c.Index, c.Train.Steps, c.Eval.K, c.Train.Loss, c.Settings["loss"])
		}
	}
	if len(cells) != 8 || len(jobs) != 2 {
		t.Errorf("%d cells, %d training jobs; want 8 and 2", len(cells), len(jobs))
	}
	codecs := map[string]int{}
	for _, c := range cells {
		codecs[c.Eval.Codec+"/"+c.Eval.Search]++
	}
	if codecs["residual/plaid"] != 6 || codecs["fp16/exhaustive"] != 2 {
		t.Errorf("codec/search of the cells: %v, want 6 residual/plaid and 2 fp16/exhaustive", codecs)
	}
}

func TestGridTooLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString("dataset = \"d\"\ncheckpoint = \"c\"\n[grid]\n")
	for _, k := range []string{"k", "ncells", "ndocs", "rerank_depth"} {
		b.WriteString(k + " = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n")
	}
	if _, err := ParseConfig([]byte(b.String()), "big.toml"); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("11⁴-cell grid: %v", err)
	}
}

// The codec and an explicit threshold of 0 are part of a cell's id; a
// residual cell keeps the id it had before the codec key existed, so a
// finished sweep stays finished.
func TestCellIDsCodecAndThreshold(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
dataset = "d"
checkpoint = "c"
seed = 3
[[cells]]
nbits = 1
ncells = 2
threshold = 0.45
[[cells]]
nbits = 1
ncells = 2
threshold = 0.45
codec = "residual"
[[cells]]
codec = "fp16"
search = "exhaustive"
[[cells]]
codec = "fp32"
search = "exhaustive"
[[cells]]
threshold = 0
[[cells]]
k = 1000
`), "ids.toml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := cfg.Expand()
	if err != nil {
		t.Fatal(err)
	}
	// The id as the sweep computed it before codecs: evaluation settings
	// without a codec and with a plain float threshold.
	legacy, _ := json.Marshal(struct {
		Checkpoint, Dataset, Split string
		Seed                       uint64
		Eval                       any
	}{"checkpoint:c", "d", "", 3, struct {
		NBits       int     `json:"nbits"`
		Search      string  `json:"search"`
		K           int     `json:"k"`
		NCells      int     `json:"ncells,omitempty"`
		NDocs       int     `json:"ndocs,omitempty"`
		Threshold   float64 `json:"threshold,omitempty"`
		RerankDepth int     `json:"rerank_depth,omitempty"`
	}{NBits: 1, Search: "plaid", K: 1000, NCells: 2, Threshold: 0.45}})
	if want := shortHash(legacy); cells[0].ID != want || cells[1].ID != want {
		t.Errorf("residual cell ids %s and %s, want the pre-codec id %s", cells[0].ID, cells[1].ID, want)
	}
	if cells[0].Eval.Codec != "residual" || cells[2].Eval.Codec != "fp16" || cells[3].Eval.Codec != "fp32" {
		t.Errorf("codecs %q %q %q", cells[0].Eval.Codec, cells[2].Eval.Codec, cells[3].Eval.Codec)
	}
	if cells[2].ID == cells[3].ID {
		t.Error("fp16 and fp32 cells share an id")
	}
	if th := cells[4].Eval.Threshold; th == nil || *th != 0 || cells[5].Eval.Threshold != nil {
		t.Errorf("threshold 0 → %v, unset → %v; want 0 and nil", th, cells[5].Eval.Threshold)
	}
	if cells[4].ID == cells[5].ID {
		t.Error("threshold = 0 has the id of the default threshold")
	}
}

// TestModelKindCells: model_kind is a sweep key; a splade cell is searched
// on its inverted index (pruned) and a poly-encoder cell exhaustively over
// its fp32 vectors unless the sweep sets codec or search, and a
// poly-encoder may rerank BM25 from its stored vectors.
func TestModelKindCells(t *testing.T) {
	c, err := ParseConfig([]byte("dataset = \"d\"\n[train]\nsteps = 2\nwarmup_steps = 0\n[grid]\nmodel_kind = [\"colbert\", \"splade\", \"poly-encoder\", \"mv-dpr\"]\n"), "kinds.toml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := c.Expand()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"colbert": {"residual", "plaid"}, "splade": {"sparse", "pruned"}, "poly-encoder": {"fp32", "exhaustive"}, "mv-dpr": {"residual", "plaid"}}
	for _, cell := range cells {
		w := want[cell.Train.ModelKind]
		if cell.Eval.Codec != w[0] || cell.Eval.Search != w[1] {
			t.Errorf("%s: codec %s search %s, want %v", cell.Train.ModelKind, cell.Eval.Codec, cell.Eval.Search, w)
		}
	}
	if _, err := ParseConfig([]byte("dataset = \"d\"\n[train]\nsteps = 2\nwarmup_steps = 0\nmodel_kind = \"poly-encoder\"\n[grid]\nsearch = [\"exhaustive\", \"rerank-bm25\"]\n"), "poly.toml"); err != nil {
		t.Errorf("poly-encoder rerank-bm25 refused: %v", err)
	}
}
