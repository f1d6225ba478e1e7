package store_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Load (fixture loading, `gatehouse loaddata`) is a method of the SQL store
// outside the storage contract: its tests live here, not in storetest.

func TestLoadReferenceFixture(t *testing.T) {
	objs, err := fixture.Decode(bytes.NewReader(testdb.ReferenceDump()))
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secret.NewBox("test-secret-0123456789")
	set, err := fixture.Converter{Box: box, ClientSecrets: gatehouse.NewSecretHasher("test-secret-0123456789")}.Convert(objs)
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		alice, err := s.UserByUsername(ctx, "alice")
		if err != nil || alice.ID != 2 || alice.FirstName != "Alice" || alice.Password[:14] != "pbkdf2_sha256$" {
			t.Fatalf("alice: %+v %v", alice, err)
		}
		// New rows continue after the loaded primary keys.
		n := newUser(t, s, "newcomer")
		if n.ID <= 47 {
			t.Fatalf("new user id %d collides with loaded ids", n.ID)
		}
		// Loading again overwrites by primary key (Django's loaddata):
		// the same rows, the same keys working, nothing added.
		if err := s.Load(ctx, set); err != nil {
			t.Fatalf("second load: %v", err)
		}
		if c, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); c != 48 {
			t.Fatalf("count after the second load: %d", c)
		}
		again, _ := s.UserByUsername(ctx, "alice")
		if again.ID != alice.ID || again.Password != alice.Password || again.FirstName != alice.FirstName {
			t.Fatalf("alice changed: %+v", again)
		}
		for _, tok := range set.Tokens {
			if _, u, err := s.TokenByHash(ctx, tok.Hash); err != nil || u.ID != tok.UserID {
				t.Fatalf("token of user %d after the second load: %v", tok.UserID, err)
			}
		}
	})
}

func TestLoadIsAllOrNothing(t *testing.T) {
	set := fixture.Set{
		Users: []gatehouse.User{
			{ID: 1, Username: "a", Password: "!", IsActive: true, DateJoined: time.Now()},
			{ID: 2, Username: "a", Password: "!", IsActive: true, DateJoined: time.Now()}, // duplicate username
		},
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, set); err == nil {
			t.Fatal("load with a duplicate succeeded")
		}
		if c, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); c != 0 {
			t.Fatalf("half-loaded: %d users", c)
		}
	})
}

func TestOAuthLoadReferenceFixture(t *testing.T) {
	objs, err := fixture.Decode(bytes.NewReader(testdb.ReferenceDump()))
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secret.NewBox("test-secret-0123456789")
	hasher := gatehouse.NewSecretHasher("test-secret-0123456789")
	set, err := fixture.Converter{Box: box, ClientSecrets: hasher}.Convert(objs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (fixture.Converter{Box: box}).Convert(objs); err == nil {
		t.Fatal("applications with secrets loaded without a hasher")
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		for id, sec := range map[string]string{"conf-client": "conf-secret", "code-client": "code-secret", "pub-client": ""} {
			a, err := s.Application(ctx, id)
			if err != nil || !hasher.Verify(sec, a.SecretHash) || hasher.Verify("wrong", a.SecretHash) {
				t.Fatalf("%s: %+v %v", id, a, err)
			}
			if string(a.SecretHash) == sec && sec != "" {
				t.Fatal("secret stored in clear")
			}
		}
		code, _ := s.Application(ctx, "code-client")
		if !code.Allows(gatehouse.GrantAuthorizationCode) || !code.RedirectURIAllowed("http://127.0.0.1:9999/cb") || code.RedirectURIAllowed("http://127.0.0.1:9998/cb") {
			t.Fatalf("code-client: %+v", code)
		}
		// New applications continue after the loaded ids.
		n := newApp(t, s, "new")
		if n.ID <= 3 {
			t.Fatalf("new application id %d", n.ID)
		}
	})
}

