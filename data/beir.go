package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dataset is a BEIR-layout collection loaded for one split.
type Dataset struct {
	Corpus     []Passage // nil when loaded with LoadBEIRQueries
	Queries    []Query   // queries judged in the split, in queries.jsonl order
	AllQueries []Query   // every query of queries.jsonl
	Qrels      Qrels     // the split's judgments
}

// BEIRFile returns dir/name, or dir/name.gz when only that exists.
func BEIRFile(dir, name string) string {
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		if _, errgz := os.Stat(p + ".gz"); errgz == nil {
			return p + ".gz"
		}
	}
	return p
}

// LoadBEIRQueries loads queries.jsonl and qrels/<split>.tsv of a BEIR
// directory without the corpus (for collections shipped without one, or to
// evaluate a run). A judged query missing from queries.jsonl is an error:
// it could not be searched, and dropping it would inflate every metric.
func LoadBEIRQueries(dir, split string) (*Dataset, error) {
	if split == "" {
		split = "test"
	}
	all, err := ReadQueriesJSONL(BEIRFile(dir, "queries.jsonl"))
	if err != nil {
		return nil, err
	}
	qrelsPath := BEIRFile(filepath.Join(dir, "qrels"), split+".tsv")
	qrels, err := ReadQrelsTSV(qrelsPath)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{AllQueries: all, Qrels: qrels}
	have := make(map[string]bool, len(all))
	for _, q := range all {
		have[q.ID] = true
		if _, ok := qrels[q.ID]; ok {
			ds.Queries = append(ds.Queries, q)
		}
	}
	for _, qid := range SortedIDs(qrels) {
		if !have[qid] {
			return nil, fmt.Errorf("data: load %s: query %q of %s is not in queries.jsonl", dir, qid, qrelsPath)
		}
	}
	return ds, nil
}

// LoadBEIR loads a BEIR directory (corpus.jsonl, queries.jsonl,
// qrels/<split>.tsv; split "" means "test"). Documents judged in qrels but
// absent from the corpus are kept in Qrels (they count as unretrieved, as
// in BEIR's evaluation); use MissingDocs to list them.
func LoadBEIR(dir, split string) (*Dataset, error) {
	ds, err := LoadBEIRQueries(dir, split)
	if err != nil {
		return nil, err
	}
	if ds.Corpus, err = ReadCorpusJSONL(BEIRFile(dir, "corpus.jsonl")); err != nil {
		return nil, err
	}
	return ds, nil
}

// MissingDocs returns the judged document ids (grade > 0) not in the corpus,
// sorted, so a command can warn that a corpus and its qrels do not match.
func (ds *Dataset) MissingDocs() []string {
	have := make(map[string]bool, len(ds.Corpus))
	for _, p := range ds.Corpus {
		have[p.ID] = true
	}
	miss := map[string]bool{}
	for _, docs := range ds.Qrels {
		for d, g := range docs {
			if g > 0 && !have[d] {
				miss[d] = true
			}
		}
	}
	return SortedIDs(miss)
}

// LoadBEIRCorpus reads a BEIR directory's corpus.jsonl (or .jsonl.gz).
func LoadBEIRCorpus(dir string) ([]Passage, error) {
	return ReadCorpusJSONL(BEIRFile(dir, "corpus.jsonl"))
}
