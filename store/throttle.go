package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
)

var _ gatehouse.ThrottleStore = (*Store)(nil)

// ThrottleTake is one step of the generic cell rate algorithm in one
// statement: the bucket's theoretical arrival time (at) moves on by
// interval from the later of itself and now, unless that puts it more than
// burst intervals ahead of now; then no row is written or returned, and
// the wait is read back.
func (s *Store) ThrottleTake(ctx context.Context, key string, now time.Time, interval time.Duration, burst int) (_ time.Duration, err error) {
	defer s.classified(&err)
	if err := s.faulted(); err != nil {
		return 0, err
	}
	t, iv := now.UnixMicro(), interval.Microseconds()
	if iv < 1 {
		iv = 1
	}
	limit := iv * int64(burst)
	var tat int64
	err = s.queryRow(ctx, nil, `INSERT INTO throttle_counters (key, n, at, expires) VALUES (?, 0, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			at = CASE WHEN throttle_counters.at > ? THEN throttle_counters.at ELSE ? END + ?,
			expires = CASE WHEN throttle_counters.at > ? THEN throttle_counters.at ELSE ? END + ?
		WHERE CASE WHEN throttle_counters.at > ? THEN throttle_counters.at ELSE ? END + ? - ? <= ?
		RETURNING at`,
		key, t+iv, t+iv, t, t, iv, t, t, iv, t, t, iv, t, limit).Scan(&tat)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, s.classify(err)
	}
	if err := s.queryRow(ctx, nil, `SELECT at FROM throttle_counters WHERE key = ?`, key).Scan(&tat); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // deleted meanwhile: nothing to wait for
		}
		return 0, s.classify(err)
	}
	if tat < t {
		tat = t
	}
	wait := tat + iv - limit - t
	if wait < 1 {
		wait = 1
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// ThrottleAdd counts one more in key, starting again at 1 past its expiry.
func (s *Store) ThrottleAdd(ctx context.Context, key string, now time.Time, ttl time.Duration) (_ int64, err error) {
	defer s.classified(&err)
	if err := s.faulted(); err != nil {
		return 0, err
	}
	t := now.UnixMicro()
	var n int64
	err = s.queryRow(ctx, nil, `INSERT INTO throttle_counters (key, n, at, expires) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			n = CASE WHEN throttle_counters.expires <= ? THEN 1 ELSE throttle_counters.n + 1 END,
			at = ?, expires = ?
		RETURNING n`, key, t, t+ttl.Microseconds(), t, t, t+ttl.Microseconds()).Scan(&n)
	return n, s.classify(err)
}

// ThrottleGet reads keys in one query.
func (s *Store) ThrottleGet(ctx context.Context, now time.Time, keys ...string) (_ []gatehouse.Counter, err error) {
	defer s.classified(&err)
	out := make([]gatehouse.Counter, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	q := `SELECT key, n, at FROM throttle_counters WHERE expires > ? AND key IN (?`
	args := []any{now.UnixMicro(), keys[0]}
	for _, k := range keys[1:] {
		q += ", ?"
		args = append(args, k)
	}
	q += ")"
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, s.classify(err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var c gatehouse.Counter
		var at int64
		if err := rows.Scan(&k, &c.N, &at); err != nil {
			return nil, s.classify(err)
		}
		c.At = time.UnixMicro(at)
		for i := range keys {
			if keys[i] == k {
				out[i] = c
			}
		}
	}
	return out, s.classify(rows.Err())
}

// ThrottleDelete removes key.
func (s *Store) ThrottleDelete(ctx context.Context, key string) (err error) {
	defer s.classified(&err)
	_, err = s.exec(ctx, `DELETE FROM throttle_counters WHERE key = ?`, key)
	return s.classify(err)
}

// DeleteExpiredThrottle deletes up to batch expired counters.
func (s *Store) DeleteExpiredThrottle(ctx context.Context, now time.Time, batch int) (_ int64, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM throttle_counters WHERE key IN ("+expiredThrottleSQL+")", now.UnixMicro(), batch)
	if err != nil {
		return 0, s.classify(err)
	}
	n, err := res.RowsAffected()
	return n, s.classify(err)
}

// ThrottleScan counts the live counters under prefix and reads up to
// limit of them.
func (s *Store) ThrottleScan(ctx context.Context, now time.Time, prefix string, limit int) (_ int64, _ map[string]int64, err error) {
	defer s.classified(&err)
	// substr, not LIKE (whose wildcards a prefix may hold) nor a range
	// (PostgreSQL compares text by its collation).
	cond, args := "expires > ?", []any{now.UnixMicro()}
	if prefix != "" {
		cond, args = cond+" AND substr(key, 1, ?) = ?", append(args, utf8.RuneCountInString(prefix), prefix)
	}
	var total int64
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM throttle_counters WHERE "+cond), args...).Scan(&total); err != nil {
		return 0, nil, s.classify(err)
	}
	out := map[string]int64{}
	if limit <= 0 || total == 0 {
		return total, out, nil
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT key, n FROM throttle_counters WHERE "+cond+" LIMIT ?"), append(args, limit)...)
	if err != nil {
		return 0, nil, s.classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return 0, nil, s.classify(err)
		}
		out[k] = n
	}
	return total, out, s.classify(rows.Err())
}
