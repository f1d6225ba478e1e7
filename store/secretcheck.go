package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
)

// ErrSecretMismatch is CheckSecret's answer when the database was set up
// with another server secret.
var ErrSecretMismatch = errors.New("the database was set up with a different server secret")

// CheckSecret compares value, the check value of the server secret in use,
// with the one stored at the first start; the first caller stores it (of
// replicas starting together, one wins and the others compare with it).
func (s *Store) CheckSecret(ctx context.Context, value []byte) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO secret_check (id, value, created) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING"),
			value, micros(s.now())); err != nil {
			return err
		}
		var stored []byte
		if err := tx.QueryRowContext(ctx, s.q("SELECT value FROM secret_check WHERE id = 1")).Scan(&stored); err != nil {
			return err
		}
		if !bytes.Equal(stored, value) {
			return ErrSecretMismatch
		}
		return nil
	})
}
