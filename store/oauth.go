package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// OAuth2 storage: applications, authorization codes, access and refresh
// tokens. Credentials are stored as hashes only; every read-modify-write
// (redeeming a code, rotating a refresh token, revoking a family) is one
// transaction, and the row it changes is locked (SQLite: the immediate
// transaction; PostgreSQL: SELECT ... FOR UPDATE), so replicas racing on
// one token give exactly one winner.

const appCols = `id, client_id, secret_hash, client_type, grant_types, redirect_uris, name, user_id,
	skip_authorization, default_scopes, resource_server, algorithm, created, updated, post_logout_redirect_uris, allowed_origins, token_format`

func scanApp(r rowScanner, a *gatehouse.Application) error {
	var grants, uris, scopes, logoutURIs, origins string
	var owner sql.NullInt64
	var created, updated int64
	if err := r.Scan(&a.ID, &a.ClientID, &a.SecretHash, &a.ClientType, &grants, &uris, &a.Name, &owner,
		&a.SkipAuthorization, &scopes, &a.ResourceServer, &a.Algorithm, &created, &updated, &logoutURIs, &origins, &a.TokenFormat); err != nil {
		return err
	}
	a.PostLogoutRedirectURIs = strings.Fields(logoutURIs)
	a.AllowedOrigins = strings.Fields(origins)
	a.GrantTypes = strings.Fields(grants)
	a.RedirectURIs = strings.Fields(uris)
	a.DefaultScopes = strings.Fields(scopes)
	if owner.Valid {
		id := owner.Int64
		a.UserID = &id
	}
	if len(a.SecretHash) == 0 {
		a.SecretHash = nil
	}
	a.Created = fromMicros(created)
	a.Updated = fromMicros(updated)
	return nil
}

func nullID(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

func fromNullID(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	id := v.Int64
	return &id
}

func (s *Store) insertApplication(ctx context.Context, tx *sql.Tx, a *gatehouse.Application, keepID bool) error {
	now := s.now()
	if a.Created.IsZero() {
		a.Created = now
	}
	if a.Updated.IsZero() {
		a.Updated = a.Created
	}
	cols := `client_id, secret_hash, client_type, grant_types, redirect_uris, name, user_id,
		skip_authorization, default_scopes, resource_server, algorithm, created, updated, post_logout_redirect_uris, allowed_origins, token_format`
	marks := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
	args := []any{a.ClientID, a.SecretHash, a.ClientType, strings.Join(a.GrantTypes, " "), strings.Join(a.RedirectURIs, " "),
		a.Name, nullID(a.UserID), a.SkipAuthorization, strings.Join(a.DefaultScopes, " "), a.ResourceServer, a.Algorithm,
		micros(a.Created), micros(a.Updated), strings.Join(a.PostLogoutRedirectURIs, " "), strings.Join(a.AllowedOrigins, " "), a.TokenFormat}
	if keepID {
		cols = "id, " + cols
		marks = "?, " + marks
		args = append([]any{a.ID}, args...)
	}
	err := tx.QueryRowContext(ctx, s.q("INSERT INTO oauth_applications ("+cols+") VALUES ("+marks+") RETURNING id"), args...).Scan(&a.ID)
	return s.conflict(err)
}

// CreateApplication stores a and sets a.ID. A client_id already taken
// gives gatehouse.ErrConflict.
func (s *Store) CreateApplication(ctx context.Context, a *gatehouse.Application) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertApplication(ctx, tx, a, false) })
}

// Application returns the application with that client_id, or gatehouse.ErrNotFound.
func (s *Store) Application(ctx context.Context, clientID string) (_ gatehouse.Application, err error) {
	defer s.classified(&err)
	var a gatehouse.Application
	err = scanApp(s.queryRow(ctx, nil, "SELECT "+appCols+" FROM oauth_applications WHERE client_id = ?", clientID), &a)
	return a, s.notFound(err)
}

// ApplicationByID returns the application with that id, or gatehouse.ErrNotFound.
func (s *Store) ApplicationByID(ctx context.Context, id int64) (_ gatehouse.Application, err error) {
	defer s.classified(&err)
	var a gatehouse.Application
	err = scanApp(s.db.QueryRowContext(ctx, s.q("SELECT "+appCols+" FROM oauth_applications WHERE id = ?"), id), &a)
	return a, s.notFound(err)
}

