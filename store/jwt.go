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

// simplejwt's refresh records. A login's refresh token gets a record of its
// own (jti); a rotation rewrites the record in place, writing the new
// token's jti and expiry in current_jti and current_expires (the new token
// names the record in its jwt.RecordClaim), instead of blacklisting the
// record and adding one: on PostgreSQL one update of columns no index
// covers (a HOT update) instead of a new row, five index entries and a
// foreign-key check. A token of a record other than its current one was
// rotated: presenting it is a reuse, as a blacklisted rotated record was.
//
// expires, which the cleanup reads through its index, is the record's
// expiry until its first rotation, then an upper bound of it: a rotation
// moves it only when the new token's expiry passes it, and then to that
// expiry plus the token's lifetime, so that a record rotated more often
// than its tokens live changes an indexed column once a lifetime. An
// expired record stays at most a lifetime longer before the cleanup takes
// it; every read of its expiry reads current_expires first.

// currentJTISQL is the jti of a record's current token.
const currentJTISQL = "COALESCE(current_jti, jti)"

// A token kept in another record may have a record of its own too, made by
// something other than an in-place rotation: a Django dump taken after
// Django served again (Django's blacklisting of it), a build before 00026
// (its rotation of it), the migration's Down section. A blacklisting there
// refuses it as well; its rotation stays in the record it names.

// RecordRefresh stores an outstanding refresh token; recording the same
// jti twice is not an error.
func (s *Store) RecordRefresh(ctx context.Context, r gatehouse.RefreshRecord) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error { return s.recordRefresh(ctx, tx, r) })
}

// recordRefresh stores r in its record (r.Key), made for it when there is
// none; a family left empty is the record's own.
func (s *Store) recordRefresh(ctx context.Context, tx *sql.Tx, r gatehouse.RefreshRecord) error {
	var uid, current, currentExp any
	if r.UserID != 0 {
		uid = r.UserID
	}
	key := r.Key()
	if r.Family == "" {
		r.Family = key
	}
	if key != r.JTI {
		current, currentExp = r.JTI, micros(r.Expires)
	}
	_, err := s.execTx(ctx, tx, `INSERT INTO jwt_tokens (jti, current_jti, user_id, family, created, expires, current_expires, blacklisted_at, rotated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING`,
		key, current, uid, r.Family, micros(r.Created), micros(r.Expires), currentExp, nullMicros(r.BlacklistedAt), r.Rotated)
	return err
}

