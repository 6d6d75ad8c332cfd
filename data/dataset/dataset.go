// Package dataset opens the files a user names on the command line by
// their path: a BEIR directory, BEIR JSONL, MS MARCO TSV or Parquet
// collections and queries, and TREC or Parquet runs. Every command and
// the trainer read through it, so a format or a file name is recognised
// the same way everywhere (extensions case-insensitively, .gz included).
package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/parquetio"
)

// Format is how a file's content is laid out, by its name.
type Format int

// Formats a collection, queries or run file can have.
const (
	JSONL   Format = iota // BEIR corpus.jsonl / queries.jsonl (and anything unrecognised)
	TSV                   // MS MARCO id<TAB>text (.tsv, .tsv.gz)
	Parquet               // colbert-go's Parquet schemas (.parquet)
	TREC                  // TREC run text (.trec, .txt, .run)
)

// FormatOf tells a path's format by its extension, case-insensitively,
// ignoring a trailing .gz.
func FormatOf(path string) Format {
	p := strings.TrimSuffix(strings.ToLower(path), ".gz")
	switch filepath.Ext(p) {
	case ".parquet":
		return Parquet
	case ".tsv":
		return TSV
	case ".trec", ".txt", ".run":
		return TREC
	}
	return JSONL
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// Passages reads a collection: a BEIR directory's corpus.jsonl, a BEIR
// corpus JSONL, an MS MARCO collection TSV or a Parquet passages file.
func Passages(path string) ([]data.Passage, error) {
	if isDir(path) {
		return data.LoadBEIRCorpus(path)
	}
	switch FormatOf(path) {
	case Parquet:
		ps, _, err := parquetio.ReadPassages(path)
		return ps, err
	case TSV:
		return data.ReadMSMARCOCollection(path)
	}
	return data.ReadCorpusJSONL(path)
}

// StreamPassages reads a collection as Passages does, handing fn batches of
// at most batch passages, without holding a JSONL or Parquet collection in
// memory at once (an MS MARCO TSV is read whole). An error of fn stops the
// stream and is returned.
func StreamPassages(path string, batch int, fn func([]data.Passage) error) error {
	if isDir(path) {
		path = data.BEIRFile(path, "corpus.jsonl")
	}
	switch FormatOf(path) {
	case Parquet:
		return parquetio.ReadPassagesBatches(path, batch, fn)
	case TSV:
		ps, err := data.ReadMSMARCOCollection(path)
		if err != nil {
			return err
		}
		for lo := 0; lo < len(ps); lo += batch {
			if err := fn(ps[lo:min(lo+batch, len(ps))]); err != nil {
				return err
			}
		}
		return nil
	}
	return data.StreamCorpusJSONL(path, batch, fn)
}

// Queries reads queries: BEIR queries JSONL, MS MARCO queries TSV, a
// Parquet queries file, or a BEIR directory — its queries judged in
// qrels/<split>.tsv, or every query of its queries.jsonl when split is "".
func Queries(path, split string) ([]data.Query, error) {
	if isDir(path) {
		if split == "" {
			return data.ReadQueriesJSONL(data.BEIRFile(path, "queries.jsonl"))
		}
		ds, err := data.LoadBEIRQueries(path, split)
		if err != nil {
			return nil, err
		}
		return ds.Queries, nil
	}
	switch FormatOf(path) {
	case Parquet:
		qs, _, err := parquetio.ReadQueries(path)
		return qs, err
	case TSV:
		return data.ReadMSMARCOQueries(path)
	}
	return data.ReadQueriesJSONL(path)
}

// Open reads a collection and its queries. With queries "" the collection
// must be a BEIR directory, whose queries judged in split are taken (every
// query when split is "").
func Open(collection, queries, split string) ([]data.Passage, []data.Query, error) {
	if queries == "" && !isDir(collection) {
		return nil, nil, fmt.Errorf("dataset: queries are required when the collection %s is a file, not a BEIR directory", collection)
	}
	if queries == "" {
		queries = collection
	} else {
		split = "" // a queries file holds exactly the queries to use
	}
	ps, err := Passages(collection)
	if err != nil {
		return nil, nil, err
	}
	qs, err := Queries(queries, split)
	if err != nil {
		return nil, nil, err
	}
	return ps, qs, nil
}

// QueriesFor reads the queries file queries, or, when it is "", every
// query of the BEIR directory collection.
func QueriesFor(collection, queries string) ([]data.Query, error) {
	if queries != "" {
		return Queries(queries, "")
	}
	if !isDir(collection) {
		return nil, fmt.Errorf("dataset: queries are required when the collection %s is a file, not a BEIR directory", collection)
	}
	return Queries(collection, "")
}

// QrelsFor reads the qrels file qrels, or, when it is "", the BEIR
// directory collection's qrels/<split>.tsv; it returns the path it read.
func QrelsFor(collection, qrels, split string) (data.Qrels, string, error) {
	if qrels == "" {
		if !isDir(collection) {
			return nil, "", fmt.Errorf("dataset: qrels are required when the collection %s is a file, not a BEIR directory", collection)
		}
		if split == "" {
			split = "test"
		}
		qrels = data.BEIRFile(filepath.Join(collection, "qrels"), split+".tsv")
	}
	q, err := data.ReadQrels(qrels)
	return q, qrels, err
}

// ReadRun reads a TREC run, or a Parquet run.
func ReadRun(path string) (data.Run, error) {
	if FormatOf(path) == Parquet {
		run, _, err := parquetio.ReadRun(path)
		return run, err
	}
	return data.ReadTRECRun(path)
}

// WriteRun writes run atomically: TREC text with tag in its last column,
// or, for a .parquet path, a Parquet run whose metadata holds meta and the
// tag (lists sorted in trec_eval order either way).
func WriteRun(path string, run data.Run, tag string, meta map[string]string) error {
	if FormatOf(path) == Parquet {
		for _, docs := range run {
			data.SortRun(docs)
		}
		m := map[string]string{"tag": tag}
		for k, v := range meta {
			m[k] = v
		}
		return parquetio.WriteRun(path, run, m)
	}
	return data.WriteTRECRun(path, run, tag)
}

// Metadata reads a passage metadata side file (JSONL: an object per line
// with the passage's id under "_id" or "id" and its fields under the other
// keys), keyed by passage id.
func Metadata(path string) (map[string]map[string]any, error) {
	if FormatOf(path) != JSONL {
		return nil, fmt.Errorf("dataset: metadata file %s: want JSONL (an object per line with an \"id\")", path)
	}
	return data.ReadMetaJSONL(path)
}

// AddMetadata merges side-file metadata into the passages' Meta (the side
// file's value wins for a field both hold). An id of the side file that no
// passage has is an error: it would be silently unfilterable.
func AddMetadata(ps []data.Passage, side map[string]map[string]any, name string) error {
	used := 0
	for i := range ps {
		m, ok := side[ps[i].ID]
		if !ok {
			continue
		}
		used++
		if ps[i].Meta == nil {
			ps[i].Meta = make(map[string]any, len(m))
		}
		for k, v := range m {
			ps[i].Meta[k] = v
		}
	}
	if used == len(side) {
		return nil
	}
	have := make(map[string]bool, len(ps))
	for _, p := range ps {
		have[p.ID] = true
	}
	var missing []string
	for id := range side {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	return fmt.Errorf("dataset: metadata file %s names %d ids the collection lacks (first: %q)", name, len(missing), missing[0])
}