func TestOAuthLoadTokens(t *testing.T) {
	objs := []fixture.Object{
		{Model: "auth.user", PK: []byte("1"), Fields: []byte(`{"username":"u","password":"!","date_joined":"2024-01-01T00:00:00Z"}`)},
		{Model: "oauth2_provider.application", PK: []byte("1"), Fields: []byte(`{"client_id":"c","user":1,"redirect_uris":"https://x.example/cb","client_type":"confidential","authorization_grant_type":"authorization-code","client_secret":"s","name":"n","skip_authorization":true,"created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z","algorithm":""}`)},
		{Model: "oauth2_provider.refreshtoken", PK: []byte("5"), Fields: []byte(`{"user":1,"token":"reftok","application":1,"access_token":7,"created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z","revoked":null}`)},
		{Model: "oauth2_provider.accesstoken", PK: []byte("7"), Fields: []byte(`{"user":1,"source_refresh_token":null,"token":"acctok","id_token":null,"application":1,"expires":"2999-01-01T00:00:00Z","scope":"read write","created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z"}`)},
		{Model: "oauth2_provider.grant", PK: []byte("2"), Fields: []byte(`{"user":1,"code":"thecode","application":1,"expires":"2999-01-01T00:00:00Z","redirect_uri":"https://x.example/cb","scope":"read","created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z","code_challenge":"","code_challenge_method":"","nonce":"","claims":""}`)},
	}
	set, err := fixture.Converter{ClientSecrets: gatehouse.NewSecretHasher("k-0123456789abcdef")}.Convert(objs)
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		g, err := s.AccessTokenByHash(ctx, secret.TokenKey("acctok"))
		if err != nil || g.Token.Scope != "read write" || g.User.Username != "u" {
			t.Fatalf("access: %+v %v", g, err)
		}
		r, err := s.RefreshTokenByHash(ctx, secret.TokenKey("reftok"))
		if err != nil || r.AccessTokenID == nil || *r.AccessTokenID != 7 || r.Scope != "read write" || r.Family != g.Token.Family {
			t.Fatalf("refresh: %+v %v", r, err)
		}
		app, _ := s.Application(ctx, "c")
		if _, err := s.RedeemGrant(ctx, secret.Hash("thecode"), app.ID, time.Now(), func(gatehouse.Grant, *gatehouse.User) error { return nil },
			func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
				at, rt := pair(app, 1, "f", "n1", "n2", time.Now())
				return at, rt, nil, nil
			}); err != nil {
			t.Fatalf("loaded code: %v", err)
		}
	})
}

