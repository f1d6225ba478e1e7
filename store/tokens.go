package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const tokenCols = "t.id, t.user_id, t.key_hash, t.key_sealed, t.prefix, t.name, t.is_default, t.created, t.last_used, t.expires"

func scanToken(r rowScanner, t *gatehouse.Token, extra ...any) error {
	var created int64
	var last, exp sql.NullInt64
	dest := append([]any{&t.ID, &t.UserID, &t.Hash, &t.Sealed, &t.Prefix, &t.Name, &t.IsDefault, &created, &last, &exp}, extra...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	t.Created = fromMicros(created)
	t.LastUsed = fromNullMicros(last)
	t.Expires = fromNullMicros(exp)
	return nil
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, t *gatehouse.Token) error {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO drf_tokens (user_id, key_hash, key_sealed, prefix, name, is_default, created, last_used, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		t.UserID, t.Hash, t.Sealed, t.Prefix, t.Name, t.IsDefault, micros(t.Created), nullMicros(t.LastUsed), nullMicros(t.Expires)).Scan(&t.ID)
	return s.conflict(err)
}

// CreateTokenFrom is gatehouse.TokenStore's: CreateToken with the origin's
// checks in the INSERT (no read before it, no round trip more).
func (s *Store) CreateTokenFrom(ctx context.Context, t *gatehouse.Token, o gatehouse.TokenOrigin) (err error) {
	defer s.classified(&err)
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO drf_tokens (user_id, key_hash, key_sealed, prefix, name, is_default, created, last_used, expires)
			SELECT u.id, ?, ?, ?, ?, ?, ?, ?, ? FROM users u
			WHERE u.id = ? AND u.is_active AND (u.auth_epoch = 0 OR u.auth_epoch <= ?)
			AND (CAST(? AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM drf_tokens o WHERE o.id = ? AND o.user_id = u.id))
			RETURNING id`),
			t.Hash, t.Sealed, t.Prefix, t.Name, t.IsDefault, micros(t.Created), nullMicros(t.LastUsed), nullMicros(t.Expires),
			t.UserID, micros(o.Issued), o.DRFTokenID, o.DRFTokenID).Scan(&t.ID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.ErrNotFound
	}
	return s.conflict(err)
}

// CreateToken stores t. A second default token for one user, or a key hash
// already stored, gives gatehouse.ErrConflict.
func (s *Store) CreateToken(ctx context.Context, t *gatehouse.Token) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertToken(ctx, tx, t) })
}

// TokenByHash returns the token with that key hash and its user in one query.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (_ gatehouse.Token, _ gatehouse.User, err error) {
	defer s.classified(&err)
	var t gatehouse.Token
	var u gatehouse.User
	var joined, epoch int64
	var last sql.NullInt64
	var key sql.NullString
	err = scanToken(s.db.QueryRowContext(ctx, s.q("SELECT "+tokenCols+`,
		u.id, u.username, u.email, u.first_name, u.last_name, u.password, u.is_active, u.is_staff, u.is_superuser, u.date_joined, u.last_login, u.auth_epoch, u.django_key
		FROM drf_tokens t JOIN users u ON u.id = t.user_id WHERE t.key_hash = ?`), hash), &t,
		&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Password, &u.IsActive, &u.IsStaff, &u.IsSuperuser, &joined, &last, &epoch, &key)
	if err != nil {
		return t, u, s.notFound(err)
	}
	u.DateJoined = fromMicros(joined)
	u.LastLogin = fromNullMicros(last)
	u.AuthEpoch = fromEpoch(epoch)
	u.DjangoKey = key.String
	return t, u, nil
}

// DefaultToken returns the user's default (login) token, or gatehouse.ErrNotFound.
func (s *Store) DefaultToken(ctx context.Context, userID int64) (_ gatehouse.Token, err error) {
	defer s.classified(&err)
	var t gatehouse.Token
	err = scanToken(s.db.QueryRowContext(ctx, s.q("SELECT "+tokenCols+" FROM drf_tokens t WHERE t.user_id = ? AND t.is_default"), userID), &t)
	return t, s.notFound(err)
}

// Tokens lists a user's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, userID int64) (_ []gatehouse.Token, err error) {
	defer s.classified(&err)
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+tokenCols+" FROM drf_tokens t WHERE t.user_id = ? ORDER BY t.id"), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.Token{}
	for rows.Next() {
		var t gatehouse.Token
		if err := scanToken(rows, &t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken removes token id if it belongs to userID; otherwise gatehouse.ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, userID, id int64) (err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM drf_tokens WHERE id = ? AND user_id = ?", id, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// DeleteUserTokens removes every token of the user and returns how many.
func (s *Store) DeleteUserTokens(ctx context.Context, userID int64) (_ int64, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM drf_tokens WHERE user_id = ?", userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// TouchTokens records last-used times for many tokens in one transaction
// (the server batches them instead of writing on every request).
func (s *Store) TouchTokens(ctx context.Context, used map[int64]time.Time) (err error) {
	defer s.classified(&err)
	if len(used) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE drf_tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)"),
				micros(at), id, micros(at)); err != nil {
				return err
			}
		}
		return nil
	})
}
