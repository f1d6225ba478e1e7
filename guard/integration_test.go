package guard_test

import (
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/jwt"
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
			// And the good one passes both.
			if got := through(r, guard.IsAuthenticated, "GET", "Bearer "+access); got.status != 200 {
				t.Fatalf("valid JWT: %+v", got)
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
			var fetches atomic.Int64
			g.countJWKS(&fetches)
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
			if n := fetches.Load(); n != 2 {
				t.Fatalf("%d JWKS fetches, want 2 (at the first token, at the first token of the new key)", n)
			}
		})
	}
}