func convert(t *testing.T, objs ...fixture.Object) fixture.Set {
	t.Helper()
	box, _ := secret.NewBox("test-secret-0123456789")
	set, err := fixture.Converter{Box: box, ClientSecrets: gatehouse.NewSecretHasher("k-0123456789abcdef")}.Convert(objs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func obj(model, pk, fields string) fixture.Object {
	return fixture.Object{Model: model, PK: []byte(pk), Fields: []byte(fields)}
}

// A dump written with --natural-foreign --natural-primary: users and
// applications without primary keys, references by username and
// client_id, in any order.
func naturalDump() []fixture.Object {
	return []fixture.Object{
		obj("authtoken.token", `"0123456789abcdef0123456789abcdef01234567"`, `{"user":["bob"],"created":"2024-01-01T00:00:00Z"}`),
		obj("oauth2_provider.accesstoken", "7", `{"user":["bob"],"token":"acctok","application":["cid"],"expires":"2999-01-01T00:00:00Z","scope":"read","created":"2024-01-01T00:00:00Z"}`),
		obj("oauth2_provider.refreshtoken", "5", `{"user":["bob"],"token":"reftok","application":["cid"],"access_token":7,"created":"2024-01-01T00:00:00Z","revoked":null}`),
		obj("oauth2_provider.application", "", `{"client_id":"cid","user":["bob"],"redirect_uris":"","client_type":"confidential","authorization_grant_type":"password","client_secret":"s","name":"n","skip_authorization":false,"created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z","algorithm":""}`),
		obj("token_blacklist.outstandingtoken", "3", `{"user":["bob"],"jti":"j1","token":"x","created_at":"2024-01-01T00:00:00Z","expires_at":"2999-01-01T00:00:00Z"}`),
		obj("auth.user", "", `{"username":"bob","password":"!","date_joined":"2024-01-01T00:00:00Z","groups":[],"user_permissions":[]}`),
	}
}

func TestLoadNaturalKeys(t *testing.T) {
	set := convert(t, naturalDump()...)
	if len(set.Warnings) == 0 || !strings.Contains(strings.Join(set.Warnings, " "), "natural-primary") {
		t.Fatalf("no warning about users without primary keys: %q", set.Warnings)
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		other := newUser(t, s, "first") // bob must not take this user's id
		for range 2 {
			if err := s.Load(ctx, convert(t, naturalDump()...)); err != nil {
				t.Fatal(err)
			}
		}
		bob, err := s.UserByUsername(ctx, "bob")
		if err != nil || bob.ID == other.ID {
			t.Fatalf("bob: %+v %v", bob, err)
		}
		if c, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); c != 2 {
			t.Fatalf("users after loading twice: %d", c)
		}
		if _, u, err := s.TokenByHash(ctx, secret.Hash("0123456789abcdef0123456789abcdef01234567")); err != nil || u.ID != bob.ID {
			t.Fatalf("token: %+v %v", u, err)
		}
		app, err := s.Application(ctx, "cid")
		if err != nil || app.UserID == nil || *app.UserID != bob.ID {
			t.Fatalf("application: %+v %v", app, err)
		}
		g, err := s.AccessTokenByHash(ctx, secret.TokenKey("acctok"))
		if err != nil || g.User.ID != bob.ID || g.Token.ApplicationID != app.ID {
			t.Fatalf("access token: %+v %v", g, err)
		}
		// A later file may name users and applications stored before by
		// their natural keys only.
		later := convert(t, obj("oauth2_provider.grant", "2", `{"user":["bob"],"code":"c2","application":["cid"],"expires":"2999-01-01T00:00:00Z","redirect_uri":"https://x.example/cb","scope":"read","created":"2024-01-01T00:00:00Z"}`))
		if len(later.Pending) != 2 {
			t.Fatalf("pending: %+v", later.Pending)
		}
		if err := s.Load(ctx, later); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoadNamesTheMissingParent(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef01234567"
	for name, c := range map[string]struct {
		objs []fixture.Object
		want []string
	}{
		"token of a missing user": {
			[]fixture.Object{obj("authtoken.token", `"`+key+`"`, `{"user":42,"created":"2024-01-01T00:00:00Z"}`)},
			[]string{"authtoken.token sha256:", "auth.user 42", "neither in the files nor in the database"},
		},
		"natural key of a missing user": {
			[]fixture.Object{obj("authtoken.token", `"`+key+`"`, `{"user":["ghost"],"created":"2024-01-01T00:00:00Z"}`)},
			[]string{"authtoken.token pk sha256:", `auth.user "ghost"`},
		},
		"access token of a missing application": {
			[]fixture.Object{
				obj("auth.user", "1", `{"username":"u","password":"!","date_joined":"2024-01-01T00:00:00Z"}`),
				obj("oauth2_provider.accesstoken", "7", `{"user":1,"token":"acctok","application":9,"expires":"2999-01-01T00:00:00Z","scope":"read","created":"2024-01-01T00:00:00Z"}`),
			},
			[]string{"oauth2_provider.accesstoken pk 7", "oauth2_provider.application 9"},
		},
		// Found by an import pass: the message said the database held the
		// other one, when it was empty.
		"two users of one username": {
			[]fixture.Object{
				obj("auth.user", "3", `{"username":"root","password":"!","date_joined":"2024-01-01T00:00:00Z"}`),
				obj("auth.user", "4", `{"username":"root","password":"!","date_joined":"2024-01-01T00:00:00Z"}`),
			},
			[]string{"auth.user pk 3 and pk 4 both have the username \"root\" in the files"},
		},
		// Found by an import pass: a dump of oauth2_provider alone into an
		// empty database failed on the foreign key, naming no user.
		"application of a missing user": {
			[]fixture.Object{obj("oauth2_provider.application", "4", `{"client_id":"cid","user":8,"redirect_uris":"","client_type":"public",`+
				`"authorization_grant_type":"password","client_secret":"","name":"n","skip_authorization":false,"created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z"}`)},
			[]string{`oauth2_provider.application "cid"`, "auth.user 8", "neither in the files nor in the database"},
		},
		"outstanding token of a missing user": {
			[]fixture.Object{obj("token_blacklist.outstandingtoken", "3", `{"user":5,"jti":"j1","token":"x","created_at":"2024-01-01T00:00:00Z","expires_at":"2999-01-01T00:00:00Z"}`)},
			[]string{"token_blacklist.outstandingtoken jti j1", "auth.user 5"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			set := convert(t, c.objs...)
			testdb.Each(t, func(t *testing.T, s *store.Store) {
				err := s.Load(ctx, set)
				if err == nil {
					t.Fatal("loaded")
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), key) {
					t.Errorf("the key is in the message: %q", err)
				}
				if n, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); n != 0 {
					t.Errorf("%d users loaded by a failed load", n)
				}
			})
		})
	}
}

// A user's DRF key in a newer dump replaces the one stored (authtoken
// keeps one per user), instead of failing on the second key.
func TestLoadReplacesAUsersKey(t *testing.T) {
	user := obj("auth.user", "1", `{"username":"u","password":"!","date_joined":"2024-01-01T00:00:00Z"}`)
	k1, k2 := strings.Repeat("a", 40), strings.Repeat("b", 40)
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		for _, k := range []string{k1, k2} {
			if err := s.Load(ctx, convert(t, user, obj("authtoken.token", `"`+k+`"`, `{"user":1,"created":"2024-01-01T00:00:00Z"}`))); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.TokenByHash(ctx, secret.Hash(k1)); err == nil {
			t.Fatal("the replaced key still works")
		}
		if _, _, err := s.TokenByHash(ctx, secret.Hash(k2)); err != nil {
			t.Fatal(err)
		}
	})
}

