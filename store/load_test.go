package store_test

import (
	"bytes"
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
		// Loading again fails as a whole and leaves the data as it was.
		if err := s.Load(ctx, set); err == nil {
			t.Fatal("second load succeeded")
		}
		if c, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); c != 48 {
			t.Fatalf("count after failed load: %d", c)
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
		g, err := s.AccessTokenByHash(ctx, secret.Hash("acctok"))
		if err != nil || g.Token.Scope != "read write" || g.User.Username != "u" {
			t.Fatalf("access: %+v %v", g, err)
		}
		r, err := s.RefreshTokenByHash(ctx, secret.Hash("reftok"))
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
