package guard_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// For the same bad credentials, a service behind the guard answers what
// gatehouse's own /api/me/ answers: status, WWW-Authenticate and body.
func TestParityWithGatehouse(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			g := startGatehouse(t, backend, signingKey(0))
			alice := g.user("alice", "pw-alice-1", false)
			rsID, rsSecret := g.app("orders", true, gatehouse.GrantClientCredentials)
			appID, appSecret := g.app("mobile", false, gatehouse.GrantPassword)
			r := g.remote(rsID, rsSecret, time.Minute)

			access, refresh := g.jwtPair("alice", "pw-alice-1")
			revokedOAuth := g.oauthToken(appID, appSecret, "alice", "pw-alice-1", "read")
			if status, _, b := g.do("POST", "/o/revoke_token/", url.Values{"token": {revokedOAuth}, "client_id": {appID},
				"client_secret": {appSecret}}); status != 200 {
				t.Fatalf("revoke: %d %s", status, b)
			}
			goodKey, _, err := g.accounts.CreateToken(context.Background(), alice.ID, "laptop", 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			goodOAuth := g.oauthToken(appID, appSecret, "alice", "pw-alice-1", "read")
			deletedKey := g.drfKey("alice", "pw-alice-1")
			if status, _, b := g.do("POST", "/api/tokens/logout/", nil, "Authorization", "Token "+deletedKey); status != 204 && status != 200 {
				t.Fatalf("logout: %d %s", status, b)
			}
			other, err := jwt.New(jwt.Config{Signing: signingKey(1), Now: g.clock.now})
			if err != nil {
				t.Fatal(err)
			}
			forged, _, _ := other.Mint(jwt.Access, alice.ID, time.Time{})
			hsForged := hs256(t, alice.ID, g.clock.now())
			old := &clock{}
			old.advance(-time.Hour)
			oldCodec, _ := jwt.New(jwt.Config{Signing: signingKey(0), Now: old.now})
			expired, _, _ := oldCodec.Mint(jwt.Access, alice.ID, time.Time{})

			for _, c := range []struct{ name, header string }{
				{"none", ""},
				{"another scheme", "Basic YWxpY2U6cHc="},
				{"Token alone", "Token"},
				{"Token with spaces", "Token a b"},
				{"a DRF key that is not UTF-8", "Token caf\xe9"},
				{"unknown DRF key", "Token 0123456789abcdef0123456789abcdef01234567"},
				{"deleted DRF key", "Token " + deletedKey},
				{"lower-case token keyword, unknown key", "token nope"},
				{"Bearer alone", "Bearer"},
				{"Bearer with spaces", "Bearer a b"},
				{"unknown opaque bearer token", "Bearer nope"},
				{"revoked OAuth token", "Bearer " + revokedOAuth},
				{"revoked OAuth token, lower-case keyword", "bearer " + revokedOAuth},
				{"BEARER with spaces", "BEARER a b"},
				{"garbage JWT", "Bearer a.b.c"},
				{"refresh token as access", "Bearer " + refresh},
				{"expired JWT", "Bearer " + expired},
				{"JWT signed by an unknown key", "Bearer " + forged},
				{"HS256 JWT where RS256 is configured", "Bearer " + hsForged},
				{"valid JWT, lower-case keyword", "bearer " + access},
				{"valid OAuth token under Token", "Token " + goodOAuth},
				{"valid JWT under Token", "Token " + access},
				{"valid DRF key under Bearer", "Bearer " + goodKey},
				{"valid DRF key under bearer", "bearer " + goodKey},
			} {
				t.Run(c.name, func(t *testing.T) {
					var hdr []string
					if c.header != "" {
						hdr = []string{"Authorization", c.header}
					}
					status, h, body := g.do("GET", "/api/me/", nil, hdr...)
					got := through(r, guard.IsAuthenticated, "GET", c.header)
					want := answer{status, h.Get("WWW-Authenticate"), string(body)}
					if got != want {
						t.Fatalf("guard\n got %d %q %s\ngatehouse %d %q %s", got.status, got.www, got.body, want.status, want.www, want.body)
					}
					if got.status != 401 {
						t.Fatalf("a bad credential answered %d", got.status)
					}
				})
			}
			// And the good ones pass both.
			for _, h := range []string{"Bearer " + access, "Token " + goodKey, "bearer " + goodOAuth, "BEARER " + goodOAuth} {
				if got := through(r, guard.IsAuthenticated, "GET", h); got.status != 200 {
					t.Fatalf("%.12s: %+v", h, got)
				}
				if s, _, b := g.do("GET", "/api/me/", nil, "Authorization", h); s != 200 {
					t.Fatalf("gatehouse, %.12s: %d %s", h, s, b)
				}
			}
		})
	}
}

