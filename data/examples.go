package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// exampleObject is the object form of a JSONL training line. Only ids are
// accepted: a line of texts (PyLate's {"query","positive","negative"}) has
// no query id and is rejected rather than mistaken for ids.
type exampleObject struct {
	QID           json.RawMessage `json:"qid"`
	QueryID       json.RawMessage `json:"query_id"`
	DocIDs        json.RawMessage `json:"doc_ids"`
	TeacherScores json.RawMessage `json:"teacher_scores"`
	Scores        json.RawMessage `json:"scores"`
	Pos           json.RawMessage `json:"pos"`
	Positive      json.RawMessage `json:"positive"`
	Positives     json.RawMessage `json:"positives"`
	Neg           json.RawMessage `json:"neg"`
	Negative      json.RawMessage `json:"negative"`
	Negatives     json.RawMessage `json:"negatives"`
}

func firstRaw(rs ...json.RawMessage) json.RawMessage {
	for _, r := range rs {
		if len(r) > 0 {
			return r
		}
	}
	return nil
}

// jsonIDs decodes one id or an array of ids.
func jsonIDs(field string, raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '[' {
		id, err := jsonID(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return []string{id}, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	ids := make([]string, len(elems))
	for i, e := range elems {
		id, err := jsonID(e)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		ids[i] = id
	}
	return ids, nil
}

func jsonScore(raw json.RawMessage) (float32, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, fmt.Errorf("score %s is not a number", truncate(string(raw), 40))
	}
	s := float32(f)
	if math.IsInf(float64(s), 0) {
		return 0, fmt.Errorf("score %s overflows float32", truncate(string(raw), 40))
	}
	return s, nil
}

func decodeExampleObject(b []byte) (Example, error) {
	var o exampleObject
	if err := json.Unmarshal(b, &o); err != nil {
		return Example{}, err
	}
	qid, err := jsonID(firstRaw(o.QueryID, o.QID))
	if err != nil {
		return Example{}, fmt.Errorf("query id (\"query_id\" or \"qid\"): %w", err)
	}
	ex := Example{QueryID: qid}
	if o.DocIDs != nil {
		if ex.DocIDs, err = jsonIDs("doc_ids", o.DocIDs); err != nil {
			return Example{}, err
		}
	} else {
		pos, err := jsonIDs("positive", firstRaw(o.Pos, o.Positive, o.Positives))
		if err != nil {
			return Example{}, err
		}
		neg, err := jsonIDs("negative", firstRaw(o.Neg, o.Negative, o.Negatives))
		if err != nil {
			return Example{}, err
		}
		if len(pos) == 0 {
			return Example{}, errors.New("no positive (\"pos\"/\"positive\") and no \"doc_ids\"")
		}
		ex.DocIDs = append(pos, neg...)
	}
	if raw := bytes.TrimSpace(firstRaw(o.TeacherScores, o.Scores)); len(raw) > 0 && string(raw) != "null" {
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return Example{}, fmt.Errorf("teacher_scores: %w", err)
		}
		ex.TeacherScores = make([]float32, len(elems))
		for i, e := range elems {
			if ex.TeacherScores[i], err = jsonScore(e); err != nil {
				return Example{}, fmt.Errorf("teacher_scores[%d]: %w", i, err)
			}
		}
	}
	return ex, nil
}

// decodeExampleArray reads ColBERT's forms: [qid, pid, pid, …] (triples are
// the 3-element case) and [qid, [pid, score], [pid, score], …]. As in
// ColBERT, elements after the score in an inner array are ignored.
func decodeExampleArray(b []byte) (Example, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return Example{}, err
	}
	if len(elems) < 2 {
		return Example{}, fmt.Errorf("want [qid, pid, …], got %d elements", len(elems))
	}
	qid, err := jsonID(elems[0])
	if err != nil {
		return Example{}, fmt.Errorf("query id: %w", err)
	}
	ex := Example{QueryID: qid, DocIDs: make([]string, 0, len(elems)-1)}
	scored := bytes.HasPrefix(bytes.TrimSpace(elems[1]), []byte("["))
	if scored {
		ex.TeacherScores = make([]float32, 0, len(elems)-1)
	}
	for i, e := range elems[1:] {
		e = bytes.TrimSpace(e)
		if isArr := bytes.HasPrefix(e, []byte("[")); isArr != scored {
			return Example{}, fmt.Errorf("element %d: mixes [pid, score] pairs and bare pids", i+1)
		}
		if !scored {
			id, err := jsonID(e)
			if err != nil {
				return Example{}, fmt.Errorf("element %d: %w", i+1, err)
			}
			ex.DocIDs = append(ex.DocIDs, id)
			continue
		}
		var pair []json.RawMessage
		if err := json.Unmarshal(e, &pair); err != nil {
			return Example{}, fmt.Errorf("element %d: %w", i+1, err)
		}
		if len(pair) < 2 {
			return Example{}, fmt.Errorf("element %d: want [pid, score], got %d elements", i+1, len(pair))
		}
		id, err := jsonID(pair[0])
		if err != nil {
			return Example{}, fmt.Errorf("element %d: %w", i+1, err)
		}
		s, err := jsonScore(pair[1])
		if err != nil {
			return Example{}, fmt.Errorf("element %d: %w", i+1, err)
		}
		ex.DocIDs = append(ex.DocIDs, id)
		ex.TeacherScores = append(ex.TeacherScores, s)
	}
	return ex, nil
}

