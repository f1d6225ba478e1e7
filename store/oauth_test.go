package store_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

func newApp(t *testing.T, s *store.Store, clientID string) gatehouse.Application {
	t.Helper()
	a := gatehouse.Application{ClientID: clientID, ClientType: gatehouse.ClientConfidential, SecretHash: []byte("h"),
		GrantTypes: []string{"password", "authorization-code"}, RedirectURIs: []string{"https://a.example/cb", "http://127.0.0.1/cb"},
		DefaultScopes: []string{"read"}}
	if err := s.CreateApplication(ctx, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func pair(app gatehouse.Application, uid int64, family, access, refresh string, now time.Time) (*gatehouse.AccessToken, *gatehouse.RefreshToken) {
	return &gatehouse.AccessToken{Hash: secret.Hash(access), UserID: &uid, ApplicationID: app.ID, Scope: "read write", Family: family, Created: now, Expires: now.Add(time.Hour)},
		&gatehouse.RefreshToken{Hash: secret.Hash(refresh), UserID: &uid, ApplicationID: app.ID, Scope: "read write", Family: family, Created: now}
}

func TestOAuthApplications(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		a := newApp(t, s, "c1")
		got, err := s.Application(ctx, "c1")
		if err != nil || got.ID != a.ID || len(got.GrantTypes) != 2 || len(got.RedirectURIs) != 2 || got.DefaultScopes[0] != "read" || string(got.SecretHash) != "h" {
			t.Fatalf("%+v %v", got, err)
		}
		if err := s.CreateApplication(ctx, &gatehouse.Application{ClientID: "c1", ClientType: "public", GrantTypes: []string{"password"}}); !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("duplicate client_id: %v", err)
		}
		if _, err := s.Application(ctx, "nope"); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatal(err)
		}
		u := newUser(t, s, "alice")
		at, rt := pair(a, u.ID, "f", "acc", "ref", time.Now())
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteApplication(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AccessTokenByHash(ctx, secret.Hash("acc")); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("tokens survived their application: %v", err)
		}
		if err := s.DeleteApplication(ctx, "c1"); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatal(err)
		}
	})
}

func TestOAuthRotateAndFamily(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		a := newApp(t, s, "c1")
		b := newApp(t, s, "c2")
		u := newUser(t, s, "alice")
		now := time.Now()
		at, rt := pair(a, u.ID, "fam", "a1", "r1", now)
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
		issue := func(access, refresh string) func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			return func(r gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
				at, rt := pair(a, u.ID, "", access, refresh, now)
				return at, rt, nil
			}
		}
		// Wrong client, unknown token.
		if _, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), b.ID, now, 0, issue("x", "y")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
			t.Fatal(err)
		}
		if _, err := s.RotateRefreshToken(ctx, secret.Hash("zz"), a.ID, now, 0, issue("x", "y")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
			t.Fatal(err)
		}
		// An error from issue rolls back.
		boom := errors.New("boom")
		if _, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			return nil, nil, boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		revoked, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, issue("a2", "r2"))
		if err != nil || len(revoked) != 1 || string(revoked[0]) != string(secret.Hash("a1")) {
			t.Fatalf("rotate: %v %d", err, len(revoked))
		}
		g, err := s.AccessTokenByHash(ctx, secret.Hash("a2"))
		if err != nil || g.Token.Family != "fam" || g.User == nil || g.User.Username != "alice" || g.ClientID != "c1" {
			t.Fatalf("new token: %+v %v", g, err)
		}
		// Reuse of r1 revokes the family: a2 gone, r2 revoked.
		revoked, err = s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, issue("a3", "r3"))
		if !errors.Is(err, gatehouse.ErrTokenReused) || len(revoked) != 1 {
			t.Fatalf("reuse: %v %d", err, len(revoked))
		}
		if _, err := s.AccessTokenByHash(ctx, secret.Hash("a2")); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatal("family access token survived")
		}
		r2, _ := s.RefreshTokenByHash(ctx, secret.Hash("r2"))
		if r2.Revoked == nil {
			t.Fatal("family refresh token not revoked")
		}
	})
}

