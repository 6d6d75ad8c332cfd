package train

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// TestSaveReplacesStaleCheckpoint: a checkpoint directory of the same step
// left by an earlier, interrupted run is replaced as a whole (none of its
// files survive), and nothing but the checkpoint is left beside it.
func TestSaveReplacesStaleCheckpoint(t *testing.T) {
	cfg := tinyConfig(t.TempDir())
	f := newFixture(t, 5)
	tr, err := New(cfg, f.ck, f.enc, f.data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	final := tr.CheckpointDir(1)
	if err := os.MkdirAll(final, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(final, "stale.bin"), []byte("from an earlier run"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tr.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final, "stale.bin")); !os.IsNotExist(err) {
		t.Fatalf("a file of the stale checkpoint survived: %v", err)
	}
	for _, name := range []string{stateFile, optimFile, "train_config.toml", "config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(final, name)); err != nil {
			t.Errorf("checkpoint lacks %s: %v", name, err)
		}
	}
	ck, err := model.LoadCheckpoint(final)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Hash() != tr.Ckpt.Hash() {
		t.Error("saved model differs from the trained one")
	}
	ents, err := os.ReadDir(filepath.Dir(final))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != filepath.Base(final) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("checkpoints/ holds %v, want only %s", names, filepath.Base(final))
	}
}
