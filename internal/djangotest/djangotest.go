// Package djangotest gives tests a Django project's database to import
// from: the tables Django 3.2's migrate writes for auth, contenttypes, DRF's
// authtoken, django-rest-knox, simplejwt's token_blacklist and Django OAuth
// Toolkit 1.7 (testdata/schema.*.sql, written by Django itself: see
// testdata/regenerate.sh), in a fresh SQLite file or PostgreSQL schema, and
// rows stored as Django stores them.
package djangotest

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

//go:embed testdata/schema.sqlite.sql
var sqliteSchema string

//go:embed testdata/schema.postgres.sql
var postgresSchema string

// DB is an empty Django database of one backend.
type DB struct {
	// URL is what `gatehouse import --from` takes.
	URL      string
	Postgres bool
	db       *sql.DB
}

// New creates the Django tables in a new database of backend ("sqlite" or
// "postgres", as testdb.Backends names them), removed when the test ends.
func New(t testing.TB, backend string) *DB {
	t.Helper()
	d := &DB{}
	var err error
	if backend == "postgres" {
		d.URL, d.Postgres = testdb.URL(t, "postgres"), true
		d.db, err = sql.Open("pgx", d.URL)
	} else {
		d.URL = filepath.Join(t.TempDir(), "django.sqlite3")
		d.db, err = sql.Open("sqlite", "file:"+d.URL)
	}
	if err != nil {
		t.Fatal(err)
	}
	d.db.SetMaxOpenConns(1)
	t.Cleanup(func() { d.db.Close() })
	schema := sqliteSchema
	if d.Postgres {
		schema = postgresSchema
	}
	if _, err := d.db.Exec(schema); err != nil {
		t.Fatalf("creating the Django tables: %v", err)
	}
	return d
}

// SQL is the connection, for tests that write rows of their own.
func (d *DB) SQL() *sql.DB { return d.db }

