package parquetio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/colbert-go/colbert/data"
)

// DefaultBatchRows is the batch size of the whole-file readers.
const DefaultBatchRows = 8192

// column names a column a reader needs; an optional one may be absent.
// Its type is checked when decoded: files from other tools may hold large
// strings, integer ids, float64 scores or int64 ranks, which the getters
// below accept too.
type column struct {
	name     string
	optional bool
	// others stands for every top-level column no other entry names (a
	// passage's metadata); its index is -1, the converter finds them in
	// the record's schema.
	others bool
}

// table is an open Parquet file.
type table struct {
	path string
	pf   *file.Reader
	fr   *pqarrow.FileReader
}

func openTable(path string, batchRows int) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("parquetio: read %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquetio: read %s: %w", path, err)
	}
	t, err := openReader(f, st.Size(), path, batchRows)
	if err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

// openReader opens Parquet data of the given size; name is used in errors.
// Closing the table closes r when it is an io.Closer.
func openReader(r parquet.ReaderAtSeeker, size int64, name string, batchRows int) (t *table, err error) {
	defer recoverCorrupt(name, &err)
	pf, err := file.NewParquetReader(r)
	if err != nil {
		return nil, fmt.Errorf("parquetio: read %s: not a readable Parquet file: %w", name, err)
	}
	hideArrowSchema(pf.MetaData().KeyValueMetadata())
	if err := checkFooter(pf, size); err != nil {
		return nil, fmt.Errorf("parquetio: read %s: %w", name, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("parquetio: read %s: %w", name, err)
	}
	return &table{path: name, pf: pf, fr: fr}, nil
}

func (t *table) close() { t.pf.Close() }

// recoverCorrupt turns a panic inside the Parquet decoder (it trusts
// lengths and offsets in the file) into an error naming the file.
func recoverCorrupt(path string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("parquetio: read %s: corrupt file: %v", path, r)
	}
}

// metadata returns the file's key-value metadata without Arrow's own
// serialized schema.
func (t *table) metadata() map[string]string {
	kv := t.pf.MetaData().KeyValueMetadata()
	m := map[string]string{}
	for i, k := range kv.Keys() {
		if k == arrowSchemaKey || k == hiddenSchemaKey {
			continue
		}
		m[k] = kv.Values()[i]
	}
	return m
}

// leaves lists the leaf column indices under a top-level field.
func leaves(sf pqarrow.SchemaField, out []int) []int {
	if len(sf.Children) == 0 {
		return append(out, sf.ColIndex)
	}
	for _, c := range sf.Children {
		out = leaves(c, out)
	}
	return out
}

// scan reads the requested columns in batches and calls fn with each
// record, the index of each requested column in it (-1 for an absent
// optional column) and the row number of the batch's first row.
func (t *table) scan(cols []column, fn func(rec arrow.Record, idx []int, row int64) error) (err error) {
	defer recoverCorrupt(t.path, &err)
	sc, err := t.fr.Schema()
	if err != nil {
		return fmt.Errorf("parquetio: read %s: %w", t.path, err)
	}
	var leafIdx []int
	named := map[string]bool{}
	for _, c := range cols {
		named[c.name] = true
	}
	for _, c := range cols {
		if c.others {
			for i, f := range sc.Fields() {
				if !named[f.Name] {
					leafIdx = leaves(t.fr.Manifest.Fields[i], leafIdx)
				}
			}
			continue
		}
		fi := sc.FieldIndices(c.name)
		if len(fi) == 0 {
			if c.optional {
				continue
			}
			return fmt.Errorf("parquetio: read %s: no column %q (columns: %v)", t.path, c.name, fieldNames(sc))
		}
		leafIdx = leaves(t.fr.Manifest.Fields[fi[0]], leafIdx)
	}
	rr, err := t.fr.GetRecordReader(context.Background(), leafIdx, nil)
	if err != nil {
		return fmt.Errorf("parquetio: read %s: %w", t.path, err)
	}
	defer rr.Release()
	var row int64
	for rr.Next() {
		rec := rr.Record()
		idx := make([]int, len(cols))
		for i, c := range cols {
			idx[i] = -1
			if fi := rec.Schema().FieldIndices(c.name); len(fi) > 0 && !c.others {
				idx[i] = fi[0]
			}
		}
		if err := fn(rec, idx, row); err != nil {
			return err
		}
		row += rec.NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("parquetio: read %s: %w", t.path, err)
	}
	return nil
}

