package data

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestReadTRECRunSortsAsTrecEval(t *testing.T) {
	in := "q1 Q0 d1 3 1.5 tag\r\n" +
		"q1 Q0 d2 1 2.25 tag\n" +
		"q1\tQ0\td3\t2\t1.5\ttag\n" + // tie with d1: trec_eval puts d3 first (docno descending)
		"q2 Q0 a 1 -1e-3 other\n\n"
	run, err := ReadTRECRun(writeTemp(t, "run.trec", in))
	if err != nil {
		t.Fatal(err)
	}
	want := Run{
		"q1": {{"d2", 2.25}, {"d3", 1.5}, {"d1", 1.5}},
		"q2": {{"a", -0.001}},
	}
	if !reflect.DeepEqual(run, want) {
		t.Fatalf("got %v", run)
	}
}

func TestReadTRECRunErrors(t *testing.T) {
	for i, in := range []string{
		"q1 Q0 d1 1 1 t\nq1 Q0 d2 2 1\n",
		"q1 Q0 d1 1 1 t\nq1 Q0 d2 x 1 t\n",
		"q1 Q0 d1 1 1 t\nq1 Q0 d2 2 NaN t\n",
		"q1 Q0 d1 1 1 t\nq1 Q0 d2 2 1e999 t\n",
		"q1 Q0 d1 1 1 t\nq1 Q0 d1 2 0.5 t\n",
	} {
		p := writeTemp(t, "run.trec", in)
		if _, err := ReadTRECRun(p); err == nil || !strings.Contains(err.Error(), p+" line 2:") {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
}

func TestTRECRunRoundTripExactScores(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	run := Run{}
	for q := 0; q < 20; q++ {
		qid := strconv.Itoa(q * 7)
		var docs []ScoredDoc
		for d := 0; d < 30; d++ {
			s := rng.NormFloat64() * 10
			switch d % 3 {
			case 0:
				s = float64(float32(s)) // ColBERT's float32 scores
			case 1:
				s = math.Round(s) // ties
			}
			docs = append(docs, ScoredDoc{DocID: "doc" + strconv.Itoa(rng.Intn(1000)*100+d), Score: s})
		}
		run[qid] = docs
	}
	p := filepath.Join(t.TempDir(), "run.trec")
	if err := WriteTRECRun(p, run, "mytag"); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTRECRun(p)
	if err != nil {
		t.Fatal(err)
	}
	for qid, docs := range run {
		want := append([]ScoredDoc(nil), docs...)
		SortRun(want)
		if !reflect.DeepEqual(got[qid], want) {
			t.Fatalf("query %s differs after round trip", qid)
		}
	}
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 600 {
		t.Fatalf("%d lines", len(lines))
	}
	prevQ, rank := "", 0
	for _, l := range lines {
		f := strings.Fields(l)
		if f[1] != "Q0" || f[5] != "mytag" {
			t.Fatalf("bad line %q", l)
		}
		if f[0] != prevQ {
			if prevQ != "" && CompareIDs(prevQ, f[0]) >= 0 {
				t.Fatalf("queries out of order: %s then %s", prevQ, f[0])
			}
			prevQ, rank = f[0], 0
		}
		rank++
		if f[3] != strconv.Itoa(rank) {
			t.Fatalf("rank %s, want %d", f[3], rank)
		}
	}
}

func TestFormatScore(t *testing.T) {
	for _, s := range []float64{0, 1, -2.5, 1e-7, 123456.789, float64(float32(0.1)), 0.1, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		got, err := strconv.ParseFloat(FormatScore(s), 64)
		if err != nil {
			t.Fatal(err)
		}
		if got != s {
			t.Errorf("FormatScore(%v) = %s reads back as %v", s, FormatScore(s), got)
		}
	}
	if got := FormatScore(12.345678912345); got != "12.345678912345" {
		t.Errorf("float64 score printed as %s", got)
	}
}

func TestWriteTRECRunRejects(t *testing.T) {
	p := filepath.Join(t.TempDir(), "run.trec")
	for i, c := range []struct {
		run Run
		tag string
	}{
		{Run{"q": {{"d", 1}}}, "two words"},
		{Run{"q 1": {{"d", 1}}}, ""},
		{Run{"q": {{"d\t", 1}}}, ""},
		{Run{"q": {{"d", math.NaN()}}}, ""},
		{Run{"q": {{"d", 1}, {"d", 2}}}, ""},
	} {
		if err := WriteTRECRun(p, c.run, c.tag); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Error("failed writes left a file")
	}
}
