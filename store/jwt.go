package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// RecordRefresh stores an outstanding refresh token; recording the same
// jti twice is not an error.
func (s *Store) RecordRefresh(ctx context.Context, r gatehouse.RefreshRecord) (err error) {
	defer s.classified(&err)
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
func (s *Store) RefreshBlacklisted(ctx context.Context, jti string) (_ bool, err error) {
	defer s.classified(&err)
	var at sql.NullInt64
	err = s.db.QueryRowContext(ctx, s.q("SELECT blacklisted_at FROM jwt_tokens WHERE jti = ?"), jti).Scan(&at)
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
func (s *Store) RotateRefresh(ctx context.Context, old, next gatehouse.RefreshRecord, now time.Time) (_ gatehouse.RotateOutcome, err error) {
	defer s.classified(&err)
	r := &jwtRotation{old: old, next: next, now: now}
	if err := s.groups.rotateJWT(ctx, r); err != nil {
		return 0, err
	}
	return r.outcome, nil
}

// jwtRotation is one RotateRefresh call in a group (rotate.go).
type jwtRotation struct {
	old, next gatehouse.RefreshRecord
	now       time.Time

	outcome gatehouse.RotateOutcome
	inSet   bool  // applyJWTRotationSet rotated it with others
	unknown error // as rotation.unknown
}

// applyJWTRotation runs r alone inside tx, setting r.outcome afresh; it
// returns only a database error.
func (s *Store) applyJWTRotation(ctx context.Context, tx *sql.Tx, r *jwtRotation) error {
	r.outcome = 0
	old, next := r.old, r.next
	if old.Family == "" {
		old.Family = old.JTI
	}
	// One statement blacklists the token if it was not and reads the
	// family its record holds (RETURNING: PostgreSQL, SQLite ≥ 3.35). A
	// token never recorded (issued before the records) is recorded and
	// tried again: rarer than the statement it saves every other time.
	var family string
	blacklist := func() error {
		return s.queryRow(ctx, tx, "UPDATE jwt_tokens SET blacklisted_at = ?, rotated = ? WHERE jti = ? AND blacklisted_at IS NULL RETURNING family",
			micros(r.now), true, old.JTI).Scan(&family)
	}
	err := blacklist()
	if errors.Is(err, sql.ErrNoRows) {
		if err := s.recordRefresh(ctx, tx, old); err != nil {
			return err
		}
		err = blacklist()
	}
	if err == nil {
		next.Family = family
		r.outcome = gatehouse.Rotated
		return s.recordRefresh(ctx, tx, next)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var rotated bool
	if err := s.queryRow(ctx, tx, "SELECT rotated, family FROM jwt_tokens WHERE jti = ?", old.JTI).Scan(&rotated, &family); err != nil {
		return err
	}
	if !rotated {
		r.outcome = gatehouse.Blacklisted
		return nil
	}
	r.outcome = gatehouse.Reused
	_, err = s.execTx(ctx, tx, "UPDATE jwt_tokens SET blacklisted_at = ? WHERE family = ? AND blacklisted_at IS NULL", micros(r.now), family)
	return err
}

// applyJWTRotationSet rotates a group's simplejwt refresh tokens on
// PostgreSQL with one statement for the whole group instead of two or
// three per rotation: blacklist the old tokens not blacklisted yet, and
// record the new ones in their families. Only rotations of distinct
// tokens run together; the ones whose token was not found so (blacklisted
// already: a reuse, or a logout; or never recorded: issued before the
// records) are left with inSet false, for applyJWTRotation to run after,
// in the group's transaction. The statement runs outside a transaction,
// as one of its own (groupWriter.sets): the rotations it returns are
// committed. That order (the clean rotations first) is one a lone
// rotation per request could have had: a reuse of another token of a
// rotated family then revokes the new token too, as it would alone.
//
// again gives a new session after an error: when the statement fails, a
// read there of which new records are stored says which rotations it
// committed all the same (rotatedJWTs); the others run after.
func (s *Store) applyJWTRotationSet(ctx context.Context, q querier, again func() (querier, error), rs []*jwtRotation) error {
	byJTI := make(map[string]*jwtRotation, len(rs))
	for _, r := range rs {
		r.inSet, r.outcome, r.unknown = false, 0, nil
		if byJTI[r.old.JTI] != nil {
			return nil // the same token twice: one after the other
		}
		byJTI[r.old.JTI] = r
	}
	sorted := make([]*jwtRotation, len(rs))
	copy(sorted, rs)
	slices.SortFunc(sorted, func(a, b *jwtRotation) int { return strings.Compare(a.old.JTI, b.old.JTI) }) // rows locked in one order
	n := len(sorted)
	jtis, ats := make([]string, n), make([]int64, n)
	nexts, uids, black := make([]string, n), make([]*int64, n), make([]*int64, n)
	created, expires := make([]int64, n), make([]int64, n)
	rotated := make([]bool, n)
	for i, r := range sorted {
		jtis[i], ats[i] = r.old.JTI, micros(r.now)
		x := r.next
		nexts[i], created[i], expires[i], rotated[i], black[i] = x.JTI, micros(x.Created), micros(x.Expires), x.Rotated, microsPtr(x.BlacklistedAt)
		if x.UserID != 0 {
			uid := x.UserID
			uids[i] = &uid
		}
	}
	// The UPDATE's rows (the tokens it blacklisted, with their families)
	// feed the INSERT of the new records, and their ids are the answer.
	var done []string
	err := s.runSetWrite(func() error {
		rows, err := q.QueryContext(ctx, s.q(`WITH b AS (
			UPDATE jwt_tokens t SET blacklisted_at = u.at, rotated = TRUE
			FROM unnest(?::text[], ?::bigint[]) AS u(jti, at) WHERE t.jti = u.jti AND t.blacklisted_at IS NULL
			RETURNING t.jti, t.family),
		n AS (
			INSERT INTO jwt_tokens (jti, user_id, family, created, expires, blacklisted_at, rotated)
			SELECT x.jti, x.user_id, b.family, x.created, x.expires, x.black, x.rotated
			FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::boolean[])
				AS x(old, jti, user_id, created, expires, black, rotated)
			JOIN b ON b.jti = x.old
			ON CONFLICT (jti) DO NOTHING)
		SELECT jti FROM b`), jtis, ats, jtis, nexts, uids, created, expires, black, rotated)
		if err == nil {
			done, err = scanStrings(rows)
		}
		return err
	})
	if err != nil {
		if s.checkSetWrite(again, func(q querier) (err error) {
			cctx, cancel := checkContext(ctx)
			defer cancel()
			done, err = s.rotatedJWTs(cctx, q, sorted)
			return err
		}) == nil {
			err = nil
		}
		if err != nil {
			for _, r := range sorted {
				r.unknown = err // never run again: its own commit would look like a reuse
			}
			return err
		}
	}
	for _, jti := range done {
		if r := byJTI[jti]; r != nil {
			r.inSet, r.outcome = true, gatehouse.Rotated
		}
	}
	return nil
}

// rotatedJWTs reads which of rs a failed set statement committed all the
// same: those whose new record is stored (each new jti is fresh, and the
// statement stored it only with the old token's blacklisting). It returns
// their old jtis.
func (s *Store) rotatedJWTs(ctx context.Context, q querier, rs []*jwtRotation) ([]string, error) {
	old := make(map[string]string, len(rs))
	nexts := make([]string, len(rs))
	for i, r := range rs {
		nexts[i], old[r.next.JTI] = r.next.JTI, r.old.JTI
	}
	rows, err := q.QueryContext(ctx, s.q("SELECT jti FROM jwt_tokens WHERE jti = ANY(?::text[])"), nexts)
	if err != nil {
		return nil, err
	}
	stored, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	for i, jti := range stored {
		stored[i] = old[jti]
	}
	return stored, nil
}

// scanStrings reads rows of one text column, and closes them.
func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// BlacklistRefresh blacklists the refresh token r (recording it when
// unknown). It reports false when it was blacklisted already.
func (s *Store) BlacklistRefresh(ctx context.Context, r gatehouse.RefreshRecord, now time.Time) (_ bool, err error) {
	defer s.classified(&err)
	var changed bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
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
func (s *Store) DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (_ int64, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM jwt_tokens WHERE id IN ("+expiredJWTSQL+")", micros(now), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