func fieldNames(sc *arrow.Schema) []string {
	var names []string
	for _, f := range sc.Fields() {
		names = append(names, f.Name)
	}
	return names
}

// colError names the file, row and column of a bad value.
func colError(path string, row int64, col string, format string, args ...any) error {
	return fmt.Errorf("parquetio: read %s row %d column %s: %s", path, row, col, fmt.Sprintf(format, args...))
}

// stringGetter reads string-like values (string, large string, integer ids).
type stringGetter func(i int) (string, bool)

func stringsOf(arr arrow.Array) (stringGetter, error) {
	switch a := arr.(type) {
	case *array.String:
		return func(i int) (string, bool) { return a.Value(i), a.IsValid(i) }, nil
	case *array.LargeString:
		return func(i int) (string, bool) { return a.Value(i), a.IsValid(i) }, nil
	case *array.Int64:
		return func(i int) (string, bool) { return strconv.FormatInt(a.Value(i), 10), a.IsValid(i) }, nil
	case *array.Int32:
		return func(i int) (string, bool) { return strconv.FormatInt(int64(a.Value(i)), 10), a.IsValid(i) }, nil
	case *array.Uint64:
		return func(i int) (string, bool) { return strconv.FormatUint(a.Value(i), 10), a.IsValid(i) }, nil
	case *array.Uint32:
		return func(i int) (string, bool) { return strconv.FormatUint(uint64(a.Value(i)), 10), a.IsValid(i) }, nil
	}
	return nil, fmt.Errorf("want string or integer, got %s", arr.DataType())
}

func floatsOf(arr arrow.Array) (func(i int) (float64, bool), error) {
	switch a := arr.(type) {
	case *array.Float32:
		return func(i int) (float64, bool) { return float64(a.Value(i)), a.IsValid(i) }, nil
	case *array.Float64:
		return func(i int) (float64, bool) { return a.Value(i), a.IsValid(i) }, nil
	}
	return nil, fmt.Errorf("want float32 or float64, got %s", arr.DataType())
}

func intsOf(arr arrow.Array) (func(i int) (int64, bool), error) {
	switch a := arr.(type) {
	case *array.Int32:
		return func(i int) (int64, bool) { return int64(a.Value(i)), a.IsValid(i) }, nil
	case *array.Int64:
		return func(i int) (int64, bool) { return a.Value(i), a.IsValid(i) }, nil
	}
	return nil, fmt.Errorf("want int32 or int64, got %s", arr.DataType())
}

// listOf returns a list column's offsets and its values array.
func listOf(arr arrow.Array) (array.ListLike, error) {
	switch a := arr.(type) {
	case *array.List:
		return a, nil
	case *array.LargeList:
		return a, nil
	}
	return nil, fmt.Errorf("want a list, got %s", arr.DataType())
}

// requiredStrings reads a non-null string column of a record.
func requiredStrings(path string, rec arrow.Record, idx int, name string, row int64) ([]string, error) {
	get, err := stringsOf(rec.Column(idx))
	if err != nil {
		return nil, colError(path, row, name, "%v", err)
	}
	out := make([]string, rec.NumRows())
	for i := range out {
		s, ok := get(i)
		if !ok {
			return nil, colError(path, row+int64(i), name, "null value")
		}
		out[i] = s
	}
	return out, nil
}

