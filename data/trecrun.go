package data

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// SortRun orders a ranked list as trec_eval evaluates it: by score
// descending, ties by document id in descending byte order. The rank column
// of a run file plays no part, as in trec_eval.
func SortRun(docs []ScoredDoc) {
	sort.SliceStable(docs, func(i, j int) bool {
		if docs[i].Score != docs[j].Score {
			return docs[i].Score > docs[j].Score
		}
		return docs[i].DocID > docs[j].DocID
	})
}

func parseTRECRun(r io.Reader, name string) (Run, error) {
	lr := newLineReader(r, name)
	run := Run{}
	seen := map[[2]string]int{}
	for {
		b, ok := lr.next()
		if !ok {
			if lr.err != nil {
				return nil, lr.err
			}
			break
		}
		if isBlank(b) {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) != 6 {
			return nil, lr.errorf("want 6 fields (qid Q0 docid rank score tag), got %d", len(f))
		}
		if _, err := strconv.ParseInt(f[3], 10, 64); err != nil {
			return nil, lr.errorf("rank %q is not an integer", f[3])
		}
		score, err := strconv.ParseFloat(f[4], 64)
		if err != nil || math.IsNaN(score) || math.IsInf(score, 0) {
			return nil, lr.errorf("score %q is not a number", f[4])
		}
		key := [2]string{f[0], f[2]}
		if first, dup := seen[key]; dup {
			return nil, lr.errorf("document %q retrieved twice for query %q (first at line %d)", f[2], f[0], first)
		}
		seen[key] = lr.line
		run[f[0]] = append(run[f[0]], ScoredDoc{DocID: f[2], Score: score})
	}
	for _, docs := range run {
		SortRun(docs)
	}
	return run, nil
}

// ReadTRECRun reads a TREC run (`qid Q0 docid rank score tag`, whitespace
// separated) and sorts each list as trec_eval does (see SortRun). A document
// listed twice for one query is an error, as in trec_eval.
func ReadTRECRun(path string) (Run, error) {
	return withFile(path, parseTRECRun)
}

// FormatScore prints a score as the shortest decimal that reads back to the
// same float64, so scores, their order and their ties survive a run file
// exactly (a float32 score prints with up to 17 digits, as Python's repr of
// ColBERT's scores does).
func FormatScore(s float64) string {
	return strconv.FormatFloat(s, 'g', -1, 64)
}

func writeTRECRun(w *bufio.Writer, run Run, tag string) error {
	if tag == "" {
		tag = "colbert"
	}
	if err := checkFieldID("run tag", tag, true); err != nil {
		return err
	}
	for _, qid := range SortedIDs(run) {
		if err := checkFieldID("query id", qid, true); err != nil {
			return err
		}
		docs := append([]ScoredDoc(nil), run[qid]...)
		SortRun(docs)
		seen := make(map[string]bool, len(docs))
		for i, d := range docs {
			if err := checkFieldID("document id", d.DocID, true); err != nil {
				return fmt.Errorf("query %q: %w", qid, err)
			}
			if seen[d.DocID] {
				return fmt.Errorf("query %q: document %q listed twice", qid, d.DocID)
			}
			seen[d.DocID] = true
			if math.IsNaN(d.Score) || math.IsInf(d.Score, 0) {
				return fmt.Errorf("query %q document %q: score %v", qid, d.DocID, d.Score)
			}
			w.WriteString(qid)
			w.WriteString(" Q0 ")
			w.WriteString(d.DocID)
			w.WriteByte(' ')
			w.WriteString(strconv.Itoa(i + 1))
			w.WriteByte(' ')
			w.WriteString(FormatScore(d.Score))
			w.WriteByte(' ')
			w.WriteString(tag)
			w.WriteByte('\n')
		}
	}
	return nil
}

// WriteTRECRun writes a run file, queries in CompareIDs order, each list in
// SortRun order with ranks 1..n, atomically. Scores are printed exactly (see
// FormatScore); tag defaults to "colbert".
func WriteTRECRun(path string, run Run, tag string) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error { return writeTRECRun(w, run, tag) })
}
