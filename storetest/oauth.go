package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

func newApp(t *testing.T, s gatehouse.ApplicationStore, clientID string) gatehouse.Application {
	t.Helper()
	a := gatehouse.Application{ClientID: clientID, ClientType: gatehouse.ClientConfidential, SecretHash: []byte("h"),
		GrantTypes: []string{"password", "authorization-code"}, RedirectURIs: []string{"https://a.example/cb", "http://127.0.0.1/cb"},
		DefaultScopes: []string{"read"}}
	if err := s.CreateApplication(t.Context(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// pair is an access token valid for an hour from now and its refresh token.
func pair(app gatehouse.Application, uid int64, family, access, refresh string, now time.Time) (*gatehouse.AccessToken, *gatehouse.RefreshToken) {
	return &gatehouse.AccessToken{Hash: secret.Hash(access), UserID: &uid, ApplicationID: app.ID, Scope: "read write", Family: family, Created: now, Expires: now.Add(time.Hour)},
		&gatehouse.RefreshToken{Hash: secret.Hash(refresh), UserID: &uid, ApplicationID: app.ID, Scope: "read write", Family: family, Created: now}
}

func hashes(r gatehouse.RevokedAccess) []string {
	var out []string
	for _, h := range r {
		out = append(out, fmt.Sprintf("%x", h))
	}
	return out
}

func testPing(t *testing.T, s gatehouse.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Revoking a user's credentials reaches every kind: DRF tokens, OAuth
// access and refresh tokens, simplejwt refresh records; other users keep
// theirs.
func testUserRevokeCredentialsEverywhere(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	other := newUser(t, s, "bob")
	now := time.Now()
	for _, x := range []struct {
		uid  int64
		name string
	}{{u.ID, "alice"}, {other.ID, "bob"}} {
		at, rt := pair(app, x.uid, "fam-"+x.name, "a-"+x.name, "r-"+x.name, now)
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
		r := refreshRecord("jti-"+x.name, x.uid, now)
		if err := s.RecordRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateUser(ctx, u.ID, func(*gatehouse.User) (gatehouse.UserChange, error) {
		return gatehouse.UserChange{RevokeCredentials: true, At: now}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("a-alice")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("OAuth access token survived: %v", err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash("r-alice")); err != nil || r.Revoked == nil {
		t.Errorf("OAuth refresh token not revoked: %+v, %v", r, err)
	}
	if !blacklisted(t, s, "", "jti-alice") {
		t.Error("simplejwt refresh token not blacklisted")
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-alice")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("DRF token survived: %v", err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("a-bob")); err != nil {
		t.Errorf("another user's access token went: %v", err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash("r-bob")); err != nil || r.Revoked != nil {
		t.Errorf("another user's refresh token: %+v, %v", r, err)
	}
	if blacklisted(t, s, "", "jti-bob") {
		t.Error("another user's simplejwt token blacklisted")
	}
}

// DeleteUser removes everything the user owns.
func testUserDeleteCascades(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	at, rt := pair(app, u.ID, "f", "acc", "ref", now)
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	g := gatehouse.Grant{CodeHash: secret.Hash("code"), ApplicationID: app.ID, UserID: u.ID, Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("acc")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("access token survived its user: %v", err)
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("ref")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("refresh token survived its user: %v", err)
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("code"), app.ID, now, func(gatehouse.Grant, *gatehouse.User) error { return nil },
		func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
			at, rt := pair(app, u.ID, "", "x", "y", now)
			return at, rt, nil, nil
		}); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Errorf("code survived its user: %v", err)
	}
	if _, err := s.Application(ctx, "c1"); err != nil {
		t.Errorf("the application went with the user: %v", err)
	}
}

func testApplicationLifecycle(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
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
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("ref")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("refresh token survived its application: %v", err)
	}
	if err := s.DeleteApplication(ctx, "c1"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := s.ApplicationByID(ctx, a.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("ApplicationByID of a deleted application: %v", err)
	}
	if _, err := s.User(ctx, u.ID); err != nil {
		t.Fatalf("the user went with the application: %v", err)
	}
}

// ReplaceSecretHash replaces only the hash it is told is there.
func testReplaceSecretHash(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	newApp(t, s, "c1") // secret hash "h"
	django := gatehouse.DjangoSecretHash("pbkdf2_sha256$1$salt$hash")
	if err := s.ReplaceSecretHash(ctx, "c1", django, []byte("new")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("replaced a hash that was not there: %v", err)
	}
	if err := s.ReplaceSecretHash(ctx, "nope", []byte("h"), []byte("new")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("an unknown client: %v", err)
	}
	if err := s.ReplaceSecretHash(ctx, "c1", []byte("h"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Application(ctx, "c1")
	if err != nil || string(got.SecretHash) != "new" || got.ClientType != gatehouse.ClientConfidential {
		t.Fatalf("%+v %v", got, err)
	}
}

// Every field of an application comes back as written; Applications lists
// them all.
func testApplicationFieldsAndList(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "owner")
	created := time.Date(2025, 6, 7, 8, 9, 10, 111222333, time.UTC)
	in := gatehouse.Application{ClientID: "full", ClientType: gatehouse.ClientPublic, GrantTypes: []string{gatehouse.GrantAuthorizationCode},
		RedirectURIs: []string{"https://x.example/cb"}, Name: "Full app", UserID: &owner.ID, SkipAuthorization: true,
		DefaultScopes: []string{"read", "write"}, ResourceServer: true, Algorithm: "RS256", Created: created, Updated: created.Add(time.Minute),
		AllowedOrigins: []string{"https://spa.example", "http://localhost:3000"}}
	if err := s.CreateApplication(ctx, &in); err != nil || in.ID == 0 {
		t.Fatalf("create: id %d, %v", in.ID, err)
	}
	got, err := s.ApplicationByID(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != "full" || got.SecretHash != nil || !got.IsPublic() || fmt.Sprint(got.GrantTypes) != "[authorization-code]" ||
		fmt.Sprint(got.RedirectURIs) != "[https://x.example/cb]" || got.Name != "Full app" || got.UserID == nil || *got.UserID != owner.ID ||
		!got.SkipAuthorization || fmt.Sprint(got.DefaultScopes) != "[read write]" || !got.ResourceServer || got.Algorithm != "RS256" ||
		fmt.Sprint(got.AllowedOrigins) != "[https://spa.example http://localhost:3000]" {
		t.Fatalf("stored %+v\nread   %+v", in, got)
	}
	if !got.Created.Equal(micro(created)) || !got.Updated.Equal(micro(created.Add(time.Minute))) {
		t.Fatalf("times %v %v, want %v %v", got.Created, got.Updated, micro(created), micro(created.Add(time.Minute)))
	}
	if _, err := s.ApplicationByID(ctx, 9999); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("ApplicationByID of none: %v", err)
	}
	if list, err := s.Applications(ctx); err != nil || len(list) != 1 {
		t.Fatalf("Applications: %d, %v", len(list), err)
	}
	second := newApp(t, s, "second")
	list, err := s.Applications(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("Applications: %d, %v", len(list), err)
	}
	ids := map[int64]string{}
	for _, a := range list {
		ids[a.ID] = a.ClientID
	}
	if ids[in.ID] != "full" || ids[second.ID] != "second" {
		t.Fatalf("Applications: %v", ids)
	}
}

// SetAllowedOrigins replaces an application's origins (none clears them)
// and its Updated time, and nothing else; an unknown client is ErrNotFound.
func testApplicationAllowedOrigins(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "spa")
	if len(a.AllowedOrigins) != 0 {
		t.Fatalf("a new application has origins %v", a.AllowedOrigins)
	}
	later := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.SetAllowedOrigins(ctx, "spa", []string{"https://a.example", "https://b.example:8443"}, later); err != nil {
		t.Fatal(err)
	}
	got, err := s.Application(ctx, "spa")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.AllowedOrigins) != "[https://a.example https://b.example:8443]" || !got.Updated.Equal(later) ||
		got.ClientType != a.ClientType || fmt.Sprint(got.RedirectURIs) != fmt.Sprint(a.RedirectURIs) || !got.Created.Equal(micro(a.Created)) {
		t.Fatalf("after SetAllowedOrigins: %+v (was %+v)", got, a)
	}
	if list, err := s.Applications(ctx); err != nil || len(list) != 1 || len(list[0].AllowedOrigins) != 2 {
		t.Fatalf("Applications: %+v, %v", list, err)
	}
	if err := s.SetAllowedOrigins(ctx, "spa", nil, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Application(ctx, "spa"); len(got.AllowedOrigins) != 0 {
		t.Fatalf("cleared origins read as %q", got.AllowedOrigins)
	}
	if err := s.SetAllowedOrigins(ctx, "nobody", []string{"https://a.example"}, later); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("SetAllowedOrigins of an unknown client: %v", err)
	}
}

// Tokens are found by hash with their user and client; a client's own
// token has no user; a hash is stored once.
func testOAuthTokenLookup(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Date(2026, 2, 3, 4, 5, 6, 789012345, time.UTC)
	at, rt := pair(app, u.ID, "fam", "acc", "ref", now)
	fexp := now.Add(30 * 24 * time.Hour)
	if err := s.CreateTokens(ctx, at, rt, &fexp); err != nil {
		t.Fatal(err)
	}
	if at.ID == 0 || rt.ID == 0 || rt.AccessTokenID == nil || *rt.AccessTokenID != at.ID {
		t.Fatalf("ids: access %d, refresh %d -> %v", at.ID, rt.ID, rt.AccessTokenID)
	}
	g, err := s.AccessTokenByHash(ctx, secret.Hash("acc"))
	if err != nil || g.Token.ID != at.ID || g.ClientID != "c1" || g.User == nil || g.User.ID != u.ID || g.User.Username != "alice" ||
		g.Token.Scope != "read write" || g.Token.Family != "fam" || !g.Token.Created.Equal(micro(now)) || !g.Token.Expires.Equal(micro(now.Add(time.Hour))) {
		t.Fatalf("AccessTokenByHash: %+v %+v, %v", g, g.User, err)
	}
	r, err := s.RefreshTokenByHash(ctx, secret.Hash("ref"))
	if err != nil || r.ID != rt.ID || r.AccessTokenID == nil || *r.AccessTokenID != at.ID || r.Revoked != nil || r.Expires != nil ||
		r.UserID == nil || *r.UserID != u.ID || r.Family != "fam" {
		t.Fatalf("RefreshTokenByHash: %+v, %v", r, err)
	}
	cc := &gatehouse.AccessToken{Hash: secret.Hash("client-own"), ApplicationID: app.ID, Scope: "read", Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateTokens(ctx, cc, nil, nil); err != nil {
		t.Fatal(err)
	}
	if g, err := s.AccessTokenByHash(ctx, secret.Hash("client-own")); err != nil || g.User != nil || g.Token.UserID != nil || g.ClientID != "c1" {
		t.Fatalf("client's own token: %+v, %v", g, err)
	}
	// An expired token is still found: expiry is the caller's to check.
	old := &gatehouse.AccessToken{Hash: secret.Hash("expired"), ApplicationID: app.ID, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	if err := s.CreateTokens(ctx, old, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("expired")); err != nil {
		t.Fatalf("expired token: %v", err)
	}
	for _, h := range []string{"nope", "ref"} {
		if _, err := s.AccessTokenByHash(ctx, secret.Hash(h)); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("AccessTokenByHash(%s): %v", h, err)
		}
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("acc")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("RefreshTokenByHash of an access token: %v", err)
	}
	dupA, _ := pair(app, u.ID, "x", "acc", "ref-2", now)
	if err := s.CreateTokens(ctx, dupA, nil, nil); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("access token hash stored twice: %v", err)
	}
	a2, dupR := pair(app, u.ID, "x", "acc-2", "ref", now)
	if err := s.CreateTokens(ctx, a2, dupR, nil); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("refresh token hash stored twice: %v", err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("acc-2")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the access token of a pair that failed was stored: %v", err)
	}
}

// Concurrent lone access tokens are each stored with their own id, and a
// duplicate fails alone.
func testOAuthCreateTokensConcurrent(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "cc")
	now := time.Now()
	mk := func(i int) *gatehouse.AccessToken {
		return &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint("tok", i)), ApplicationID: app.ID, Scope: "read", Created: now, Expires: now.Add(time.Hour)}
	}
	const n = 64
	tokens := make([]*gatehouse.AccessToken, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range tokens {
		tokens[i] = mk(i % (n - 1)) // the last repeats the first: one conflict
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.CreateTokens(ctx, tokens[i], nil, nil) }()
	}
	wg.Wait()
	conflicts := 0
	ids := map[int64]bool{}
	for i, err := range errs {
		switch {
		case errors.Is(err, gatehouse.ErrConflict):
			conflicts++
		case err != nil:
			t.Fatalf("token %d: %v", i, err)
		default:
			if tokens[i].ID == 0 || ids[tokens[i].ID] {
				t.Fatalf("token %d: id %d", i, tokens[i].ID)
			}
			ids[tokens[i].ID] = true
			if g, err := s.AccessTokenByHash(ctx, tokens[i].Hash); err != nil || g.Token.ID != tokens[i].ID {
				t.Fatalf("token %d: %+v %v", i, g.Token, err)
			}
		}
	}
	if conflicts != 1 {
		t.Fatalf("%d conflicts, want 1", conflicts)
	}
}

// RevokeAccessToken deletes a client's own token only.
func testOAuthRevokeAccessToken(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	b := newApp(t, s, "c2")
	u := newUser(t, s, "alice")
	at, rt := pair(a, u.ID, "f", "acc", "ref", time.Now())
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name  string
		hash  string
		app   int64
		found bool
	}{
		{"another client's", "acc", b.ID, false},
		{"unknown", "nope", a.ID, false},
		{"a refresh token's hash", "ref", a.ID, false},
		{"own", "acc", a.ID, true},
		{"again", "acc", a.ID, false},
	} {
		if found, err := s.RevokeAccessToken(ctx, secret.Hash(step.hash), step.app); err != nil || found != step.found {
			t.Fatalf("%s: %v, %v; want %v", step.name, found, err, step.found)
		}
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("acc")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("revoked token: %v", err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash("ref")); err != nil || r.Revoked != nil {
		t.Fatalf("revoking the access token touched its refresh token: %+v, %v", r, err)
	}
}

// RevokeRefreshToken revokes a client's own refresh token and deletes its
// access token, reporting the access token's hash.
func testOAuthRevokeRefreshToken(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	b := newApp(t, s, "c2")
	u := newUser(t, s, "alice")
	now := time.Now()
	at, rt := pair(a, u.ID, "f", "acc", "ref", now)
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	if revoked, found, err := s.RevokeRefreshToken(ctx, secret.Hash("ref"), b.ID, now); err != nil || found || len(revoked) != 0 {
		t.Fatalf("another client's: %v %v %v", revoked, found, err)
	}
	if revoked, found, err := s.RevokeRefreshToken(ctx, secret.Hash("nope"), a.ID, now); err != nil || found || len(revoked) != 0 {
		t.Fatalf("unknown: %v %v %v", revoked, found, err)
	}
	if r, _ := s.RefreshTokenByHash(ctx, secret.Hash("ref")); r.Revoked != nil {
		t.Fatal("revoked by a refusal")
	}
	revoked, found, err := s.RevokeRefreshToken(ctx, secret.Hash("ref"), a.ID, now)
	if err != nil || !found || len(revoked) != 1 || !bytes.Equal(revoked[0], secret.Hash("acc")) {
		t.Fatalf("own: %v %v %v", hashes(revoked), found, err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash("ref")); err != nil || r.Revoked == nil || !r.Revoked.Equal(micro(now)) {
		t.Fatalf("refresh token after revocation: %+v, %v", r, err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("acc")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("its access token: %v", err)
	}
	// Again: still found, nothing more to delete.
	if revoked, found, err := s.RevokeRefreshToken(ctx, secret.Hash("ref"), a.ID, now.Add(time.Minute)); err != nil || !found || len(revoked) != 0 {
		t.Fatalf("again: %v %v %v", hashes(revoked), found, err)
	}
}

func testOAuthRotateAndFamily(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	b := newApp(t, s, "c2")
	u := newUser(t, s, "alice")
	now := time.Now()
	at, rt := pair(a, u.ID, "fam", "a1", "r1", now)
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	var seen gatehouse.RefreshRotation
	issue := func(access, refresh string) func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		return func(r gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			seen = r
			at, rt := pair(a, u.ID, "", access, refresh, now)
			return at, rt, nil
		}
	}
	// Wrong client, unknown token.
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), b.ID, now, 0, nil, issue("x", "y")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("zz"), a.ID, now, 0, nil, issue("x", "y")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatal(err)
	}
	// An error from issue rolls back.
	boom := errors.New("boom")
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, nil, func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		return nil, nil, boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if r1, _ := s.RefreshTokenByHash(ctx, secret.Hash("r1")); r1.Revoked != nil {
		t.Fatal("a rotation that failed in issue revoked the token")
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("a1")); err != nil {
		t.Fatalf("a rotation that failed in issue deleted the access token: %v", err)
	}
	revoked, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, nil, issue("a2", "r2"))
	if err != nil || len(revoked) != 1 || string(revoked[0]) != string(secret.Hash("a1")) {
		t.Fatalf("rotate: %v %d", err, len(revoked))
	}
	if seen.InGrace || !bytes.Equal(seen.Old.Hash, secret.Hash("r1")) || seen.User == nil || seen.User.ID != u.ID || seen.FamilyExpires != nil {
		t.Fatalf("issue was given %+v", seen)
	}
	// The user is read whole with the token (one statement).
	if want, err := s.UserByUsername(ctx, "alice"); err != nil || seen.User.Username != want.Username || seen.User.Email != want.Email ||
		seen.User.Password != want.Password || seen.User.IsActive != want.IsActive || seen.User.IsStaff != want.IsStaff ||
		!seen.User.DateJoined.Equal(want.DateJoined) || !seen.User.AuthEpoch.Equal(want.AuthEpoch) || (seen.User.LastLogin == nil) != (want.LastLogin == nil) {
		t.Fatalf("issue was given the user %+v, stored %+v (%v)", *seen.User, want, err)
	}
	g, err := s.AccessTokenByHash(ctx, secret.Hash("a2"))
	if err != nil || g.Token.Family != "fam" || g.User == nil || g.User.Username != "alice" || g.ClientID != "c1" {
		t.Fatalf("new token: %+v %v", g, err)
	}
	if r2, err := s.RefreshTokenByHash(ctx, secret.Hash("r2")); err != nil || r2.Family != "fam" || r2.Revoked != nil ||
		r2.AccessTokenID == nil || *r2.AccessTokenID != g.Token.ID {
		t.Fatalf("new refresh token: %+v, %v; want it to name access token %d", r2, err, g.Token.ID)
	}
	// The rotated token names no access token any more (DOT's revoke()):
	// revoking it again leaves the new access token alone.
	if r1, err := s.RefreshTokenByHash(ctx, secret.Hash("r1")); err != nil || r1.Revoked == nil || r1.AccessTokenID != nil {
		t.Fatalf("rotated refresh token: %+v, %v", r1, err)
	}
	if revoked, found, err := s.RevokeRefreshToken(ctx, secret.Hash("r1"), a.ID, now); err != nil || !found || len(revoked) != 0 {
		t.Fatalf("revoking the rotated token: %v %v %v", hashes(revoked), found, err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("a2")); err != nil {
		t.Fatalf("revoking the rotated token ended the new access token: %v", err)
	}
	// Reuse of r1 revokes the family: a2 gone, r2 revoked.
	revoked, err = s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, nil, issue("a3", "r3"))
	if !errors.Is(err, gatehouse.ErrTokenReused) || len(revoked) != 1 {
		t.Fatalf("reuse: %v %d", err, len(revoked))
	}
	// The error says whose family it was (the audit log records it).
	if reuse, ok := errors.AsType[*gatehouse.TokenReuse](err); !ok || reuse.UserID != u.ID || reuse.Family != "fam" {
		t.Fatalf("reuse error %#v, want a *TokenReuse of user %d, family fam", err, u.ID)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("a2")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatal("family access token survived")
	}
	r2, _ := s.RefreshTokenByHash(ctx, secret.Hash("r2"))
	if r2.Revoked == nil {
		t.Fatal("family refresh token not revoked")
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("r3")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("a reuse issued tokens: %v", err)
	}
}