// optionalStrings reads a string column whose nulls (or absence) are "".
func optionalStrings(path string, rec arrow.Record, idx int, name string, row int64) ([]string, error) {
	out := make([]string, rec.NumRows())
	if idx < 0 {
		return out, nil
	}
	get, err := stringsOf(rec.Column(idx))
	if err != nil {
		return nil, colError(path, row, name, "%v", err)
	}
	for i := range out {
		out[i], _ = get(i)
	}
	return out, nil
}

func readBatches[T any](path string, batchRows int, cols []column, conv func(rec arrow.Record, idx []int, row int64) ([]T, error), fn func([]T) error) (map[string]string, error) {
	if batchRows <= 0 {
		return nil, fmt.Errorf("parquetio: read %s: batch size %d must be positive", path, batchRows)
	}
	t, err := openTable(path, batchRows)
	if err != nil {
		return nil, err
	}
	defer t.close()
	err = t.scan(cols, func(rec arrow.Record, idx []int, row int64) error {
		rows, err := conv(rec, idx, row)
		if err != nil {
			return err
		}
		return fn(rows)
	})
	if err != nil {
		return nil, err
	}
	return t.metadata(), nil
}

func readAll[T any](path string, cols []column, conv func(rec arrow.Record, idx []int, row int64) ([]T, error)) ([]T, map[string]string, error) {
	var all []T
	meta, err := readBatches(path, DefaultBatchRows, cols, conv, func(b []T) error { all = append(all, b...); return nil })
	if err != nil {
		return nil, nil, err
	}
	return all, meta, nil
}

// ReadMetadata returns a file's key-value metadata (without Arrow's
// serialized schema), e.g. to check a teacher hash before streaming.
func ReadMetadata(path string) (map[string]string, error) {
	t, err := openTable(path, DefaultBatchRows)
	if err != nil {
		return nil, err
	}
	defer t.close()
	return t.metadata(), nil
}

// NumRows returns the number of rows from the file footer without reading data.
func NumRows(path string) (int64, error) {
	t, err := openTable(path, DefaultBatchRows)
	if err != nil {
		return 0, err
	}
	defer t.close()
	return t.pf.NumRows(), nil
}

var passageCols = []column{{name: ColID}, {name: ColTitle, optional: true}, {name: ColText}, {others: true}}

// valuesOf reads any column as metadata values: strings, integers (int64),
// floats (float64), booleans, nil for nulls, and other types (dates, lists,
// structs) as their JSON (json.RawMessage).
func valuesOf(arr arrow.Array) func(i int) (any, error) {
	switch a := arr.(type) {
	case *array.String:
		return func(i int) (any, error) { return a.Value(i), nil }
	case *array.LargeString:
		return func(i int) (any, error) { return a.Value(i), nil }
	case *array.Boolean:
		return func(i int) (any, error) { return a.Value(i), nil }
	case *array.Float32:
		return func(i int) (any, error) { return float64(a.Value(i)), nil }
	case *array.Float64:
		return func(i int) (any, error) { return a.Value(i), nil }
	case *array.Int8:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }
	case *array.Int16:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }
	case *array.Int32:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }
	case *array.Int64:
		return func(i int) (any, error) { return a.Value(i), nil }
	case *array.Uint8:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }
	case *array.Uint16:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }
	case *array.Uint32:
		return func(i int) (any, error) { return int64(a.Value(i)), nil }
	}
	return func(i int) (any, error) {
		b, err := json.Marshal(arr.GetOneForMarshal(i))
		if err != nil {
			return nil, fmt.Errorf("%s value: %w", arr.DataType(), err)
		}
		return json.RawMessage(b), nil
	}
}

