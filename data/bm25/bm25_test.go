package bm25

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/colbert-go/colbert/data"
)

func TestAnalyzer(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"F-16's Über-Speed, 3.5x!", []string{"f", "16", "s", "über", "speed", "3", "5x"}},
		{"  ", nil},
		{"", nil},
		{"ÀÉÎ naïve", []string{"àéî", "naïve"}},
		{"tab\tnew\nline", []string{"tab", "new", "line"}},
		{"中文 text", []string{"中文", "text"}},
	}
	for _, c := range cases {
		got := Analyzer{}.Tokens(c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	got := Analyzer{Stopwords: EnglishStopwords()}.Tokens("The flow of THE air in a Tube")
	want := []string{"flow", "air", "tube"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with stopwords: %q, want %q", got, want)
	}
}

func FuzzAnalyzer(f *testing.F) {
	for _, s := range []string{"", "a", "Hello, World", "F-16's", "Über\u00a0naïve", "\xff\xfe", "a1b2 C3", "İstanbul ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Analyzer{}.Tokens(s)
		n := 0
		for _, tok := range toks {
			if tok == "" {
				t.Fatalf("empty token from %q", s)
			}
			for _, r := range tok {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					t.Fatalf("token %q of %q has separator rune %q", tok, s, r)
				}
			}
			if strings.ToLower(tok) != tok {
				t.Fatalf("token %q of %q not lower-cased", tok, s)
			}
			n++
		}
		// Same count as an independent split on the same rune classes.
		ref := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(ref) != n {
			t.Fatalf("%q: %d tokens, FieldsFunc gives %d", s, n, len(ref))
		}
	})
}