// Within the grace period a rotated token is accepted once more; expired
// tokens and families are refused.
func testOAuthRotateGraceAndExpiry(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	var seen gatehouse.RefreshRotation
	issue := func(access, refresh string) func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		return func(r gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			seen = r
			at, rt := pair(a, u.ID, "", access, refresh, now)
			return at, rt, nil
		}
	}
	fexp := now.Add(time.Hour)
	at, rt := pair(a, u.ID, "g", "ga1", "gr1", now)
	if err := s.CreateTokens(ctx, at, rt, &fexp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("gr1"), a.ID, now, time.Minute, nil, issue("ga2", "gr2")); err != nil {
		t.Fatal(err)
	}
	if seen.FamilyExpires == nil || !seen.FamilyExpires.Equal(micro(fexp)) {
		t.Fatalf("family deadline given to issue: %v, want %v", seen.FamilyExpires, micro(fexp))
	}
	// A retry within the grace period: accepted, InGrace, same family.
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("gr1"), a.ID, now.Add(30*time.Second), time.Minute, nil, issue("ga3", "gr3")); err != nil || !seen.InGrace {
		t.Fatalf("retry within grace: %v, InGrace %v", err, seen.InGrace)
	}
	if g, err := s.AccessTokenByHash(ctx, secret.Hash("ga3")); err != nil || g.Token.Family != "g" {
		t.Fatalf("token from the retry: %+v, %v", g, err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("ga2")); err != nil {
		t.Fatalf("the first rotation's token went on a retry in grace: %v", err)
	}
	// After the grace period: reuse.
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("gr1"), a.ID, now.Add(2*time.Minute), time.Minute, nil, issue("ga4", "gr4")); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("retry after grace: %v", err)
	}
	for _, h := range []string{"gr2", "gr3"} {
		if r, _ := s.RefreshTokenByHash(ctx, secret.Hash(h)); r.Revoked == nil {
			t.Fatalf("%s not revoked with its family", h)
		}
	}
	// A token the reuse revoked (never rotated) is not one the grace
	// period accepts again: it was, and its rotation went on issuing
	// (found by a multi-replica pass). Nor is one revoked by revoke_token.
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("gr3"), a.ID, now.Add(2*time.Minute+time.Second), time.Minute, nil, issue("ga5", "gr5")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("a token the family's revocation ended, within grace: %v", err)
	}
	at, rt = pair(a, u.ID, "k", "ka1", "kr1", now)
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.RevokeRefreshToken(ctx, secret.Hash("kr1"), a.ID, now); err != nil || !found {
		t.Fatalf("revoking kr1: %v %v", found, err)
	}
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("kr1"), a.ID, now.Add(time.Second), time.Minute, nil, issue("ka2", "kr2")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("a revoked token within grace: %v", err)
	}
	// Expired token; expired family.
	exp := now.Add(time.Minute)
	at, rt = pair(a, u.ID, "e", "ea1", "er1", now)
	rt.Expires = &exp
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("er1"), a.ID, exp, 0, nil, issue("x1", "y1")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("expired refresh token: %v", err)
	}
	at, rt = pair(a, u.ID, "h", "ha1", "hr1", now)
	if err := s.CreateTokens(ctx, at, rt, &exp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("hr1"), a.ID, exp.Add(time.Second), 0, nil, issue("x2", "y2")); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("expired family: %v", err)
	}
	for _, h := range []string{"er1", "hr1"} {
		if r, _ := s.RefreshTokenByHash(ctx, secret.Hash(h)); r.Revoked != nil {
			t.Fatalf("refusing expired %s revoked it", h)
		}
	}
}