// passageMeta fills each passage's Meta from the record's other columns
// (nulls are left out).
func passageMeta(path string, rec arrow.Record, row int64, out []data.Passage) error {
	for c, f := range rec.Schema().Fields() {
		if f.Name == ColID || f.Name == ColTitle || f.Name == ColText {
			continue
		}
		arr := rec.Column(c)
		get := valuesOf(arr)
		for i := range out {
			if arr.IsNull(i) {
				continue
			}
			v, err := get(i)
			if err != nil {
				return colError(path, row+int64(i), f.Name, "%v", err)
			}
			if out[i].Meta == nil {
				out[i].Meta = map[string]any{}
			}
			out[i].Meta[f.Name] = v
		}
	}
	return nil
}

func passagesFrom(path string) func(arrow.Record, []int, int64) ([]data.Passage, error) {
	return func(rec arrow.Record, idx []int, row int64) ([]data.Passage, error) {
		ids, err := requiredStrings(path, rec, idx[0], ColID, row)
		if err != nil {
			return nil, err
		}
		titles, err := optionalStrings(path, rec, idx[1], ColTitle, row)
		if err != nil {
			return nil, err
		}
		texts, err := optionalStrings(path, rec, idx[2], ColText, row)
		if err != nil {
			return nil, err
		}
		out := make([]data.Passage, len(ids))
		for i := range out {
			out[i] = data.Passage{ID: ids[i], Title: titles[i], Text: texts[i]}
		}
		if err := passageMeta(path, rec, row, out); err != nil {
			return nil, err
		}
		return out, nil
	}
}

// ReadPassages reads a passages file (id, text, optional title; any other
// column becomes each passage's Meta) and its key-value metadata. Null titles and texts read as "".
func ReadPassages(path string) ([]data.Passage, map[string]string, error) {
	return readAll(path, passageCols, passagesFrom(path))
}

// ReadPassagesBatches streams a passages file in batches of at most
// batchRows rows, for collections larger than memory; fn may keep the slice.
func ReadPassagesBatches(path string, batchRows int, fn func([]data.Passage) error) error {
	_, err := readBatches(path, batchRows, passageCols, passagesFrom(path), fn)
	return err
}

var queryCols = []column{{name: ColID}, {name: ColText}}

// ReadQueries reads a queries file (id, text) and its metadata.
func ReadQueries(path string) ([]data.Query, map[string]string, error) {
	return readAll(path, queryCols, func(rec arrow.Record, idx []int, row int64) ([]data.Query, error) {
		ids, err := requiredStrings(path, rec, idx[0], ColID, row)
		if err != nil {
			return nil, err
		}
		texts, err := optionalStrings(path, rec, idx[1], ColText, row)
		if err != nil {
			return nil, err
		}
		out := make([]data.Query, len(ids))
		for i := range out {
			out[i] = data.Query{ID: ids[i], Text: texts[i]}
		}
		return out, nil
	})
}

var exampleCols = []column{{name: ColQueryID}, {name: ColDocIDs}, {name: ColTeacherScores, optional: true}}

func examplesFrom(path string) func(arrow.Record, []int, int64) ([]data.Example, error) {
	return func(rec arrow.Record, idx []int, row int64) ([]data.Example, error) {
		qids, err := requiredStrings(path, rec, idx[0], ColQueryID, row)
		if err != nil {
			return nil, err
		}
		docs, err := listOf(rec.Column(idx[1]))
		if err != nil {
			return nil, colError(path, row, ColDocIDs, "%v", err)
		}
		docVals, err := stringsOf(docs.ListValues())
		if err != nil {
			return nil, colError(path, row, ColDocIDs, "elements: %v", err)
		}
		var scores array.ListLike
		var scoreVals func(int) (float64, bool)
		if idx[2] >= 0 {
			if scores, err = listOf(rec.Column(idx[2])); err != nil {
				return nil, colError(path, row, ColTeacherScores, "%v", err)
			}
			if scoreVals, err = floatsOf(scores.ListValues()); err != nil {
				return nil, colError(path, row, ColTeacherScores, "elements: %v", err)
			}
		}
		out := make([]data.Example, len(qids))
		for i := range out {
			r := row + int64(i)
			if docs.IsNull(i) {
				return nil, colError(path, r, ColDocIDs, "null list")
			}
			lo, hi := docs.ValueOffsets(i)
			if hi <= lo {
				return nil, colError(path, r, ColDocIDs, "no documents")
			}
			ex := data.Example{QueryID: qids[i], DocIDs: make([]string, 0, hi-lo)}
			for j := lo; j < hi; j++ {
				d, ok := docVals(int(j))
				if !ok || d == "" {
					return nil, colError(path, r, ColDocIDs, "null or empty id at position %d", j-lo)
				}
				ex.DocIDs = append(ex.DocIDs, d)
			}
			if scores != nil && scores.IsValid(i) {
				slo, shi := scores.ValueOffsets(i)
				if shi-slo != hi-lo {
					return nil, colError(path, r, ColTeacherScores, "%d scores for %d documents", shi-slo, hi-lo)
				}
				ex.TeacherScores = make([]float32, 0, shi-slo)
				for j := slo; j < shi; j++ {
					s, ok := scoreVals(int(j))
					if !ok {
						return nil, colError(path, r, ColTeacherScores, "null score at position %d", j-slo)
					}
					ex.TeacherScores = append(ex.TeacherScores, float32(s))
				}
			}
			out[i] = ex
		}
		return out, nil
	}
}