func TestOAuthConcurrentRotation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		a := newApp(t, s, "c1")
		u := newUser(t, s, "alice")
		now := time.Now()
		at, rt := pair(a, u.ID, "fam", "a1", "r1", now)
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
		const n = 10
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
					at, rt := pair(a, u.ID, "", "a-"+string(rune('a'+i)), "r-"+string(rune('a'+i)), now)
					return at, rt, nil
				})
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, gatehouse.ErrTokenReused), errors.Is(err, gatehouse.ErrInvalidGrant):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d rotations succeeded, want exactly 1", ok)
		}
	})
}

func TestOAuthRedeemGrant(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		a := newApp(t, s, "c1")
		u := newUser(t, s, "alice")
		now := time.Now()
		g := gatehouse.Grant{CodeHash: secret.Hash("code"), ApplicationID: a.ID, UserID: u.ID, RedirectURI: "https://a.example/cb", Scope: "read",
			Created: now, Expires: now.Add(time.Minute)}
		if err := s.CreateGrant(ctx, &g); err != nil {
			t.Fatal(err)
		}
		ok := func(gatehouse.Grant, *gatehouse.User) error { return nil }
		issue := func(gr gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
			at, rt := pair(a, u.ID, "fg", "ga", "gr", now)
			return at, rt, nil, nil
		}
		refuse := errors.New("pkce")
		if _, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, func(gatehouse.Grant, *gatehouse.User) error { return refuse }, issue); !errors.Is(err, refuse) {
			t.Fatal(err)
		}
		if _, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok, issue); err != nil {
			t.Fatal(err)
		}
		gt, err := s.AccessTokenByHash(ctx, secret.Hash("ga"))
		if err != nil || gt.Token.GrantID == nil || *gt.Token.GrantID != g.ID {
			t.Fatalf("token from code: %+v %v", gt, err)
		}
		revoked, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok, issue)
		if !errors.Is(err, gatehouse.ErrTokenReused) || len(revoked) != 1 {
			t.Fatalf("replay: %v %d", err, len(revoked))
		}
		if r, _ := s.RefreshTokenByHash(ctx, secret.Hash("gr")); r.Revoked == nil {
			t.Fatal("refresh token from a replayed code not revoked")
		}
		// Expired.
		g2 := gatehouse.Grant{CodeHash: secret.Hash("code2"), ApplicationID: a.ID, UserID: u.ID, Created: now, Expires: now.Add(time.Minute)}
		s.CreateGrant(ctx, &g2)
		if _, err := s.RedeemGrant(ctx, secret.Hash("code2"), a.ID, now.Add(2*time.Minute), ok, issue); !errors.Is(err, gatehouse.ErrInvalidGrant) {
			t.Fatal(err)
		}
	})
}

func TestOAuthCleanup(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		a := newApp(t, s, "c1")
		u := newUser(t, s, "alice")
		old := time.Now().Add(-48 * time.Hour)
		for i, name := range []string{"x1", "x2", "x3"} {
			at, rt := pair(a, u.ID, name, "a"+name, "r"+name, old)
			if i == 0 {
				rev := old
				rt.Revoked = &rev
			}
			if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
				t.Fatal(err)
			}
		}
		live, liveR := pair(a, u.ID, "live", "alive", "rlive", time.Now())
		s.CreateTokens(ctx, live, liveR, nil)
		now := time.Now()
		var total int64
		for {
			n, err := s.DeleteExpiredOAuth(ctx, now, now.Add(-24*time.Hour), 1)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			total += n
		}
		if total != 4 { // three expired access tokens, one long-revoked refresh token
			t.Fatalf("removed %d rows, want 4", total)
		}
		if _, err := s.AccessTokenByHash(ctx, secret.Hash("alive")); err != nil {
			t.Fatal("live token removed")
		}
		if _, err := s.RefreshTokenByHash(ctx, secret.Hash("rx2")); err != nil {
			t.Fatal("a never-expiring refresh token was removed")
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