func testOAuthConcurrentRotation(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
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
			_, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), a.ID, now, 0, nil, func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
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
}

func testOAuthRedeemGrant(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	g := gatehouse.Grant{CodeHash: secret.Hash("code"), ApplicationID: a.ID, UserID: u.ID, RedirectURI: "https://a.example/cb", Scope: "read",
		CodeChallenge: "chal", CodeChallengeMethod: "S256", Nonce: "n", Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g); err != nil {
		t.Fatal(err)
	}
	if g.ID == 0 {
		t.Fatal("no grant id")
	}
	// GrantByHash reads it back as stored (every field), or ErrNotFound.
	if read, err := s.GrantByHash(ctx, secret.Hash("code")); err != nil || read.ID != g.ID || !bytes.Equal(read.CodeHash, g.CodeHash) ||
		read.ApplicationID != a.ID || read.UserID != u.ID || read.RedirectURI != g.RedirectURI || read.Scope != "read" ||
		read.CodeChallenge != "chal" || read.CodeChallengeMethod != "S256" || read.Nonce != "n" || !read.Created.Equal(micro(now)) ||
		!read.Expires.Equal(micro(now.Add(time.Minute))) || read.UsedAt != nil || read.AuthTime != nil {
		t.Fatalf("GrantByHash: %+v %v", read, err)
	}
	if _, err := s.GrantByHash(ctx, secret.Hash("nope")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("GrantByHash of an unknown code: %v", err)
	}
	var checked gatehouse.Grant
	var checkedUser *gatehouse.User
	ok := func(g gatehouse.Grant, u *gatehouse.User) error { checked, checkedUser = g, u; return nil }
	// Every field of the pair differs from its neighbours', so that a
	// value stored in the wrong column shows.
	rtExp, authTime, fexp := now.Add(4*time.Hour), now.Add(-time.Minute), now.Add(3*time.Hour)
	issue := func(gr gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
		at, rt := pair(a, u.ID, "fg", "ga", "gr", now)
		rt.Scope, rt.Expires, rt.AuthTime, rt.Created = "read openid", &rtExp, &authTime, now.Add(time.Second)
		return at, rt, &fexp, nil
	}
	refuse := errors.New("pkce")
	if _, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, func(gatehouse.Grant, *gatehouse.User) error { return refuse }, issue); !errors.Is(err, refuse) {
		t.Fatal(err)
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok, issue); err != nil {
		t.Fatal(err)
	}
	if checked.ID != g.ID || checked.RedirectURI != g.RedirectURI || checked.Scope != "read" || checked.CodeChallenge != "chal" ||
		checked.CodeChallengeMethod != "S256" || checked.Nonce != "n" || checked.UsedAt != nil || checkedUser == nil || checkedUser.ID != u.ID {
		t.Fatalf("check was given %+v, %+v", checked, checkedUser)
	}
	gt, err := s.AccessTokenByHash(ctx, secret.Hash("ga"))
	if at := gt.Token; err != nil || at.GrantID == nil || *at.GrantID != g.ID || at.UserID == nil || *at.UserID != u.ID ||
		at.ApplicationID != a.ID || at.Scope != "read write" || at.Family != "fg" ||
		!at.Created.Equal(micro(now)) || !at.Expires.Equal(micro(now.Add(time.Hour))) || gt.User == nil || gt.User.ID != u.ID {
		t.Fatalf("token from code: %+v %v", gt, err)
	}
	r, err := s.RefreshTokenByHash(ctx, secret.Hash("gr"))
	if err != nil || r.GrantID == nil || *r.GrantID != g.ID || r.AccessTokenID == nil || *r.AccessTokenID != gt.Token.ID ||
		r.UserID == nil || *r.UserID != u.ID || r.ApplicationID != a.ID || r.Scope != "read openid" || r.Family != "fg" ||
		!r.Created.Equal(micro(now.Add(time.Second))) || r.Expires == nil || !r.Expires.Equal(micro(rtExp)) ||
		r.AuthTime == nil || !r.AuthTime.Equal(micro(authTime)) || r.Revoked != nil {
		t.Fatalf("refresh token from code: %+v %v", r, err)
	}
	// The family's deadline was stored: past it (the token itself still
	// valid) a rotation is refused, and nothing is revoked.
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("gr"), a.ID, fexp.Add(time.Minute), 0, nil,
		func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			at, rt := pair(a, u.ID, "", "ga-next", "gr-next", now)
			return at, rt, nil
		}); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("rotation past the family deadline given at redemption: %v", err)
	}
	if read, err := s.GrantByHash(ctx, secret.Hash("code")); err != nil || read.UsedAt == nil || !read.UsedAt.Equal(micro(now)) {
		t.Fatalf("GrantByHash of the redeemed code: %+v %v", read, err)
	}
	revoked, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok, issue)
	if !errors.Is(err, gatehouse.ErrTokenReused) || len(revoked) != 1 {
		t.Fatalf("replay: %v %d", err, len(revoked))
	}
	if reuse, ok := errors.AsType[*gatehouse.TokenReuse](err); !ok || reuse.UserID != u.ID || reuse.Family != "" {
		t.Fatalf("replay error %#v, want a *TokenReuse of user %d", err, u.ID)
	}
	if r, _ := s.RefreshTokenByHash(ctx, secret.Hash("gr")); r.Revoked == nil {
		t.Fatal("refresh token from a replayed code not revoked")
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("ga")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("access token from a replayed code: %v", err)
	}
	// Expired.
	g2 := gatehouse.Grant{CodeHash: secret.Hash("code2"), ApplicationID: a.ID, UserID: u.ID, Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("code2"), a.ID, now.Add(2*time.Minute), ok, issue); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatal(err)
	}
}