// hs256 is a well-formed HS256 simplejwt token for user under a secret
// gatehouse does not have.
func hs256(t *testing.T, user int64, now time.Time) string {
	c, err := jwt.New(jwt.Config{Signing: jwt.Key{Algorithm: jwt.HS256, Secret: []byte("not-the-server-secret-0123456789")},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := c.Mint(jwt.Access, user, time.Time{})
	return tok
}

// Rotating gatehouse's JWT keys (a restart signing with a new key, the
// old one kept for verification) causes no 401: tokens of both keys pass
// throughout, and the JWKS is fetched once for the new kid.
func TestJWTKeyRotation(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			g := startGatehouse(t, backend, signingKey(0))
			g.user("alice", "pw-alice-1", false)
			r, err := guard.NewRemote(guard.Config{JWKSURL: g.url + "/.well-known/jwks.json", JWKSMinInterval: time.Second, Now: g.clock.now})
			if err != nil {
				t.Fatal(err)
			}
			before, _ := g.jwtPair("alice", "pw-alice-1")
			for range 3 {
				if got := through(r, guard.IsAuthenticated, "GET", "Bearer "+before); got.status != 200 {
					t.Fatalf("before the rotation: %+v", got)
				}
			}
			g.clock.advance(2 * time.Second)
			g.swap(signingKey(1), signingKey(0))
			after, _ := g.jwtPair("alice", "pw-alice-1")
			for i := range 3 {
				for _, tok := range []string{after, before} {
					if got := through(r, guard.IsAuthenticated, "GET", "Bearer "+tok); got.status != 200 {
						t.Fatalf("round %d after the rotation: %+v", i, got)
					}
				}
			}
			if n := g.requests("/.well-known/jwks.json"); n != 2 {
				t.Fatalf("%d JWKS fetches, want 2 (at the first token, at the first token of the new key)", n)
			}
		})
	}
}

// The three token kinds (and knox's) are accepted: JWTs locally, opaque
// tokens by introspection, each giving its user; a JWT's identity is
// introspected when a check needs it.
func TestTokenKinds(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			g := startGatehouse(t, backend, signingKey(0))
			alice := g.user("alice", "pw-alice-1", true)
			rsID, rsSecret := g.app("orders", true, gatehouse.GrantClientCredentials)
			appID, appSecret := g.app("mobile", false, gatehouse.GrantPassword, gatehouse.GrantClientCredentials)
			jwtID, jwtSecret := g.appSpec(oauth.ApplicationSpec{Name: "api", GrantTypes: []string{gatehouse.GrantPassword},
				TokenFormat: gatehouse.TokenFormatJWT})
			atJWT := g.oauthToken(jwtID, jwtSecret, "alice", "pw-alice-1", "read")
			if strings.Count(atJWT, ".") != 2 {
				t.Fatalf("not a JWT access token: %q", atJWT)
			}
			r := g.remote(rsID, rsSecret, time.Minute)
			access, _ := g.jwtPair("alice", "pw-alice-1")
			var client struct {
				AccessToken string `json:"access_token"`
			}
			g.postJSON("/o/token/", &client, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"},
				"client_id": {appID}, "client_secret": {appSecret}})
			id := alice.ID
			for _, c := range []struct {
				name, header string
				perm         guard.Permission
				want         string
			}{
				{"DRF key", "Token " + g.drfKey("alice", "pw-alice-1"), guard.IsAdminUser,
					fmt.Sprintf(`{"kind":"token","scopes":null,"staff":true,"user_id":%d,"username":"alice"}`, id)},
				{"knox token", "token " + g.knoxToken(alice), guard.IsAdminUser,
					fmt.Sprintf(`{"kind":"knox","scopes":null,"staff":true,"user_id":%d,"username":"alice"}`, id)},
				{"OAuth token", "Bearer " + g.oauthToken(appID, appSecret, "alice", "pw-alice-1", "read write"),
					guard.And(guard.TokenHasReadWriteScope(), guard.IsAdminUser),
					fmt.Sprintf(`{"kind":"oauth","scopes":["read","write"],"staff":true,"user_id":%d,"username":"alice"}`, id)},
				{"RFC 9068 JWT access token: introspected", "Bearer " + atJWT, guard.And(guard.TokenHasScope("read"), guard.IsAdminUser),
					fmt.Sprintf(`{"kind":"oauth","scopes":["read"],"staff":true,"user_id":%d,"username":"alice"}`, id)},
				{"client's own OAuth token", "Bearer " + client.AccessToken, guard.TokenHasScope("read"),
					`{"kind":"oauth","scopes":["read"],"staff":false,"user_id":0,"username":""}`},
				{"JWT, IsAuthenticated: no call", "Bearer " + access, guard.IsAuthenticated,
					fmt.Sprintf(`{"kind":"jwt","scopes":null,"staff":false,"user_id":%d,"username":""}`, id)},
				{"JWT, IsAdminUser: introspected", "Bearer " + access, guard.IsAdminUser,
					fmt.Sprintf(`{"kind":"jwt","scopes":null,"staff":true,"user_id":%d,"username":"alice"}`, id)},
			} {
				t.Run(c.name, func(t *testing.T) {
					before := g.requests("/o/introspect/")
					got := through(r, c.perm, "POST", c.header)
					if got.status != 200 || got.body != c.want {
						t.Fatalf("got %d %s\nwant 200 %s", got.status, got.body, c.want)
					}
					if n := g.requests("/o/introspect/") - before; n != 1 && !strings.HasPrefix(c.name, "JWT, IsAuthenticated") {
						t.Fatalf("%d introspections, want 1", n)
					} else if n != 0 && strings.HasPrefix(c.name, "JWT, IsAuthenticated") {
						t.Fatalf("%d introspections, want none", n)
					}
				})
			}
			// The client's own token has no user: 403 where one is needed.
			if got := through(r, guard.IsAuthenticated, "GET", "Bearer "+client.AccessToken); got.status != 403 {
				t.Fatalf("client's own token under IsAuthenticated: %+v", got)
			}
			// A client that is not a resource server sees no other credential.
			plainID, plainSecret := g.app("plain", false, gatehouse.GrantClientCredentials)
			plain := g.remote(plainID, plainSecret, time.Minute)
			if got := through(plain, guard.IsAuthenticated, "GET", "Token "+g.drfKey("alice", "pw-alice-1")); got.status != 401 {
				t.Fatalf("DRF key through a client that is not a resource server: %+v", got)
			}
		})
	}
}

