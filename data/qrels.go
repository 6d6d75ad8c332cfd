package data

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

type qrelsForm int

const (
	qrelsAuto qrelsForm = iota
	qrelsBEIR           // query-id corpus-id score
	qrelsTREC           // qid iter docid rel
)

// splitFields splits a tab-separated line when it has tabs (ids may then
// hold spaces) and on runs of whitespace otherwise.
func splitFields(s string) []string {
	if strings.IndexByte(s, '\t') >= 0 {
		f := strings.Split(s, "\t")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		// Trailing tabs (and the trailing space of Cranfield's cranqrel)
		// leave empty last fields; drop them.
		for len(f) > 0 && f[len(f)-1] == "" {
			f = f[:len(f)-1]
		}
		return f
	}
	return strings.Fields(s)
}

// parseGrade reads a relevance grade; "1.0" and "0.000000" style integral
// floats are accepted because some converters write them.
func parseGrade(s string) (int, error) {
	if v, err := strconv.Atoi(s); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return 0, fmt.Errorf("relevance %q is not an integer", s)
	}
	return int(f), nil
}

func parseQrels(r io.Reader, name string, form qrelsForm) (Qrels, error) {
	lr := newLineReader(r, name)
	q := Qrels{}
	first := true
	for {
		b, ok := lr.next()
		if !ok {
			if lr.err != nil {
				return nil, lr.err
			}
			return q, nil
		}
		if isBlank(b) {
			continue
		}
		f := splitFields(string(b))
		if form == qrelsAuto {
			switch len(f) {
			case 3:
				form = qrelsBEIR
			case 4:
				form = qrelsTREC
			default:
				return nil, lr.errorf("want 3 (BEIR: query-id corpus-id score) or 4 (TREC: qid 0 docid rel) fields, got %d", len(f))
			}
		}
		var qid, did, grade string
		switch form {
		case qrelsBEIR:
			if len(f) != 3 {
				return nil, lr.errorf("want 3 fields (query-id corpus-id score), got %d", len(f))
			}
			qid, did, grade = f[0], f[1], f[2]
		case qrelsTREC:
			if len(f) != 4 {
				return nil, lr.errorf("want 4 fields (qid iteration docid rel), got %d", len(f))
			}
			qid, did, grade = f[0], f[2], f[3]
		}
		rel, err := parseGrade(grade)
		if err != nil {
			if first && form == qrelsBEIR {
				first = false // header line such as "query-id corpus-id score"
				continue
			}
			return nil, lr.errorf("%w", err)
		}
		first = false
		if qid == "" || did == "" {
			return nil, lr.errorf("empty query or document id")
		}
		m := q[qid]
		if m == nil {
			m = map[string]int{}
			q[qid] = m
		}
		m[did] = rel // a repeated pair keeps the last grade, as pytrec_eval's dict does
	}
}

// ReadQrelsTSV reads BEIR qrels: `query-id<TAB>corpus-id<TAB>score`, with or
// without the header line, LF or CRLF.
func ReadQrelsTSV(path string) (Qrels, error) {
	return withFile(path, func(r io.Reader, name string) (Qrels, error) { return parseQrels(r, name, qrelsBEIR) })
}

// ReadTRECQrels reads TREC / MS MARCO qrels: `qid iteration docid rel`,
// whitespace separated; the iteration column is ignored as trec_eval does.
func ReadTRECQrels(path string) (Qrels, error) {
	return withFile(path, func(r io.Reader, name string) (Qrels, error) { return parseQrels(r, name, qrelsTREC) })
}

// ReadQrels reads either form, deciding from the first line's field count
// (3 = BEIR, 4 = TREC), so commands can take any qrels file.
func ReadQrels(path string) (Qrels, error) {
	return withFile(path, func(r io.Reader, name string) (Qrels, error) { return parseQrels(r, name, qrelsAuto) })
}

func writeQrels(w *bufio.Writer, q Qrels, trec bool) error {
	if !trec {
		w.WriteString("query-id\tcorpus-id\tscore\n")
	}
	for _, qid := range SortedIDs(q) {
		if err := checkFieldID("query id", qid, trec); err != nil {
			return err
		}
		docs := q[qid]
		for _, did := range SortedIDs(docs) {
			if err := checkFieldID("document id", did, trec); err != nil {
				return err
			}
			if trec {
				fmt.Fprintf(w, "%s 0 %s %d\n", qid, did, docs[did])
			} else {
				fmt.Fprintf(w, "%s\t%s\t%d\n", qid, did, docs[did])
			}
		}
	}
	return nil
}

// WriteQrelsTSV writes BEIR qrels with the header line, sorted by query then
// document id (CompareIDs), atomically.
func WriteQrelsTSV(path string, q Qrels) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error { return writeQrels(w, q, false) })
}

// WriteTRECQrels writes `qid 0 docid rel` lines, sorted, atomically.
func WriteTRECQrels(path string, q Qrels) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error { return writeQrels(w, q, true) })
}