// A code is refused for another client or when unknown, and a refusal by
// check or issue leaves it redeemable.
func testOAuthRedeemGrantRefusals(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	b := newApp(t, s, "c2")
	u := newUser(t, s, "alice")
	now := time.Now()
	g := gatehouse.Grant{CodeHash: secret.Hash("code"), ApplicationID: a.ID, UserID: u.ID, Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g); err != nil {
		t.Fatal(err)
	}
	ok := func(gatehouse.Grant, *gatehouse.User) error { return nil }
	issued := 0
	issue := func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
		issued++
		at, _ := pair(a, u.ID, "", fmt.Sprint("acc", issued), "", now)
		return at, nil, nil, nil
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("code"), b.ID, now, ok, issue); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("another client's code: %v", err)
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("nope"), a.ID, now, ok, issue); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("unknown code: %v", err)
	}
	boom := errors.New("boom")
	if _, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok, func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
		return nil, nil, nil, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("issue's error: %v", err)
	}
	if issued != 0 {
		t.Fatalf("issue called %d times for refused codes", issued)
	}
	// Still redeemable, once; an access token alone is fine.
	if _, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok, issue); err != nil {
		t.Fatalf("redeem after refusals: %v", err)
	}
	if at, err := s.AccessTokenByHash(ctx, secret.Hash("acc1")); err != nil || at.Token.GrantID == nil || *at.Token.GrantID != g.ID {
		t.Fatalf("token: %+v, %v", at, err)
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok, issue); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("second redemption: %v", err)
	}
}

