// Package metadb is an index's passage metadata: one SQLite database file
// (through the pure-Go driver modernc.org/sqlite, no cgo) holding the table
//
//	meta(pid INTEGER PRIMARY KEY, id TEXT NOT NULL, <one column per field>)
//
// keyed by the index's pid, so that a search can be restricted to the
// passages a SQL condition selects ("year >= 2020 AND source = 'pubmed'").
// The index (codec/index) writes a new file per generation and lists it in
// its manifest; this package creates, updates and reads such files.
//
// Conditions come from users over HTTP, so Select validates one before it
// reaches SQLite: a single expression of literals, the table's columns,
// operators and a short list of pure functions — no ';', no comments, no
// parameters, no sub-queries — which is then prepared as the WHERE clause of
// the one statement `SELECT pid FROM meta WHERE (…)` on a read-only
// connection (mode=ro, immutable, PRAGMA query_only). A condition that fails
// validation, preparation or evaluation is an error wrapping ErrBadFilter
// that names the problem.
package metadb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Table is the metadata table's name; PIDColumn and IDColumn are its two
// fixed columns (the index's pid and the passage's string id).
const (
	Table     = "meta"
	PIDColumn = "pid"
	IDColumn  = "id"
	// MaxColumns bounds the fields a collection may bring (SQLite's own
	// limit is 2000 columns).
	MaxColumns = 512
)

// ErrBadFilter is wrapped by every error that is the condition's fault (a
// server answers it with 400), as opposed to an I/O error.
var ErrBadFilter = errors.New("bad filter")

// Row is one passage's metadata: its pid, its id and its fields. Values are
// strings, integers, floats, booleans (stored 1/0), nil (NULL) or nested
// JSON (json.RawMessage, stored as its text, readable with json_extract).
type Row struct {
	PID  int
	ID   string
	Meta map[string]any
}

// Create writes rows into a new database file at path, which must not exist;
// the caller makes it durable and gives it its final name (codec/index
// writes it beside the index's other files and commits it with them).
func Create(ctx context.Context, path string, rows []Row) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("metadb: create %s: file exists", path)
	}
	db, err := openRW(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s INTEGER PRIMARY KEY, %s TEXT NOT NULL)", Table, PIDColumn, IDColumn)); err != nil {
		return fmt.Errorf("metadb: create %s: %w", path, err)
	}
	if err := apply(ctx, db, rows, nil); err != nil {
		return fmt.Errorf("metadb: %s: %w", path, err)
	}
	return closeRW(db, path)
}

// Update copies the database src to the new file dst and applies to the
// copy: rows added (new fields become new columns) and pids deleted. src is
// not modified, so readers of the old generation are undisturbed.
func Update(ctx context.Context, src, dst string, add []Row, del []int) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("metadb: update into %s: file exists", dst)
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	db, err := openRW(dst)
	if err != nil {
		os.Remove(dst)
		return err
	}
	defer db.Close()
	if err := apply(ctx, db, add, del); err != nil {
		db.Close()
		os.Remove(dst)
		return fmt.Errorf("metadb: update %s: %w", dst, err)
	}
	if err := closeRW(db, dst); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("metadb: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("metadb: %w", err)
	}
	return nil
}

// fileURI is SQLite's URI of the file at path with the given query. The
// path is made absolute: a relative one would be read as the URI's
// authority ("file://idx/…").
func fileURI(path, query string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("metadb: %w", err)
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: query}
	return u.String(), nil
}

