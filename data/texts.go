package data

// Texts are query and passage texts by id: what a teacher or a reranker
// reads for the ids of a candidate list or a run.
type Texts struct {
	Queries  map[string]string // query id → text
	Passages map[string]string // doc id → title + " " + text (Passage.Content)
}

// NewTexts indexes queries and a corpus by id.
func NewTexts(queries []Query, corpus []Passage) Texts {
	t := Texts{Queries: make(map[string]string, len(queries)), Passages: make(map[string]string, len(corpus))}
	for _, q := range queries {
		t.Queries[q.ID] = q.Text
	}
	for _, p := range corpus {
		t.Passages[p.ID] = p.Content()
	}
	return t
}
