package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// endedSessionsBatch is how many expired records one EndSession deletes:
// more than are added, so the table shrinks to the sessions still alive.
const endedSessionsBatch = 100

// EndSession records the session with idHash as ended until expires and
// deletes up to endedSessionsBatch records that expired before now, in
// one transaction.
func (s *Store) EndSession(ctx context.Context, idHash []byte, expires, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO ended_sessions (id_hash, expires) VALUES (?, ?) ON CONFLICT (id_hash) DO NOTHING"),
			idHash, micros(expires)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM ended_sessions WHERE id_hash IN (SELECT id_hash FROM ended_sessions WHERE expires < ? LIMIT ?)"),
			micros(now), endedSessionsBatch)
		return err
	})
}

// SessionEnded reports whether the session with idHash was ended.
func (s *Store) SessionEnded(ctx context.Context, idHash []byte) (bool, error) {
	var one int
	err := s.queryRow(ctx, nil, "SELECT 1 FROM ended_sessions WHERE id_hash = ?", idHash).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.classify(err)
}
