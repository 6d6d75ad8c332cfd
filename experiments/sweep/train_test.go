package sweep

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/train"
)

// Training cells: the two cells with lr 1e-4 share one trained checkpoint
// (trained once), the lr 1e-3 cell gets its own, and each checkpoint was
// trained with its cell's settings.
func TestTrainOnceEvaluateMany(t *testing.T) {
	ds, ckpt := tinyCranfield(t), hfTiny(t)
	b, err := data.LoadBEIR(ds, "test")
	if err != nil {
		t.Fatal(err)
	}
	var exs []data.Example
	for i, q := range b.Queries {
		var pos string
		for d := range b.Qrels[q.ID] {
			if pos == "" || d < pos {
				pos = d
			}
		}
		ex := data.Example{QueryID: q.ID, DocIDs: []string{pos}, TeacherScores: []float32{4}}
		for j := 0; len(ex.DocIDs) < 4; j++ {
			if d := b.Corpus[(7*i+5*j)%len(b.Corpus)].ID; b.Qrels[q.ID][d] == 0 {
				ex.DocIDs = append(ex.DocIDs, d)
				ex.TeacherScores = append(ex.TeacherScores, float32(-j))
			}
		}
		exs = append(exs, ex)
	}
	exPath := filepath.Join(t.TempDir(), "examples.jsonl")
	if err := data.WriteExamplesJSONL(exPath, exs); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`
dataset = %q
[train]
examples = %q
collection = %q
queries = %q
init_from = %q
nway = 4
batch_size = 2
steps = 2
warmup_steps = 0
doc_maxlen = 64
[eval]
k = 100
[[cells]]
lr = 1e-4
ncells = 1
[[cells]]
lr = 1e-4
ncells = 2
[[cells]]
lr = 1e-3
ncells = 1
`, ds, exPath, filepath.Join(ds, "corpus.jsonl"), filepath.Join(ds, "queries.jsonl"), ckpt)), "sweep.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := Run(context.Background(), cfg, Options{Out: out, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.TrainRan != 2 || res.TrainReused != 0 || res.CellsRan != 3 {
		t.Fatalf("trained %d (reused %d), evaluated %d; want 2, 0, 3", res.TrainRan, res.TrainReused, res.CellsRan)
	}
	r := res.Rows
	if r[0].Checkpoint != r[1].Checkpoint || r[0].Checkpoint == r[2].Checkpoint {
		t.Fatalf("checkpoints %s, %s, %s: want the first two shared", r[0].Checkpoint, r[1].Checkpoint, r[2].Checkpoint)
	}
	for _, row := range []Row{r[0], r[2]} {
		tc, err := train.LoadConfig(filepath.Join(row.Checkpoint, "..", "..", "train_config.toml"))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(tc.LR) != row.Settings["lr"] || tc.Steps != 2 || tc.NWay != 4 {
			t.Errorf("cell %d (lr %s) trained with lr %g, %d steps, nway %d", row.Cell, row.Settings["lr"], tc.LR, tc.Steps, tc.NWay)
		}
		if _, err := os.Stat(filepath.Join(row.Checkpoint, "model.safetensors")); err != nil {
			t.Error(err)
		}
	}
	res, err = Run(context.Background(), cfg, Options{Out: out, Threads: 2})
	if err != nil || res.TrainRan != 0 || res.TrainReused != 2 || res.CellsRan != 0 {
		t.Errorf("re-run: trained %d (reused %d), evaluated %d (%v); want nothing re-run", res.TrainRan, res.TrainReused, res.CellsRan, err)
	}
}
