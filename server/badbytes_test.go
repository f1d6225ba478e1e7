package server_test

import (
	"net/url"
	"strings"
	"testing"
)

// NUL bytes and invalid UTF-8 in any input are answered with a 4xx in the
// endpoint's shape, on both backends (PostgreSQL refuses them in text
// columns, which used to surface as 500s).
func TestNULAndInvalidUTF8(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		key := e.tokenOf("alice", "alicepass")
		for _, bad := range []string{"ali\x00ce", "ali\xffce", "\xc3\x28"} {
			cases := []struct {
				name string
				r    resp
			}{
				{"sign-up username", e.do("POST", "/sign_up/", url.Values{"username": {bad}, "password": {"correct horse battery"}})},
				{"DRF login", e.do("POST", "/api-token-auth/", url.Values{"username": {bad}, "password": {"x"}})},
				{"JWT login", e.do("POST", "/access-token/", url.Values{"username": {bad}, "password": {"x"}})},
				{"users filter", e.do("GET", "/api/users/?username="+url.QueryEscape(bad), nil, "Authorization", "Token "+key)},
				{"users email filter", e.do("GET", "/api/users/?email="+url.QueryEscape(bad), nil, "Authorization", "Token "+key)},
				{"token name", e.do("POST", "/api/tokens/", url.Values{"name": {bad}}, "Authorization", "Token "+key)},
				{"password grant username", e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {bad}, "password": {"x"}},
					"Authorization", basic("conf-client", a.confSecret))},
				{"client_id in the body", e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}, "client_id": {bad}, "client_secret": {"x"}})},
				{"client_id in Basic", e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic(bad, "x"))},
				{"introspected token", e.do("POST", "/o/introspect/", url.Values{"token": {bad}}, "Authorization", basic("conf-client", a.confSecret))},
				{"revoked token", e.do("POST", "/o/revoke_token/", url.Values{"token": {bad}}, "Authorization", basic("conf-client", a.confSecret))},
				{"refresh token", e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {bad}}, "Authorization", basic("conf-client", a.confSecret))},
				{"DRF token header", e.do("GET", "/api/me/", nil, "Authorization", "Token "+strings.ReplaceAll(bad, "\x00", "0"))},
				{"authorize client_id", e.do("GET", "/o/authorize/?client_id="+url.QueryEscape(bad)+"&response_type=code", nil)},
			}
			for _, c := range cases {
				if c.r.status >= 500 {
					t.Errorf("%q %s: %d %s", bad, c.name, c.r.status, c.r.body)
				}
			}
		}
		// The answers clients rely on, exactly.
		expect(t, e.do("POST", "/api-token-auth/", url.Values{"username": {"ali\x00ce"}, "password": {"x"}}), 400,
			`{"username":["Null characters are not allowed."]}`)
		expect(t, e.do("POST", "/api-token-auth/", url.Values{"username": {"ali\xffce"}, "password": {"x"}}), 400,
			`{"non_field_errors":["Unable to log in with provided credentials."]}`)
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c\x00"}, "client_secret": {"x"}}), 401,
			`{"error": "invalid_client"}`)
		// django-filter's form refuses NUL (the Django reference answers so).
		expect(t, e.do("GET", "/api/users/?username=%00", nil, "Authorization", "Token "+key), 400,
			`{"username":["Null characters are not allowed."]}`)
	})
}
