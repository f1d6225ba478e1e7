package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// dotDumpHead is the dumps' user ann and password-grant client mobile.
const dotDumpHead = `{"model": "auth.user", "pk": 1, "fields": {"username": "ann", "password": "!", "last_login": null, "date_joined": "2025-01-01T00:00:00Z"}},
{"model": "oauth2_provider.application", "pk": 1, "fields": {"client_id": "mobile", "user": null, "redirect_uris": "", "client_type": "confidential",
  "authorization_grant_type": "password", "client_secret": "mobile-secret-0123456789", "hash_client_secret": false, "name": "m", "skip_authorization": false}},
`

// dot24Dump is a Django OAuth Toolkit 2.4+ dump: refresh tokens carry
// token_family. Tokens 1 and 2 are one grant's rotations (1 revoked, 2
// live with access token 1); tokens 3 and 4 are the same without
// token_family (DOT before 2.4).
const dot24Dump = `[
` + dotDumpHead + `{"model": "oauth2_provider.accesstoken", "pk": 1, "fields": {"user": 1, "token": "live-access-1-abcdefghijklmnopq", "application": 1,
  "expires": "2099-01-01T00:00:00Z", "scope": "read"}},
{"model": "oauth2_provider.accesstoken", "pk": 2, "fields": {"user": 1, "token": "live-access-2-abcdefghijklmnopq", "application": 1,
  "expires": "2099-01-01T00:00:00Z", "scope": "read"}},
{"model": "oauth2_provider.refreshtoken", "pk": 1, "fields": {"user": 1, "token": "old-refresh-1-abcdefghijklmnopq", "application": 1,
  "access_token": null, "revoked": "2025-01-02T00:00:00Z", "token_family": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
{"model": "oauth2_provider.refreshtoken", "pk": 2, "fields": {"user": 1, "token": "live-refresh-1-abcdefghijklmno", "application": 1,
  "access_token": 1, "revoked": null, "token_family": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
{"model": "oauth2_provider.refreshtoken", "pk": 3, "fields": {"user": 1, "token": "old-refresh-2-abcdefghijklmnopq", "application": 1,
  "access_token": null, "revoked": "2025-01-02T00:00:00Z"}},
{"model": "oauth2_provider.refreshtoken", "pk": 4, "fields": {"user": 1, "token": "live-refresh-2-abcdefghijklmno", "application": 1,
  "access_token": 2, "revoked": null}}
]`

// A replayed refresh token revokes the live tokens of its DOT token_family
// (as DOT does with REFRESH_TOKEN_REUSE_PROTECTION); a token without one
// is a family of its own, as before.
func TestLoaddataDOTTokenFamily(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			if out, errOut, err := runIn(t, env, dot24Dump, "loaddata", "-"); err != nil {
				t.Fatalf("loaddata: %v\n%s%s", err, out, errOut)
			}
			base, stop := serve(t, env)
			defer stop()
			client := basicAuth("mobile", "mobile-secret-0123456789")
			refresh := func(token string) (int, map[string]any) {
				return call(t, "POST", base+"/o/token/", client, formBody(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}))
			}
			for _, replay := range []string{"old-refresh-1-abcdefghijklmnopq", "old-refresh-2-abcdefghijklmnopq"} {
				if st, body := refresh(replay); st != 400 || body["error"] != "invalid_grant" {
					t.Errorf("replay of %s: %d %v", replay, st, body)
				}
			}
			// The family's live tokens went with the replay ...
			if st, body := refresh("live-refresh-1-abcdefghijklmno"); st != 400 {
				t.Errorf("the live refresh token of the replayed family: %d %v", st, body)
			}
			if st, _ := call(t, "GET", base+"/api/me/", "Bearer live-access-1-abcdefghijklmnopq", nil); st != 401 {
				t.Errorf("the live access token of the replayed family: %d", st)
			}
			// ... the other grant's did not.
			if st, body := refresh("live-refresh-2-abcdefghijklmno"); st != 200 {
				t.Errorf("the live refresh token without token_family: %d %v", st, body)
			}
		})
	}
}

// dotJWTDump is a project whose DOT ACCESS_TOKEN_GENERATOR made JWTs (a
// header of typ JWT, not RFC 9068's at+jwt), with an opaque refresh token,
// as its REFRESH_TOKEN_GENERATOR may leave it, for the first access token.
const dotJWTDump = `[
` + dotDumpHead + `{"model": "oauth2_provider.accesstoken", "pk": 1, "fields": {"user": 1, "token": "` + dotJWTAccess + `", "application": 1,
  "expires": "2099-01-01T00:00:00Z", "scope": "read write"}},
{"model": "oauth2_provider.accesstoken", "pk": 2, "fields": {"user": 1, "token": "opaque-access-abcdefghijklmnop", "application": 1,
  "expires": "2099-01-01T00:00:00Z", "scope": "read"}},
{"model": "oauth2_provider.refreshtoken", "pk": 1, "fields": {"user": 1, "token": "jwt-family-refresh-abcdefghijk", "application": 1,
  "access_token": 1, "revoked": null}}
]`

// dotJWTAccess is a JWT of header {"alg":"HS256","typ":"JWT"} and claims
// {"sub":"1","scope":"read write"}, signed with a key gatehouse does not have.
const dotJWTAccess = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwic2NvcGUiOiJyZWFkIHdyaXRlIn0.c2lnbmF0dXJlLW9mLXRoZS1vbGQtcHJvamVjdA"

// Access tokens a project's own generator made as JWTs load, with a
// warning, but are refused as bearer tokens (they are not RFC 9068 access
// tokens, and simplejwt's key did not sign them); the refresh token of the
// same grant still works, keeps the scope, and gives a working token.
func TestLoaddataDOTJWTAccessTokens(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			out, errOut, err := runIn(t, env, dotJWTDump, "loaddata", "-")
			if err != nil {
				t.Fatalf("loaddata: %v\n%s%s", err, out, errOut)
			}
			if said := out + errOut; strings.Count(said, "1 OAuth access tokens are not in a form gatehouse takes as a bearer token") != 1 ||
				strings.Contains(said, dotJWTAccess) {
				t.Errorf("loaddata's warning (once, without the token):\n%s%s", out, errOut)
			}
			base, stop := serve(t, env)
			defer stop()
			if st, _ := call(t, "GET", base+"/api/me/", "Bearer "+dotJWTAccess, nil); st != 401 {
				t.Errorf("the JWT access token: %d, want 401", st)
			}
			if st, _ := call(t, "GET", base+"/api/me/", "Bearer opaque-access-abcdefghijklmnop", nil); st != 200 {
				t.Errorf("the opaque access token beside it: %d, want 200", st)
			}
			client := basicAuth("mobile", "mobile-secret-0123456789")
			st, body := call(t, "POST", base+"/o/token/", client, formBody(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"jwt-family-refresh-abcdefghijk"}}))
			if st != 200 || body["scope"] != "read write" {
				t.Fatalf("refresh of the JWT token's grant: %d %v", st, body)
			}
			access, _ := body["access_token"].(string)
			if st, me := call(t, "GET", base+"/api/me/", "Bearer "+access, nil); st != 200 || me["username"] != "ann" {
				t.Errorf("the access token the refresh gave: %d %v", st, me)
			}
		})
	}
}
