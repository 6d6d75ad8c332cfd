package train

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/colbert-go/colbert/model"
	"github.com/colbert-go/colbert/model/encode"
)

// TestPrepareTokenizerConfigIsSearchs: training tokenises with exactly the
// settings index and search derive (encode.TokenizerConfig) from the
// checkpoint it trains and saves, for a checkpoint whose every tokenizer
// setting differs from the default.
func TestPrepareTokenizerConfigIsSearchs(t *testing.T) {
	root := testassets.Path(t, "classic/cranfield")
	src, err := model.LoadCheckpoint(testassets.Path(t, "models/hf-tiny/colbert"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ck := src // the ColBERT settings changed, the rest hf-tiny's
	ck.ColBERT.QueryToken, ck.ColBERT.DocToken = "[unused2]", "[unused3]"
	ck.ColBERT.AttendToMaskTokens = !ck.ColBERT.AttendToMaskTokens
	ck.ColBERT.MaskPunctuation = !ck.ColBERT.MaskPunctuation
	initFrom := filepath.Join(dir, "init")
	if err := model.SaveCheckpoint(initFrom, ck); err != nil {
		t.Fatal(err)
	}
	exPath := filepath.Join(dir, "examples.jsonl")
	if err := data.WriteExamplesJSONL(exPath, []data.Example{
		{QueryID: "1", DocIDs: []string{"184", "161", "162", "163"}, TeacherScores: []float32{3, 1, 0.5, -1}},
	}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Examples, cfg.Collection, cfg.Queries = exPath, filepath.Join(root, "corpus.jsonl"), filepath.Join(root, "queries.jsonl")
	cfg.InitFrom, cfg.Tokenizer, cfg.OutDir = initFrom, src.Tokenizer, filepath.Join(dir, "out")
	cfg.NWay, cfg.BatchSize, cfg.Steps, cfg.WarmupSteps = 4, 1, 1, 0
	cfg.QueryMaxLen, cfg.DocMaxLen = 24, 72
	tr, err := Prepare(context.Background(), cfg, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := encode.TokenizerConfig(tr.Ckpt.ColBERT)
	// Every setting must be off its default, or a mapping that drops it
	// would go unnoticed here: give a new field a non-default value above.
	def := reflect.ValueOf(tokenize.DefaultConfig())
	for i, w := 0, reflect.ValueOf(want); i < w.NumField(); i++ {
		if w.Field(i).Equal(def.Field(i)) {
			t.Errorf("tokenizer setting %s = %v is the default: the test checkpoint must change it", w.Type().Field(i).Name, w.Field(i))
		}
	}
	if got := tr.Enc.Config(); got != want {
		t.Errorf("training tokenises with %+v, search with %+v", got, want)
	}
	// And the checkpoint as search reads it back from disk.
	saved := filepath.Join(dir, "saved")
	if err := model.SaveCheckpoint(saved, tr.Ckpt); err != nil {
		t.Fatal(err)
	}
	back, err := model.LoadCheckpoint(saved)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tr.Enc.Config(), encode.TokenizerConfig(back.ColBERT); got != want {
		t.Errorf("training tokenises with %+v, search of the saved checkpoint with %+v", got, want)
	}
}

// TestTokenizerConfigHasOneMapping: package train builds no tokenize.Config
// of its own; a hand-made copy of encode.TokenizerConfig's mapping misses
// the next field added to it, and training and search then tokenise apart.
func TestTokenizerConfigHasOneMapping(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if sel, ok := lit.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Config" {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "tokenize" {
					t.Errorf("%s: train maps settings to a tokenize.Config by hand; use encode.TokenizerConfig", fset.Position(lit.Pos()))
				}
			}
			return true
		})
	}
}
