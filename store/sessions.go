package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// expiredSessionsBatch is how many expired records one StartSession or
// EndSession deletes: more than either adds, so each table shrinks to the
// sessions still alive.
const expiredSessionsBatch = 100

// StartSession records s for its user (ErrNotFound when the user does not
// exist) and deletes up to expiredSessionsBatch records that expired
// before now, in one transaction.
func (s *Store) StartSession(ctx context.Context, bs *gatehouse.BrowserSession, now time.Time) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO sessions (id_hash, user_id, created, expires, last_seen, user_agent, source)
			SELECT ?, id, ?, ?, ?, ?, ? FROM users WHERE id = ? RETURNING id`),
			bs.IDHash, micros(bs.Created), micros(bs.Expires), micros(bs.LastSeen), bs.UserAgent, bs.Source, bs.UserID).Scan(&bs.ID)
		if err != nil {
			return s.notFound(err)
		}
		_, err = tx.ExecContext(ctx, s.q("DELETE FROM sessions WHERE id IN ("+expiredSessionsSQL+")"),
			micros(now), expiredSessionsBatch)
		return err
	})
}

// TouchSessions moves the sessions' last_seen forward, in one transaction.
func (s *Store) TouchSessions(ctx context.Context, seen map[string]time.Time) (err error) {
	defer s.classified(&err)
	if len(seen) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for hash, at := range seen {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?"),
				micros(at), []byte(hash), micros(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// EndSession records the session with idHash as ended until expires,
// marks its record revoked, and deletes up to expiredSessionsBatch ended
// records that expired before now, in one transaction.
func (s *Store) EndSession(ctx context.Context, idHash []byte, expires, now time.Time) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO ended_sessions (id_hash, expires) VALUES (?, ?) ON CONFLICT (id_hash) DO NOTHING"),
			idHash, micros(expires)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE sessions SET revoked = ? WHERE id_hash = ? AND revoked IS NULL"),
			micros(now), idHash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM ended_sessions WHERE id_hash IN ("+expiredEndedSessionsSQL+")"),
			micros(now), expiredSessionsBatch)
		return err
	})
}

// SessionEnded reports whether the session with idHash was ended: logged
// out (ended_sessions) or revoked (sessions.revoked).
func (s *Store) SessionEnded(ctx context.Context, idHash []byte) (_ bool, err error) {
	defer s.classified(&err)
	var one int
	err = s.queryRow(ctx, nil, `SELECT 1 FROM ended_sessions WHERE id_hash = ?
		UNION ALL SELECT 1 FROM sessions WHERE id_hash = ? AND revoked IS NOT NULL`, idHash, idHash).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.classify(err)
}