// A user whose Django primary key is a UUID keeps it (User.DjangoKey, in
// the dashed lower-case form whatever form the file gives), found by
// UserIDByDjangoKey; loading it again keeps one user and the key, as does
// a load of the same user without one; an unknown key is ErrNotFound.
func TestLoadKeepsDjangoKey(t *testing.T) {
	const key = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	user := func(pk string) fixture.Object {
		return obj("accounts.user", pk, `{"password":"!","last_login":null,"is_superuser":false,"email":"ada@example.com","is_staff":false,"is_active":true}`)
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if _, err := s.UserIDByDjangoKey(ctx, key); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("before the load: %v", err)
		}
		for _, pk := range []string{`"3026D28EDBC04DEA8DA08AA9F5A3118D"`, `"` + key + `"`} {
			set, err := fixture.Converter{UserModel: "accounts.User"}.Convert([]fixture.Object{user(pk)})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Load(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		ada, err := s.UserByUsername(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if id, err := s.UserIDByDjangoKey(ctx, key); err != nil || id != ada.ID {
			t.Fatalf("UserIDByDjangoKey = %d, %v; want %d", id, err, ada.ID)
		}
		// Every read of the user carries the key: alone, in the list, and
		// with each kind of credential.
		byID, err := s.User(ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		listed, err := s.ListUsers(ctx, gatehouse.UserFilter{}, 0, 10)
		if err != nil || len(listed) != 1 {
			t.Fatalf("ListUsers: %v, %v", listed, err)
		}
		if err := s.CreateToken(ctx, &gatehouse.Token{UserID: ada.ID, Hash: secret.Hash("ada-key"), Prefix: "ada-"}); err != nil {
			t.Fatal(err)
		}
		_, withDRF, err := s.TokenByHash(ctx, secret.Hash("ada-key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutKnoxToken(ctx, gatehouse.KnoxToken{Digest: strings.Repeat("ab", 64), TokenKey: "adaknox1", UserID: ada.ID, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		knox, err := s.KnoxTokensByKey(ctx, "adaknox1")
		if err != nil || len(knox) != 1 {
			t.Fatalf("KnoxTokensByKey: %v, %v", knox, err)
		}
		at, rt := pair(newApp(t, s, "ada-app"), ada.ID, "ada-family", "ada-access", "ada-refresh", time.Now())
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
		withAccess, err := s.AccessTokenByHash(ctx, at.Hash)
		if err != nil || withAccess.User == nil {
			t.Fatalf("AccessTokenByHash: %+v, %v", withAccess, err)
		}
		for name, u := range map[string]gatehouse.User{"UserByUsername": ada, "User": byID, "ListUsers": listed[0],
			"TokenByHash": withDRF, "KnoxTokensByKey": knox[0].User, "AccessTokenByHash": *withAccess.User} {
			if u.ID != ada.ID || u.DjangoKey != key {
				t.Errorf("%s: user %d with Django key %q; want %d, %q", name, u.ID, u.DjangoKey, ada.ID, key)
			}
		}
		if other := newUser(t, s, "bob"); other.DjangoKey != "" {
			t.Fatal("a user created in gatehouse has a Django key")
		} else if back, err := s.User(ctx, other.ID); err != nil || back.DjangoKey != "" {
			t.Fatalf("a user created in gatehouse read back: %q, %v", back.DjangoKey, err)
		}
		// The same user dumped with --natural-primary (no pk, so no key):
		// the stored key stays.
		set, err := fixture.Converter{UserModel: "accounts.User"}.Convert([]fixture.Object{obj("accounts.user", "", `{"password":"!","email":"ada@example.com"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		if id, err := s.UserIDByDjangoKey(ctx, key); err != nil || id != ada.ID {
			t.Fatalf("after another load: %d, %v", id, err)
		}
		if c, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); c != 2 {
			t.Fatalf("users: %d", c)
		}
		if _, err := s.UserIDByDjangoKey(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("an unknown key: %v", err)
		}
	})
}

// CreateUser stores a user's Django key (accounts' new-user-key), found by
// it and read back; a key another user has is a conflict, as a username.
func TestCreateUserKeepsDjangoKey(t *testing.T) {
	const key = "9b2c1e4a-6f0d-4c3b-8a7e-5d4c3b2a1f0e"
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		u := gatehouse.User{Username: "kay", Password: "!", IsActive: true, DjangoKey: key}
		if err := s.CreateUser(ctx, &u, nil); err != nil {
			t.Fatal(err)
		}
		if id, err := s.UserIDByDjangoKey(ctx, key); err != nil || id != u.ID {
			t.Fatalf("UserIDByDjangoKey = %d, %v; want %d", id, err, u.ID)
		}
		if back, err := s.User(ctx, u.ID); err != nil || back.DjangoKey != key {
			t.Fatalf("read back: %q, %v", back.DjangoKey, err)
		}
		twin := gatehouse.User{Username: "kai", Password: "!", IsActive: true, DjangoKey: key}
		if err := s.CreateUser(ctx, &twin, nil); !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("a second user with the key: %v", err)
		}
	})
}
