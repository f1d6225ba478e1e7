package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

const userCols = "id, username, email, first_name, last_name, password, is_active, is_staff, is_superuser, date_joined, last_login, auth_epoch"

type rowScanner interface{ Scan(...any) error }

func scanUser(r rowScanner, u *gatehouse.User) error {
	var joined, epoch int64
	var last sql.NullInt64
	if err := r.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Password,
		&u.IsActive, &u.IsStaff, &u.IsSuperuser, &joined, &last, &epoch); err != nil {
		return err
	}
	u.DateJoined = fromMicros(joined)
	u.LastLogin = fromNullMicros(last)
	u.AuthEpoch = fromEpoch(epoch)
	return nil
}

// CreateUser inserts u (ignoring u.ID unless keepID) and, when tok is not
// nil, its token, in one transaction. It sets u.ID and tok.UserID/ID.
// A taken username gives gatehouse.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *gatehouse.User, tok *gatehouse.Token) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertUser(ctx, tx, u, false); err != nil {
			return err
		}
		if tok != nil {
			tok.UserID = u.ID
			return s.insertToken(ctx, tx, tok)
		}
		return nil
	})
}

func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, u *gatehouse.User, keepID bool) error {
	if u.DateJoined.IsZero() {
		u.DateJoined = s.now()
	}
	args := []any{u.Username, u.Email, u.FirstName, u.LastName, u.Password, u.IsActive, u.IsStaff,
		u.IsSuperuser, micros(u.DateJoined), nullMicros(u.LastLogin), epochMicros(u.AuthEpoch)}
	cols := "username, email, first_name, last_name, password, is_active, is_staff, is_superuser, date_joined, last_login, auth_epoch"
	marks := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
	if keepID {
		cols = "id, " + cols
		marks = "?, " + marks
		args = append([]any{u.ID}, args...)
	}
	err := tx.QueryRowContext(ctx, s.q("INSERT INTO users ("+cols+") VALUES ("+marks+") RETURNING id"), args...).Scan(&u.ID)
	return s.conflict(err)
}

// User returns the user with id, or gatehouse.ErrNotFound.
func (s *Store) User(ctx context.Context, id int64) (gatehouse.User, error) {
	var u gatehouse.User
	err := scanUser(s.db.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE id = ?"), id), &u)
	return u, s.notFound(err)
}

// UserByUsername returns the user with exactly that username (case-sensitive).
func (s *Store) UserByUsername(ctx context.Context, username string) (gatehouse.User, error) {
	var u gatehouse.User
	err := scanUser(s.db.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE username = ?"), username), &u)
	return u, s.notFound(err)
}

// userWhere is the WHERE clause selecting the users f matches.
func userWhere(f gatehouse.UserFilter) (string, []any) {
	var conds []string
	var args []any
	if f.ID != 0 {
		conds = append(conds, "id = ?")
		args = append(args, f.ID)
	}
	if f.Username != "" {
		conds = append(conds, "username = ?")
		args = append(args, f.Username)
	}
	if f.Email != "" {
		conds = append(conds, "email = ?")
		args = append(args, f.Email)
	}
	if f.Active != nil {
		conds = append(conds, "is_active = ?")
		args = append(args, *f.Active)
	}
	if f.Staff != nil {
		conds = append(conds, "is_staff = ?")
		args = append(args, *f.Staff)
	}
	if f.Search != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(f.Search)) + "%"
		var ors []string
		for _, col := range []string{"username", "email", "first_name", "last_name"} {
			ors = append(ors, "LOWER("+col+`) LIKE ? ESCAPE '\'`)
			args = append(args, like)
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// CountUsers counts the users f selects.
func (s *Store) CountUsers(ctx context.Context, f gatehouse.UserFilter) (int, error) {
	where, args := userWhere(f)
	var n int
	err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM users"+where), args...).Scan(&n)
	return n, err
}

// ListUsers returns up to limit users f selects, by ascending id, skipping offset.
func (s *Store) ListUsers(ctx context.Context, f gatehouse.UserFilter, offset, limit int) ([]gatehouse.User, error) {
	where, args := userWhere(f)
	args = append(args, limit, offset)
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+userCols+" FROM users"+where+" ORDER BY id LIMIT ? OFFSET ?"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.User
	for rows.Next() {
		var u gatehouse.User
		if err := scanUser(rows, &u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser reads the user, applies fn and writes it back in one
// transaction. fn returns what else must happen.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*gatehouse.User) (gatehouse.UserChange, error)) (gatehouse.User, error) {
	var u gatehouse.User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := scanUser(tx.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE id = ?"+s.forUpdate()), id), &u); err != nil {
			return s.notFound(err)
		}
		ch, err := fn(&u)
		if err != nil {
			return err
		}
		if ch.RevokeCredentials {
			now := ch.At
			if now.IsZero() {
				return errors.New("store: UserChange.At is required to revoke credentials")
			}
			if now = now.Truncate(time.Microsecond); now.After(u.AuthEpoch) {
				u.AuthEpoch = now
			}
			for _, q := range []string{
				"DELETE FROM drf_tokens WHERE user_id = ?",
				"DELETE FROM knox_tokens WHERE user_id = ?",
				"UPDATE oauth_refresh_tokens SET revoked = ? WHERE user_id = ? AND revoked IS NULL",
				"DELETE FROM oauth_access_tokens WHERE user_id = ?",
				"UPDATE jwt_tokens SET blacklisted_at = ? WHERE user_id = ? AND blacklisted_at IS NULL",
			} {
				args := []any{u.ID}
				if strings.Count(q, "?") == 2 {
					args = []any{micros(now), u.ID}
				}
				if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE users SET username = ?, email = ?, first_name = ?, last_name = ?,
			password = ?, is_active = ?, is_staff = ?, is_superuser = ?, last_login = ?, auth_epoch = ? WHERE id = ?`),
			u.Username, u.Email, u.FirstName, u.LastName, u.Password, u.IsActive, u.IsStaff, u.IsSuperuser,
			nullMicros(u.LastLogin), epochMicros(u.AuthEpoch), u.ID)
		if err != nil {
			return s.conflict(err)
		}
		if ch.Groups != nil {
			if err := s.replaceLinks(ctx, tx, userGroups, u.ID, *ch.Groups); err != nil {
				return err
			}
		}
		if ch.Permissions != nil {
			return s.replaceLinks(ctx, tx, userPermissions, u.ID, *ch.Permissions)
		}
		return nil
	})
	return u, err
}

// SetPasswordHash replaces a user's stored hash without revoking anything
// (the upgrade of an old hash after a successful login). It only writes when
// the stored hash is still old, so a concurrent password change wins.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, old, new string) error {
	_, err := s.exec(ctx, "UPDATE users SET password = ? WHERE id = ? AND password = ?", new, id, old)
	return err
}

// TouchLogin sets last_login.
func (s *Store) TouchLogin(ctx context.Context, id int64, at time.Time) error {
	_, err := s.exec(ctx, "UPDATE users SET last_login = ? WHERE id = ?", micros(at), id)
	return err
}

// DeleteUser removes a user and, by cascade, everything they own.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM users WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}
