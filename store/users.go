package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
)

const userCols = "id, username, email, first_name, last_name, password, is_active, is_staff, is_superuser, date_joined, last_login, auth_epoch, django_key"

type rowScanner interface{ Scan(...any) error }

// prefixed scans a row whose first columns go to dest and the rest to
// what its Scan is given: another table's columns ahead of a scanner's.
type prefixed struct {
	r    rowScanner
	dest []any
}

func (p prefixed) Scan(d ...any) error { return p.r.Scan(append(p.dest, d...)...) }

// qualified prefixes each column of cols (a comma-separated list) with
// table and a dot.
func qualified(table, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = table + "." + c
	}
	return strings.Join(parts, ", ")
}

func scanUser(r rowScanner, u *gatehouse.User) error {
	var joined, epoch int64
	var last sql.NullInt64
	var key sql.NullString
	if err := r.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Password,
		&u.IsActive, &u.IsStaff, &u.IsSuperuser, &joined, &last, &epoch, &key); err != nil {
		return err
	}
	u.DateJoined = fromMicros(joined)
	u.LastLogin = fromNullMicros(last)
	u.AuthEpoch = fromEpoch(epoch)
	u.DjangoKey = key.String
	return nil
}

// CreateUser inserts u (ignoring u.ID unless keepID) and, when tok is not
// nil, its token, in one transaction. It sets u.ID and tok.UserID/ID.
// A taken username gives gatehouse.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *gatehouse.User, tok *gatehouse.Token) (err error) {
	defer s.classified(&err)
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
		u.IsSuperuser, micros(u.DateJoined), nullMicros(u.LastLogin), epochMicros(u.AuthEpoch), nullString(u.DjangoKey)}
	cols := "username, email, first_name, last_name, password, is_active, is_staff, is_superuser, date_joined, last_login, auth_epoch, django_key"
	marks := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
	if keepID {
		cols = "id, " + cols
		marks = "?, " + marks
		args = append([]any{u.ID}, args...)
	}
	err := tx.QueryRowContext(ctx, s.q("INSERT INTO users ("+cols+") VALUES ("+marks+") RETURNING id"), args...).Scan(&u.ID)
	return s.conflict(err)
}

// User returns the user with id, or gatehouse.ErrNotFound.
func (s *Store) User(ctx context.Context, id int64) (_ gatehouse.User, err error) {
	defer s.classified(&err)
	var u gatehouse.User
	err = scanUser(s.db.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE id = ?"), id), &u)
	return u, s.notFound(err)
}

// UserByUsername returns the user with exactly that username (case-sensitive).
func (s *Store) UserByUsername(ctx context.Context, username string) (_ gatehouse.User, err error) {
	defer s.classified(&err)
	var u gatehouse.User
	err = scanUser(s.db.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE username = ?"), username), &u)
	return u, s.notFound(err)
}

// UserIDByDjangoKey returns the id of the user loaded with that Django
// primary key (gatehouse.User.DjangoKey).
func (s *Store) UserIDByDjangoKey(ctx context.Context, key string) (_ int64, err error) {
	defer s.classified(&err)
	var id int64
	err = s.db.QueryRowContext(ctx, s.q("SELECT id FROM users WHERE django_key = ?"), key).Scan(&id)
	return id, s.notFound(err)
}

// How a search reads the trigram index on SQLite (store/usersearch.go);
// PostgreSQL's planner makes that choice itself with its statistics.
const (
	searchScan   = iota // LIKE alone: a short term, PostgreSQL, or a term so common that reading in order finds a page at once
	searchFilter        // users.id IN (the index's rows): a term the index finds in few rows
	searchJoin          // the index's rows joined to users, in rowid order: a count that stops at its limit
)

// searchProbe is how many rows of the trigram index make a term common on
// SQLite: below it ListUsers reads the index's rows and sorts them; from
// it on it reads users in the page's order, where at least one row in
// 1,000,000/searchProbe matches, so a page of 25 is found within some
// 25,000 rows.
const searchProbe = 1000

// usesTrigrams reports whether the SQLite trigram index can find term: a
// phrase of fewer than three characters has no trigram.
func (s *Store) usesTrigrams(term string) bool {
	return !s.d.dollar && utf8.RuneCountInString(term) >= 3
}

// ftsPhrase is term as an FTS5 phrase: quoted, so that nothing in it is
// query syntax.
func ftsPhrase(term string) string {
	return `"` + strings.ReplaceAll(strings.ToLower(term), `"`, `""`) + `"`
}

// searchFor chooses how a search for f.Search reads the users on SQLite:
// through the trigram index's rows when it holds fewer than searchProbe
// rows with the term. A common term is read in order (ListUsers: a page
// is found at once); its bounded count (upTo) reads the index's rows in
// rowid order when the term is all f asks for, else the rows the other
// filters' indexes select (a common term among the staff: the index
// would give the rows of every user before the staff's count is found).
func (s *Store) searchFor(ctx context.Context, f gatehouse.UserFilter, upTo bool) (int, error) {
	if f.Search == "" || !s.usesTrigrams(f.Search) {
		return searchScan, nil
	}
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM users_search WHERE users_search MATCH ? LIMIT ?)",
		ftsPhrase(f.Search), searchProbe).Scan(&n)
	switch {
	case err != nil:
		return searchScan, err
	case n < searchProbe:
		return searchFilter, nil
	case upTo && f == gatehouse.UserFilter{Search: f.Search, Order: f.Order}:
		return searchJoin, nil
	}
	return searchScan, nil
}