// Exec runs a statement written with ? placeholders.
func (d *DB) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if d.Postgres {
		var b strings.Builder
		n := 0
		for _, r := range query {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		query = b.String()
	}
	if _, err := d.db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// Time is t as Django stores a datetime: on SQLite the text of
// datetime.isoformat(" ") in UTC without an offset (microseconds only
// when there are some), on PostgreSQL a timestamptz.
func (d *DB) Time(t time.Time) any {
	if d.Postgres {
		return t
	}
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// Bool is b as Django stores a BooleanField: 1 or 0 on SQLite.
func (d *DB) Bool(b bool) any {
	if d.Postgres {
		return b
	}
	if b {
		return 1
	}
	return 0
}

// Hashes written by Django 3.2 (make_password), with their passwords.
const (
	// AliceHash is PBKDF2-SHA256 at 260000 iterations of AlicePassword.
	AliceHash     = "pbkdf2_sha256$260000$a5maCrfUqDNEHjTKmzPKIk$klFMePQvk9GBYmMwGtS6BCYb01Jaz3jM+qgN03p3jwE="
	AlicePassword = "alicepass"
	// LegacyHash is Django's SHA1PasswordHasher of LegacyPassword.
	LegacyHash     = "sha1$seasalt$a69177e0b2021d4da5ecfce22e7ffa5fd4d26feb"
	LegacyPassword = "legacy pass"
)

// Project is what Populate stored: the credentials a test presents.
type Project struct {
	Users int
	// DRFKeys are the DRF keys by user id (every user has one).
	DRFKeys map[int64]string
	// AccessTokens and RefreshTokens are DOT tokens by primary key; each
	// access token has the refresh token of the same number.
	AccessTokens, RefreshTokens map[int64]string
	// RevokedRefresh is a refresh token DOT revoked (its access token
	// deleted, access_token_id NULL).
	RevokedRefresh string
	// ClientID and ClientSecret are a confidential application's (password grant).
	ClientID, ClientSecret string
	// JTIs are simplejwt outstanding tokens' jti; Blacklisted is one of
	// them, blacklisted.
	JTIs        []string
	Blacklisted string
}

// Base is the time Populate's rows were created.
var Base = time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)

// Populate stores a project with users users (ids 1..users): user 1
// "ålice" (AliceHash, a group and a permission, staff), user 2 "legacy"
// (LegacyHash), user 3 with an unusable password, user 4 inactive, the
// others "user0005"... with AliceHash; a DRF key for each; two knox tokens;
// two applications (one confidential password-grant, one implicit);
// users/2 access tokens each with its refresh token, and one revoked
// refresh token; a code; an ID token; three simplejwt outstanding tokens,
// one blacklisted.
func Populate(t testing.TB, d *DB, users int) Project {
	t.Helper()
	if users < 4 {
		t.Fatal("Populate needs at least 4 users")
	}
	p := Project{Users: users, DRFKeys: map[int64]string{}, AccessTokens: map[int64]string{}, RefreshTokens: map[int64]string{},
		ClientID: "mobile-app", ClientSecret: "mobile-secret-0123456789"}
	at := d.Time(Base)
	d.Exec(t, "INSERT INTO django_content_type (id, app_label, model) VALUES (1, 'auth', 'user'), (2, 'auth', 'group'), (3, 'blog', 'post')")
	d.Exec(t, `INSERT INTO auth_permission (id, content_type_id, codename, name) VALUES
		(1, 1, 'add_user', 'Can add user'), (2, 1, 'change_user', 'Can change user'), (3, 3, 'publish_post', 'Can publish post')`)
	d.Exec(t, "INSERT INTO auth_group (id, name) VALUES (1, 'editors'), (2, 'empty')")
	d.Exec(t, "INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (1, 3), (1, 2)")
	for i := int64(1); i <= int64(users); i++ {
		name, hash, active, staff := fmt.Sprintf("user%04d", i), AliceHash, true, false
		switch i {
		case 1:
			name, staff = "ålice", true
		case 2:
			name, hash = "legacy", LegacyHash
		case 3:
			hash = "!" + strings.Repeat("x", 40)
		case 4:
			active = false
		}
		var last any
		if i%2 == 0 {
			last = d.Time(Base.Add(time.Duration(i) * time.Minute))
		}
		d.Exec(t, `INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, i, hash, last, d.Bool(i == 1), name, "Fïrst", "Last", name+"@example.com",
			d.Bool(staff), d.Bool(active), d.Time(Base.Add(-time.Duration(i)*time.Second)))
		p.DRFKeys[i] = key40("drf", i)
		d.Exec(t, "INSERT INTO authtoken_token (key, created, user_id) VALUES (?, ?, ?)", p.DRFKeys[i], at, i)
	}
	d.Exec(t, "INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 1)")
	d.Exec(t, "INSERT INTO auth_user_user_permissions (user_id, permission_id) VALUES (1, 1)")
	for i := int64(1); i <= 2; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint("knox", i)))
		digest := hex.EncodeToString(sum[:]) + hex.EncodeToString(sum[:])
		d.Exec(t, "INSERT INTO knox_authtoken (digest, created, user_id, expiry, token_key) VALUES (?, ?, ?, ?, ?)",
			digest, at, i, d.Time(Base.Add(10*time.Hour)), digest[:15])
	}
	d.Exec(t, `INSERT INTO oauth2_provider_application (id, client_id, redirect_uris, client_type, client_secret, name, user_id, skip_authorization, created, updated, algorithm, authorization_grant_type)
		VALUES (1, ?, '', 'confidential', ?, 'Mobile', 1, ?, ?, ?, '', 'password'),
		       (2, 'old-spa', 'https://spa.example/cb', 'public', '', 'Old SPA', NULL, ?, ?, ?, '', 'implicit')`,
		p.ClientID, p.ClientSecret, d.Bool(false), at, at, d.Bool(true), at, at)
	d.Exec(t, `INSERT INTO oauth2_provider_grant (id, code, expires, redirect_uri, scope, application_id, user_id, created, updated, code_challenge, code_challenge_method, nonce, claims)
		VALUES (1, 'code-1', ?, 'https://spa.example/cb', 'read', 1, 1, ?, ?, '', '', '', '')`, d.Time(Base.Add(time.Minute)), at, at)
	d.Exec(t, `INSERT INTO oauth2_provider_idtoken (id, jti, expires, scope, created, updated, application_id, user_id) VALUES (1, ?, ?, 'openid', ?, ?, 1, 1)`,
		jti(d, "idtoken"), at, at, at)
	far := d.Time(time.Now().Add(24 * time.Hour).Truncate(time.Second))
	for i := int64(1); i <= int64(users/2); i++ {
		p.AccessTokens[i], p.RefreshTokens[i] = key40("at", i)[:30], key40("rt", i)[:30]
		d.Exec(t, `INSERT INTO oauth2_provider_accesstoken (id, token, expires, scope, application_id, user_id, created, updated, source_refresh_token_id, id_token_id)
			VALUES (?, ?, ?, 'read write', 1, ?, ?, ?, NULL, NULL)`, i, p.AccessTokens[i], far, i, at, at)
		// Refresh tokens are numbered in the other order, so that an
		// access token's refresh token is in another batch of their table.
		d.Exec(t, `INSERT INTO oauth2_provider_refreshtoken (id, token, access_token_id, application_id, user_id, created, updated, revoked)
			VALUES (?, ?, ?, 1, ?, ?, ?, NULL)`, int64(users/2)+1-i, p.RefreshTokens[i], i, i, at, at)
	}
	p.RevokedRefresh = key40("revoked", 1)[:30]
	d.Exec(t, `INSERT INTO oauth2_provider_refreshtoken (id, token, access_token_id, application_id, user_id, created, updated, revoked)
		VALUES (?, ?, NULL, 1, 1, ?, ?, ?)`, int64(users/2)+1, p.RevokedRefresh, at, at, d.Time(Base.Add(time.Hour)))
	exp := d.Time(time.Now().Add(24 * time.Hour).Truncate(time.Second))
	for i := int64(1); i <= 3; i++ {
		j := hex.EncodeToString([]byte(fmt.Sprintf("jti-%012d", i)))
		p.JTIs = append(p.JTIs, j)
		d.Exec(t, `INSERT INTO token_blacklist_outstandingtoken (id, token, created_at, expires_at, user_id, jti) VALUES (?, ?, ?, ?, ?, ?)`,
			i, "eyJhbGciOiJIUzI1NiJ9.raw-token-"+j, at, exp, 1, j)
	}
	p.Blacklisted = p.JTIs[1]
	d.Exec(t, "INSERT INTO token_blacklist_blacklistedtoken (id, blacklisted_at, token_id) VALUES (1, ?, 2)", at)
	return p
}

// key40 is a 40-hex-digit key unique to kind and i.
func key40(kind string, i int64) string {
	sum := sha1.Sum([]byte(fmt.Sprint(kind, i)))
	return hex.EncodeToString(sum[:])
}

// jti is a UUID as Django stores a UUIDField: 32 hex digits on SQLite, a
// uuid on PostgreSQL.
func jti(d *DB, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:16])
	if d.Postgres {
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	return h
}
