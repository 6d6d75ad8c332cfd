// Package parquetio reads and writes colbert-go's tables (passages, queries,
// training examples, runs) as Parquet through Apache Arrow, so collections
// and distillation data move to and from DuckDB, pandas or Spark unchanged,
// and a collection larger than memory can be streamed in batches. It is a
// package of its own because Arrow's Parquet code is heavy (it pulls grpc);
// packages that only need the text formats import data alone.
package parquetio

import "github.com/apache/arrow/go/v17/arrow"

// Column names, shared by the writers, the readers and the tests.
const (
	ColID            = "id"
	ColTitle         = "title"
	ColText          = "text"
	ColQueryID       = "query_id"
	ColDocIDs        = "doc_ids"
	ColTeacherScores = "teacher_scores"
	ColDocID         = "doc_id"
	ColRank          = "rank"
	ColScore         = "score"
)

// PassageSchema is id, title, text (strings, not null).
func PassageSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: ColTitle, Type: arrow.BinaryTypes.String},
		{Name: ColText, Type: arrow.BinaryTypes.String},
	}, nil)
}

// QuerySchema is id, text.
func QuerySchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: ColText, Type: arrow.BinaryTypes.String},
	}, nil)
}

// ExampleSchema is query_id, doc_ids list<string>, teacher_scores
// list<float32> (null for an example without teacher scores).
func ExampleSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColQueryID, Type: arrow.BinaryTypes.String},
		{Name: ColDocIDs, Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: ColTeacherScores, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
	}, nil)
}

// RunSchema is query_id, doc_id, rank (1-based int32), score (float64), one
// row per retrieved document.
func RunSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColQueryID, Type: arrow.BinaryTypes.String},
		{Name: ColDocID, Type: arrow.BinaryTypes.String},
		{Name: ColRank, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColScore, Type: arrow.PrimitiveTypes.Float64},
	}, nil)
}
