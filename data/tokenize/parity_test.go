package tokenize

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/data/testassets"
)

// reference holds the HF-made parity targets of models/hf-tiny.
type reference struct {
	Queries     []string    `json:"queries"`
	Docs        []string    `json:"docs"`
	CEPairs     [][2]string `json:"ce_pairs"`
	Skiplist    []int32     `json:"punctuation_skiplist_ids"`
	QueryMaxLen int         `json:"query_maxlen"`
	DocMaxLen   int         `json:"doc_maxlen"`
	tensors     *safetensors.File
	dir         string
}

func loadReference(t testing.TB) *reference {
	t.Helper()
	path := testassets.Path(t, "models/hf-tiny/reference.safetensors")
	dir := filepath.Dir(path)
	raw, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.tensors, err = safetensors.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	ref.dir = dir
	return &ref
}

// ints returns an integer reference tensor as int32 rows.
func (r *reference) ints(t testing.TB, name string) (rows, cols int, v []int32) {
	t.Helper()
	ten, ok := r.tensors.Tensors[name]
	if !ok {
		t.Fatalf("reference has no %s", name)
	}
	if len(ten.Shape) != 2 {
		t.Fatalf("%s: shape %v", name, ten.Shape)
	}
	v = make([]int32, len(ten.I64))
	for i, x := range ten.I64 {
		v[i] = int32(x)
	}
	return ten.Shape[0], ten.Shape[1], v
}

func (r *reference) tokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Load(filepath.Join(r.dir, "colbert", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// compareBatch checks one field of a batch against a reference tensor.
func compareBatch(t *testing.T, what string, gotN, gotLen int, got []int32, rows, cols int, want []int32, texts []string) {
	t.Helper()
	if gotN != rows || gotLen != cols {
		t.Fatalf("%s: shape %dx%d, want %dx%d", what, gotN, gotLen, rows, cols)
	}
	bad := 0
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			if got[i*cols+j] != want[i*cols+j] {
				t.Errorf("%s row %d pos %d: got %d want %d (text %.60q)\n got  %v\n want %v", what, i, j,
					got[i*cols+j], want[i*cols+j], texts[i], got[i*cols:(i+1)*cols], want[i*cols:(i+1)*cols])
				bad++
				break
			}
		}
		if bad > 3 {
			t.FailNow()
		}
	}
}

