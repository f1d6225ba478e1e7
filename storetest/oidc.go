package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// OpenID Connect's storage: the login time travels from the code to the
// refresh tokens of its family, and an application keeps its
// post-logout redirect URIs.
func testOIDCAuthTimeAndLogoutURIs(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "oidc-owner")
	app := gatehouse.Application{ClientID: "rp", ClientType: gatehouse.ClientConfidential, SecretHash: []byte("h"),
		GrantTypes: []string{gatehouse.GrantAuthorizationCode}, RedirectURIs: []string{"https://rp.example/cb"}, UserID: &owner.ID,
		PostLogoutRedirectURIs: []string{"https://rp.example/bye", "https://rp.example/bye?x=1"}, TokenFormat: gatehouse.TokenFormatJWT}
	if err := s.CreateApplication(ctx, &app); err != nil {
		t.Fatal(err)
	}
	got, err := s.Application(ctx, "rp")
	if err != nil || fmt.Sprint(got.PostLogoutRedirectURIs) != "[https://rp.example/bye https://rp.example/bye?x=1]" || got.TokenFormat != gatehouse.TokenFormatJWT {
		t.Fatalf("post-logout URIs read back as %q, token format %q, %v", got.PostLogoutRedirectURIs, got.TokenFormat, err)
	}
	newApp(t, s, "plain")
	if plain, err := s.Application(ctx, "plain"); err != nil || len(plain.PostLogoutRedirectURIs) != 0 || plain.TokenFormat != gatehouse.TokenFormatOpaque {
		t.Fatalf("an application created without post-logout URIs or token format: %+v %v", plain, err)
	}

	now := time.Now()
	login := now.Add(-90 * time.Second)
	g := gatehouse.Grant{CodeHash: secret.Hash("oidc-code"), ApplicationID: app.ID, UserID: owner.ID, Scope: "openid",
		Nonce: "n-1", AuthTime: &login, Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g); err != nil {
		t.Fatal(err)
	}
	var seen gatehouse.Grant
	_, err = s.RedeemGrant(ctx, secret.Hash("oidc-code"), app.ID, now,
		func(gr gatehouse.Grant, _ *gatehouse.User) error { seen = gr; return nil },
		func(gr gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
			at, rt := pair(app, owner.ID, "oidc-fam", "oidc-a1", "oidc-r1", now)
			rt.AuthTime = gr.AuthTime
			return at, rt, nil, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if seen.AuthTime == nil || !seen.AuthTime.Equal(micro(login)) || seen.Nonce != "n-1" {
		t.Fatalf("the code's auth time %v nonce %q, want %v n-1", seen.AuthTime, seen.Nonce, micro(login))
	}
	r1, err := s.RefreshTokenByHash(ctx, secret.Hash("oidc-r1"))
	if err != nil || r1.AuthTime == nil || !r1.AuthTime.Equal(micro(login)) {
		t.Fatalf("refresh token auth time %v, %v", r1.AuthTime, err)
	}
	var rot gatehouse.RefreshRotation
	_, err = s.RotateRefreshToken(ctx, secret.Hash("oidc-r1"), app.ID, now, 0, nil,
		func(r gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			rot = r
			at, rt := pair(app, owner.ID, "", "oidc-a2", "oidc-r2", now)
			rt.AuthTime = r.Old.AuthTime
			return at, rt, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if rot.Old.AuthTime == nil || !rot.Old.AuthTime.Equal(micro(login)) {
		t.Fatalf("rotation saw auth time %v", rot.Old.AuthTime)
	}
	if r2, err := s.RefreshTokenByHash(ctx, secret.Hash("oidc-r2")); err != nil || r2.AuthTime == nil || !r2.AuthTime.Equal(micro(login)) {
		t.Fatalf("rotated refresh token auth time %v, %v", r2.AuthTime, err)
	}
	// A nonce is used once per client while its code is kept; another
	// client may use the same value, and codes without a nonce are many.
	again := gatehouse.Grant{CodeHash: secret.Hash("oidc-code-again"), ApplicationID: app.ID, UserID: owner.ID, Nonce: "n-1",
		Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &again); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("a nonce used twice: %v", err)
	}
	plainApp, err := s.Application(ctx, "plain")
	if err != nil {
		t.Fatal(err)
	}
	again.ApplicationID = plainApp.ID
	if err := s.CreateGrant(ctx, &again); err != nil {
		t.Fatalf("the same nonce for another client: %v", err)
	}
	// Without a login time (codes and tokens loaded from Django) it stays unknown.
	g2 := gatehouse.Grant{CodeHash: secret.Hash("oidc-code-2"), ApplicationID: app.ID, UserID: owner.ID, Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g2); err != nil {
		t.Fatal(err)
	}
	_, err = s.RedeemGrant(ctx, secret.Hash("oidc-code-2"), app.ID, now,
		func(gr gatehouse.Grant, _ *gatehouse.User) error { seen = gr; return nil },
		func(gr gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
			at, rt := pair(app, owner.ID, "oidc-fam2", "oidc-a3", "oidc-r3", now)
			return at, rt, nil, nil
		})
	if err != nil || seen.AuthTime != nil {
		t.Fatalf("a code without a login time read back %v, %v", seen.AuthTime, err)
	}
	if r3, err := s.RefreshTokenByHash(ctx, secret.Hash("oidc-r3")); err != nil || r3.AuthTime != nil {
		t.Fatalf("refresh token without auth time read back %v, %v", r3.AuthTime, err)
	}
}

// UpdateApplication writes every changeable field and keeps the rest
// (id, client_id, owner, created); an unknown client is ErrNotFound.
func testApplicationUpdate(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "upd")
	later := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ch := a
	ch.Name, ch.SecretHash, ch.ClientType = "Renamed", []byte("new-hash"), gatehouse.ClientPublic
	ch.GrantTypes, ch.RedirectURIs = []string{gatehouse.GrantAuthorizationCode}, []string{"https://new.example/cb"}
	ch.PostLogoutRedirectURIs, ch.SkipAuthorization, ch.DefaultScopes = []string{"https://new.example/bye"}, true, []string{"write"}
	ch.ResourceServer, ch.AllowedOrigins, ch.TokenFormat, ch.Updated = true, []string{"https://new.example"}, gatehouse.TokenFormatJWT, later
	ch.ID, ch.Created = 0, time.Time{} // not written
	if err := s.UpdateApplication(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	got, err := s.Application(ctx, "upd")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Name != "Renamed" || string(got.SecretHash) != "new-hash" || !got.IsPublic() ||
		fmt.Sprint(got.GrantTypes) != "[authorization-code]" || fmt.Sprint(got.RedirectURIs) != "[https://new.example/cb]" ||
		fmt.Sprint(got.PostLogoutRedirectURIs) != "[https://new.example/bye]" || !got.SkipAuthorization ||
		fmt.Sprint(got.DefaultScopes) != "[write]" || !got.ResourceServer || fmt.Sprint(got.AllowedOrigins) != "[https://new.example]" ||
		got.TokenFormat != gatehouse.TokenFormatJWT || !got.Updated.Equal(later) || !got.Created.Equal(micro(a.Created)) {
		t.Fatalf("after UpdateApplication: %+v", got)
	}
	ch.ClientID = "nobody"
	if err := s.UpdateApplication(ctx, &ch); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("UpdateApplication of an unknown client: %v", err)
	}
}
