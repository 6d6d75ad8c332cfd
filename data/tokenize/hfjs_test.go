package tokenize

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hfJSModules finds node_modules holding @huggingface/tokenizers:
// $COLBERT_NODE_MODULES, else the Makefile's .deps/node/node_modules.
func hfJSModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found; skipping the tokenizers.js comparison (run `make setup`)")
	}
	modules = os.Getenv("COLBERT_NODE_MODULES")
	if modules == "" {
		modules = os.Getenv("COLBERT_DUCKDB_NODE_MODULES")
	}
	if modules == "" {
		if wd, err := os.Getwd(); err == nil {
			modules = filepath.Join(wd, "..", "..", ".deps", "node", "node_modules")
		}
	}
	if _, err := os.Stat(filepath.Join(modules, "@huggingface", "tokenizers", "package.json")); err != nil {
		t.Skipf("@huggingface/tokenizers not found in %q; skipping the tokenizers.js comparison (run `make setup`)", modules)
	}
	return node, modules
}

// randomTexts mixes words with accents and ligatures and runes from many
// blocks: controls, combining marks, Greek, Cyrillic, general punctuation,
// CJK, Hangul, emoji, variation selectors, Arabic, Devanagari, Thai (with
// unassigned code points), halfwidth forms, math letters, private use.
func randomTexts(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 2))
	blocks := [][2]rune{{0x20, 0x7e}, {0x00, 0x1f}, {0xa0, 0x17f}, {0x300, 0x36f}, {0x370, 0x3ff}, {0x400, 0x4ff},
		{0x2000, 0x206f}, {0x3000, 0x303f}, {0x4e00, 0x4e80}, {0xac00, 0xac40}, {0x1f600, 0x1f64f}, {0xfe00, 0xfe0f},
		{0x600, 0x6ff}, {0x900, 0x97f}, {0xff00, 0xffef}, {0x1d400, 0x1d4ff}, {0xe000, 0xe010}, {0x2e80, 0x2eff}, {0xe00, 0xe7f}}
	words := []string{" ", "the ", "Café ", "naïve ", "RÉSUMÉ ", "ﬁne ", "Ǆ ", "ß ", "İ ", "[MASK]", "[SEP] "}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for j := 1 + r.IntN(30); j > 0; j-- {
			if r.IntN(3) == 0 {
				b.WriteString(words[r.IntN(len(words))])
				continue
			}
			g := blocks[r.IntN(len(blocks))]
			b.WriteRune(g[0] + rune(r.IntN(int(g[1]-g[0]+1))))
		}
		out[i] = b.String()
	}
	return out
}

// TestAgainstTokenizersJS compares Encode with Hugging Face's JavaScript
// tokenizers on the reference texts and 3,000 random multilingual texts.
func TestAgainstTokenizersJS(t *testing.T) {
	node, modules := hfJSModules(t)
	ref := loadReference(t)
	tok := ref.tokenizer(t)
	texts := append(append(append([]string{}, ref.Queries...), ref.Docs...), edgeTexts...)
	texts = append(texts, randomTexts(3000, 1)...)
	raw, _ := json.Marshal(texts)
	in := filepath.Join(t.TempDir(), "texts.json")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, "testdata/hf_js_encode.mjs", modules, filepath.Join(ref.dir, "colbert"), in).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("node: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var want [][]int32
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(texts) {
		t.Fatalf("tokenizers.js output: %v (%d results)", err, len(want))
	}
	bad := 0
	for i, s := range texts {
		if got := tok.Encode(s); !equalIDs(got, want[i]) {
			bad++
			if bad <= 5 {
				t.Errorf("%+q:\n go %v\n js %v", s, tokens(tok, got), tokens(tok, want[i]))
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d texts differ", bad, len(texts))
	}
}