func TestParityQueries(t *testing.T) {
	ref := loadReference(t)
	cfg := DefaultConfig()
	if ref.QueryMaxLen != cfg.QueryMaxLen || ref.DocMaxLen != cfg.DocMaxLen {
		t.Fatalf("reference maxlens %d/%d differ from defaults", ref.QueryMaxLen, ref.DocMaxLen)
	}
	enc, err := NewColBERT(ref.tokenizer(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := enc.EncodeQueries(ref.Queries)
	r, c, ids := ref.ints(t, "query_input_ids")
	compareBatch(t, "query_input_ids", b.N, b.Len, b.IDs, r, c, ids, ref.Queries)
	r, c, att := ref.ints(t, "query_attention_mask")
	compareBatch(t, "query_attention_mask", b.N, b.Len, b.AttentionMask, r, c, att, ref.Queries)
	for i, v := range b.VectorMask {
		if v != 1 {
			t.Fatalf("query vector mask %d = %d, want all 1", i, v)
		}
	}
	// Option: attend to the [MASK] padding.
	cfg.AttendToMaskTokens = true
	enc2, _ := NewColBERT(ref.tokenizer(t), cfg)
	b2 := enc2.EncodeQueries(ref.Queries)
	for i, v := range b2.AttentionMask {
		if v != 1 || b2.IDs[i] != b.IDs[i] {
			t.Fatalf("attend_to_mask_tokens: position %d mask %d", i, v)
		}
	}
}

func TestParityDocs(t *testing.T) {
	ref := loadReference(t)
	tok := ref.tokenizer(t)
	enc, err := NewColBERT(tok, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	b := enc.EncodeDocs(ref.Docs)
	r, c, ids := ref.ints(t, "doc_input_ids")
	compareBatch(t, "doc_input_ids", b.N, b.Len, b.IDs, r, c, ids, ref.Docs)
	r, c, att := ref.ints(t, "doc_attention_mask")
	compareBatch(t, "doc_attention_mask", b.N, b.Len, b.AttentionMask, r, c, att, ref.Docs)
	r, c, vm := ref.ints(t, "doc_vector_mask")
	compareBatch(t, "doc_vector_mask", b.N, b.Len, b.VectorMask, r, c, vm, ref.Docs)

	// The unpadded per-document encoding is the batch row without padding.
	for i, d := range ref.Docs {
		ids, mask := enc.EncodeDoc(d)
		row := b.Row(i)
		for j := range row {
			if j < len(ids) {
				if ids[j] != row[j] || mask[j] != b.VectorMask[i*b.Len+j] {
					t.Fatalf("EncodeDoc(%d) differs from batch at %d", i, j)
				}
			} else if b.AttentionMask[i*b.Len+j] != 0 {
				t.Fatalf("EncodeDoc(%d) has %d ids but the batch attends to position %d", i, len(ids), j)
			}
		}
	}

	got := PunctuationSkiplist(tok)
	want := map[int32]bool{}
	for _, id := range ref.Skiplist {
		want[id] = true
	}
	if len(got) != len(want) {
		t.Fatalf("skiplist %v, want %v", got, ref.Skiplist)
	}
	for _, id := range got {
		if !want[id] {
			t.Fatalf("skiplist has %d, not in reference %v", id, ref.Skiplist)
		}
	}
}

func TestParityCrossEncoderPairs(t *testing.T) {
	ref := loadReference(t)
	tok, err := Load(filepath.Join(ref.dir, "cross-encoder", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	qs := make([]string, len(ref.CEPairs))
	ps := make([]string, len(ref.CEPairs))
	for i, p := range ref.CEPairs {
		qs[i], ps[i] = p[0], p[1]
	}
	b, err := tok.EncodePairs(qs, ps, DefaultPairMaxLen)
	if err != nil {
		t.Fatal(err)
	}
	r, c, ids := ref.ints(t, "ce_input_ids")
	compareBatch(t, "ce_input_ids", b.N, b.Len, b.IDs, r, c, ids, qs)
	r, c, att := ref.ints(t, "ce_attention_mask")
	compareBatch(t, "ce_attention_mask", b.N, b.Len, b.AttentionMask, r, c, att, qs)
	r, c, tt := ref.ints(t, "ce_token_type_ids")
	compareBatch(t, "ce_token_type_ids", b.N, b.Len, b.TokenTypeIDs, r, c, tt, qs)
}

// FromVocab(vocab.txt) must give the same ids as tokenizer.json.
func TestFromVocabMatchesJSON(t *testing.T) {
	ref := loadReference(t)
	js := ref.tokenizer(t)
	vt, err := FromVocab(filepath.Join(ref.dir, "colbert", "vocab.txt"), true)
	if err != nil {
		t.Fatal(err)
	}
	if js.VocabSize() != vt.VocabSize() {
		t.Fatalf("vocab sizes %d vs %d", js.VocabSize(), vt.VocabSize())
	}
	texts := append(append(append([]string{}, ref.Queries...), ref.Docs...), edgeTexts...)
	for _, s := range texts {
		a, b := js.Encode(s), vt.Encode(s)
		if !equalIDs(a, b) {
			t.Fatalf("%q: tokenizer.json %v, vocab.txt %v", s, a, b)
		}
	}
	if js.Hash() == vt.Hash() {
		t.Fatal("different sources share a hash")
	}
	// The real teacher's (ms-marco-MiniLM-L-6-v2) tokenizer.json is the
	// same uncased vocabulary: it must load and agree.
	mini, err := Load(testassets.Path(t, "models/cross-encoder-ms-marco-MiniLM-L-6-v2/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range texts {
		if a, b := js.Encode(s), mini.Encode(s); !equalIDs(a, b) {
			t.Fatalf("%q: colbert %v, MiniLM %v", s, a, b)
		}
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