func testOAuthCleanup(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
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
	if err := s.CreateTokens(ctx, live, liveR, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// An expired code goes too; a live one stays.
	for _, g := range []gatehouse.Grant{
		{CodeHash: secret.Hash("old-code"), ApplicationID: a.ID, UserID: u.ID, Created: old, Expires: old.Add(time.Minute)},
		{CodeHash: secret.Hash("live-code"), ApplicationID: a.ID, UserID: u.ID, Created: now, Expires: now.Add(time.Hour)},
	} {
		if err := s.CreateGrant(ctx, &g); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for {
		n, err := s.DeleteExpiredOAuth(ctx, now, now.Add(-24*time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if n > 3 {
			t.Fatalf("removed %d rows in one pass with batch 1, more than one of each kind", n)
		}
		total += n
	}
	if total != 5 { // three expired access tokens, one long-revoked refresh token, one expired code
		t.Fatalf("removed %d rows, want 5", total)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("alive")); err != nil {
		t.Fatal("live token removed")
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("rx2")); err != nil {
		t.Fatal("a never-expiring refresh token was removed")
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("rx1")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("a long-revoked refresh token was kept: %v", err)
	}
	ok := func(gatehouse.Grant, *gatehouse.User) error { return nil }
	issue := func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
		at, _ := pair(a, u.ID, "", "from-live-code", "", now)
		return at, nil, nil, nil
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("live-code"), a.ID, now, ok, issue); err != nil {
		t.Fatalf("live code removed: %v", err)
	}
}

// testOAuthCleanupKeepsRedeemedCodes: the cleanup removes a redeemed code
// only once no token issued from it is left, so that a replay of the code
// revokes them for as long as they live; an expired unredeemed code goes.
func testOAuthCleanupKeepsRedeemedCodes(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	for _, code := range []string{"redeemed", "never-used"} {
		g := gatehouse.Grant{CodeHash: secret.Hash(code), ApplicationID: a.ID, UserID: u.ID, Scope: "read", Created: now, Expires: now.Add(time.Minute)}
		if err := s.CreateGrant(ctx, &g); err != nil {
			t.Fatal(err)
		}
	}
	ok := func(gatehouse.Grant, *gatehouse.User) error { return nil }
	issue := func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
		at, rt := pair(a, u.ID, "fam", "code-access", "code-refresh", now)
		return at, rt, nil, nil
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("redeemed"), a.ID, now, ok, issue); err != nil {
		t.Fatal(err)
	}
	later := now.Add(10 * time.Minute) // both codes expired; the tokens live
	if _, err := s.DeleteExpiredOAuth(ctx, later, later.Add(-time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("never-used"), a.ID, later, ok, issue); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("an expired unredeemed code after the cleanup: %v", err)
	}
	revoked, err := s.RedeemGrant(ctx, secret.Hash("redeemed"), a.ID, later, ok, issue)
	if !errors.Is(err, gatehouse.ErrTokenReused) || len(revoked) != 1 {
		t.Fatalf("replay after the cleanup: %v, %d revoked", err, len(revoked))
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("code-access")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the replay left the access token: %v", err)
	}
	// Once the revoked refresh token is past the replay window, the code
	// goes with it.
	muchLater := later.Add(48 * time.Hour)
	for {
		n, err := s.DeleteExpiredOAuth(ctx, muchLater, muchLater, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if _, err := s.RedeemGrant(ctx, secret.Hash("redeemed"), a.ID, muchLater, ok, issue); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("the code outlived its tokens: %v", err)
	}
}

// Rotations of different tokens at once (which a store may run in one
// transaction) each have the outcome they would have alone: the good ones
// succeed, one whose issue refuses leaves its token as it was, one whose
// new pair cannot be stored (a hash already taken) fails alone and leaves
// its token as it was, and a replayed token revokes only its own family.
func testOAuthRotationsTogether(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	taken, _ := pair(a, u.ID, "other", "taken", "unused", now)
	if err := s.CreateTokens(ctx, taken, nil, nil); err != nil {
		t.Fatal(err)
	}
	const n = 12
	for i := 0; i < n; i++ {
		at, rt := pair(a, u.ID, fmt.Sprint("fam", i), fmt.Sprint("a", i), fmt.Sprint("r", i), now)
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
	}
	refused := errors.New("issue refused")
	rotate := func(i int, refresh string) error {
		_, err := s.RotateRefreshToken(ctx, secret.Hash(refresh), a.ID, now, 0, nil, func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			switch i {
			case 1:
				return nil, nil, refused
			case 2:
				at, rt := pair(a, u.ID, "", "taken", fmt.Sprint("r", i, "-new"), now)
				return at, rt, nil
			}
			at, rt := pair(a, u.ID, "", fmt.Sprint("a", i, "-new"), fmt.Sprint("r", i, "-new"), now)
			return at, rt, nil
		})
		return err
	}
	for round := 0; round < 2; round++ {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// The second round replays token 3, already rotated.
				if round == 1 && i != 3 {
					return
				}
				errs[i] = rotate(i, fmt.Sprint("r", i))
			}(i)
		}
		wg.Wait()
		if round == 1 {
			if !errors.Is(errs[3], gatehouse.ErrTokenReused) {
				t.Fatalf("replaying a rotated token: %v, want reuse", errs[3])
			}
			break
		}
		for i, err := range errs {
			switch i {
			case 1:
				if !errors.Is(err, refused) {
					t.Fatalf("rotation %d: %v, want issue's error", i, err)
				}
			case 2:
				if err == nil {
					t.Fatal("a rotation storing a taken hash succeeded")
				}
			default:
				if err != nil {
					t.Fatalf("rotation %d: %v", i, err)
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		old, err := s.RefreshTokenByHash(ctx, secret.Hash(fmt.Sprint("r", i)))
		if err != nil {
			t.Fatal(err)
		}
		newer, newErr := s.RefreshTokenByHash(ctx, secret.Hash(fmt.Sprint("r", i, "-new")))
		switch i {
		case 1, 2:
			if old.Revoked != nil || newErr == nil {
				t.Fatalf("refused rotation %d changed something: old revoked %v, new %v", i, old.Revoked, newErr)
			}
		case 3:
			if old.Revoked == nil || newErr != nil || newer.Revoked == nil {
				t.Fatalf("the replayed family: old %v, new %+v %v", old.Revoked, newer, newErr)
			}
		default:
			if old.Revoked == nil || newErr != nil || newer.Revoked != nil || newer.Family != fmt.Sprint("fam", i) {
				t.Fatalf("rotation %d: old revoked %v, new %+v %v", i, old.Revoked, newer, newErr)
			}
			if _, err := s.AccessTokenByHash(ctx, secret.Hash(fmt.Sprint("a", i))); !errors.Is(err, gatehouse.ErrNotFound) {
				t.Fatalf("rotation %d left its old access token: %v", i, err)
			}
		}
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("taken")); err != nil {
		t.Fatalf("the token whose hash was taken: %v", err)
	}
}

// Concurrent redemptions (which the SQL store runs in one transaction)
// each have the outcome of a lone one: a refused check or issue writes
// nothing (the code stays redeemable), one code redeemed twice at once
// gives tokens once and a replay once, whose revocation takes the winner's
// tokens, and the others succeed.
func testOAuthGrantsRedeemedTogether(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	const n = 10
	for i := 0; i < n; i++ {
		g := gatehouse.Grant{CodeHash: secret.Hash(fmt.Sprint("code", i)), ApplicationID: a.ID, UserID: u.ID, Created: now, Expires: now.Add(time.Minute)}
		if err := s.CreateGrant(ctx, &g); err != nil {
			t.Fatal(err)
		}
	}
	refusedCheck, refusedIssue := errors.New("check refused"), errors.New("issue refused")
	redeem := func(i, attempt int, refuse bool) error {
		_, err := s.RedeemGrant(ctx, secret.Hash(fmt.Sprint("code", i)), a.ID, now,
			func(gatehouse.Grant, *gatehouse.User) error {
				if refuse && i == 1 {
					return refusedCheck
				}
				return nil
			},
			func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
				if refuse && i == 2 {
					return nil, nil, nil, refusedIssue
				}
				at, rt := pair(a, u.ID, "", fmt.Sprint("a", i, "-", attempt), fmt.Sprint("r", i, "-", attempt), now)
				return at, rt, nil, nil
			})
		return err
	}
	errs := make([]error, n+1) // errs[n]: the second redemption of code 3
	var wg sync.WaitGroup
	for i := 0; i <= n; i++ {
		wg.Go(func() {
			if i == n {
				errs[i] = redeem(3, 1, true)
				return
			}
			errs[i] = redeem(i, 0, true)
		})
	}
	wg.Wait()
	for i, err := range errs[:n] {
		switch i {
		case 1:
			if !errors.Is(err, refusedCheck) {
				t.Fatalf("code 1: %v, want check's error", err)
			}
		case 2:
			if !errors.Is(err, refusedIssue) {
				t.Fatalf("code 2: %v, want issue's error", err)
			}
		case 3:
		default:
			if err != nil {
				t.Fatalf("code %d: %v", i, err)
			}
		}
	}
	// Code 3: one redemption won, the other was a replay that revoked
	// the winner's tokens.
	winner := 0
	if errs[3] != nil {
		winner = 1
	}
	if errs[3] != nil && errs[n] != nil || !errors.Is(errs[3], gatehouse.ErrTokenReused) && !errors.Is(errs[n], gatehouse.ErrTokenReused) {
		t.Fatalf("code 3 redeemed twice at once: %v and %v, want one success and one replay", errs[3], errs[n])
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash(fmt.Sprint("a3-", winner))); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the access token of a replayed code: %v, want it deleted", err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash(fmt.Sprint("r3-", winner))); err != nil || r.Revoked == nil {
		t.Fatalf("the refresh token of a replayed code: %+v %v, want it revoked", r, err)
	}
	for _, i := range []int{0, 4, n - 1} {
		if _, err := s.AccessTokenByHash(ctx, secret.Hash(fmt.Sprint("a", i, "-0"))); err != nil {
			t.Fatalf("code %d's access token: %v", i, err)
		}
	}
	// The refused ones wrote nothing: their codes are still good, once.
	for _, i := range []int{1, 2} {
		if _, err := s.AccessTokenByHash(ctx, secret.Hash(fmt.Sprint("a", i, "-0"))); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("refused code %d stored a token: %v", i, err)
		}
		if err := redeem(i, 2, false); err != nil {
			t.Fatalf("code %d after its refusal: %v", i, err)
		}
		if err := redeem(i, 3, false); !errors.Is(err, gatehouse.ErrTokenReused) {
			t.Fatalf("code %d redeemed again: %v, want a replay", i, err)
		}
	}
}

