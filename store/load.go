package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
)

// Load writes a converted dumpdata set in one transaction: all of it, or
// nothing. As Django's loaddata, a row whose primary key is already stored
// is overwritten, so loading the same files again changes nothing; a row
// dumped without its primary key (--natural-primary) is matched by its
// natural key (a username, a client_id). Users keep their primary keys and
// hashes. A reference to a parent that is neither in the set nor in the
// database fails, naming both.
func (s *Store) Load(ctx context.Context, set fixture.Set) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, s.loader(ctx, set))
}

// loader is the work of Load, to run in a transaction (LoadBatch adds to
// it).
func (s *Store) loader(ctx context.Context, set fixture.Set) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		if err := s.loadUsers(ctx, tx, set.Users); err != nil {
			return err
		}
		if err := set.Resolve(fixture.ModelUser, func(username string) (int64, error) {
			return s.idBy(ctx, tx, "users", "username", username)
		}); err != nil {
			return err
		}
		if err := s.loadApplications(ctx, tx, set.Applications); err != nil {
			return err
		}
		if err := set.Resolve(fixture.ModelApplication, func(clientID string) (int64, error) {
			return s.idBy(ctx, tx, "oauth_applications", "client_id", clientID)
		}); err != nil {
			return err
		}
		if len(set.Pending) > 0 {
			p := set.Pending[0]
			return fmt.Errorf("%s refers to %s %q by natural key, which gatehouse does not resolve", p.From, p.Model, p.Key)
		}
		if err := s.checkParents(ctx, tx, &set); err != nil {
			return err
		}
		for i := range set.Tokens {
			if err := s.loadToken(ctx, tx, &set.Tokens[i]); err != nil {
				return fmt.Errorf("%s: %w", tokenLabel(set.Tokens[i]), err)
			}
		}
		for _, r := range set.Refresh {
			if err := s.loadRefreshRecord(ctx, tx, r); err != nil {
				return fmt.Errorf("token_blacklist.outstandingtoken jti %s: %w", r.JTI, err)
			}
		}
		if err := s.loadKnox(ctx, tx, set.Knox); err != nil {
			return err
		}
		if err := s.loadOAuth(ctx, tx, set.Grants, set.AccessTokens, set.RefreshTokens); err != nil {
			return err
		}
		return s.loadGroups(ctx, tx, set)
	}
}

