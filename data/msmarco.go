package data

import (
	"bufio"
	"io"
	"strings"
)

// parseIDTextTSV reads `id<TAB>text[<TAB>extra…]` lines, the layout of MS
// MARCO's collection.tsv and queries.*.tsv (and of ColBERT's own files). A
// first line whose id is "id" is a header, as ColBERT accepts.
func parseIDTextTSV(r io.Reader, name, kind string, fn func(id string, f []string)) error {
	lr := newLineReader(r, name)
	seen := map[string]int{}
	for {
		b, ok := lr.next()
		if !ok {
			return lr.err
		}
		if isBlank(b) {
			continue
		}
		f := strings.Split(string(b), "\t")
		if len(f) < 2 {
			return lr.errorf("want %s id<TAB>text, found no tab", kind)
		}
		id := strings.TrimSpace(f[0])
		if err := checkFieldID(kind+" id", id, false); err != nil {
			return lr.errorf("%w", err)
		}
		if len(seen) == 0 && id == "id" {
			seen[id] = lr.line
			continue
		}
		if first, dup := seen[id]; dup {
			return lr.errorf("duplicate %s id %q (first at line %d)", kind, id, first)
		}
		seen[id] = lr.line
		fn(id, f[1:])
	}
}

func parseMSMARCOCollection(r io.Reader, name string) ([]Passage, error) {
	var ps []Passage
	err := parseIDTextTSV(r, name, "passage", func(id string, f []string) {
		p := Passage{ID: id, Text: f[0]}
		if len(f) > 1 {
			p.Title = f[1] // ColBERT's `pid \t passage \t title` variant
		}
		ps = append(ps, p)
	})
	return ps, err
}

// ReadMSMARCOCollection reads `pid<TAB>passage` lines (MS MARCO
// collection.tsv); a third column, as in ColBERT's Wikipedia collections, is
// the title.
func ReadMSMARCOCollection(path string) ([]Passage, error) {
	return withFile(path, parseMSMARCOCollection)
}

func parseMSMARCOQueries(r io.Reader, name string) ([]Query, error) {
	var qs []Query
	err := parseIDTextTSV(r, name, "query", func(id string, f []string) {
		qs = append(qs, Query{ID: id, Text: f[0]})
	})
	return qs, err
}

// ReadMSMARCOQueries reads `qid<TAB>query` lines (MS MARCO queries.*.tsv);
// further columns are ignored.
func ReadMSMARCOQueries(path string) ([]Query, error) {
	return withFile(path, parseMSMARCOQueries)
}

func writeIDTextTSV(w *bufio.Writer, n int, row func(i int) (id, text string)) error {
	for i := 0; i < n; i++ {
		id, text := row(i)
		if err := checkFieldID("id", id, false); err != nil {
			return err
		}
		w.WriteString(id)
		w.WriteByte('\t')
		w.WriteString(tsvText(text))
		w.WriteByte('\n')
	}
	return nil
}

// tsvText replaces the characters a TSV text field cannot hold by spaces.
func tsvText(s string) string {
	if !strings.ContainsAny(s, "\t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// WriteMSMARCOCollection writes `pid<TAB>text` lines (title + " " + text,
// as Passage.Content; tabs and newlines become spaces), atomically.
func WriteMSMARCOCollection(path string, ps []Passage) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error {
		return writeIDTextTSV(w, len(ps), func(i int) (string, string) { return ps[i].ID, ps[i].Content() })
	})
}

// WriteMSMARCOQueries writes `qid<TAB>text` lines, atomically.
func WriteMSMARCOQueries(path string, qs []Query) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error {
		return writeIDTextTSV(w, len(qs), func(i int) (string, string) { return qs[i].ID, qs[i].Text })
	})
}