// Tokens stored under their legacy key (the SHA-256 alone, before keys
// began with the token's first characters: secret.TokenKey) are found by
// their key everywhere: lookups, revocations, and rotations, alone and in
// a group with tokens stored under their key (concurrent rotations share a
// transaction, and on PostgreSQL a set; the legacy ones run alone).
func testOAuthLegacyKeys(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	tok := func(kind string, i int) string { return fmt.Sprintf("%s%05d%s", kind, i, "abcdefghijklmnopqrstuvw") }
	store := func(i int, legacy bool) {
		at, rt := pair(a, u.ID, fmt.Sprint("fam", i), "", "", now)
		at.Hash, rt.Hash = secret.TokenKey(tok("A", i)), secret.TokenKey(tok("R", i))
		if legacy {
			at.Hash, rt.Hash = secret.Hash(tok("A", i)), secret.Hash(tok("R", i))
		}
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
	}
	const n = 10 // even: legacy, odd: current
	for i := range n {
		store(i, i%2 == 0)
	}
	for i := range n {
		if g, err := s.AccessTokenByHash(ctx, secret.TokenKey(tok("A", i))); err != nil || g.Token.Family != fmt.Sprint("fam", i) {
			t.Fatalf("access token %d by its key: %+v %v", i, g.Token, err)
		}
		if r, err := s.RefreshTokenByHash(ctx, secret.TokenKey(tok("R", i))); err != nil || r.Family != fmt.Sprint("fam", i) {
			t.Fatalf("refresh token %d by its key: %+v %v", i, r, err)
		}
	}
	// A key whose legacy form is stored under another token's key is not
	// that token: only the SHA-256 part is tried.
	if _, err := s.AccessTokenByHash(ctx, secret.TokenKey("A00000zzzzzzzzzzzzzzzzzzzzzzzz")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash(tok("A", 1))); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("a current token by its SHA-256 alone: %v, want not found", err)
	}

	// Rotations of every token at once: each succeeds and each old token,
	// legacy or not, is revoked and its access token deleted.
	errs := make([]error, n)
	revoked := make([]gatehouse.RevokedAccess, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			revoked[i], errs[i] = s.RotateRefreshToken(ctx, secret.TokenKey(tok("R", i)), a.ID, now, 0, nil,
				func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
					at, rt := pair(a, u.ID, "", "", "", now)
					at.Hash, rt.Hash = secret.TokenKey(tok("a", i)), secret.TokenKey(tok("r", i))
					return at, rt, nil
				})
		})
	}
	wg.Wait()
	for i := range n {
		stored := secret.TokenKey(tok("A", i))
		if i%2 == 0 {
			stored = secret.Hash(tok("A", i))
		}
		if errs[i] != nil || len(revoked[i]) != 1 || !bytes.Equal(revoked[i][0], stored) {
			t.Fatalf("rotation %d: %v, revoked %v, want %x", i, errs[i], hashes(revoked[i]), stored)
		}
		if r, err := s.RefreshTokenByHash(ctx, secret.TokenKey(tok("R", i))); err != nil || r.Revoked == nil {
			t.Fatalf("old refresh token %d: %+v %v", i, r, err)
		}
		if r, err := s.RefreshTokenByHash(ctx, secret.TokenKey(tok("r", i))); err != nil || r.Revoked != nil || r.Family != fmt.Sprint("fam", i) {
			t.Fatalf("new refresh token %d: %+v %v", i, r, err)
		}
	}
	// A legacy token presented again is a reuse: its family is revoked.
	if _, err := s.RotateRefreshToken(ctx, secret.TokenKey(tok("R", 0)), a.ID, now, 0, nil,
		func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			t.Fatal("issue called for a reused token")
			return nil, nil, nil
		}); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("replayed legacy token: %v, want reuse", err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.TokenKey(tok("r", 0))); err != nil || r.Revoked == nil {
		t.Fatalf("its family's newer token: %+v %v, want revoked", r, err)
	}

	// Revocations by key reach legacy rows and name the stored key.
	store(100, true)
	if done, err := s.RevokeAccessToken(ctx, secret.TokenKey(tok("A", 100)), a.ID); err != nil || !done {
		t.Fatalf("revoking a legacy access token: %v %v", done, err)
	}
	if done, err := s.RevokeAccessToken(ctx, secret.TokenKey(tok("A", 100)), a.ID); err != nil || done {
		t.Fatalf("again: %v %v", done, err)
	}
	store(101, true)
	rv, found, err := s.RevokeRefreshToken(ctx, secret.TokenKey(tok("R", 101)), a.ID, now)
	if err != nil || !found || len(rv) != 1 || !bytes.Equal(rv[0], secret.Hash(tok("A", 101))) {
		t.Fatalf("revoking a legacy refresh token: %v %v %v", hashes(rv), found, err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.TokenKey(tok("R", 101))); err != nil || r.Revoked == nil {
		t.Fatalf("after: %+v %v", r, err)
	}
}