// openRW opens path for writing without a journal: the file is new (a
// copy at worst) and only committed by the caller once closed.
func openRW(path string) (*sql.DB, error) {
	u, err := fileURI(path, "_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", u)
	if err != nil {
		return nil, fmt.Errorf("metadb: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func closeRW(db *sql.DB, path string) error {
	if err := db.Close(); err != nil {
		return fmt.Errorf("metadb: close %s: %w", path, err)
	}
	return nil
}

// apply adds rows (creating missing columns) and deletes pids in one
// transaction.
func apply(ctx context.Context, db *sql.DB, add []Row, del []int) error {
	cols, err := columns(ctx, db)
	if err != nil {
		return err
	}
	have := map[string]string{} // lower → name
	for _, c := range cols {
		have[strings.ToLower(c)] = c
	}
	var newCols []string
	for _, r := range add {
		for k := range r.Meta {
			if err := checkField(k); err != nil {
				return fmt.Errorf("passage %q: %w", r.ID, err)
			}
			lk := strings.ToLower(k)
			if c, ok := have[lk]; ok {
				if c != k {
					return fmt.Errorf("passage %q: field %q differs from column %q only in case (SQLite column names are case-insensitive)", r.ID, k, c)
				}
				continue
			}
			have[lk] = k
			newCols = append(newCols, k)
		}
	}
	if len(cols)+len(newCols) > MaxColumns+2 {
		return fmt.Errorf("%d metadata fields, at most %d", len(cols)+len(newCols)-2, MaxColumns)
	}
	slices.Sort(newCols)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range newCols {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", Table, quoteIdent(c))); err != nil {
			return fmt.Errorf("add column %q: %w", c, err)
		}
	}
	cols = append(cols, newCols...)
	if len(del) > 0 {
		st, err := tx.PrepareContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s = ?", Table, PIDColumn))
		if err != nil {
			return err
		}
		for _, p := range del {
			if _, err := st.ExecContext(ctx, p); err != nil {
				st.Close()
				return fmt.Errorf("delete pid %d: %w", p, err)
			}
		}
		st.Close()
	}
	if len(add) > 0 {
		q := make([]string, len(cols))
		names := make([]string, len(cols))
		for i, c := range cols {
			q[i], names[i] = "?", quoteIdent(c)
		}
		st, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", Table, strings.Join(names, ", "), strings.Join(q, ", ")))
		if err != nil {
			return err
		}
		defer st.Close()
		args := make([]any, len(cols))
		for _, r := range add {
			args[0], args[1] = r.PID, r.ID
			for i, c := range cols[2:] {
				v, err := sqlValue(r.Meta[c])
				if err != nil {
					return fmt.Errorf("passage %q field %q: %w", r.ID, c, err)
				}
				args[2+i] = v
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert passage %q (pid %d): %w", r.ID, r.PID, err)
			}
		}
	}
	return tx.Commit()
}

// checkField refuses field names that cannot be columns.
func checkField(k string) error {
	switch {
	case k == "":
		return errors.New("empty field name")
	case len(k) > 128:
		return fmt.Errorf("field name %.20q… longer than 128 bytes", k)
	case strings.EqualFold(k, PIDColumn) || strings.EqualFold(k, IDColumn):
		return fmt.Errorf("field %q is reserved (the index's %s and %s columns)", k, PIDColumn, IDColumn)
	case strings.HasPrefix(strings.ToLower(k), "sqlite_"):
		return fmt.Errorf("field %q: names starting with sqlite_ are reserved by SQLite", k)
	}
	for _, r := range k {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("field %q: control or invalid characters", k)
		}
	}
	return nil
}

// sqlValue converts a metadata value to what the driver stores.
func sqlValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, int64, float64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s out of range", x)
		}
		return f, nil
	case json.RawMessage:
		return string(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %w", v, err)
	}
	return string(b), nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// columns lists the table's columns in order (pid and id first).
func columns(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", Table)
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) < 2 || out[0] != PIDColumn || out[1] != IDColumn {
		return nil, fmt.Errorf("table %s: columns %v, want %s, %s first", Table, out, PIDColumn, IDColumn)
	}
	return out, nil
}

// DB is an open, read-only metadata database. Safe for concurrent use.
type DB struct {
	path string
	db   *sql.DB
	cols []string
	rows int
}

// Open opens the database file at path read-only (immutable: it is never
// written after its index generation is committed) with PRAGMA query_only.
func Open(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("metadb: %w", err)
	}
	u, err := fileURI(path, "mode=ro&immutable=1&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", u)
	if err != nil {
		return nil, fmt.Errorf("metadb: open %s: %w", path, err)
	}
	ctx := context.Background()
	d := &DB{path: path, db: db}
	if d.cols, err = columns(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("metadb: %s: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+Table).Scan(&d.rows); err != nil {
		db.Close()
		return nil, fmt.Errorf("metadb: %s: %w", path, err)
	}
	return d, nil
}

// Close releases the database.
func (d *DB) Close() error { return d.db.Close() }

// Columns are the table's columns: pid, id, then the fields.
func (d *DB) Columns() []string { return slices.Clone(d.cols) }

// Rows is the number of passages the table holds.
func (d *DB) Rows() int { return d.rows }

// Select returns the pids (ascending) of the rows for which cond is true.
// cond is validated first (Validate); an invalid condition, or one SQLite
// refuses or cannot evaluate, is an error wrapping ErrBadFilter.
func (d *DB) Select(ctx context.Context, cond string) ([]int, error) {
	if err := Validate(cond, d.cols); err != nil {
		return nil, err
	}
	// The condition is one validated expression inside parentheses: the
	// only statement this connection ever runs with user text.
	st, err := d.db.PrepareContext(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE (%s) ORDER BY %s", PIDColumn, Table, cond, PIDColumn))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadFilter, sqliteMessage(err))
	}
	defer st.Close()
	rows, err := st.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadFilter, sqliteMessage(err))
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("metadb: %s: %w", d.path, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s", ErrBadFilter, sqliteMessage(err))
	}
	return out, nil
}

// sqliteMessage strips the driver's code suffix from an error's text.
func sqliteMessage(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, " ("); i > 0 && strings.HasSuffix(s, ")") {
		s = s[:i]
	}
	return s
}