// RefreshBlacklisted reports whether the refresh token jti kept in the
// record made for record ("" for jti's own) is blacklisted: its record is,
// or holds another token (it was rotated). An unknown token is not.
func (s *Store) RefreshBlacklisted(ctx context.Context, record, jti string) (_ bool, err error) {
	defer s.classified(&err)
	if record == "" {
		record = jti
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT jti, blacklisted_at IS NOT NULL, "+currentJTISQL+" FROM jwt_tokens WHERE jti IN (?, ?)"), record, jti)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	black := false
	for rows.Next() {
		var key, current string
		var at bool
		if err := rows.Scan(&key, &at, &current); err != nil {
			return false, err
		}
		black = black || at || (key == record && current != jti)
	}
	return black, rows.Err()
}

// RotateRefresh makes next the current token of old's record when old is
// its current token and the record is not blacklisted, in one transaction.
// Only one of several concurrent rotations of the same token wins (a
// conditional update); presenting a token the record no longer holds (it
// was rotated) revokes every refresh token of its family (one update,
// whatever the family's size). A token never seen before (issued before
// the records existed) is recorded first, as its own family. Concurrent
// rotations share a transaction (txGroups).
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

// bound is the value of the record's expires (an upper bound of its
// expiry) that r writes when its new token's expiry passes the one there:
// that expiry plus the new token's lifetime.
func (r *jwtRotation) bound() int64 {
	exp := micros(r.next.Expires)
	if life := exp - micros(r.now); life > 0 {
		return exp + life
	}
	return exp
}

// rotateJWTInPlaceSQL rotates one record (arguments: the new token's jti and
// expiry, that expiry again and the record's new bound, the record's key
// and the presented token's jti), answering its family when it did.
const rotateJWTInPlaceSQL = `UPDATE jwt_tokens SET current_jti = ?, current_expires = ?,
	expires = CASE WHEN expires < ? THEN ? ELSE expires END
	WHERE jti = ? AND blacklisted_at IS NULL AND ` + currentJTISQL + ` = ?
	AND NOT EXISTS (SELECT 1 FROM jwt_tokens o WHERE o.jti = ? AND o.blacklisted_at IS NOT NULL) RETURNING family`

// applyJWTRotation runs r alone inside tx, setting r.outcome afresh; it
// returns only a database error.
func (s *Store) applyJWTRotation(ctx context.Context, tx *sql.Tx, r *jwtRotation) error {
	r.outcome = 0
	old, next := r.old, r.next
	key := old.Key()
	// One statement rotates the record if the token is its current one
	// and reads its family (RETURNING: PostgreSQL, SQLite ≥ 3.35). A token
	// never recorded (issued before the records) is recorded and tried
	// again: rarer than the statement it saves every other time.
	var family string
	nextExp := micros(next.Expires)
	rotate := func() error {
		return s.queryRow(ctx, tx, rotateJWTInPlaceSQL, next.JTI, nextExp, nextExp, r.bound(), key, old.JTI, old.JTI).Scan(&family)
	}
	err := rotate()
	if errors.Is(err, sql.ErrNoRows) {
		if err := s.recordRefresh(ctx, tx, old); err != nil {
			return err
		}
		err = rotate()
	}
	if err == nil {
		r.outcome = gatehouse.Rotated
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var rotated, black bool
	var current string
	if err := s.queryRow(ctx, tx, "SELECT rotated, blacklisted_at IS NOT NULL, family, "+currentJTISQL+" FROM jwt_tokens WHERE jti = ?", key).Scan(&rotated, &black, &family, &current); err != nil {
		return err
	}
	if current == old.JTI && !black && key != old.JTI {
		// Refused by a record of its own (blacklisted there).
		if err := s.queryRow(ctx, tx, "SELECT rotated FROM jwt_tokens WHERE jti = ?", old.JTI).Scan(&rotated); err != nil {
			return err
		}
	}
	if !rotated && current == old.JTI {
		r.outcome = gatehouse.Blacklisted
		return nil
	}
	r.outcome = gatehouse.Reused
	_, err = s.execTx(ctx, tx, "UPDATE jwt_tokens SET blacklisted_at = ? WHERE family = ? AND blacklisted_at IS NULL", micros(r.now), family)
	return err
}

// applyJWTRotationSet rotates a group's simplejwt refresh tokens on
// PostgreSQL with one statement for the whole group instead of one or two
// per rotation: each record whose current token was presented, and that
// is not blacklisted, takes its new token. Only rotations of distinct
// records run together; the ones not rotated so (a reuse, a logout, a
// token never recorded) are left with inSet false, for applyJWTRotation
// to run after, in the group's transaction. The statement runs outside a
// transaction, as one of its own (groupWriter.sets): the rotations it
// returns are committed. That order (the clean rotations first) is one a
// lone rotation per request could have had: a reuse of another token of a
// rotated family then revokes the new token too, as it would alone.
//
// again gives a new session after an error: when the statement fails, a
// read there of which records hold their new token says which rotations it
// committed all the same (rotatedJWTs); the others run after.
func (s *Store) applyJWTRotationSet(ctx context.Context, q querier, again func() (querier, error), rs []*jwtRotation) error {
	byKey := make(map[string]*jwtRotation, len(rs))
	for _, r := range rs {
		r.inSet, r.outcome, r.unknown = false, 0, nil
		if byKey[r.old.Key()] != nil {
			return nil // the same record twice: one after the other
		}
		byKey[r.old.Key()] = r
	}
	sorted := make([]*jwtRotation, len(rs))
	copy(sorted, rs)
	slices.SortFunc(sorted, func(a, b *jwtRotation) int { return strings.Compare(a.old.Key(), b.old.Key()) }) // rows locked in one order
	n := len(sorted)
	keys, olds, nexts := make([]string, n), make([]string, n), make([]string, n)
	expires, bounds := make([]int64, n), make([]int64, n)
	for i, r := range sorted {
		keys[i], olds[i], nexts[i] = r.old.Key(), r.old.JTI, r.next.JTI
		expires[i], bounds[i] = micros(r.next.Expires), r.bound()
	}
	var done []string
	err := s.runSetWrite(func() error {
		rows, err := q.QueryContext(ctx, s.q(`UPDATE jwt_tokens t SET current_jti = u.next, current_expires = u.exp,
			expires = CASE WHEN t.expires < u.exp THEN u.bound ELSE t.expires END
			FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS u(key, old, next, exp, bound)
			WHERE t.jti = u.key AND t.blacklisted_at IS NULL AND COALESCE(t.current_jti, t.jti) = u.old
				AND NOT EXISTS (SELECT 1 FROM jwt_tokens o WHERE o.jti = u.old AND o.blacklisted_at IS NOT NULL)
			RETURNING t.jti`), keys, olds, nexts, expires, bounds)
		if err == nil {
			done, err = scanStrings(rows)
		}
		return err
	})
	if err != nil {
		if s.checkSetWrite(again, func(q querier) (err error) {
			cctx, cancel := checkContext(ctx)
			defer cancel()
			done, err = s.rotatedJWTs(cctx, q, keys, nexts)
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
	for _, key := range done {
		if r := byKey[key]; r != nil {
			r.inSet, r.outcome = true, gatehouse.Rotated
		}
	}
	return nil
}

// rotatedJWTs reads which of the records keys a failed set statement
// rotated all the same: those holding their new token, nexts (each new jti
// is fresh, and only that statement could have written it). It returns
// their keys.
func (s *Store) rotatedJWTs(ctx context.Context, q querier, keys, nexts []string) ([]string, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT t.jti FROM jwt_tokens t
		JOIN unnest(?::text[], ?::text[]) AS u(key, next) ON t.jti = u.key AND t.current_jti = u.next`), keys, nexts)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
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
// unknown). It reports false when it was blacklisted already, or rotated.
func (s *Store) BlacklistRefresh(ctx context.Context, r gatehouse.RefreshRecord, now time.Time) (_ bool, err error) {
	defer s.classified(&err)
	var changed bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.recordRefresh(ctx, tx, r); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE jwt_tokens SET blacklisted_at = ? WHERE jti = ? AND blacklisted_at IS NULL AND "+currentJTISQL+" = ?"),
			micros(now), r.Key(), r.JTI)
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
