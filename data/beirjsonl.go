package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// beirRecord is one line of a BEIR queries.jsonl. Any other key (BEIR's
// "metadata") is ignored; "id" is accepted when "_id" is absent. Corpus
// lines keep their other keys (DecodePassage).
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

// DecodePassage decodes one corpus record (a corpus.jsonl line, or a
// passage a service is sent): id ("_id" or "id"), title and text as
// decodeBEIRLine does, every other key into Meta (BEIR's "metadata" object
// flattened; a top-level key wins over a nested one).
func DecodePassage(b []byte) (Passage, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(b, &rec); err != nil {
		return Passage{}, err
	}
	raw, ok := rec["_id"]
	if !ok {
		raw = rec["id"]
	}
	id, err := jsonID(raw)
	if err != nil {
		return Passage{}, err
	}
	p := Passage{ID: id}
	if p.Title, err = jsonText("title", rec["title"]); err != nil {
		return Passage{}, err
	}
	if p.Text, err = jsonText("text", rec["text"]); err != nil {
		return Passage{}, err
	}
	add := func(k string, v json.RawMessage, top bool) error {
		if _, dup := p.Meta[k]; dup && !top {
			return nil
		}
		x, err := metaValue(v)
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
		if p.Meta == nil {
			p.Meta = map[string]any{}
		}
		p.Meta[k] = x
		return nil
	}
	for k, v := range rec {
		switch k {
		case "_id", "id", "title", "text":
			continue
		case "metadata":
			var nested map[string]json.RawMessage
			if t := bytes.TrimSpace(v); len(t) > 0 && t[0] == '{' {
				if err := json.Unmarshal(t, &nested); err != nil {
					return Passage{}, fmt.Errorf("field \"metadata\": %w", err)
				}
				for nk, nv := range nested {
					if _, top := rec[nk]; top && nk != "metadata" {
						continue
					}
					if err := add(nk, nv, false); err != nil {
						return Passage{}, err
					}
				}
				continue
			}
		}
		if err := add(k, v, true); err != nil {
			return Passage{}, err
		}
	}
	return p, nil
}

// metaValue converts a JSON value to a Passage.Meta value.
func metaValue(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case c == 't' || c == 'f':
		var v bool
		err := json.Unmarshal(raw, &v)
		return v, err
	case c == '{' || c == '[':
		return json.RawMessage(bytes.Clone(raw)), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("number %s out of range", n)
	}
	return f, nil
}

// ReadMetaJSONL reads a metadata side file: one JSON object per line with
// the passage's id under "_id" or "id" and its fields under the other keys
// (title and text included; BEIR's "metadata" object flattened), keyed by
// id. Duplicate ids are an error.
func ReadMetaJSONL(path string) (map[string]map[string]any, error) {
	return withFile(path, func(r io.Reader, name string) (map[string]map[string]any, error) {
		lr := newLineReader(r, name)
		out := map[string]map[string]any{}
		line := map[string]int{}
		for {
			b, ok := lr.next()
			if !ok {
				return out, lr.err
			}
			if isBlank(b) {
				continue
			}
			p, err := DecodePassage(b)
			if err != nil {
				return nil, lr.errorf("%w", err)
			}
			if first, dup := line[p.ID]; dup {
				return nil, lr.errorf("duplicate id %q (first at line %d)", p.ID, first)
			}
			line[p.ID] = lr.line
			m := p.Meta
			if m == nil {
				m = map[string]any{}
			}
			if p.Title != "" {
				m["title"] = p.Title
			}
			if p.Text != "" {
				m["text"] = p.Text
			}
			out[p.ID] = m
		}
	})
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
		p, err := DecodePassage(b)
		if err != nil {
			return lr.errorf("%w", err)
		}
		if err := fn(p, lr.line); err != nil {
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
// line, other keys into Passage.Meta) in file order. Numeric ids become their decimal text; duplicate ids
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

// WriteCorpusJSONL writes passages as BEIR corpus.jsonl (ids as strings:
// _id, title, text), atomically. Passage.Meta is not written: metadata
// travels in the index's metadata store (codec/metadb) or a side file.
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
