package data

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestReadQrelsForms(t *testing.T) {
	want := Qrels{"1": {"31715818": 1, "d2": 0}, "q 3": {"14717500": 2}}
	beir := "query-id\tcorpus-id\tscore\r\n1\t31715818\t1\r\n1\td2\t0\r\nq 3\t14717500\t2\r\n\r\n"
	noHeader := "\ufeff1\t31715818\t1\n1\td2\t0.0\nq 3\t14717500\t2"
	for name, in := range map[string]string{"header+CRLF": beir, "no header, BOM": noHeader} {
		got, err := ReadQrelsTSV(writeTemp(t, "q.tsv", in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v", name, err, got)
		}
		got, err = ReadQrels(writeTemp(t, "q.tsv", in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s (auto): %v %v", name, err, got)
		}
	}
	trec := "1 0 31715818 1\n1\t0\td2\t0\nq3  Q0 14717500 2 \n"
	wantTREC := Qrels{"1": {"31715818": 1, "d2": 0}, "q3": {"14717500": 2}}
	for _, read := range []func(string) (Qrels, error){ReadTRECQrels, ReadQrels} {
		got, err := read(writeTemp(t, "qrels.txt", trec))
		if err != nil || !reflect.DeepEqual(got, wantTREC) {
			t.Errorf("trec: %v %v", err, got)
		}
	}
}

func TestReadQrelsErrors(t *testing.T) {
	cases := []struct {
		read func(string) (Qrels, error)
		in   string
		line int
	}{
		{ReadQrelsTSV, "query-id\tcorpus-id\tscore\n1\t2\tx\n", 2},
		{ReadQrelsTSV, "1\t2\t1\n1\t2\n", 2},
		{ReadQrelsTSV, "1\t2\t1\n1 0 2 1\n", 2},
		{ReadQrelsTSV, "1\t2\t1\n1\t3\t1.5\n", 2},
		{ReadTRECQrels, "1 0 2 1\n1 0 2\n", 2},
		{ReadTRECQrels, "1 0 2 1\n1 0 2 high\n", 2},
		{ReadQrels, "1 0 2 1\n1\t2\t1\n", 2},
		{ReadQrels, "1 2\n", 1},
	}
	for i, c := range cases {
		p := writeTemp(t, "qrels.tsv", c.in)
		_, err := c.read(p)
		if err == nil || !strings.Contains(err.Error(), p+" line "+strconv.Itoa(c.line)+":") {
			t.Errorf("case %d: err = %v, want line %d", i, err, c.line)
		}
	}
}

func TestQrelsRoundTripSorted(t *testing.T) {
	q := Qrels{"10": {"b": 1, "a": 0, "100": 3, "20": 2}, "2": {"x y": 1}, "a": {"1": -1}}
	dir := t.TempDir()
	p := filepath.Join(dir, "test.tsv")
	if err := WriteQrelsTSV(p, q); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	wantText := "query-id\tcorpus-id\tscore\n2\tx y\t1\n10\t20\t2\n10\t100\t3\n10\ta\t0\n10\tb\t1\na\t1\t-1\n"
	if string(b) != wantText {
		t.Errorf("written:\n%s", b)
	}
	got, err := ReadQrelsTSV(p)
	if err != nil || !reflect.DeepEqual(got, q) {
		t.Fatalf("round trip: %v %v", err, got)
	}
	tp := filepath.Join(dir, "qrels.trec")
	if err := WriteTRECQrels(tp, q); err == nil {
		t.Error("TREC qrels accepted an id with a space")
	}
	delete(q, "2")
	if err := WriteTRECQrels(tp, q); err != nil {
		t.Fatal(err)
	}
	got, err = ReadTRECQrels(tp)
	if err != nil || !reflect.DeepEqual(got, q) {
		t.Fatalf("TREC round trip: %v %v", err, got)
	}
	if err := WriteQrelsTSV(p, Qrels{"a\tb": {"1": 1}}); err == nil {
		t.Error("id with a tab accepted")
	}
}

// rawCranqrel parses classic/cranfield/raw/cranqrel independently of the
// readers under test: `qid docid code `, code -1 dropped, grade = 5 - code.
func rawCranqrel(t *testing.T, path string) Qrels {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	q := Qrels{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		code, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatal(err)
		}
		if code == -1 {
			continue
		}
		if q[f[0]] == nil {
			q[f[0]] = map[string]int{}
		}
		q[f[0]][f[1]] = 5 - code
	}
	return q
}

func countQrels(q Qrels) (rows int, grades map[int]int) {
	grades = map[int]int{}
	for _, docs := range q {
		for _, g := range docs {
			rows++
			grades[g]++
		}
	}
	return rows, grades
}

func TestReadQrelsReal(t *testing.T) {
	for _, c := range []struct {
		rel           string
		rows, queries int
		grades        map[int]int
	}{
		{"beir/scifact/qrels/test.tsv", 339, 300, map[int]int{1: 339}},
		{"beir/scifact/qrels/train.tsv", 919, 809, map[int]int{1: 919}},
		{"classic/cranfield/qrels/test.tsv", 1612, 225, map[int]int{4: 128, 3: 387, 2: 734, 1: 363}},
		{"classic/cisi/qrels/test.tsv", 3114, 76, map[int]int{1: 3114}},
	} {
		q, err := ReadQrelsTSV(assetPath(t, c.rel))
		if err != nil {
			t.Fatal(err)
		}
		rows, grades := countQrels(q)
		if rows != c.rows || len(q) != c.queries || !reflect.DeepEqual(grades, c.grades) {
			t.Errorf("%s: %d rows, %d queries, grades %v", c.rel, rows, len(q), grades)
		}
	}
	cran, err := ReadQrels(assetPath(t, "classic/cranfield/qrels/test.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if raw := rawCranqrel(t, assetPath(t, "classic/cranfield/raw/cranqrel")); !reflect.DeepEqual(cran, raw) {
		t.Error("Cranfield BEIR qrels differ from raw cranqrel mapped by 5 - code")
	}
	// The raw cranqrel is itself TREC-like enough for the 3-field reader:
	// trailing space, no final newline.
	raw3, err := ReadQrelsTSV(assetPath(t, "classic/cranfield/raw/cranqrel"))
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := countQrels(raw3); rows != 1837 {
		t.Errorf("raw cranqrel: %d rows, want 1837", rows)
	}
}