// Applications lists every application by id.
func (s *Store) Applications(ctx context.Context) (_ []gatehouse.Application, err error) {
	defer s.classified(&err)
	rows, err := s.db.QueryContext(ctx, "SELECT "+appCols+" FROM oauth_applications ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.Application{}
	for rows.Next() {
		var a gatehouse.Application
		if err := scanApp(rows, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetAllowedOrigins replaces the allowed origins of the application with
// that client_id and sets its Updated time to updated; gatehouse.ErrNotFound
// when there is none.
func (s *Store) SetAllowedOrigins(ctx context.Context, clientID string, origins []string, updated time.Time) (err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "UPDATE oauth_applications SET allowed_origins = ?, updated = ? WHERE client_id = ?",
		strings.Join(origins, " "), micros(updated), clientID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// UpdateApplication writes a's changeable fields to the application with
// its client id; gatehouse.ErrNotFound when there is none.
func (s *Store) UpdateApplication(ctx context.Context, a *gatehouse.Application) (err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, `UPDATE oauth_applications SET name = ?, secret_hash = ?, client_type = ?, grant_types = ?, redirect_uris = ?,
		post_logout_redirect_uris = ?, skip_authorization = ?, default_scopes = ?, resource_server = ?, allowed_origins = ?, token_format = ?,
		updated = ? WHERE client_id = ?`,
		a.Name, a.SecretHash, a.ClientType, strings.Join(a.GrantTypes, " "), strings.Join(a.RedirectURIs, " "),
		strings.Join(a.PostLogoutRedirectURIs, " "), a.SkipAuthorization, strings.Join(a.DefaultScopes, " "), a.ResourceServer,
		strings.Join(a.AllowedOrigins, " "), a.TokenFormat, micros(a.Updated), a.ClientID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// ReplaceSecretHash sets the application's secret hash to new where it is
// still old; gatehouse.ErrNotFound when no row matched.
func (s *Store) ReplaceSecretHash(ctx context.Context, clientID string, old, new []byte) (err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "UPDATE oauth_applications SET secret_hash = ? WHERE client_id = ? AND secret_hash = ?", new, clientID, old)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// DeleteApplication removes an application and, by cascade, its codes and
// tokens; gatehouse.ErrNotFound when there is none.
func (s *Store) DeleteApplication(ctx context.Context, clientID string) (err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM oauth_applications WHERE client_id = ?", clientID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// --- tokens

// insertAccess stores t, inside tx when tx is not nil.
func (s *Store) insertAccess(ctx context.Context, tx *sql.Tx, t *gatehouse.AccessToken) error {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	id, err := s.insertID(ctx, tx, `INSERT INTO oauth_access_tokens (token_hash, user_id, application_id, scope, family, grant_id, created, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, nullID(t.UserID), t.ApplicationID, t.Scope, t.Family, nullID(t.GrantID), micros(t.Created), micros(t.Expires))
	if err != nil {
		return s.conflict(err)
	}
	t.ID = id
	return nil
}

// insertID runs query, an INSERT of one row without RETURNING, inside tx
// when tx is not nil, and returns the row's id. Inside a SQLite
// transaction (a rotation's, a code's redemption) it takes the id from the
// statement's result: SQLite runs RETURNING by collecting the rows in a
// temporary table, and the driver reads them as a result set, looking up
// its columns' names and types anew each time (docs/performance.md,
// fifteenth round). Otherwise RETURNING id: PostgreSQL's driver has no
// last insert id, and a lone SQLite insert outside a transaction (an
// access token retried alone after its group failed) is rare.
func (s *Store) insertID(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	var id int64
	if s.d.name == "postgres" || tx == nil {
		err := s.queryRow(ctx, tx, query+" RETURNING id", args...).Scan(&id)
		return id, err
	}
	res, err := s.execTx(ctx, tx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (s *Store) insertRefresh(ctx context.Context, tx *sql.Tx, t *gatehouse.RefreshToken, familyExpires *time.Time) error {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	id, err := s.insertID(ctx, tx, `INSERT INTO oauth_refresh_tokens (token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, revoked, family_expires, auth_time, secret)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, nullID(t.AccessTokenID), nullID(t.UserID), t.ApplicationID, t.Scope, t.Family, nullID(t.GrantID),
		micros(t.Created), nullMicros(t.Expires), nullMicros(t.Revoked), nullMicros(familyExpires), nullMicros(t.AuthTime), t.Secret)
	if err != nil {
		return s.conflict(err)
	}
	t.ID = id
	return nil
}

// insertPair stores an access token and, when rt is not nil, its refresh
// token pointing at it.
func (s *Store) insertPair(ctx context.Context, tx *sql.Tx, at *gatehouse.AccessToken, rt *gatehouse.RefreshToken, familyExpires *time.Time) error {
	if err := s.insertAccess(ctx, tx, at); err != nil {
		return err
	}
	if rt == nil {
		return nil
	}
	rt.AccessTokenID = &at.ID
	return s.insertRefresh(ctx, tx, rt, familyExpires)
}

// CreateTokens stores a new access token and, unless rt is nil, its refresh
// token, in one transaction. familyExpires is the absolute deadline of the
// refresh family (nil: none).
func (s *Store) CreateTokens(ctx context.Context, at *gatehouse.AccessToken, rt *gatehouse.RefreshToken, familyExpires *time.Time) (err error) {
	defer s.classified(&err)
	if rt == nil {
		return s.access.insert(ctx, at)
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertPair(ctx, tx, at, rt, familyExpires) })
}

// AccessTokenByHash returns the access token with that hash, its user and
// client in one query, or gatehouse.ErrNotFound. Expiry is the caller's to check.
//
// hash is the token's key (secret.TokenKey); a key not found is looked up
// again under its SHA-256 part (tokenKeys).
func (s *Store) AccessTokenByHash(ctx context.Context, hash []byte) (g gatehouse.AccessTokenInfo, err error) {
	defer s.classified(&err)
	for _, k := range tokenKeys(hash) {
		if g, err = s.accessTokenByKey(ctx, k); !errors.Is(err, gatehouse.ErrNotFound) {
			break
		}
	}
	return g, err
}

// tokenKeys lists the keys an OAuth access or refresh token with the key
// hash (secret.TokenKey) may be stored under, in the order to try them:
// hash, then, unless hash is that form already, its SHA-256 part
// (secret.KeyDigest), the key of the tokens stored before keys began with
// the token's first characters. Every lookup of those tokens that misses
// under one tries the next, so that tokens issued before keep working
// (refresh tokens need not expire).
func tokenKeys(hash []byte) [][]byte {
	if d := secret.KeyDigest(hash); len(d) < len(hash) {
		return [][]byte{hash, d}
	}
	return [][]byte{hash}
}

func (s *Store) accessTokenByKey(ctx context.Context, hash []byte) (gatehouse.AccessTokenInfo, error) {
	var g gatehouse.AccessTokenInfo
	t := &g.Token
	var uid, gid sql.NullInt64
	var created, expires int64
	var u joinedUser
	err := s.queryRow(ctx, nil, accessByKeyQuery, hash).Scan(append([]any{
		&t.ID, &t.Hash, &uid, &t.ApplicationID, &t.Scope, &t.Family, &gid, &created, &expires, &g.ClientID}, u.dest()...)...)
	if err != nil {
		return g, s.notFound(err)
	}
	t.UserID, t.GrantID = fromNullID(uid), fromNullID(gid)
	t.Created, t.Expires = fromMicros(created), fromMicros(expires)
	g.User = u.user()
	return g, nil
}

var accessByKeyQuery = `SELECT t.id, t.token_hash, t.user_id, t.application_id, t.scope, t.family, t.grant_id, t.created, t.expires,
	a.client_id, ` + qualified("u", userCols) + `
	FROM oauth_access_tokens t JOIN oauth_applications a ON a.id = t.application_id
	LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`

// joinedUser receives userCols from the nullable side of a LEFT JOIN.
type joinedUser struct {
	id                            sql.NullInt64
	username, email, first, lastN sql.NullString
	pw                            sql.NullString
	active, staff, super          sql.NullBool
	joined, last, epoch           sql.NullInt64
	djangoKey                     sql.NullString
}

// dest is the scan destinations of userCols, in their order.
func (u *joinedUser) dest() []any {
	return []any{&u.id, &u.username, &u.email, &u.first, &u.lastN, &u.pw, &u.active, &u.staff, &u.super, &u.joined, &u.last, &u.epoch, &u.djangoKey}
}

// user is the user scanned, nil when the join found none.
func (u *joinedUser) user() *gatehouse.User {
	if !u.id.Valid {
		return nil
	}
	return &gatehouse.User{ID: u.id.Int64, Username: u.username.String, Email: u.email.String, FirstName: u.first.String,
		LastName: u.lastN.String, Password: u.pw.String, IsActive: u.active.Bool, IsStaff: u.staff.Bool, IsSuperuser: u.super.Bool,
		DateJoined: fromMicros(u.joined.Int64), LastLogin: fromNullMicros(u.last), AuthEpoch: fromEpoch(u.epoch.Int64),
		DjangoKey: u.djangoKey.String}
}

const refreshCols = "id, token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, revoked, family_expires, auth_time, secret, previous_secret, rotated, previous_expires"

// inPlace is what the row of a split refresh token holds besides DOT's
// columns (migration 00025): the SHA-256 of its current token and of the
// one before, when that one was rotated and when it expires. secret is
// nil on a row of one token.
type inPlace struct {
	secret, previous []byte
	rotated          sql.NullInt64
	// previousExpires is the previous token's own expiry; NULL when it
	// has none.
	previousExpires sql.NullInt64
}

func scanRefresh(r rowScanner, t *gatehouse.RefreshToken, familyExpires **time.Time, ip *inPlace) error {
	var at, uid, gid, exp, rev, fexp, authTime sql.NullInt64
	var created int64
	if err := r.Scan(&t.ID, &t.Hash, &at, &uid, &t.ApplicationID, &t.Scope, &t.Family, &gid, &created, &exp, &rev, &fexp, &authTime,
		&ip.secret, &ip.previous, &ip.rotated, &ip.previousExpires); err != nil {
		return err
	}
	t.AuthTime = fromNullMicros(authTime)
	t.AccessTokenID, t.UserID, t.GrantID = fromNullID(at), fromNullID(uid), fromNullID(gid)
	t.Created = fromMicros(created)
	t.Expires, t.Revoked = fromNullMicros(exp), fromNullMicros(rev)
	t.Secret = nil
	if familyExpires != nil {
		*familyExpires = fromNullMicros(fexp)
	}
	return nil
}

// staleRotation is when a split token older than its row's previous one
// is taken to have been rotated: long enough ago for no grace period.
var staleRotation = time.Unix(0, 0).UTC()

// present makes t, read with ip, the token presented with verifier (the
// SHA-256 of the token; nil when the row was found under a whole token's
// key), and reports whether it is that row's. A row of one token is its
// token. On a split token's row the current token is the row (t.Secret
// set); the one before it and any older one of the row (a verifier that
// is not the current one's under the row's selector, which only a token
// of the row gives away) are rotated ones: revoked when the row rotated
// away from them (long ago for an older one), and holding no access
// token, so that their replay is a reuse and their revocation changes
// nothing.
func (ip *inPlace) present(t *gatehouse.RefreshToken, verifier []byte) bool {
	switch {
	case ip.secret == nil:
		return verifier == nil
	case verifier == nil:
		return false
	case secret.Equal(verifier, ip.secret):
		t.Secret = ip.secret
		return true
	}
	rotated := staleRotation
	if ip.previous != nil && ip.rotated.Valid && secret.Equal(verifier, ip.previous) {
		rotated = fromMicros(ip.rotated.Int64)
		// The previous token expires when it did, not when the row's
		// current token (issued later) does: within the grace period an
		// expired one is refused, as it was in a row of its own.
		t.Expires = fromNullMicros(ip.previousExpires)
	}
	if t.Revoked == nil || rotated.Before(*t.Revoked) {
		t.Revoked = &rotated
	}
	t.AccessTokenID = nil
	return true
}

// refreshLookup is one key a refresh token is looked up under, with the
// token's SHA-256 when the key is its selector's (inPlace.present).
type refreshLookup struct{ key, verifier []byte }

// refreshLookups are the keys a refresh token's RefreshKey (secret.Selectors) is
// looked up under, in turn: a split token's selector key, then its whole
// key and that key's digest (a token of the same shape imported from
// Django or stored before); any other token's keys (tokenKeys).
func refreshLookups(hash []byte) []refreshLookup {
	if sel, ver, whole, ok := secret.SplitRef(hash); ok {
		return []refreshLookup{{sel, ver}, {whole, nil}, {ver, nil}}
	}
	keys := tokenKeys(hash)
	out := make([]refreshLookup, len(keys))
	for i, k := range keys {
		out[i].key = k
	}
	return out
}

// RefreshTokenByHash returns a refresh token, or gatehouse.ErrNotFound
// (hash: its secret.Selectors.RefreshKey).
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (t gatehouse.RefreshToken, err error) {
	defer s.classified(&err)
	for _, l := range refreshLookups(hash) {
		var ip inPlace
		err = scanRefresh(s.queryRow(ctx, nil, "SELECT "+refreshCols+" FROM oauth_refresh_tokens WHERE token_hash = ?", l.key), &t, nil, &ip)
		if err == nil && !ip.present(&t, l.verifier) {
			err = sql.ErrNoRows
		}
		if !errors.Is(err, sql.ErrNoRows) {
			break
		}
	}
	if err != nil {
		t = gatehouse.RefreshToken{}
	}
	return t, s.notFound(err)
}

// lockRefreshQuery is lockRefresh's statement on SQLite and on PostgreSQL
// (which locks the token's row only: FOR UPDATE cannot lock the nullable
// side of an outer join).
var lockRefreshQuery = func() [2]string {
	q := "SELECT " + qualified("r", refreshCols) + ", (SELECT a.token_hash FROM oauth_access_tokens a WHERE a.id = r.access_token_id), " +
		qualified("u", userCols) + " FROM oauth_refresh_tokens r LEFT JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?"
	return [2]string{q, q + " FOR UPDATE OF r"}
}()

// lockRefresh reads the refresh token with that key inside tx (tokenKeys),
// locked until tx ends, with its user in the same statement (nil when it
// has none, or none is stored: a rotation's reads are one statement in the
// writer's transaction), and sets access to the key of its access token
// (nil when it has none); sql.ErrNoRows when there is none.
func (s *Store) lockRefresh(ctx context.Context, tx *sql.Tx, hash []byte, t *gatehouse.RefreshToken, familyExpires **time.Time, access *[]byte) (*gatehouse.User, error) {
	q := lockRefreshQuery[0]
	if s.d.name == "postgres" {
		q = lockRefreshQuery[1]
	}
	var u joinedUser
	var err error
	for _, l := range refreshLookups(hash) {
		var ip inPlace
		err = scanRefresh(scanWith{s.queryRow(ctx, tx, q, l.key), append([]any{access}, u.dest()...)}, t, familyExpires, &ip)
		if err == nil && !ip.present(t, l.verifier) {
			err = sql.ErrNoRows
		}
		if err == nil && t.AccessTokenID == nil {
			*access = nil // a rotated token of a split row holds none
		}
		if !errors.Is(err, sql.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return u.user(), nil
}

// scanWith scans a row into the destinations its caller names, then into
// more.
type scanWith struct {
	r    rowScanner
	more []any
}

func (w scanWith) Scan(dest ...any) error { return w.r.Scan(append(dest, w.more...)...) }

// forUpdate locks the selected row until the transaction ends (PostgreSQL;
// SQLite transactions here are immediate and so already exclusive).
// forUpdateOf is forUpdate locking only the rows of table (an alias) of
// a join.
func (s *Store) forUpdateOf(table string) string {
	if s.d.name == "postgres" {
		return " FOR UPDATE OF " + table
	}
	return ""
}

func (s *Store) forUpdate() string {
	if s.d.name == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}

// deleteAccessWhere deletes the access tokens cond selects and returns their hashes.
func (s *Store) deleteAccessWhere(ctx context.Context, tx *sql.Tx, cond string, args ...any) (gatehouse.RevokedAccess, error) {
	rows, err := tx.QueryContext(ctx, s.q("SELECT token_hash FROM oauth_access_tokens WHERE "+cond), args...)
	if err != nil {
		return nil, err
	}
	var out gatehouse.RevokedAccess
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	_, err = tx.ExecContext(ctx, s.q("DELETE FROM oauth_access_tokens WHERE "+cond), args...)
	return out, err
}

// deleteAccess deletes the access token with that id, returning its hash
// (none when it is gone already): one prepared statement, for the
// rotations.
func (s *Store) deleteAccess(ctx context.Context, tx *sql.Tx, id int64) (gatehouse.RevokedAccess, error) {
	var h []byte
	err := s.queryRow(ctx, tx, "DELETE FROM oauth_access_tokens WHERE id = ? RETURNING token_hash", id).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return gatehouse.RevokedAccess{h}, nil
}

// revokeFamily revokes every refresh token of a family and deletes its
// access tokens: two statements whatever the family's size.
func (s *Store) revokeFamily(ctx context.Context, tx *sql.Tx, family string, now time.Time) (gatehouse.RevokedAccess, error) {
	if family == "" {
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, s.q("UPDATE oauth_refresh_tokens SET revoked = ?"+endFamily+" WHERE family = ? AND revoked IS NULL"),
		micros(now), micros(now), micros(now), family); err != nil {
		return nil, err
	}
	return s.deleteAccessWhere(ctx, tx, "family = ? AND family <> ''", family)
}

// endFamily, after "SET revoked = ?" (and given now twice more), also ends
// the row's family lifetime at now: a refresh token revoked otherwise than
// by its rotation (a replay's family revocation, revoke_token, an
// administrator, a replayed code) is refused by its family's end before
// the refresh grace period is looked at, which accepts again only a token
// that was rotated (found by a multi-replica pass: with a grace period, a
// revoked refresh token still refreshed within it).
const endFamily = ", family_expires = CASE WHEN family_expires IS NULL OR family_expires > ? THEN ? ELSE family_expires END"

// RevokeAccessToken deletes the access token with that hash if it was
// issued to appID (any application when appID is 0). It reports whether
// one was deleted (hash: as for AccessTokenByHash).
func (s *Store) RevokeAccessToken(ctx context.Context, hash []byte, appID int64) (_ bool, err error) {
	defer s.classified(&err)
	q := "DELETE FROM oauth_access_tokens WHERE token_hash = ? AND (application_id = ? OR ? = 0)"
	for _, k := range tokenKeys(hash) {
		res, err := s.exec(ctx, q, k, appID, appID)
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// RevokeRefreshToken marks the refresh token with that hash revoked and
// deletes its access token, if it was issued to appID (any when 0). It
// reports whether a refresh token was found (hash: as for
// AccessTokenByHash).
func (s *Store) RevokeRefreshToken(ctx context.Context, hash []byte, appID int64, now time.Time) (_ gatehouse.RevokedAccess, _ bool, err error) {
	defer s.classified(&err)
	var revoked gatehouse.RevokedAccess
	found := false
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var t gatehouse.RefreshToken
		var access []byte // deleteAccess below returns it
		_, err := s.lockRefresh(ctx, tx, hash, &t, nil, &access)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if appID != 0 && t.ApplicationID != appID {
			return nil
		}
		found = true
		if t.Revoked == nil {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE oauth_refresh_tokens SET revoked = ?"+endFamily+" WHERE id = ?"), micros(now), micros(now), micros(now), t.ID); err != nil {
				return err
			}
		}
		if t.AccessTokenID != nil {
			revoked, err = s.deleteAccess(ctx, tx, *t.AccessTokenID)
		}
		return err
	})
	return revoked, found, err
}

// RotateRefreshToken redeems the refresh token with that hash for appID in
// one transaction:
//   - unknown, expired, or issued to another client: gatehouse.ErrInvalidGrant;
//   - already rotated or revoked (and not within grace of its rotation): the
//     whole family is revoked, the revocation committed, and a
//     *gatehouse.TokenReuse (gatehouse.ErrTokenReused) returned;
//   - otherwise it is marked revoked, its access token deleted, and issue is
//     called to build the new pair, which is stored in the same family.
//
// issue is called before anything is written: its error leaves the token
// as it was and is returned as is. The hashes of deleted access tokens are
// returned in every case. Concurrent rotations share a transaction
// (store/rotate.go), each with the outcome it would have alone. On
// PostgreSQL a rotation whose pair was made ahead is written first when
// it can be, and issue called after (gatehouse.RefreshAhead,
// applyAheadSet); SQLite, whose one writer reads for free, ignores ahead.
func (s *Store) RotateRefreshToken(ctx context.Context, hash []byte, appID int64, now time.Time, grace time.Duration, ahead *gatehouse.RefreshAhead,
	issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (_ gatehouse.RevokedAccess, err error) {
	defer s.classified(&err)
	r := &rotation{hash: hash, appID: appID, now: now, grace: grace, ahead: ahead, issue: issue}
	if err := s.groups.rotate(ctx, r); err != nil {
		return nil, err
	}
	return r.revoked, r.outcome
}

// userTx reads a user inside tx, so that a transaction's callback needs
// no second connection; nil when there is none.
func (s *Store) userTx(ctx context.Context, tx *sql.Tx, id int64) (*gatehouse.User, error) {
	var u gatehouse.User
	err := scanUser(s.queryRow(ctx, tx, "SELECT "+userCols+" FROM users WHERE id = ?", id), &u)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// --- authorization codes

// CreateGrant stores an authorization code. A nonce its client already
// used in a code still stored gives gatehouse.ErrConflict: an OpenID
// Connect nonce is used once.
func (s *Store) CreateGrant(ctx context.Context, g *gatehouse.Grant) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if g.Nonce != "" {
			var one int
			err := tx.QueryRowContext(ctx, s.q("SELECT 1 FROM oauth_grants WHERE application_id = ? AND nonce = ? AND nonce <> '' LIMIT 1"),
				g.ApplicationID, g.Nonce).Scan(&one)
			if err == nil {
				return gatehouse.ErrConflict
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return s.insertGrant(ctx, tx, g, false)
	})
}

// grantCols are a code's columns, in the order grantRow scans them.
const grantCols = "id, code_hash, application_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method, nonce, created, expires, used_at, auth_time"

// grantRow is a code scanned from grantCols (dest); grant converts its times.
type grantRow struct {
	g                gatehouse.Grant
	created, expires int64
	used, authTime   sql.NullInt64
}

func (r *grantRow) dest() []any {
	g := &r.g
	return []any{&g.ID, &g.CodeHash, &g.ApplicationID, &g.UserID, &g.RedirectURI, &g.Scope, &g.CodeChallenge,
		&g.CodeChallengeMethod, &g.Nonce, &r.created, &r.expires, &r.used, &r.authTime}
}

func (r *grantRow) grant() gatehouse.Grant {
	g := r.g
	g.Created, g.Expires, g.UsedAt, g.AuthTime = fromMicros(r.created), fromMicros(r.expires), fromNullMicros(r.used), fromNullMicros(r.authTime)
	return g
}

// GrantByHash returns the code with that hash, or gatehouse.ErrNotFound,
// read without a lock.
func (s *Store) GrantByHash(ctx context.Context, codeHash []byte) (_ gatehouse.Grant, err error) {
	defer s.classified(&err)
	var r grantRow
	if err := s.queryRow(ctx, nil, "SELECT "+grantCols+" FROM oauth_grants WHERE code_hash = ?", codeHash).Scan(r.dest()...); err != nil {
		return gatehouse.Grant{}, s.notFound(err)
	}
	return r.grant(), nil
}

func (s *Store) insertGrant(ctx context.Context, tx *sql.Tx, g *gatehouse.Grant, keepID bool) error {
	if g.Created.IsZero() {
		g.Created = s.now()
	}
	cols := "code_hash, application_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method, nonce, created, expires, used_at, auth_time"
	marks := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
	args := []any{g.CodeHash, g.ApplicationID, g.UserID, g.RedirectURI, g.Scope, g.CodeChallenge, g.CodeChallengeMethod, g.Nonce,
		micros(g.Created), micros(g.Expires), nullMicros(g.UsedAt), nullMicros(g.AuthTime)}
	if keepID {
		cols, marks, args = "id, "+cols, "?, "+marks, append([]any{g.ID}, args...)
	}
	err := tx.QueryRowContext(ctx, s.q("INSERT INTO oauth_grants ("+cols+") VALUES ("+marks+") RETURNING id"), args...).Scan(&g.ID)
	return s.conflict(err)
}

// RedeemGrant exchanges the code with that hash for tokens, in one
// transaction:
//   - unknown, expired, or issued to another client: gatehouse.ErrInvalidGrant;
//   - already redeemed: every token issued from it is revoked, the
//     revocation committed, and a *gatehouse.TokenReuse
//     (gatehouse.ErrTokenReused) returned;
//   - check may refuse the code (redirect URI, PKCE): its error is returned
//     and nothing changes;
//   - otherwise the code is marked used and issue's tokens are stored with
//     the code's id.
//
// Concurrent redemptions share a transaction as rotations do (txGroups,
// rotate.go), each with the outcome it would have alone: nothing is
// written before every check has passed and issue has made the tokens.
func (s *Store) RedeemGrant(ctx context.Context, codeHash []byte, appID int64, now time.Time,
	check func(gatehouse.Grant, *gatehouse.User) error,
	issue func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error)) (_ gatehouse.RevokedAccess, err error) {
	defer s.classified(&err)
	var r redemption
	err = s.groups.run(ctx, func(ctx context.Context, tx *sql.Tx) error {
		r = redemption{} // set afresh: apply may run twice (txGroups)
		return s.redeemGrant(ctx, tx, codeHash, appID, now, check, issue, &r)
	})
	if err != nil {
		return nil, err
	}
	return r.revoked, r.outcome
}

// redemption is one RedeemGrant's answer: the access tokens a replay
// revoked and the outcome (nil, ErrInvalidGrant, a *TokenReuse, check's
// or issue's error).
type redemption struct {
	revoked gatehouse.RevokedAccess
	outcome error
}

// redeemGrant is RedeemGrant inside tx, its answer set in out. It returns
// only a database error, after which tx must be rolled back.
func (s *Store) redeemGrant(ctx context.Context, tx *sql.Tx, codeHash []byte, appID int64, now time.Time,
	check func(gatehouse.Grant, *gatehouse.User) error,
	issue func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error), out *redemption) error {
	var r grantRow
	// The code and its user in one read (a code goes with its user:
	// ON DELETE CASCADE), the code's row locked on PostgreSQL, the user's
	// not (a login may be updating it).
	user := new(gatehouse.User)
	err := scanUser(prefixed{s.queryRow(ctx, tx, redeemReadSQL+s.forUpdateOf("g"), codeHash), r.dest()}, user)
	if errors.Is(err, sql.ErrNoRows) {
		out.outcome = gatehouse.ErrInvalidGrant
		return nil
	}
	if err != nil {
		return err
	}
	g := r.grant()
	if g.ApplicationID != appID {
		out.outcome = gatehouse.ErrInvalidGrant
		return nil
	}
	if g.UsedAt != nil {
		if _, err := tx.ExecContext(ctx, s.q("UPDATE oauth_refresh_tokens SET revoked = ?"+endFamily+" WHERE grant_id = ? AND revoked IS NULL"), micros(now), micros(now), micros(now), g.ID); err != nil {
			return err
		}
		if out.revoked, err = s.deleteAccessWhere(ctx, tx, "grant_id = ?", g.ID); err != nil {
			return err
		}
		out.outcome = &gatehouse.TokenReuse{UserID: g.UserID}
		return nil
	}
	if !now.Before(g.Expires) {
		out.outcome = gatehouse.ErrInvalidGrant
		return nil
	}
	if err := check(g, user); err != nil {
		out.outcome = err
		return nil
	}
	at, rt, fexp, err := issue(g)
	if err != nil {
		out.outcome = err
		return nil
	}
	at.GrantID = &g.ID
	if rt != nil {
		rt.GrantID = &g.ID
	}
	if s.d.dollar && rt != nil {
		return s.redeemWrite(ctx, tx, g.ID, now, at, rt, fexp, out)
	}
	// The row is locked (or, on SQLite, the database is) since the read:
	// the update cannot miss.
	res, err := tx.ExecContext(ctx, s.q("UPDATE oauth_grants SET used_at = ? WHERE id = ? AND used_at IS NULL"), micros(now), g.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		out.outcome = gatehouse.ErrInvalidGrant
		return nil
	}
	return s.insertPair(ctx, tx, at, rt, fexp)
}

// redeemReadSQL reads a code (by its hash) and its user, for redeemGrant.
var redeemReadSQL = "SELECT " + qualified("g", grantCols) + ", " + qualified("u", userCols) +
	" FROM oauth_grants g JOIN users u ON u.id = g.user_id WHERE g.code_hash = ?"

// redeemWriteSQL marks a code used and stores the access and refresh
// tokens made from it, in one statement (PostgreSQL): a redemption was
// five round trips in the group's transaction, each waiting for a CPU on
// a loaded machine while the group's other callers waited for it. It
// returns no row when the code was used already (which the lock taken by
// the read rules out).
const redeemWriteSQL = `WITH used AS (
		UPDATE oauth_grants SET used_at = ? WHERE id = ? AND used_at IS NULL RETURNING id),
	a AS (
		INSERT INTO oauth_access_tokens (token_hash, user_id, application_id, scope, family, grant_id, created, expires)
		SELECT ?, ?, ?, ?, ?, used.id, ?, ? FROM used RETURNING id)
	INSERT INTO oauth_refresh_tokens (token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, revoked, family_expires, auth_time, secret)
	SELECT ?, a.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM a RETURNING access_token_id, id`

// redeemWrite is the end of redeemGrant on PostgreSQL when the code gives
// a refresh token: redeemWriteSQL, setting at's and rt's ids.
func (s *Store) redeemWrite(ctx context.Context, tx *sql.Tx, grantID int64, now time.Time,
	at *gatehouse.AccessToken, rt *gatehouse.RefreshToken, fexp *time.Time, out *redemption) error {
	if at.Created.IsZero() {
		at.Created = s.now()
	}
	if rt.Created.IsZero() {
		rt.Created = s.now()
	}
	err := s.queryRow(ctx, tx, redeemWriteSQL, micros(now), grantID,
		at.Hash, nullID(at.UserID), at.ApplicationID, at.Scope, at.Family, micros(at.Created), micros(at.Expires),
		rt.Hash, nullID(rt.UserID), rt.ApplicationID, rt.Scope, rt.Family, grantID,
		micros(rt.Created), nullMicros(rt.Expires), nullMicros(rt.Revoked), nullMicros(fexp), nullMicros(rt.AuthTime), rt.Secret).Scan(&at.ID, &rt.ID)
	if errors.Is(err, sql.ErrNoRows) {
		out.outcome = gatehouse.ErrInvalidGrant
		return nil
	}
	if err != nil {
		return s.conflict(err)
	}
	rt.AccessTokenID = &at.ID
	return nil
}

// --- cleanup

// DeleteExpiredOAuth removes at most batch rows from each OAuth table that
// nothing needs any more: access tokens past their expiry, codes past
// theirs, and refresh tokens expired or revoked before keepRevokedUntil
// (revoked ones are kept a while to recognise replays). Each statement is
// short, so no lock is held for long; call it again until it returns 0.
func (s *Store) DeleteExpiredOAuth(ctx context.Context, now, keepRevokedUntil time.Time, batch int) (_ int64, err error) {
	defer s.classified(&err)
	var total int64
	for _, st := range []struct {
		q    string
		args []any
	}{
		{"DELETE FROM oauth_access_tokens WHERE id IN (" + expiredAccessSQL + ")", []any{micros(now), batch}},
		{"DELETE FROM oauth_grants WHERE id IN (" + expiredGrantsSQL + ")", []any{micros(now), batch}},
		// One statement per reason, each in the order of its own index.
		{"DELETE FROM oauth_refresh_tokens WHERE id IN (" + expiredRefreshSQL + ")", []any{micros(now), batch}},
		{"DELETE FROM oauth_refresh_tokens WHERE id IN (" + expiredRefreshFamilySQL + ")", []any{micros(now), batch}},
		{"DELETE FROM oauth_refresh_tokens WHERE id IN (" + revokedRefreshSQL + ")", []any{micros(keepRevokedUntil), batch}},
	} {
		res, err := s.exec(ctx, st.q, st.args...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// --- fixture loading

// loadOAuth writes Django OAuth Toolkit's codes and tokens, each
// overwriting the stored row with its primary key (Load runs it after the
// users and applications they name).
func (s *Store) loadOAuth(ctx context.Context, tx *sql.Tx, grants []gatehouse.Grant,
	access []gatehouse.AccessToken, refresh []gatehouse.RefreshToken) error {
	for _, g := range grants {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_grants (id, code_hash, application_id, user_id, redirect_uri, scope,
				code_challenge, code_challenge_method, nonce, created, expires, used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET code_hash = excluded.code_hash, application_id = excluded.application_id, user_id = excluded.user_id,
				redirect_uri = excluded.redirect_uri, scope = excluded.scope, code_challenge = excluded.code_challenge,
				code_challenge_method = excluded.code_challenge_method, nonce = excluded.nonce, created = excluded.created, expires = excluded.expires`),
			g.ID, g.CodeHash, g.ApplicationID, g.UserID, g.RedirectURI, g.Scope, g.CodeChallenge, g.CodeChallengeMethod, g.Nonce,
			micros(g.Created), micros(g.Expires), nullMicros(g.UsedAt))
		if err != nil {
			return fmt.Errorf("oauth2_provider.grant pk %d: %w", g.ID, s.conflict(err))
		}
	}
	for _, t := range access {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_access_tokens (id, token_hash, user_id, application_id, scope, family, grant_id, created, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, user_id = excluded.user_id, application_id = excluded.application_id,
				scope = excluded.scope, family = excluded.family, created = excluded.created, expires = excluded.expires`),
			t.ID, t.Hash, nullID(t.UserID), t.ApplicationID, t.Scope, t.Family, nullID(t.GrantID), micros(t.Created), micros(t.Expires))
		if err != nil {
			return fmt.Errorf("oauth2_provider.accesstoken pk %d: %w", t.ID, s.conflict(err))
		}
	}
	for _, t := range refresh {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO oauth_refresh_tokens (id, token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, revoked)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, access_token_id = excluded.access_token_id, user_id = excluded.user_id,
				application_id = excluded.application_id, scope = excluded.scope, family = excluded.family, created = excluded.created,
				revoked = COALESCE(excluded.revoked, oauth_refresh_tokens.revoked)`),
			t.ID, t.Hash, nullID(t.AccessTokenID), nullID(t.UserID), t.ApplicationID, t.Scope, t.Family,
			nullID(t.GrantID), micros(t.Created), nullMicros(t.Expires), nullMicros(t.Revoked))
		if err != nil {
			return fmt.Errorf("oauth2_provider.refreshtoken pk %d: %w", t.ID, s.conflict(err))
		}
	}
	for _, table := range []string{"oauth_grants", "oauth_access_tokens", "oauth_refresh_tokens"} {
		if err := s.realign(ctx, tx, table); err != nil {
			return err
		}
	}
	return nil
}
