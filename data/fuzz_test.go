package data

import (
	"bufio"
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// Each fuzz target checks that a parser never panics and that whatever it
// accepts survives its writer and a second parse unchanged.

func writeTo(t *testing.T, fn func(w *bufio.Writer) error) (string, error) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	err := fn(w)
	w.Flush()
	return buf.String(), err
}

func FuzzReadQrels(f *testing.F) {
	f.Add("query-id\tcorpus-id\tscore\r\n1\t31715818\t1\r\n3\t14717500\t1\r\n")
	f.Add("1 0 184 2\n1 0 29 2 \n\n")
	f.Add("\ufeff1\t2\t1.0\nq a\td\t-1\n")
	f.Add("1 184 2 \n1 29 2 \n")
	f.Add("a\t\tb\t1\n")
	f.Fuzz(func(t *testing.T, in string) {
		for _, form := range []qrelsForm{qrelsAuto, qrelsBEIR, qrelsTREC} {
			q, err := parseQrels(strings.NewReader(in), "fuzz", form)
			if err != nil {
				continue
			}
			for _, trec := range []bool{false, true} {
				out, err := writeTo(t, func(w *bufio.Writer) error { return writeQrels(w, q, trec) })
				if err != nil {
					continue // ids with whitespace cannot go into TREC qrels
				}
				again, err := parseQrels(strings.NewReader(out), "out", qrelsAuto)
				if err != nil {
					t.Fatalf("re-read of written qrels: %v\n%q", err, out)
				}
				if len(q) == 0 && len(again) == 0 {
					continue
				}
				if !reflect.DeepEqual(q, again) {
					t.Fatalf("round trip changed qrels:\n%v\n%v", q, again)
				}
			}
		}
	})
}

func FuzzReadRun(f *testing.F) {
	f.Add("q1 Q0 d1 1 2.5 tag\r\nq1 Q0 d2 2 2.5 tag\nq2 Q0 d1 1 -1e-3 t\n")
	f.Add("1\tQ0\t7\t1\t0.10000000149011612\tcolbert\n\n")
	f.Add("q Q0 d 1 NaN t\n")
	f.Fuzz(func(t *testing.T, in string) {
		run, err := parseTRECRun(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		out, err := writeTo(t, func(w *bufio.Writer) error { return writeTRECRun(w, run, "fz") })
		if err != nil {
			t.Fatalf("cannot write a run that was read: %v", err)
		}
		again, err := parseTRECRun(strings.NewReader(out), "out")
		if err != nil {
			t.Fatalf("re-read: %v\n%q", err, out)
		}
		if !(len(run) == 0 && len(again) == 0) && !reflect.DeepEqual(run, again) {
			t.Fatalf("round trip changed run:\n%v\n%v", run, again)
		}
	})
}

func FuzzCorpusJSONL(f *testing.F) {
	f.Add("\ufeff{\"_id\": 12, \"title\": \"T\", \"text\": \"a\", \"metadata\": {}}\r\n{\"_id\": \"x\", \"text\": null}\n\n")
	f.Add("{\"_id\": \"1\", \"title\": \"\\u00e9\\ud800\", \"text\": \"\\\"q\\\"\"}\n")
	f.Add("{\"id\": -1.5e3}\n")
	f.Add("{\"_id\": 1}\n{\"_id\": \"1\"}\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := parseCorpusJSONL(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		out, err := writeTo(t, func(w *bufio.Writer) error {
			return writeJSONLines(w, len(ps), func(i int) (corpusLine, error) { return corpusLine{ps[i].ID, ps[i].Title, ps[i].Text}, nil })
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseCorpusJSONL(strings.NewReader(out), "out")
		// The corpus writer writes id, title and text (Meta is the index's
		// metadata store's, see codec/metadb), so those must come back.
		strip := func(ps []Passage) []Passage {
			out := make([]Passage, len(ps))
			for i, p := range ps {
				out[i] = Passage{ID: p.ID, Title: p.Title, Text: p.Text}
			}
			return out
		}
		if err != nil || !reflect.DeepEqual(strip(ps), strip(again)) {
			t.Fatalf("round trip: %v\n%#v\n%#v", err, ps, again)
		}
		qs, err := parseQueriesJSONL(strings.NewReader(in), "fuzz")
		if err != nil || len(qs) != len(ps) {
			t.Fatalf("queries reader disagrees with corpus reader: %v", err)
		}
	})
}

func FuzzExamples(f *testing.F) {
	f.Add("[1, 2, 3]\n[\"q2\", \"p\", 4]\n")
	f.Add("[7, [10, 9.5], [11, -1.25], [12, 0, \"x\"]]\r\n")
	f.Add("{\"qid\": 1, \"pos\": 2, \"neg\": [3, \"4\"]}\n{\"query_id\": \"a\", \"doc_ids\": [\"x\"], \"teacher_scores\": [1e-45]}\n")
	f.Add("1185869\t2\t7\r\n5 6 7\n")
	f.Add("\ufeff[0, [\"007\", 3.4028235e38]]\n")
	f.Fuzz(func(t *testing.T, in string) {
		exs, err := parseExamples(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		var buf []byte
		for _, ex := range exs {
			var err error
			if buf, err = appendExampleJSON(buf, ex); err != nil {
				return // e.g. invalid UTF-8 ids from a TSV file
			}
		}
		again, err := parseExamples(bytes.NewReader(buf), "out")
		if err != nil || !reflect.DeepEqual(exs, again) {
			t.Fatalf("round trip: %v\n%s\n%#v\n%#v", err, buf, exs, again)
		}
	})
}

func FuzzMSMARCO(f *testing.F) {
	f.Add("0\tThe presence of communication\r\n1\t\n2\tpassage\tTitle\n\n")
	f.Add("id\ttext\n1\ta\rb\n")
	f.Add("1\ta\n1\tb\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, perr := parseMSMARCOCollection(strings.NewReader(in), "fuzz")
		qs, err := parseMSMARCOQueries(strings.NewReader(in), "fuzz")
		if (perr == nil) != (err == nil) || len(ps) != len(qs) {
			t.Fatalf("collection and query readers disagree: %v / %v", perr, err)
		}
		if err != nil {
			return
		}
		out, err := writeTo(t, func(w *bufio.Writer) error {
			return writeIDTextTSV(w, len(qs), func(i int) (string, string) { return qs[i].ID, qs[i].Text })
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseMSMARCOQueries(strings.NewReader(out), "out")
		if err != nil || len(again) != len(qs) {
			t.Fatalf("re-read: %v", err)
		}
		for i := range qs {
			if again[i].ID != qs[i].ID || again[i].Text != tsvText(qs[i].Text) {
				t.Fatalf("round trip: %q %q", again[i], qs[i])
			}
		}
	})
}