// loadUsers writes the users with their primary keys first, then those
// dumped without one, each overwriting the stored user with the same
// primary key (or username).
func (s *Store) loadUsers(ctx context.Context, tx *sql.Tx, users []gatehouse.User) error {
	const set = `username = excluded.username, email = excluded.email, first_name = excluded.first_name,
		last_name = excluded.last_name, password = excluded.password, is_active = excluded.is_active, is_staff = excluded.is_staff,
		is_superuser = excluded.is_superuser, last_login = excluded.last_login,
		django_key = COALESCE(excluded.django_key, users.django_key)` // a load without the Django key keeps it
	for _, withPK := range []bool{true, false} {
		for i := range users {
			u := &users[i]
			if (u.ID != 0) != withPK {
				continue
			}
			// A user without a date_joined (a custom user model without
			// one, fixture.Converter) joins now, or keeps the stored one.
			joined, update := u.DateJoined, set+", date_joined = excluded.date_joined"
			if joined.IsZero() {
				joined, update = s.now(), set
			}
			args := []any{u.Username, u.Email, u.FirstName, u.LastName, u.Password, u.IsActive, u.IsStaff,
				u.IsSuperuser, micros(joined), nullMicros(u.LastLogin), epochMicros(u.AuthEpoch), nullString(u.DjangoKey)}
			q := `INSERT INTO users (username, email, first_name, last_name, password, is_active, is_staff, is_superuser, date_joined, last_login, auth_epoch, django_key)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET ` + update + ` RETURNING id`
			if withPK {
				args = append([]any{u.ID}, args...)
				q = `INSERT INTO users (id, username, email, first_name, last_name, password, is_active, is_staff, is_superuser, date_joined, last_login, auth_epoch, django_key)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ` + update + ` RETURNING id`
			}
			if err := tx.QueryRowContext(ctx, s.q(q), args...).Scan(&u.ID); err != nil {
				if s.d.isConflict(err) {
					for _, v := range users {
						if v.Username == u.Username && v.ID != u.ID && v.ID != 0 {
							// Both in the files: the user model's username
							// is unique, so one of them is not what it says.
							return fmt.Errorf("auth.user pk %d and pk %d both have the username %q in the files; a username is unique",
								min(v.ID, u.ID), max(v.ID, u.ID), u.Username)
						}
					}
					other, _ := s.idBy(ctx, tx, "users", "username", u.Username)
					return fmt.Errorf("auth.user pk %d: username %q is already taken by the stored user %d; the files and the database disagree on who %q is",
						u.ID, u.Username, other, u.Username)
				}
				return fmt.Errorf("auth.user %q: %w", u.Username, err)
			}
		}
		if withPK {
			if err := s.realign(ctx, tx, "users"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) loadApplications(ctx context.Context, tx *sql.Tx, apps []gatehouse.Application) error {
	const set = `client_id = excluded.client_id, secret_hash = excluded.secret_hash, client_type = excluded.client_type,
		grant_types = excluded.grant_types, redirect_uris = excluded.redirect_uris, name = excluded.name, user_id = excluded.user_id,
		skip_authorization = excluded.skip_authorization, algorithm = excluded.algorithm, created = excluded.created, updated = excluded.updated,
		post_logout_redirect_uris = excluded.post_logout_redirect_uris,
		allowed_origins = CASE WHEN excluded.allowed_origins = '' THEN oauth_applications.allowed_origins ELSE excluded.allowed_origins END`
	// An application's user must be stored by now (the set's users are):
	// one that is not is named, before its insert fails on the foreign key.
	var owners []int64
	for _, a := range apps {
		if a.UserID != nil && *a.UserID != 0 {
			owners = append(owners, *a.UserID)
		}
	}
	found, err := s.existing(ctx, tx, "users", owners)
	if err != nil {
		return err
	}
	for _, a := range apps {
		if a.UserID != nil && *a.UserID != 0 && !found[*a.UserID] {
			return fmt.Errorf("oauth2_provider.application %q refers to auth.user %d, which is neither in the files nor in the database", a.ClientID, *a.UserID)
		}
	}
	for _, withPK := range []bool{true, false} {
		for i := range apps {
			a := &apps[i]
			if (a.ID != 0) != withPK {
				continue
			}
			if a.Updated.IsZero() {
				a.Updated = a.Created
			}
			args := []any{a.ClientID, a.SecretHash, a.ClientType, strings.Join(a.GrantTypes, " "), strings.Join(a.RedirectURIs, " "),
				a.Name, nullID(a.UserID), a.SkipAuthorization, strings.Join(a.DefaultScopes, " "), a.ResourceServer, a.Algorithm,
				micros(a.Created), micros(a.Updated), strings.Join(a.PostLogoutRedirectURIs, " "), strings.Join(a.AllowedOrigins, " ")}
			cols := `client_id, secret_hash, client_type, grant_types, redirect_uris, name, user_id,
				skip_authorization, default_scopes, resource_server, algorithm, created, updated, post_logout_redirect_uris, allowed_origins`
			marks, target := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?", "client_id"
			if withPK {
				args, cols, marks, target = append([]any{a.ID}, args...), "id, "+cols, "?, "+marks, "id"
			}
			q := "INSERT INTO oauth_applications (" + cols + ") VALUES (" + marks + ") ON CONFLICT (" + target + ") DO UPDATE SET " + set + " RETURNING id"
			if err := tx.QueryRowContext(ctx, s.q(q), args...).Scan(&a.ID); err != nil {
				if s.d.isConflict(err) {
					other, _ := s.idBy(ctx, tx, "oauth_applications", "client_id", a.ClientID)
					return fmt.Errorf("oauth2_provider.application pk %d: client_id %q is already taken by the stored application %d",
						a.ID, a.ClientID, other)
				}
				return fmt.Errorf("oauth2_provider.application %q: %w", a.ClientID, err)
			}
		}
		if withPK {
			if err := s.realign(ctx, tx, "oauth_applications"); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadToken stores a user's DRF key, which replaces the key the user had
// (authtoken's token is one per user, and the dump is the newer truth).
func (s *Store) loadToken(ctx context.Context, tx *sql.Tx, t *gatehouse.Token) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM drf_tokens WHERE user_id = ? AND is_default AND key_hash <> ?`), t.UserID, t.Hash); err != nil {
		return err
	}
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO drf_tokens (user_id, key_hash, key_sealed, prefix, name, is_default, created, last_used, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key_hash) DO UPDATE SET user_id = excluded.user_id, key_sealed = excluded.key_sealed, is_default = excluded.is_default,
			created = excluded.created RETURNING id`),
		t.UserID, t.Hash, t.Sealed, t.Prefix, t.Name, t.IsDefault, micros(t.Created), nullMicros(t.LastUsed), nullMicros(t.Expires)).Scan(&t.ID)
	return s.conflict(err)
}

// loadRefreshRecord overwrites a simplejwt outstanding token by its jti; a
// record rotated in place keeps its expires (an upper bound of its current
// token's expiry, which the cleanup reads) when the dump's is earlier; a
// blacklisting already stored stays (Django keeps a blacklistedtoken row
// that a later dump does not name).
func (s *Store) loadRefreshRecord(ctx context.Context, tx *sql.Tx, r gatehouse.RefreshRecord) error {
	var uid any
	if r.UserID != 0 {
		uid = r.UserID
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO jwt_tokens (jti, user_id, family, created, expires, blacklisted_at, rotated)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (jti) DO UPDATE SET user_id = excluded.user_id, created = excluded.created,
			expires = CASE WHEN jwt_tokens.current_jti IS NULL OR excluded.expires > jwt_tokens.expires THEN excluded.expires ELSE jwt_tokens.expires END,
			blacklisted_at = COALESCE(excluded.blacklisted_at, jwt_tokens.blacklisted_at)`),
		r.JTI, uid, r.Family, micros(r.Created), micros(r.Expires), nullMicros(r.BlacklistedAt), r.Rotated)
	return err
}

// idBy is the id of the row of table whose col is value, or
// gatehouse.ErrNotFound.
func (s *Store) idBy(ctx context.Context, tx *sql.Tx, table, col, value string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, s.q("SELECT id FROM "+table+" WHERE "+col+" = ?"), value).Scan(&id)
	return id, s.notFound(err)
}

func (s *Store) realign(ctx context.Context, tx *sql.Tx, table string) error {
	if q := s.d.afterExplicitIDs(table); q != "" {
		_, err := tx.ExecContext(ctx, q)
		return err
	}
	return nil
}

// checkParents fails, naming the first referring row and its missing
// parent, when the set refers to a user or application by a primary key
// that is neither in the set nor in the database (asked in batches, so a
// large set costs a few queries, not one per row).
func (s *Store) checkParents(ctx context.Context, tx *sql.Tx, set *fixture.Set) error {
	type ref struct {
		id   int64
		from func() string
	}
	var users, apps []ref
	user := func(id *int64, from func() string) {
		if id != nil && *id != 0 {
			users = append(users, ref{*id, from})
		}
	}
	for i := range set.Tokens {
		t := set.Tokens[i]
		user(&t.UserID, func() string { return tokenLabel(t) })
	}
	for _, r := range set.Refresh {
		jti := r.JTI
		user(&r.UserID, func() string { return "token_blacklist.outstandingtoken jti " + jti })
	}
	for _, k := range set.Knox {
		user(&k.UserID, func() string { return knoxLabel(k) })
	}
	for _, a := range set.Applications {
		id := a.ID
		user(a.UserID, func() string { return fmt.Sprintf("oauth2_provider.application pk %d", id) })
	}
	for _, g := range set.Grants {
		id := g.ID
		from := func() string { return fmt.Sprintf("oauth2_provider.grant pk %d", id) }
		user(&g.UserID, from)
		apps = append(apps, ref{g.ApplicationID, from})
	}
	for _, t := range set.AccessTokens {
		id := t.ID
		from := func() string { return fmt.Sprintf("oauth2_provider.accesstoken pk %d", id) }
		user(t.UserID, from)
		apps = append(apps, ref{t.ApplicationID, from})
	}
	for _, t := range set.RefreshTokens {
		id := t.ID
		from := func() string { return fmt.Sprintf("oauth2_provider.refreshtoken pk %d", id) }
		user(t.UserID, from)
		apps = append(apps, ref{t.ApplicationID, from})
	}
	for _, c := range []struct {
		table, model, hint string
		refs               []ref
		inSet              map[int64]bool
	}{
		{"users", "auth.user", "", users, userIDs(set.Users)},
		{"oauth_applications", "oauth2_provider.application", "; a project whose OAUTH2_PROVIDER_APPLICATION_MODEL is a model of its own " +
			"names it with --oauth-application-model (loaddata, import)", apps, appIDs(set.Applications)},
	} {
		var ask []int64
		for _, r := range c.refs {
			if !c.inSet[r.id] {
				ask = append(ask, r.id)
			}
		}
		found, err := s.existing(ctx, tx, c.table, ask)
		if err != nil {
			return err
		}
		for _, r := range c.refs {
			if !c.inSet[r.id] && !found[r.id] {
				return fmt.Errorf("%s refers to %s %d, which is neither in the files nor in the database%s", r.from(), c.model, r.id, c.hint)
			}
		}
	}
	return nil
}

func userIDs(users []gatehouse.User) map[int64]bool {
	m := make(map[int64]bool, len(users))
	for _, u := range users {
		m[u.ID] = true
	}
	return m
}

func appIDs(apps []gatehouse.Application) map[int64]bool {
	m := make(map[int64]bool, len(apps))
	for _, a := range apps {
		m[a.ID] = true
	}
	return m
}

// existing is which of ids are ids of rows of table.
func (s *Store) existing(ctx context.Context, tx *sql.Tx, table string, ids []int64) (map[int64]bool, error) {
	found := map[int64]bool{}
	const chunk = 500
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := tx.QueryContext(ctx, s.qVarying("SELECT id FROM "+table+" WHERE id IN (?"+strings.Repeat(", ?", n-1)+")"), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			found[id] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return found, nil
}

// tokenLabel names a DRF token in a message by the start of its key's
// SHA-256, never by the key (as fixture's messages name it).
func tokenLabel(t gatehouse.Token) string {
	return "authtoken.token sha256:" + hex.EncodeToString(t.Hash[:min(6, len(t.Hash))]) + "…"
}
