package tokenize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data/testassets"
)

func encodeCacheBytes(t testing.TB, key IDCacheKey, ids [][]int32) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ids.cache")
	if err := WriteIDCache(path, key, ids); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestIDCacheRoundTripAndErrors(t *testing.T) {
	key := IDCacheKey{Tokenizer: [32]byte{1, 2, 3}, Texts: TextsHash([]string{"a", "bc"})}
	ids := [][]int32{{101, 7592, 102}, {}, {0, 2147483647}}
	dir := t.TempDir()
	path := filepath.Join(dir, "ids.cache")
	if err := WriteIDCache(path, key, ids); err != nil {
		t.Fatal(err)
	}
	got, err := ReadIDCache(path, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("%d rows", len(got))
	}
	for i := range ids {
		if !equalIDs(got[i], ids[i]) {
			t.Fatalf("row %d: %v want %v", i, got[i], ids[i])
		}
	}
	// No temp files left behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("dir has %d entries", len(ents))
	}
	// Another tokenizer or other texts: stale.
	other := key
	other.Tokenizer[0] = 9
	if _, err := ReadIDCache(path, other); !errors.Is(err, ErrStaleCache) {
		t.Fatalf("other tokenizer: %v", err)
	}
	other = key
	other.Texts = TextsHash([]string{"ab", "c"})
	if _, err := ReadIDCache(path, other); !errors.Is(err, ErrStaleCache) {
		t.Fatalf("other texts: %v", err)
	}
	// Every flipped byte is detected (checksum or structure), never a panic.
	raw, _ := os.ReadFile(path)
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x40
		if _, _, err := ParseIDCache(bad); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	for n := 0; n < len(raw); n++ {
		if _, _, err := ParseIDCache(raw[:n]); err == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
	if _, err := ReadIDCache(filepath.Join(dir, "none"), key); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func FuzzParseIDCache(f *testing.F) {
	key := IDCacheKey{Tokenizer: [32]byte{7}, Texts: [32]byte{8}}
	f.Add(encodeCacheBytes(f, key, [][]int32{{1, 2, 3}, {4}}))
	f.Add(encodeCacheBytes(f, key, nil))
	f.Add(encodeCacheBytes(f, key, [][]int32{{}, {}, {5, 6}}))
	f.Add([]byte(idCacheMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, ids, err := ParseIDCache(raw)
		if err != nil {
			return
		}
		// Whatever parses must re-encode to the same bytes.
		var buf bytes.Buffer
		if err := encodeIDCache(&buf, k, ids); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), raw[:len(raw)-4]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// cranfieldTexts returns the real Cranfield abstracts (title + " " + text).
func cranfieldTexts(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile(testassets.Path(t, "classic/cranfield/corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var d struct{ Title, Text string }
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, d.Title+" "+d.Text)
	}
	return texts
}

func TestTokenizeAllAndCache(t *testing.T) {
	ref := loadReference(t)
	tok := ref.tokenizer(t)
	texts := cranfieldTexts(t)
	ids, err := tok.TokenizeAll(context.Background(), texts, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range texts {
		if !equalIDs(ids[i], tok.Encode(s)) {
			t.Fatalf("text %d differs from sequential Encode", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tok.TokenizeAll(ctx, texts, 2, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}

	path := filepath.Join(t.TempDir(), "cran.ids")
	first, err := tok.TokenizeCached(context.Background(), path, texts, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := tok.TokenizeCached(context.Background(), path, texts, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(path)
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("valid cache was rewritten")
	}
	for i := range texts {
		if !equalIDs(first[i], ids[i]) || !equalIDs(second[i], ids[i]) {
			t.Fatalf("cached text %d differs", i)
		}
	}
	// Changed texts invalidate the cache.
	changed := append([]string{"a new first text"}, texts[1:]...)
	third, err := tok.TokenizeCached(context.Background(), path, changed, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !equalIDs(third[0], tok.Encode(changed[0])) {
		t.Fatal("stale cache served")
	}
}

// BenchmarkEncode measures texts/s of one goroutine on real abstracts
// (Cranfield, ~170 wordpieces each).
func BenchmarkEncode(b *testing.B) {
	ref := loadReference(b)
	tok := ref.tokenizer(b)
	texts := cranfieldTexts(b)
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n += len(tok.AppendEncode(nil, texts[i%len(texts)]))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "ids/s")
}

// BenchmarkEncodeShort is the same on short texts (SciFact-like queries).
func BenchmarkEncodeShort(b *testing.B) {
	ref := loadReference(b)
	tok := ref.tokenizer(b)
	texts := ref.Queries[1:]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.Encode(texts[i%len(texts)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkEncodeSugarme is sugarme's own pipeline on the short texts.
func BenchmarkEncodeSugarme(b *testing.B) {
	ref := loadReference(b)
	tok := ref.tokenizer(b)
	texts := ref.Queries[1:]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tok.EncodeSugarme(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkTokenizeAll is the parallel path over the Cranfield corpus.
func BenchmarkTokenizeAll(b *testing.B) {
	ref := loadReference(b)
	tok := ref.tokenizer(b)
	texts := cranfieldTexts(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tok.TokenizeAll(context.Background(), texts, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
}