// decodeExampleTSV reads `qid<TAB>pid<TAB>pid…` (MS MARCO qidpidtriples).
// Fields with spaces mean a text triples file, which needs the texts'
// ids and is rejected.
func decodeExampleTSV(s string) (Example, error) {
	f := splitFields(s)
	if len(f) < 2 {
		return Example{}, fmt.Errorf("want qid<TAB>pos<TAB>neg…, got %d field(s)", len(f))
	}
	for i, x := range f {
		if x == "" {
			return Example{}, fmt.Errorf("field %d is empty", i+1)
		}
		if strings.ContainsAny(x, " \v\f") {
			return Example{}, fmt.Errorf("field %d %q holds spaces: this looks like a text triples file; ids are needed", i+1, truncate(x, 40))
		}
	}
	return Example{QueryID: f[0], DocIDs: append([]string(nil), f[1:]...)}, nil
}

func parseExamples(r io.Reader, name string) ([]Example, error) {
	lr := newLineReader(r, name)
	var out []Example
	form := byte(0) // '[' or '{' = JSONL, 't' = TSV
	for {
		b, ok := lr.next()
		if !ok {
			return out, lr.err
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		if form == 0 {
			form = 't'
			if b[0] == '[' || b[0] == '{' {
				form = b[0]
			}
		}
		var ex Example
		var err error
		switch {
		case form == 't':
			ex, err = decodeExampleTSV(string(b))
		case b[0] == '[':
			ex, err = decodeExampleArray(b)
		case b[0] == '{':
			ex, err = decodeExampleObject(b)
		default:
			err = errors.New("want a JSON array or object")
		}
		if err == nil && len(ex.DocIDs) == 0 {
			err = errors.New("no documents")
		}
		if err == nil && ex.TeacherScores != nil && len(ex.TeacherScores) != len(ex.DocIDs) {
			err = fmt.Errorf("%d teacher scores for %d documents", len(ex.TeacherScores), len(ex.DocIDs))
		}
		if err != nil {
			return nil, lr.errorf("%w", err)
		}
		out = append(out, ex)
	}
}

// ReadExamples reads training examples, detecting the form from the first
// line: JSONL arrays ([qid, pos, neg], ColBERT n-way [qid, pid, …] or
// [qid, [pid, score], …]), JSONL objects ({"query_id", "doc_ids",
// "teacher_scores"} or {"qid", "pos", "neg"}), or TSV qid<TAB>pos<TAB>neg.
func ReadExamples(path string) ([]Example, error) {
	return withFile(path, parseExamples)
}

// appendJSONID refuses invalid UTF-8, which JSON would silently replace.
func appendJSONID(b []byte, id string) ([]byte, error) {
	if n, ok := formatNumberID(id); ok {
		return append(b, n...), nil
	}
	if !utf8.ValidString(id) {
		return nil, fmt.Errorf("id %q is not valid UTF-8", id)
	}
	q, err := json.Marshal(id)
	return append(b, q...), err
}

// appendExampleJSON encodes an example in ColBERT's n-way form. Ids that are
// canonical integers are written as JSON numbers so that ColBERT, which
// keys queries and passages by int, reads the file too.
func appendExampleJSON(b []byte, ex Example) ([]byte, error) {
	if ex.QueryID == "" {
		return nil, errors.New("empty query id")
	}
	if len(ex.DocIDs) == 0 {
		return nil, fmt.Errorf("query %q: no documents", ex.QueryID)
	}
	if ex.TeacherScores != nil && len(ex.TeacherScores) != len(ex.DocIDs) {
		return nil, fmt.Errorf("query %q: %d teacher scores for %d documents", ex.QueryID, len(ex.TeacherScores), len(ex.DocIDs))
	}
	b = append(b, '[')
	b, err := appendJSONID(b, ex.QueryID)
	if err != nil {
		return nil, err
	}
	for i, d := range ex.DocIDs {
		if d == "" {
			return nil, fmt.Errorf("query %q: empty document id", ex.QueryID)
		}
		b = append(b, ", "...)
		if ex.TeacherScores == nil {
			if b, err = appendJSONID(b, d); err != nil {
				return nil, err
			}
			continue
		}
		s := ex.TeacherScores[i]
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("query %q document %q: teacher score %v", ex.QueryID, d, s)
		}
		b = append(b, '[')
		if b, err = appendJSONID(b, d); err != nil {
			return nil, err
		}
		b = append(b, ", "...)
		b = strconv.AppendFloat(b, float64(s), 'g', -1, 32)
		b = append(b, ']')
	}
	return append(b, ']', '\n'), nil
}

// WriteExamplesJSONL writes examples as ColBERT n-way JSONL ([qid, [pid,
// score], …] with teacher scores, [qid, pid, …] without), atomically.
// Scores are written exactly (shortest float32 decimal).
func WriteExamplesJSONL(path string, exs []Example) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error {
		var buf []byte
		for i, ex := range exs {
			var err error
			if buf, err = appendExampleJSON(buf[:0], ex); err != nil {
				return fmt.Errorf("example %d: %w", i, err)
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}
