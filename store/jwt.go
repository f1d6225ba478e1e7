package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// RecordRefresh stores an outstanding refresh token; recording the same
// jti twice is not an error.
func (s *Store) RecordRefresh(ctx context.Context, r gatehouse.RefreshRecord) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.recordRefresh(ctx, tx, r) })
}

func (s *Store) recordRefresh(ctx context.Context, tx *sql.Tx, r gatehouse.RefreshRecord) error {
	var uid any
	if r.UserID != 0 {
		uid = r.UserID
	}
	_, err := s.execTx(ctx, tx, `INSERT INTO jwt_tokens (jti, user_id, family, created, expires, blacklisted_at, rotated)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING`,
		r.JTI, uid, r.Family, micros(r.Created), micros(r.Expires), nullMicros(r.BlacklistedAt), r.Rotated)
	return err
}

// RefreshBlacklisted reports whether the refresh token with jti is
// blacklisted; an unknown jti is not.
func (s *Store) RefreshBlacklisted(ctx context.Context, jti string) (bool, error) {
	var at sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q("SELECT blacklisted_at FROM jwt_tokens WHERE jti = ?"), jti).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return at.Valid, err
}

// RotateRefresh exchanges old for next in one transaction. Only one of
// several concurrent rotations of the same token wins (a conditional
// update); presenting a token that was already rotated revokes every
// refresh token of its family (one update, whatever the family's size).
// A token never seen before (issued before the records existed) is
// recorded first, as its own family. Concurrent rotations share a
// transaction (txGroups).
func (s *Store) RotateRefresh(ctx context.Context, old, next gatehouse.RefreshRecord, now time.Time) (gatehouse.RotateOutcome, error) {
	var outcome gatehouse.RotateOutcome
	err := s.groups.run(ctx, func(ctx context.Context, tx *sql.Tx) error {
		outcome = 0
		if old.Family == "" {
			old.Family = old.JTI
		}
		if err := s.recordRefresh(ctx, tx, old); err != nil {
			return err
		}
		// One statement blacklists the token if it was not and reads the
		// family its record holds (RETURNING: PostgreSQL, SQLite ≥ 3.35).
		var family string
		err := s.queryRow(ctx, tx, "UPDATE jwt_tokens SET blacklisted_at = ?, rotated = ? WHERE jti = ? AND blacklisted_at IS NULL RETURNING family",
			micros(now), true, old.JTI).Scan(&family)
		if err == nil {
			next.Family = family
			outcome = gatehouse.Rotated
			return s.recordRefresh(ctx, tx, next)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var rotated bool
		if err := tx.QueryRowContext(ctx, s.q("SELECT rotated, family FROM jwt_tokens WHERE jti = ?"), old.JTI).Scan(&rotated, &family); err != nil {
			return err
		}
		if !rotated {
			outcome = gatehouse.Blacklisted
			return nil
		}
		outcome = gatehouse.Reused
		_, err = tx.ExecContext(ctx, s.q("UPDATE jwt_tokens SET blacklisted_at = ? WHERE family = ? AND blacklisted_at IS NULL"), micros(now), family)
		return err
	})
	return outcome, err
}

// BlacklistRefresh blacklists the refresh token r (recording it when
// unknown). It reports false when it was blacklisted already.
func (s *Store) BlacklistRefresh(ctx context.Context, r gatehouse.RefreshRecord, now time.Time) (bool, error) {
	var changed bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if r.Family == "" {
			r.Family = r.JTI
		}
		if err := s.recordRefresh(ctx, tx, r); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE jwt_tokens SET blacklisted_at = ? WHERE jti = ? AND blacklisted_at IS NULL"), micros(now), r.JTI)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		changed = n == 1
		return nil
	})
	return changed, err
}

// DeleteExpiredRefresh removes up to limit refresh records that expired
// before now and returns how many it removed.
func (s *Store) DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM jwt_tokens WHERE id IN (SELECT id FROM jwt_tokens WHERE expires < ? LIMIT ?)", micros(now), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
