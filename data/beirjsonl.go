package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// beirRecord is one line of a BEIR corpus.jsonl or queries.jsonl. Any other
// key (BEIR's "metadata") is ignored; "id" is accepted when "_id" is absent.
type beirRecord struct {
	ID    json.RawMessage `json:"_id"`
	AltID json.RawMessage `json:"id"`
	Title json.RawMessage `json:"title"`
	Text  json.RawMessage `json:"text"`
}

// jsonID turns a JSON id into a string: strings as they are, numbers by
// their literal text (BEIR files mix 123 and "123"; both mean id "123").
func jsonID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("missing id")
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("id: %w", err)
		}
		if s == "" {
			return "", errors.New("empty id")
		}
		return s, nil
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("id: %w", err)
		}
		return string(n), nil
	default:
		return "", fmt.Errorf("id must be a string or a number, got %s", truncate(string(raw), 40))
	}
}

// jsonText decodes an optional string field; null and absent are "".
func jsonText(field string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q must be a string, got %s", field, truncate(string(raw), 40))
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func decodeBEIRLine(b []byte) (id, title, text string, err error) {
	var rec beirRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return "", "", "", err
	}
	raw := rec.ID
	if len(raw) == 0 {
		raw = rec.AltID
	}
	if id, err = jsonID(raw); err != nil {
		return "", "", "", err
	}
	if title, err = jsonText("title", rec.Title); err != nil {
		return "", "", "", err
	}
	if text, err = jsonText("text", rec.Text); err != nil {
		return "", "", "", err
	}
	return id, title, text, nil
}

// scanCorpusJSONL calls fn for each passage with its line number.
func scanCorpusJSONL(r io.Reader, name string, fn func(p Passage, line int) error) error {
	lr := newLineReader(r, name)
	for {
		b, ok := lr.next()
		if !ok {
			return lr.err
		}
		if isBlank(b) {
			continue
		}
		id, title, text, err := decodeBEIRLine(b)
		if err != nil {
			return lr.errorf("%w", err)
		}
		if err := fn(Passage{ID: id, Title: title, Text: text}, lr.line); err != nil {
			var le *LineError
			if errors.As(err, &le) {
				return err
			}
			return lr.errorf("%w", err)
		}
	}
}

func parseCorpusJSONL(r io.Reader, name string) ([]Passage, error) {
	var ps []Passage
	seen := map[string]int{}
	err := scanCorpusJSONL(r, name, func(p Passage, line int) error {
		if first, dup := seen[p.ID]; dup {
			return fmt.Errorf("duplicate document id %q (first at line %d)", p.ID, first)
		}
		seen[p.ID] = line
		ps = append(ps, p)
		return nil
	})
	return ps, err
}

// ReadCorpusJSONL reads a BEIR corpus.jsonl (`{"_id","title","text"}` per
// line) in file order. Numeric ids become their decimal text; duplicate ids
// are an error because a later one would silently shadow the first.
func ReadCorpusJSONL(path string) ([]Passage, error) {
	return withFile(path, parseCorpusJSONL)
}

// StreamCorpusJSONL reads a corpus in batches of at most batch passages, so
// a collection larger than memory can be encoded or indexed. It does not
// check for duplicate ids (that needs every id in memory). fn may keep the
// slice it is given.
func StreamCorpusJSONL(path string, batch int, fn func([]Passage) error) error {
	if batch <= 0 {
		return fmt.Errorf("data: read %s: batch size %d must be positive", path, batch)
	}
	rc, err := openText(path)
	if err != nil {
		return err
	}
	defer rc.Close()
	buf := make([]Passage, 0, batch)
	err = scanCorpusJSONL(rc, path, func(p Passage, _ int) error {
		buf = append(buf, p)
		if len(buf) == batch {
			err := fn(buf)
			buf = make([]Passage, 0, batch)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}

func parseQueriesJSONL(r io.Reader, name string) ([]Query, error) {
	lr := newLineReader(r, name)
	var qs []Query
	seen := map[string]int{}
	for {
		b, ok := lr.next()
		if !ok {
			return qs, lr.err
		}
		if isBlank(b) {
			continue
		}
		id, _, text, err := decodeBEIRLine(b)
		if err != nil {
			return nil, lr.errorf("%w", err)
		}
		if first, dup := seen[id]; dup {
			return nil, lr.errorf("duplicate query id %q (first at line %d)", id, first)
		}
		seen[id] = lr.line
		qs = append(qs, Query{ID: id, Text: text})
	}
}

// ReadQueriesJSONL reads a BEIR queries.jsonl (`{"_id","text"}`; "title"
// and "metadata" are ignored) in file order.
func ReadQueriesJSONL(path string) ([]Query, error) {
	return withFile(path, parseQueriesJSONL)
}

type corpusLine struct {
	ID    string `json:"_id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

type queryLine struct {
	ID   string `json:"_id"`
	Text string `json:"text"`
}

func writeJSONLines[T any](w *bufio.Writer, n int, line func(i int) (T, error)) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := 0; i < n; i++ {
		v, err := line(i)
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return nil
}

// WriteCorpusJSONL writes passages as BEIR corpus.jsonl (ids as strings),
// atomically.
func WriteCorpusJSONL(path string, ps []Passage) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error {
		return writeJSONLines(w, len(ps), func(i int) (corpusLine, error) {
			p := ps[i]
			if p.ID == "" {
				return corpusLine{}, errors.New("empty document id")
			}
			return corpusLine{p.ID, p.Title, p.Text}, nil
		})
	})
}

// WriteQueriesJSONL writes queries as BEIR queries.jsonl, atomically.
func WriteQueriesJSONL(path string, qs []Query) error {
	return WriteFileAtomic(path, func(w *bufio.Writer) error {
		return writeJSONLines(w, len(qs), func(i int) (queryLine, error) {
			if qs[i].ID == "" {
				return queryLine{}, errors.New("empty query id")
			}
			return queryLine{qs[i].ID, qs[i].Text}, nil
		})
	})
}

// formatNumberID is used by writers that emit ids as JSON numbers when the
// id is a canonical non-negative integer (ColBERT's training files use
// integer ids and look them up as ints).
func formatNumberID(id string) (json.RawMessage, bool) {
	if !isDigits(id) || (len(id) > 1 && id[0] == '0') {
		return nil, false
	}
	return json.RawMessage(id), true
}