func build(t testing.TB, docs []data.Passage, threads int) *Index {
	t.Helper()
	ix, err := Build(context.Background(), docs, DefaultParams(), threads, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestHandComputed checks scores against the formula worked out by hand on a
// four-document collection (one empty document, excluded from N and avgdl).
func TestHandComputed(t *testing.T) {
	docs := []data.Passage{
		{ID: "d1", Text: "a b a"},
		{ID: "d2", Text: "B c"},
		{ID: "d3", Title: "c c", Text: "c d"},
		{ID: "d4"},
	}
	ix := build(t, docs, 2)
	// N = 3 non-empty docs, avgdl = (3+2+4)/3 = 3.
	if ix.AvgDocLen() != 3 {
		t.Fatalf("avgdl %v, want 3", ix.AvgDocLen())
	}
	if ix.DocFreq("b") != 2 || ix.DocFreq("c") != 2 || ix.DocFreq("a") != 1 || ix.DocFreq("zz") != 0 {
		t.Fatalf("df wrong: a=%d b=%d c=%d", ix.DocFreq("a"), ix.DocFreq("b"), ix.DocFreq("c"))
	}
	idfA := math.Log(1 + 2.5/1.5) // df 1: ln(1 + (3-1+0.5)/(1+0.5))
	idfB := math.Log(1 + 1.5/2.5) // df 2
	idfC := idfB
	idfD := idfA
	norm1 := 0.9 * (0.6 + 0.4*3.0/3.0) // 0.9
	norm2 := 0.9 * (0.6 + 0.4*2.0/3.0) // 0.78
	norm3 := 0.9 * (0.6 + 0.4*4.0/3.0) // 1.02
	want1 := idfA*2*1.9/(2+norm1) + idfB*1*1.9/(1+norm1)
	want2 := idfB * 1 * 1.9 / (1 + norm2)
	got := ix.Search("A b", 10)
	if len(got) != 2 || got[0].DocID != "d1" || got[1].DocID != "d2" {
		t.Fatalf("Search(a b) = %v", got)
	}
	approx(t, "d1", got[0].Score, want1)
	approx(t, "d2", got[1].Score, want2)

	// Repeated query terms count as many times as they occur (Anserini's
	// bag-of-words query generator boosts by the count).
	got = ix.Search("c c d", 10)
	want3 := 2*idfC*3*1.9/(3+norm3) + idfD*1*1.9/(1+norm3)
	want2c := 2 * idfC * 1 * 1.9 / (1 + norm2)
	if len(got) != 2 || got[0].DocID != "d3" || got[1].DocID != "d2" {
		t.Fatalf("Search(c c d) = %v", got)
	}
	approx(t, "d3", got[0].Score, want3)
	approx(t, "d2", got[1].Score, want2c)

	if r := ix.Search("unknown words", 10); len(r) != 0 {
		t.Fatalf("no-match query returned %v", r)
	}
	if r := ix.Search("a b c", 1); len(r) != 1 {
		t.Fatalf("k=1 returned %d docs", len(r))
	}
	if r := ix.Search("a", 0); r != nil {
		t.Fatalf("k=0 returned %v", r)
	}
}

func approx(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
		t.Errorf("%s: score %.15g, want %.15g", what, got, want)
	}
}

func TestTiesByCollectionOrder(t *testing.T) {
	docs := []data.Passage{{ID: "z", Text: "x y"}, {ID: "m", Text: "q"}, {ID: "a", Text: "x y"}, {ID: "b", Text: "y x"}}
	ix := build(t, docs, 3)
	got := ix.Search("x", 2)
	if len(got) != 2 || got[0].DocID != "z" || got[1].DocID != "a" || got[0].Score != got[1].Score {
		t.Fatalf("tie order: %v, want z then a with equal scores", got)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build(context.Background(), []data.Passage{{ID: "1"}, {ID: "1"}}, DefaultParams(), 1, nil); err == nil || !strings.Contains(err.Error(), `"1"`) {
		t.Fatalf("duplicate id: err %v", err)
	}
	if _, err := Build(context.Background(), nil, Params{K1: 0.9, B: 1.5}, 1, nil); err == nil {
		t.Fatal("b > 1 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, randomCorpus(rand.New(rand.NewPCG(1, 2)), 100, 50), DefaultParams(), 2, nil); err == nil {
		t.Fatal("cancelled context not reported")
	}
	ix := build(t, nil, 4)
	if r := ix.Search("a", 5); r != nil {
		t.Fatalf("empty index returned %v", r)
	}
}

// randomCorpus draws Zipf-distributed words from a vocabulary of nv words.
func randomCorpus(r *rand.Rand, n, nv int) []data.Passage {
	docs := make([]data.Passage, n)
	for i := range docs {
		l := 5 + r.IntN(40)
		ws := make([]string, l)
		for j := range ws {
			ws[j] = fmt.Sprintf("w%d", int(math.Floor(math.Pow(float64(nv), r.Float64())))-1)
		}
		docs[i] = data.Passage{ID: fmt.Sprintf("doc%05d", i), Text: strings.Join(ws, " ")}
	}
	return docs
}

func randomQuery(r *rand.Rand, nv, n int) string {
	ws := make([]string, n)
	for j := range ws {
		ws[j] = fmt.Sprintf("w%d", int(math.Floor(math.Pow(float64(nv), r.Float64())))-1)
	}
	return strings.Join(ws, " ")
}

// bruteForce scores every document directly from the formula, independent of
// the index's postings, and sorts by (score desc, position asc).
func bruteForce(docs []data.Passage, query string, k int) []data.ScoredDoc {
	split := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	toks := make([][]string, len(docs))
	df := map[string]int{}
	total, N := 0, 0
	for i, d := range docs {
		toks[i] = split(d.Content())
		if len(toks[i]) > 0 {
			N++
			total += len(toks[i])
		}
		seen := map[string]bool{}
		for _, w := range toks[i] {
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	avgdl := float64(total) / float64(N)
	qtf := map[string]float64{}
	for _, w := range split(query) {
		qtf[w]++
	}
	type sd struct {
		i int
		s float64
	}
	var all []sd
	for i := range docs {
		tf := map[string]float64{}
		for _, w := range toks[i] {
			tf[w]++
		}
		var s float64
		for w, q := range qtf {
			if tf[w] == 0 {
				continue
			}
			idf := math.Log(1 + (float64(N)-float64(df[w])+0.5)/(float64(df[w])+0.5))
			s += q * idf * tf[w] * 1.9 / (tf[w] + 0.9*(0.6+0.4*float64(len(toks[i]))/avgdl))
		}
		if s > 0 {
			all = append(all, sd{i, s})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].s > all[b].s })
	if len(all) > k {
		all = all[:k]
	}
	out := make([]data.ScoredDoc, len(all))
	for j, x := range all {
		out[j] = data.ScoredDoc{DocID: docs[x.i].ID, Score: x.s}
	}
	return out
}

func TestMatchesBruteForceAndThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	docs := randomCorpus(r, 600, 300)
	docs[17].Text = "" // an empty document must not count in N
	ix1 := build(t, docs, 1)
	ix3 := build(t, docs, 3)
	var queries []data.Query
	for q := 0; q < 40; q++ {
		queries = append(queries, data.Query{ID: fmt.Sprint("q", q), Text: randomQuery(r, 300, 1+q%6)})
	}
	for _, q := range queries {
		want := bruteForce(docs, q.Text, 25)
		got := ix1.Search(q.Text, 25)
		if len(got) != len(want) {
			t.Fatalf("%q: %d results, brute force %d", q.Text, len(got), len(want))
		}
		for i := range got {
			// Exact ties may be ordered differently only if rounding made
			// them unequal in one of the two computations.
			tie := i+1 < len(got) && math.Abs(got[i].Score-got[i+1].Score) < 1e-9 || i > 0 && math.Abs(got[i].Score-got[i-1].Score) < 1e-9
			if (got[i].DocID != want[i].DocID && !tie) || math.Abs(got[i].Score-want[i].Score) > 1e-9 {
				t.Fatalf("%q rank %d: %v, brute force %v", q.Text, i+1, got[i], want[i])
			}
		}
		if g3 := ix3.Search(q.Text, 25); !reflect.DeepEqual(g3, got) {
			t.Fatalf("%q: 3-thread index differs from 1-thread index", q.Text)
		}
	}
	run, err := ix3.SearchAll(context.Background(), queries, 25, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(run) != len(queries) {
		t.Fatalf("run has %d queries, want %d", len(run), len(queries))
	}
	for _, q := range queries {
		if !reflect.DeepEqual(run[q.ID], ix1.Search(q.Text, 25)) {
			t.Fatalf("SearchAll differs from Search for %s", q.ID)
		}
	}
	if _, err := ix1.SearchAll(context.Background(), []data.Query{{ID: "a", Text: "w1"}, {ID: "a", Text: "w2"}}, 5, 1, nil); err == nil {
		t.Fatal("duplicate query id accepted")
	}
}

func BenchmarkIndex(b *testing.B) {
	docs := randomCorpus(rand.New(rand.NewPCG(1, 1)), 20000, 5000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Build(context.Background(), docs, DefaultParams(), 2, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(docs)*b.N)/b.Elapsed().Seconds(), "docs/s")
}

func BenchmarkSearch(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	docs := randomCorpus(r, 20000, 5000)
	ix := build(b, docs, 2)
	var queries []data.Query
	for q := 0; q < 1000; q++ {
		queries = append(queries, data.Query{ID: fmt.Sprint(q), Text: randomQuery(r, 5000, 1+q%8)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ix.SearchAll(context.Background(), queries, 1000, 2, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(queries)*b.N)/b.Elapsed().Seconds(), "queries/s")
}