// ReadExamples reads a training examples file and its metadata.
func ReadExamples(path string) ([]data.Example, map[string]string, error) {
	return readAll(path, exampleCols, examplesFrom(path))
}

// ReadExamplesBatches streams a training examples file in batches of at
// most batchRows examples; fn may keep the slice.
func ReadExamplesBatches(path string, batchRows int, fn func([]data.Example) error) error {
	_, err := readBatches(path, batchRows, exampleCols, examplesFrom(path), fn)
	return err
}

var runCols = []column{{name: ColQueryID}, {name: ColDocID}, {name: ColRank}, {name: ColScore}}

// ReadRun reads a run file. Each query's list is ordered by the rank
// column (file order among equal ranks); a document listed twice for one
// query is an error, as in trec_eval.
func ReadRun(path string) (data.Run, map[string]string, error) {
	type ranked struct {
		rank int64
		doc  data.ScoredDoc
	}
	lists := map[string][]ranked{}
	seen := map[[2]string]bool{}
	_, meta, err := readAll(path, runCols, func(rec arrow.Record, idx []int, row int64) ([]struct{}, error) {
		qids, err := requiredStrings(path, rec, idx[0], ColQueryID, row)
		if err != nil {
			return nil, err
		}
		dids, err := requiredStrings(path, rec, idx[1], ColDocID, row)
		if err != nil {
			return nil, err
		}
		ranks, err := intsOf(rec.Column(idx[2]))
		if err != nil {
			return nil, colError(path, row, ColRank, "%v", err)
		}
		scores, err := floatsOf(rec.Column(idx[3]))
		if err != nil {
			return nil, colError(path, row, ColScore, "%v", err)
		}
		for i := range qids {
			r := row + int64(i)
			rk, ok1 := ranks(i)
			sc, ok2 := scores(i)
			if !ok1 || !ok2 {
				return nil, colError(path, r, "rank/score", "null value")
			}
			key := [2]string{qids[i], dids[i]}
			if seen[key] {
				return nil, colError(path, r, ColDocID, "document %q listed twice for query %q", dids[i], qids[i])
			}
			seen[key] = true
			lists[qids[i]] = append(lists[qids[i]], ranked{rk, data.ScoredDoc{DocID: dids[i], Score: sc}})
		}
		return nil, nil
	})
	if err != nil {
		return nil, nil, err
	}
	run := make(data.Run, len(lists))
	for qid, l := range lists {
		sort.SliceStable(l, func(i, j int) bool { return l[i].rank < l[j].rank })
		docs := make([]data.ScoredDoc, len(l))
		for i, x := range l {
			docs[i] = x.doc
		}
		run[qid] = docs
	}
	return run, meta, nil
}
