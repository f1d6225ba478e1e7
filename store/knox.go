package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const knoxCols = "k.digest, k.token_key, k.salt, k.user_id, k.created, k.expiry"

func scanKnox(r rowScanner, t *gatehouse.KnoxToken, extra ...any) error {
	var created int64
	var exp sql.NullInt64
	if err := r.Scan(append([]any{&t.Digest, &t.TokenKey, &t.Salt, &t.UserID, &created, &exp}, extra...)...); err != nil {
		return err
	}
	t.Created = fromMicros(created)
	t.Expiry = fromNullMicros(exp)
	return nil
}

// putKnox stores t in tx, replacing the row with the same digest; a
// missing user is gatehouse.ErrNotFound (checked first, so that the error
// names it on every backend).
func (s *Store) putKnox(ctx context.Context, tx *sql.Tx, t gatehouse.KnoxToken) error {
	var one int
	if err := tx.QueryRowContext(ctx, s.q("SELECT 1 FROM users WHERE id = ?"), t.UserID).Scan(&one); err != nil {
		return s.notFound(err)
	}
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO knox_tokens (digest, token_key, salt, user_id, created, expiry) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET token_key = excluded.token_key, salt = excluded.salt, user_id = excluded.user_id,
		created = excluded.created, expiry = excluded.expiry`),
		t.Digest, t.TokenKey, t.Salt, t.UserID, micros(t.Created), nullMicros(t.Expiry))
	return err
}

// loadKnox stores a dump's knox tokens in Load's transaction (after
// checkParents found their users); loading them again overwrites them, as
// Django's loaddata does.
func (s *Store) loadKnox(ctx context.Context, tx *sql.Tx, tokens []gatehouse.KnoxToken) error {
	for _, t := range tokens {
		if err := s.putKnox(ctx, tx, t); err != nil {
			if errors.Is(err, gatehouse.ErrNotFound) {
				err = fmt.Errorf("refers to auth.user %d, which is neither in the files nor in the database", t.UserID)
			}
			return fmt.Errorf("%s: %w", knoxLabel(t), err)
		}
	}
	return nil
}

// knoxLabel names a knox token in a message. The digest is a hash, not a
// credential: its start names the row.
func knoxLabel(t gatehouse.KnoxToken) string {
	return fmt.Sprintf("knox.authtoken pk %.12s…", t.Digest)
}

// PutKnoxToken stores t, replacing the token with the same digest.
func (s *Store) PutKnoxToken(ctx context.Context, t gatehouse.KnoxToken) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error { return s.putKnox(ctx, tx, t) })
}

// KnoxTokensByKey returns the tokens stored under token_key key with their
// users, in one query.
func (s *Store) KnoxTokensByKey(ctx context.Context, key string) (_ []gatehouse.KnoxTokenUser, err error) {
	defer s.classified(&err)
	if err := s.faulted(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+knoxCols+`,
		u.id, u.username, u.email, u.first_name, u.last_name, u.password, u.is_active, u.is_staff, u.is_superuser, u.date_joined, u.last_login, u.auth_epoch, u.django_key
		FROM knox_tokens k JOIN users u ON u.id = k.user_id WHERE k.token_key = ? ORDER BY k.digest`), key)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	var out []gatehouse.KnoxTokenUser
	for rows.Next() {
		var r gatehouse.KnoxTokenUser
		u := &r.User
		var joined, epoch int64
		var last sql.NullInt64
		var key sql.NullString
		if err := scanKnox(rows, &r.Token, &u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Password,
			&u.IsActive, &u.IsStaff, &u.IsSuperuser, &joined, &last, &epoch, &key); err != nil {
			return nil, s.classify(err)
		}
		u.DateJoined = fromMicros(joined)
		u.LastLogin = fromNullMicros(last)
		u.AuthEpoch = fromEpoch(epoch)
		u.DjangoKey = key.String
		out = append(out, r)
	}
	return out, s.classify(rows.Err())
}

// KnoxTokens lists a user's knox tokens by digest.
func (s *Store) KnoxTokens(ctx context.Context, userID int64) (_ []gatehouse.KnoxToken, err error) {
	defer s.classified(&err)
	if err := s.faulted(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+knoxCols+" FROM knox_tokens k WHERE k.user_id = ? ORDER BY k.digest"), userID)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	out := []gatehouse.KnoxToken{}
	for rows.Next() {
		var t gatehouse.KnoxToken
		if err := scanKnox(rows, &t); err != nil {
			return nil, s.classify(err)
		}
		out = append(out, t)
	}
	return out, s.classify(rows.Err())
}

// RenewKnoxToken moves a token's expiry later (knox's AUTO_REFRESH).
func (s *Store) RenewKnoxToken(ctx context.Context, digest string, expiry time.Time) (_ bool, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "UPDATE knox_tokens SET expiry = ? WHERE digest = ? AND expiry IS NOT NULL AND expiry < ?",
		micros(expiry), digest, micros(expiry))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteExpiredKnox deletes up to batch knox tokens expired before now.
func (s *Store) DeleteExpiredKnox(ctx context.Context, now time.Time, batch int) (_ int64, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM knox_tokens WHERE digest IN ("+expiredKnoxSQL+")", micros(now), batch)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
