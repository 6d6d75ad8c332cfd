package parquetio

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/colbert-go/colbert/data"
)

// Row groups are flushed at whichever limit comes first, so memory stays
// bounded whatever the row size while readers still get large groups.
const (
	maxGroupRows  = 1 << 17
	maxGroupBytes = 64 << 20
)

// tableWriter appends rows of T to a Parquet file, one row group per
// flush, and makes the file appear only on Close.
type tableWriter[T any] struct {
	path   string
	af     *data.AtomicFile
	fw     *pqarrow.FileWriter
	b      *array.RecordBuilder
	add    func(b *array.RecordBuilder, v T) (bytes int, err error)
	rows   int
	bytes  int
	closed bool
	// groupRows and groupBytes bound a row group (tests lower them).
	groupRows, groupBytes int
}

func newTableWriter[T any](path string, schema *arrow.Schema, meta map[string]string, add func(*array.RecordBuilder, T) (int, error)) (*tableWriter[T], error) {
	af, err := data.CreateAtomic(path)
	if err != nil {
		return nil, fmt.Errorf("parquetio: %w", err)
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(maxGroupRows),
		parquet.WithCreatedBy("colbert-go"),
	)
	fw, err := pqarrow.NewFileWriter(schema, af, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		af.Abort()
		return nil, fmt.Errorf("parquetio: write %s: %w", path, err)
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic files
	for _, k := range keys {
		if k == arrowSchemaKey || k == hiddenSchemaKey {
			af.Abort()
			return nil, fmt.Errorf("parquetio: write %s: metadata key %q is reserved", path, k)
		}
		if err := fw.AppendKeyValueMetadata(k, meta[k]); err != nil {
			af.Abort()
			return nil, fmt.Errorf("parquetio: write %s: %w", path, err)
		}
	}
	return &tableWriter[T]{path: path, af: af, fw: fw, b: array.NewRecordBuilder(memory.DefaultAllocator, schema), add: add,
		groupRows: maxGroupRows, groupBytes: maxGroupBytes}, nil
}

func (w *tableWriter[T]) write(rows []T) error {
	if w.closed {
		return fmt.Errorf("parquetio: write %s: writer is closed", w.path)
	}
	for _, v := range rows {
		n, err := w.add(w.b, v)
		if err != nil {
			w.abort()
			return fmt.Errorf("parquetio: write %s: row %d: %w", w.path, w.fw.NumRows()+w.rows, err)
		}
		w.rows++
		w.bytes += n
		if w.rows >= w.groupRows || w.bytes >= w.groupBytes {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *tableWriter[T]) flush() error {
	if w.rows == 0 {
		return nil
	}
	rec := w.b.NewRecord()
	defer rec.Release()
	w.rows, w.bytes = 0, 0
	if err := w.fw.Write(rec); err != nil {
		w.abort()
		return fmt.Errorf("parquetio: write %s: %w", w.path, err)
	}
	return nil
}

func (w *tableWriter[T]) close() error {
	if w.closed {
		return fmt.Errorf("parquetio: write %s: writer is closed", w.path)
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.closed = true
	w.b.Release()
	if err := w.fw.Close(); err != nil {
		w.af.Abort()
		return fmt.Errorf("parquetio: write %s: %w", w.path, err)
	}
	return w.af.Commit()
}

func (w *tableWriter[T]) abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.b.Release()
	w.af.Abort()
}

// checkString rejects what a Parquet UTF8 column must not hold.
func checkString(field, s string, required bool) error {
	if required && s == "" {
		return fmt.Errorf("empty %s", field)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", field, s)
	}
	return nil
}

func addPassage(b *array.RecordBuilder, p data.Passage) (int, error) {
	if err := checkString("id", p.ID, true); err != nil {
		return 0, err
	}
	if err := checkString("title", p.Title, false); err != nil {
		return 0, err
	}
	if err := checkString("text", p.Text, false); err != nil {
		return 0, err
	}
	b.Field(0).(*array.StringBuilder).Append(p.ID)
	b.Field(1).(*array.StringBuilder).Append(p.Title)
	b.Field(2).(*array.StringBuilder).Append(p.Text)
	return len(p.ID) + len(p.Title) + len(p.Text) + 12, nil
}

func addQuery(b *array.RecordBuilder, q data.Query) (int, error) {
	if err := checkString("id", q.ID, true); err != nil {
		return 0, err
	}
	if err := checkString("text", q.Text, false); err != nil {
		return 0, err
	}
	b.Field(0).(*array.StringBuilder).Append(q.ID)
	b.Field(1).(*array.StringBuilder).Append(q.Text)
	return len(q.ID) + len(q.Text) + 8, nil
}

func addExample(b *array.RecordBuilder, ex data.Example) (int, error) {
	if err := checkString("query id", ex.QueryID, true); err != nil {
		return 0, err
	}
	if len(ex.DocIDs) == 0 {
		return 0, fmt.Errorf("query %q: no documents", ex.QueryID)
	}
	if ex.TeacherScores != nil && len(ex.TeacherScores) != len(ex.DocIDs) {
		return 0, fmt.Errorf("query %q: %d teacher scores for %d documents", ex.QueryID, len(ex.TeacherScores), len(ex.DocIDs))
	}
	n := len(ex.QueryID) + 16
	for _, d := range ex.DocIDs {
		if err := checkString("document id", d, true); err != nil {
			return 0, fmt.Errorf("query %q: %w", ex.QueryID, err)
		}
		n += len(d) + 4
	}
	for _, s := range ex.TeacherScores {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return 0, fmt.Errorf("query %q: teacher score %v", ex.QueryID, s)
		}
	}
	b.Field(0).(*array.StringBuilder).Append(ex.QueryID)
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).AppendValues(ex.DocIDs, nil)
	sb := b.Field(2).(*array.ListBuilder)
	if ex.TeacherScores == nil {
		sb.AppendNull()
	} else {
		sb.Append(true)
		sb.ValueBuilder().(*array.Float32Builder).AppendValues(ex.TeacherScores, nil)
		n += 4 * len(ex.TeacherScores)
	}
	return n, nil
}

// runRow is one ranked document of one query.
type runRow struct {
	qid  string
	rank int
	doc  data.ScoredDoc
}

func addRunRow(b *array.RecordBuilder, r runRow) (int, error) {
	if err := checkString("query id", r.qid, true); err != nil {
		return 0, err
	}
	if err := checkString("document id", r.doc.DocID, true); err != nil {
		return 0, fmt.Errorf("query %q: %w", r.qid, err)
	}
	if math.IsNaN(r.doc.Score) {
		return 0, fmt.Errorf("query %q document %q: score is NaN", r.qid, r.doc.DocID)
	}
	if r.rank > math.MaxInt32 {
		return 0, errors.New("rank overflows int32")
	}
	b.Field(0).(*array.StringBuilder).Append(r.qid)
	b.Field(1).(*array.StringBuilder).Append(r.doc.DocID)
	b.Field(2).(*array.Int32Builder).Append(int32(r.rank))
	b.Field(3).(*array.Float64Builder).Append(r.doc.Score)
	return len(r.qid) + len(r.doc.DocID) + 20, nil
}

// ExampleWriter appends training examples to a Parquet file in row groups,
// so distillation can write millions of scored examples in bounded memory.
// The file appears at its path only when Close succeeds.
type ExampleWriter struct{ w *tableWriter[data.Example] }

// NewExampleWriter starts an examples file; meta is stored as the Parquet
// file's key-value metadata (e.g. the teacher model's hash and settings).
func NewExampleWriter(path string, meta map[string]string) (*ExampleWriter, error) {
	w, err := newTableWriter(path, ExampleSchema(), meta, addExample)
	if err != nil {
		return nil, err
	}
	return &ExampleWriter{w}, nil
}

// Write appends examples. After an error the writer is aborted: the
// partial file is removed and further calls fail.
func (w *ExampleWriter) Write(exs []data.Example) error { return w.w.write(exs) }

// Close flushes the last row group, writes the footer and renames the file
// into place.
func (w *ExampleWriter) Close() error { return w.w.close() }

// Abort discards the file; a no-op after Close.
func (w *ExampleWriter) Abort() { w.w.abort() }

// PassageWriter appends passages to a Parquet file (see ExampleWriter).
type PassageWriter struct{ w *tableWriter[data.Passage] }

// NewPassageWriter starts a passages file with key-value metadata meta.
func NewPassageWriter(path string, meta map[string]string) (*PassageWriter, error) {
	w, err := newTableWriter(path, PassageSchema(), meta, addPassage)
	if err != nil {
		return nil, err
	}
	return &PassageWriter{w}, nil
}

// Write appends passages.
func (w *PassageWriter) Write(ps []data.Passage) error { return w.w.write(ps) }

// Close finishes the file and renames it into place.
func (w *PassageWriter) Close() error { return w.w.close() }

// Abort discards the file.
func (w *PassageWriter) Abort() { w.w.abort() }

// RunWriter appends ranked lists to a Parquet run file, a query at a time,
// as a search over a large query set produces them.
type RunWriter struct{ w *tableWriter[runRow] }

// NewRunWriter starts a run file with key-value metadata meta.
func NewRunWriter(path string, meta map[string]string) (*RunWriter, error) {
	w, err := newTableWriter(path, RunSchema(), meta, addRunRow)
	if err != nil {
		return nil, err
	}
	return &RunWriter{w}, nil
}

// Write appends one query's ranked list, best first; ranks are 1..n in the
// order given.
func (w *RunWriter) Write(queryID string, docs []data.ScoredDoc) error {
	rows := make([]runRow, len(docs))
	for i, d := range docs {
		rows[i] = runRow{qid: queryID, rank: i + 1, doc: d}
	}
	return w.w.write(rows)
}

// Close finishes the file and renames it into place.
func (w *RunWriter) Close() error { return w.w.close() }

// Abort discards the file.
func (w *RunWriter) Abort() { w.w.abort() }

func writeAll[T any](path string, schema *arrow.Schema, meta map[string]string, add func(*array.RecordBuilder, T) (int, error), rows []T) error {
	w, err := newTableWriter(path, schema, meta, add)
	if err != nil {
		return err
	}
	if err := w.write(rows); err != nil {
		return err
	}
	return w.close()
}

// WritePassages writes a passages file in one call.
func WritePassages(path string, ps []data.Passage, meta map[string]string) error {
	return writeAll(path, PassageSchema(), meta, addPassage, ps)
}

// WriteQueries writes a queries file.
func WriteQueries(path string, qs []data.Query, meta map[string]string) error {
	return writeAll(path, QuerySchema(), meta, addQuery, qs)
}

// WriteExamples writes a training examples file.
func WriteExamples(path string, exs []data.Example, meta map[string]string) error {
	return writeAll(path, ExampleSchema(), meta, addExample, exs)
}

// WriteRun writes a run, queries in data.CompareIDs order, each list in the
// order given (best first) with ranks 1..n.
func WriteRun(path string, run data.Run, meta map[string]string) error {
	w, err := NewRunWriter(path, meta)
	if err != nil {
		return err
	}
	for _, qid := range data.SortedIDs(run) {
		if err := w.Write(qid, run[qid]); err != nil {
			return err
		}
	}
	return w.Close()
}
