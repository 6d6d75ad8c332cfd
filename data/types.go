// Package data holds the collection, query, judgment and run types that every
// stage of colbert-go shares, and the readers and writers for the formats
// users bring them in (BEIR, MS MARCO, TREC, training triples and n-way lists).
package data

// Passage is one document of a collection. Title may be empty; BEIR tools
// index title + " " + text (see Passage.Content).
type Passage struct {
	ID    string
	Title string
	Text  string
	// Meta holds the record's other fields (JSONL keys beyond _id, id,
	// title and text, with BEIR's "metadata" object flattened; Parquet
	// columns beyond id, title and text), nil when there are none. Values
	// are string, int64, float64, bool, nil, or json.RawMessage for nested
	// JSON. An index stores them for filtered search (codec/metadb).
	Meta map[string]any
}

// Content is the text a model or BM25 sees: title and text joined by a space,
// as BEIR's evaluation scripts do, or the text alone when there is no title.
func (p Passage) Content() string {
	if p.Title == "" {
		return p.Text
	}
	if p.Text == "" {
		return p.Title
	}
	return p.Title + " " + p.Text
}

// Query is one search query.
type Query struct {
	ID   string
	Text string
}

// Qrels maps query id → document id → graded relevance (0 = judged non-relevant).
type Qrels map[string]map[string]int

// ScoredDoc is one entry of a ranked list.
type ScoredDoc struct {
	DocID string
	Score float64
}

// Run maps query id → ranked documents, best first.
type Run map[string][]ScoredDoc

// Example is one training example: a query with n-way candidates (positive
// first by convention) and optional teacher scores aligned with DocIDs.
type Example struct {
	QueryID       string
	DocIDs        []string
	TeacherScores []float32 // nil when the example has no teacher scores
}
