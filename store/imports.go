package store

import (
	"context"
	"database/sql"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// ImportMark is how far an import from a Django database got in one of its
// tables: the key of the last row loaded, and how many rows of the table
// were loaded up to it.
type ImportMark struct {
	Source, Table string
	LastKey       string
	Rows          int64
}

// LoadBatch loads set as Load does and records mark in the same
// transaction: either both are stored or neither, so that an import
// stopped at any point continues after the last batch stored.
func (s *Store) LoadBatch(ctx context.Context, set fixture.Set, mark ImportMark) (err error) {
	defer s.classified(&err)
	load := s.loader(ctx, set)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := load(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO import_progress (source, source_table, last_key, row_count, updated) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (source, source_table) DO UPDATE SET last_key = excluded.last_key, row_count = excluded.row_count, updated = excluded.updated`),
			mark.Source, mark.Table, mark.LastKey, mark.Rows, micros(s.now()))
		return err
	})
}

// ImportMarks returns the marks recorded for source, by table; none when
// no import from it is under way.
func (s *Store) ImportMarks(ctx context.Context, source string) (_ map[string]ImportMark, err error) {
	defer s.classified(&err)
	rows, err := s.db.QueryContext(ctx, s.q("SELECT source_table, last_key, row_count FROM import_progress WHERE source = ?"), source)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	marks := map[string]ImportMark{}
	for rows.Next() {
		m := ImportMark{Source: source}
		if err := rows.Scan(&m.Table, &m.LastKey, &m.Rows); err != nil {
			return nil, err
		}
		marks[m.Table] = m
	}
	return marks, rows.Err()
}

// ForgetImport deletes source's marks: the next import from it starts
// from the first row.
func (s *Store) ForgetImport(ctx context.Context, source string) (err error) {
	defer s.classified(&err)
	_, err = s.exec(ctx, "DELETE FROM import_progress WHERE source = ?", source)
	return err
}
