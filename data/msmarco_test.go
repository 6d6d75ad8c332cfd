package data

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadMSMARCO(t *testing.T) {
	coll := "0\tThe presence of communication amid scientific minds\r\n1\t\n2\tpassage\tIts Title\n\n"
	ps, err := ReadMSMARCOCollection(writeTemp(t, "collection.tsv", coll))
	want := []Passage{{ID: "0", Title: "", Text: "The presence of communication amid scientific minds"}, {ID: "1", Title: "", Text: ""}, {ID: "2", Title: "Its Title", Text: "passage"}}
	if err != nil || !reflect.DeepEqual(ps, want) {
		t.Fatalf("%v %#v", err, ps)
	}
	withHeader := "id\ttext\ttitle\n1\tp\tt\n"
	ps, err = ReadMSMARCOCollection(writeTemp(t, "c.tsv", withHeader))
	if err != nil || !reflect.DeepEqual(ps, []Passage{{ID: "1", Title: "t", Text: "p"}}) {
		t.Fatalf("header: %v %#v", err, ps)
	}
	qs, err := ReadMSMARCOQueries(writeTemp(t, "queries.dev.tsv", "1048585\twhat is paula deen's brother\textra\n2\t)what was the immediate impact\n"))
	if err != nil || !reflect.DeepEqual(qs, []Query{{"1048585", "what is paula deen's brother"}, {"2", ")what was the immediate impact"}}) {
		t.Fatalf("%v %#v", err, qs)
	}
	for i, in := range []string{"1\ta\n2 no tab\n", "1\ta\n\tb\n", "1\ta\n1\tb\n"} {
		p := writeTemp(t, "q.tsv", in)
		if _, err := ReadMSMARCOQueries(p); err == nil || !strings.Contains(err.Error(), p+" line 2:") {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestMSMARCORoundTrip(t *testing.T) {
	dir := t.TempDir()
	ps := []Passage{{ID: "1", Title: "", Text: "a b"}, {ID: "2", Title: "T", Text: "x\ty\nz"}}
	p := filepath.Join(dir, "collection.tsv")
	if err := WriteMSMARCOCollection(p, ps); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMSMARCOCollection(p)
	if err != nil || !reflect.DeepEqual(got, []Passage{{ID: "1", Title: "", Text: "a b"}, {ID: "2", Title: "", Text: "T x y z"}}) {
		t.Fatalf("%v %#v", err, got)
	}
	qs := []Query{{"5", "q five"}, {"abc", ""}}
	qp := filepath.Join(dir, "queries.tsv")
	if err := WriteMSMARCOQueries(qp, qs); err != nil {
		t.Fatal(err)
	}
	gq, err := ReadMSMARCOQueries(qp)
	if err != nil || !reflect.DeepEqual(gq, qs) {
		t.Fatalf("%v %#v", err, gq)
	}
}