// userFrom is the FROM and WHERE clause selecting the users f matches,
// reading the search's index as via says. Every column is named with its
// table, as users_search has columns of the same names.
func (s *Store) userFrom(f gatehouse.UserFilter, via int) (string, []any) {
	from := " FROM users"
	var conds []string
	var args []any
	if f.Search != "" && s.usesTrigrams(f.Search) {
		switch via {
		case searchFilter:
			conds = append(conds, "users.id IN (SELECT rowid FROM users_search WHERE users_search MATCH ?)")
			args = append(args, ftsPhrase(f.Search))
		case searchJoin:
			from = " FROM users_search JOIN users ON users.id = users_search.rowid"
			conds = append(conds, "users_search MATCH ?")
			args = append(args, ftsPhrase(f.Search))
		}
	}
	if f.ID != 0 {
		conds = append(conds, "users.id = ?")
		args = append(args, f.ID)
	}
	if f.Username != "" {
		conds = append(conds, "users.username = ?")
		args = append(args, f.Username)
	}
	if f.Email != "" {
		conds = append(conds, "users.email = ?")
		args = append(args, f.Email)
	}
	for _, b := range []struct {
		col string
		v   *bool
	}{{"is_active", f.Active}, {"is_staff", f.Staff}, {"is_superuser", f.Superuser}} {
		if b.v != nil {
			conds = append(conds, "users."+b.col+" = ?")
			args = append(args, *b.v)
		}
	}
	if f.GroupID != 0 {
		conds = append(conds, "users.id IN (SELECT user_id FROM user_groups WHERE group_id = ?)")
		args = append(args, f.GroupID)
	}
	if f.Search != "" {
		cond, a := s.userSearch(f.Search)
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if len(conds) == 0 {
		return from, nil
	}
	return from + " WHERE " + strings.Join(conds, " AND "), args
}

// userSearch is the condition of UserFilter.Search: the user's username,
// email, first or last name contains the lowered term ignoring ASCII case
// (the dialect's likeCol), with % and _ taken literally. It decides every
// match: the trigram indexes only narrow the rows it is checked on (on
// SQLite, users_search finds a superset, as it folds case beyond ASCII;
// PostgreSQL's planner uses the pg_trgm index of this very LIKE, when
// migration 00019 could build it).
func (s *Store) userSearch(term string) (string, []any) {
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(term)) + "%"
	// A term of fewer than three characters has no trigram: PostgreSQL
	// would read the whole pg_trgm index for it (4 s for "jo" at a million
	// users, where reading the table in order finds a page at once), so
	// it is asked in a form the index cannot serve, with the same matches.
	short := s.d.dollar && utf8.RuneCountInString(term) < 3
	var ors []string
	var args []any
	for _, col := range []string{"username", "email", "first_name", "last_name"} {
		if short {
			ors = append(ors, "strpos("+s.d.likeCol("users."+col)+", ?) > 0")
			args = append(args, strings.ToLower(term))
			continue
		}
		ors = append(ors, s.d.likeCol("users."+col)+` LIKE ? ESCAPE '\'`)
		args = append(args, like)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// userOrders is the ORDER BY of each UserFilter.Order, ascending; every
// one ends in a unique column, so pages never overlap. Migration 00019
// indexes each in this very form, the descending order read backwards.
// A never-set last_login sorts after every time on both backends
// (PostgreSQL's NULLS LAST, which SQLite's ascending order puts first).
var userOrders = map[string][]string{
	"id":          {"id"},
	"username":    {"username"}, // unique
	"email":       {"email", "id"},
	"date_joined": {"date_joined", "id"},
	"last_login":  {"(last_login IS NULL)", "last_login", "id"},
}

// userOrderBy is the ORDER BY clause of order (UserFilter.Order), or
// gatehouse.ValidUserOrder's error.
func userOrderBy(order string) (string, error) {
	if err := gatehouse.ValidUserOrder(order); err != nil {
		return "", err
	}
	name, desc := strings.CutPrefix(order, "-")
	if name == "" {
		name = "id"
	}
	terms := slices.Clone(userOrders[name])
	if desc {
		for i := range terms {
			terms[i] += " DESC"
		}
	}
	return " ORDER BY " + strings.Join(terms, ", "), nil
}

// CountUsers counts the users f selects.
func (s *Store) CountUsers(ctx context.Context, f gatehouse.UserFilter) (_ int, err error) {
	defer s.classified(&err)
	if err := gatehouse.ValidUserOrder(f.Order); err != nil {
		return 0, err
	}
	from, args := s.userFrom(f, searchFilter)
	var n int
	err = s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*)"+from), args...).Scan(&n)
	return n, err
}

// CountUsersUpTo counts the users f selects, stopping at limit: the
// subquery's LIMIT ends the scan there (searchFor says how a search reads
// on SQLite).
func (s *Store) CountUsersUpTo(ctx context.Context, f gatehouse.UserFilter, limit int) (_ int, err error) {
	defer s.classified(&err)
	if err := gatehouse.ValidUserOrder(f.Order); err != nil {
		return 0, err
	}
	if limit < 1 {
		return 0, nil
	}
	via, err := s.searchFor(ctx, f, true)
	if err != nil {
		return 0, err
	}
	from, args := s.userFrom(f, via)
	var n int
	err = s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM (SELECT 1"+from+" LIMIT ?) capped"), append(args, limit)...).Scan(&n)
	return n, err
}

// ListUsers returns up to limit users f selects, in f.Order, skipping
// offset.
func (s *Store) ListUsers(ctx context.Context, f gatehouse.UserFilter, offset, limit int) (_ []gatehouse.User, err error) {
	defer s.classified(&err)
	order, err := userOrderBy(f.Order)
	if err != nil {
		return nil, err
	}
	via, err := s.searchFor(ctx, f, false)
	if err != nil {
		return nil, err
	}
	from, args := s.userFrom(f, via)
	args = append(args, limit, offset)
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+userColsOf("users")+from+order+" LIMIT ? OFFSET ?"), args...)
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

// userColsOf is userCols, each named with table.
func userColsOf(table string) string {
	return table + "." + strings.ReplaceAll(userCols, ", ", ", "+table+".")
}

// UpdateUser reads the user, applies fn and writes it back in one
// transaction. fn returns what else must happen.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*gatehouse.User) (gatehouse.UserChange, error)) (_ gatehouse.User, err error) {
	defer s.classified(&err)
	var u gatehouse.User
	err = s.tx(ctx, func(tx *sql.Tx) error {
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
func (s *Store) SetPasswordHash(ctx context.Context, id int64, old, new string) (err error) {
	defer s.classified(&err)
	_, err = s.exec(ctx, "UPDATE users SET password = ? WHERE id = ? AND password = ?", new, id, old)
	return err
}

// TouchLogin sets last_login.
func (s *Store) TouchLogin(ctx context.Context, id int64, at time.Time) (err error) {
	defer s.classified(&err)
	_, err = s.exec(ctx, "UPDATE users SET last_login = ? WHERE id = ?", micros(at), id)
	return err
}

// DeleteUser removes a user and, by cascade, everything they own.
func (s *Store) DeleteUser(ctx context.Context, id int64) (err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM users WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}