// A rotation keeps the refresh token's family on the new access token even
// when the old access token had a family of its own (imported from
// Django, where each gets one): a reuse's family revocation then ends the
// new access token too.
func testOAuthRotateImportedPair(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	at, rt := pair(a, u.ID, "dot-rt-1", "ia1", "ir1", now)
	at.Family = "dot-at-1"
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	issue := func(access, refresh string) func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		return func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			at, rt := pair(a, u.ID, "", access, refresh, now)
			return at, rt, nil
		}
	}
	revoked, err := s.RotateRefreshToken(ctx, secret.Hash("ir1"), a.ID, now, 0, nil, issue("ia2", "ir2"))
	if err != nil || len(revoked) != 1 || !bytes.Equal(revoked[0], secret.Hash("ia1")) {
		t.Fatalf("rotation: %v %v", hashes(revoked), err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("ia1")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the old access token: %v, want gone", err)
	}
	if g, err := s.AccessTokenByHash(ctx, secret.Hash("ia2")); err != nil || g.Token.Family != "dot-rt-1" {
		t.Fatalf("the new access token: %+v %v, want family dot-rt-1", g.Token, err)
	}
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("ir1"), a.ID, now, 0, nil, issue("ia3", "ir3")); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("ia2")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the family's access token survived its reuse: %v", err)
	}
}