// A revocation in gatehouse is seen through introspection once the
// cache's TTL has passed, and not before: a logout, a revoked OAuth
// token, a deactivated user (whose locally verified JWT still passes
// IsAuthenticated until it expires, but not a check that needs its
// identity once that is no longer cached).
func TestRevocationSeenAfterTTL(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			g := startGatehouse(t, backend, signingKey(0))
			g.user("alice", "pw-alice-1", true)
			g.user("bob", "pw-bob-1", false)
			rsID, rsSecret := g.app("orders", true, gatehouse.GrantClientCredentials)
			appID, appSecret := g.app("mobile", false, gatehouse.GrantPassword)
			const ttl = 30 * time.Second
			r := g.remote(rsID, rsSecret, ttl)
			key := g.drfKey("bob", "pw-bob-1")
			tok := g.oauthToken(appID, appSecret, "bob", "pw-bob-1", "read")
			access, _ := g.jwtPair("alice", "pw-alice-1")
			all := map[string]guard.Permission{"Token " + key: guard.IsAuthenticated, "Bearer " + tok: guard.IsAuthenticated,
				"Bearer " + access: guard.IsAdminUser}
			status := func(header string) int { return through(r, all[header], "GET", header).status }
			for h := range all {
				if s := status(h); s != 200 {
					t.Fatalf("%.20s: %d before any revocation", h, s)
				}
			}
			if s, _, b := g.do("POST", "/api/tokens/logout/", nil, "Authorization", "Token "+key); s >= 300 {
				t.Fatalf("logout: %d %s", s, b)
			}
			if s, _, b := g.do("POST", "/o/revoke_token/", url.Values{"token": {tok}, "client_id": {appID}, "client_secret": {appSecret}}); s != 200 {
				t.Fatalf("revoke: %d %s", s, b)
			}
			if err := g.accounts.SetActive(context.Background(), "alice", false); err != nil {
				t.Fatal(err)
			}
			g.clock.advance(ttl - 2*time.Second)
			for h := range all {
				if s := status(h); s != 200 {
					t.Fatalf("%.20s: %d within the cache's TTL", h, s)
				}
			}
			g.clock.advance(2 * time.Second)
			for h := range all {
				if s := status(h); s != 401 {
					t.Fatalf("%.20s: %d after the cache's TTL, want 401", h, s)
				}
			}
			// The JWT itself is verified locally: it passes IsAuthenticated
			// until it expires (the documented bound).
			if got := through(r, guard.IsAuthenticated, "GET", "Bearer "+access); got.status != 200 {
				t.Fatalf("JWT under IsAuthenticated: %+v", got)
			}
		})
	}
}
