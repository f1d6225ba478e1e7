package store

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrBackupPostgres is Backup's answer for a PostgreSQL store: pg_dump
// makes its backups.
var ErrBackupPostgres = errors.New("store: gatehouse backs up SQLite databases only: back up PostgreSQL with pg_dump (pg_dump --format=custom --file=FILE URL), restore with pg_restore")

// Backup writes a consistent copy of the SQLite database to path with
// VACUUM INTO, while other connections keep reading and writing: the copy
// is the database as of one transaction, compacted, with no WAL to carry.
// path must not exist (an error otherwise, and nothing is written); the
// copy is made readable by its owner alone, as the database is.
func (s *Store) Backup(ctx context.Context, path string) (err error) {
	defer s.classified(&err)
	if s.d.name != "sqlite" {
		return ErrBackupPostgres
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup: %s exists: choose a new path (a backup never overwrites)", path)
	}
	// VACUUM INTO creates the file with the umask's mode: create it empty
	// and private first (SQLite writes into an empty file).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
