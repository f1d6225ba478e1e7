package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Device authorizations (RFC 8628). Deciding and polling are each one
// transaction with the grant's row locked (SQLite: the immediate
// transaction; PostgreSQL: SELECT ... FOR UPDATE), so that two polls after
// the approval, on one replica or two, give tokens once.

const deviceCols = `id, device_code_hash, user_code_hash, application_id, scope, created, expires, poll_interval,
	last_poll, status, user_id, decided_at, redeemed_at`

func scanDevice(r rowScanner, g *gatehouse.DeviceGrant) error {
	var created, expires, interval int64
	var lastPoll, uid, decided, redeemed sql.NullInt64
	var status string
	if err := r.Scan(&g.ID, &g.DeviceCodeHash, &g.UserCodeHash, &g.ApplicationID, &g.Scope, &created, &expires, &interval,
		&lastPoll, &status, &uid, &decided, &redeemed); err != nil {
		return err
	}
	g.Created, g.Expires = fromMicros(created), fromMicros(expires)
	g.Interval = time.Duration(interval) * time.Second
	g.LastPoll, g.DecidedAt, g.RedeemedAt = fromNullMicros(lastPoll), fromNullMicros(decided), fromNullMicros(redeemed)
	g.Status = gatehouse.DeviceStatus(status)
	g.UserID = fromNullID(uid)
	return nil
}

// intervalSeconds is a poll interval as stored: whole seconds, at least one.
func intervalSeconds(d time.Duration) int64 {
	return max(int64((d+time.Second-1)/time.Second), 1)
}

// CreateDeviceGrant stores g (pending unless it says otherwise) and sets
// g.ID; gatehouse.ErrConflict when either code hash is taken.
func (s *Store) CreateDeviceGrant(ctx context.Context, g *gatehouse.DeviceGrant) (err error) {
	defer s.classified(&err)
	if g.Created.IsZero() {
		g.Created = s.now()
	}
	if g.Status == "" {
		g.Status = gatehouse.DevicePending
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO oauth_device_grants (device_code_hash, user_code_hash, application_id, scope,
			created, expires, poll_interval, last_poll, status, user_id, decided_at, redeemed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			g.DeviceCodeHash, g.UserCodeHash, g.ApplicationID, g.Scope, micros(g.Created), micros(g.Expires),
			intervalSeconds(g.Interval), nullMicros(g.LastPoll), string(g.Status), nullID(g.UserID), nullMicros(g.DecidedAt),
			nullMicros(g.RedeemedAt)).Scan(&g.ID)
		return s.conflict(err)
	})
}

// DeviceGrantByUserCode returns the grant with that user code hash, or
// gatehouse.ErrNotFound.
func (s *Store) DeviceGrantByUserCode(ctx context.Context, userCodeHash []byte) (_ gatehouse.DeviceGrant, err error) {
	defer s.classified(&err)
	return s.deviceGrantBy(ctx, "SELECT "+deviceCols+" FROM oauth_device_grants WHERE user_code_hash = ?", userCodeHash)
}

// DeviceGrantByDeviceCode returns the grant with that device code hash,
// or gatehouse.ErrNotFound, read without a lock.
func (s *Store) DeviceGrantByDeviceCode(ctx context.Context, deviceCodeHash []byte) (_ gatehouse.DeviceGrant, err error) {
	defer s.classified(&err)
	return s.deviceGrantBy(ctx, "SELECT "+deviceCols+" FROM oauth_device_grants WHERE device_code_hash = ?", deviceCodeHash)
}

// deviceGrantBy reads the grant that query (by one of the two code
// hashes, both unique; a constant, not built per call) finds for hash.
func (s *Store) deviceGrantBy(ctx context.Context, query string, hash []byte) (gatehouse.DeviceGrant, error) {
	var g gatehouse.DeviceGrant
	err := scanDevice(s.db.QueryRowContext(ctx, s.q(query), hash), &g)
	return g, s.notFound(err)
}

// DecideDeviceGrant runs decide on the grant with that user code hash and
// writes its decision, in one transaction (see gatehouse.DeviceGrantStore).
func (s *Store) DecideDeviceGrant(ctx context.Context, userCodeHash []byte, decide func(*gatehouse.DeviceGrant) error) (_ gatehouse.DeviceGrant, err error) {
	defer s.classified(&err)
	var g gatehouse.DeviceGrant
	err = s.tx(ctx, func(tx *sql.Tx) error {
		err := scanDevice(tx.QueryRowContext(ctx, s.q("SELECT "+deviceCols+" FROM oauth_device_grants WHERE user_code_hash = ?"+s.forUpdate()), userCodeHash), &g)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := decide(&g); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q("UPDATE oauth_device_grants SET status = ?, user_id = ?, decided_at = ? WHERE id = ?"),
			string(g.Status), nullID(g.UserID), nullMicros(g.DecidedAt), g.ID)
		return err
	})
	return g, err
}

// PollDeviceGrant is a device's token request, in one transaction (see
// gatehouse.DeviceGrantStore).
func (s *Store) PollDeviceGrant(ctx context.Context, deviceCodeHash []byte, appID int64, now time.Time,
	poll func(*gatehouse.DeviceGrant, *gatehouse.User) (gatehouse.DeviceTokens, error)) (err error) {
	defer s.classified(&err)
	var refusal error
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var g gatehouse.DeviceGrant
		err := scanDevice(tx.QueryRowContext(ctx, s.q("SELECT "+deviceCols+" FROM oauth_device_grants WHERE device_code_hash = ?"+s.forUpdate()), deviceCodeHash), &g)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.ErrInvalidGrant
		}
		if err != nil {
			return err
		}
		if g.ApplicationID != appID || g.RedeemedAt != nil {
			return gatehouse.ErrInvalidGrant
		}
		var user *gatehouse.User
		if g.UserID != nil {
			if user, err = s.userTx(ctx, tx, *g.UserID); err != nil {
				return err
			}
		}
		out, perr := poll(&g, user)
		refusal = perr
		issue := perr == nil && out.Access != nil
		redeemed := any(nil)
		if issue {
			redeemed = micros(now)
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE oauth_device_grants SET last_poll = ?, poll_interval = ?, redeemed_at = ? WHERE id = ? AND redeemed_at IS NULL"),
			nullMicros(g.LastPoll), intervalSeconds(g.Interval), redeemed, g.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			refusal = nil
			return gatehouse.ErrInvalidGrant
		}
		if !issue {
			return nil
		}
		return s.insertPair(ctx, tx, out.Access, out.Refresh, out.FamilyExpires)
	})
	if err != nil {
		return err
	}
	return refusal
}

// DeleteExpiredDeviceGrants deletes up to batch device grants expired
// before now (a redeemed one included: its tokens live on their own).
func (s *Store) DeleteExpiredDeviceGrants(ctx context.Context, now time.Time, batch int) (_ int64, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM oauth_device_grants WHERE id IN ("+expiredDeviceGrantsSQL+")",
		micros(now), batch)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
