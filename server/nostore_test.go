package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCredentialResponsesAreNotCached: every response that carries a
// credential says Cache-Control: no-store and Pragma: no-cache (issue 14
// item 8): DRF and simplejwt logins, the JWT refresh, a new device token,
// every answer of /o/token/ (errors too, as oauthlib), introspection, and
// /o/authorize/'s answers to a logged-in user (the consent page, the code
// redirect). Responses without one keep Django's headers.
func TestCredentialResponsesAreNotCached(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		type check struct {
			name    string
			status  int
			header  http.Header
			noStore bool
		}
		var checks []check
		add := func(name string, r resp, status int, noStore bool) {
			checks = append(checks, check{name, r.status, r.header, noStore})
			if r.status != status {
				t.Errorf("%s: status %d, want %d: %s", name, r.status, status, r.body)
			}
		}
		login := map[string]string{"username": "alice", "password": "alicepass"}
		drf := e.do("POST", "/api-token-auth/", login)
		add("DRF obtain", drf, 200, true)
		add("DRF obtain, form", e.do("POST", "/api-token-auth/", url.Values{"username": {"alice"}, "password": {"alicepass"}}), 200, true)
		add("DRF obtain custom", e.do("POST", "/api-token-auth-custom/", login), 200, true)
		add("DRF obtain refused (no credential; as Django)", e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "x"}), 400, false)
		auth := []string{"Authorization", "Token " + drf.json(t)["token"].(string)}
		add("device token created", e.do("POST", "/api/tokens/", map[string]any{"name": "laptop"}, auth...), 201, true)
		add("device token list (no keys; as DRF)", e.do("GET", "/api/tokens/", nil, auth...), 200, false)
		add("/api/me/ (unchanged)", e.do("GET", "/api/me/", nil, auth...), 200, false)

		pair := e.do("POST", "/access-token/", login)
		add("JWT obtain", pair, 200, true)
		add("JWT obtain, browsable page", e.do("POST", "/access-token/?format=api", login), 200, true)
		add("JWT obtain refused", e.do("POST", "/access-token/", map[string]string{"username": "alice", "password": "x"}), 401, false)
		add("JWT refresh", e.do("POST", "/access-token/refresh/", map[string]string{"refresh": pair.json(t)["refresh"].(string)}), 200, true)
		add("JWT verify (no credential)", e.do("POST", "/access-token/verify/", map[string]string{"token": pair.json(t)["access"].(string)}), 200, false)

		conf := []string{"Authorization", basic("conf-client", a.confSecret)}
		pw := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}}
		tok := e.do("POST", "/o/token/", pw, conf...)
		add("/o/token/ password", tok, 200, true)
		refresh := tok.json(t)["refresh_token"].(string)
		access := tok.json(t)["access_token"].(string)
		add("/o/token/ refresh", e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, conf...), 200, true)
		add("/o/token/ invalid_client", e.do("POST", "/o/token/", pw, "Authorization", basic("conf-client", "wrong")), 401, true)
		add("/o/token/ invalid_grant", e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"x"}}, conf...), 400, true)
		add("/o/token/ unsupported_grant_type", e.do("POST", "/o/token/", url.Values{"grant_type": {"foo"}}, conf...), 400, true)
		add("/o/token/ JSON body", e.do("POST", "/o/token/", map[string]string{"grant_type": "password"}, conf...), 400, true)
		add("/o/token/ query string", e.do("POST", "/o/token/?grant_type=password", pw, conf...), 400, true)
		add("/o/token/ body too large", e.do("POST", "/o/token/", "a="+strings.Repeat("x", 3<<20), append(conf, "Content-Type", "application/x-www-form-urlencoded")...), 400, true)
		add("/o/token/ OPTIONS (as DOT)", e.do("OPTIONS", "/o/token/", nil), 200, false)

		add("/o/introspect/ active", e.do("POST", "/o/introspect/", url.Values{"token": {access}}, conf...), 200, true)
		add("/o/introspect/ inactive", e.do("POST", "/o/introspect/", url.Values{"token": {"nope"}}, conf...), 200, true)
		add("/o/introspect/ GET", e.do("GET", "/o/introspect/?token=nope", nil, conf...), 200, true)
		add("/o/introspect/ refused (DOT's empty 403)", e.do("POST", "/o/introspect/", url.Values{"token": {"nope"}}, "Authorization", basic("conf-client", "wrong")), 403, false)

		// The browser flow.
		b := e.browser()
		q := url.Values{"response_type": {"code"}, "client_id": {"code-client"}, "redirect_uri": {redirectURI}, "state": {"xyz"}, "scope": {"read"}}
		res, _ := b.get("/o/authorize/?" + q.Encode())
		add("/o/authorize/ anonymous (a redirect to the login page)", resp{status: res.StatusCode, header: res.Header}, 302, false)
		b.login("alice", "alicepass")
		res, page := b.get("/o/authorize/?" + q.Encode())
		add("/o/authorize/ consent page", resp{status: res.StatusCode, header: res.Header}, 200, true)
		form := hidden(page)
		form.Set("allow", "Authorize")
		res, _ = b.post("/o/authorize/", form)
		add("/o/authorize/ code redirect", resp{status: res.StatusCode, header: res.Header}, 302, true)
		code := res.Header.Get("Location")
		u, _ := url.Parse(code)
		codeAuth := []string{"Authorization", basic("code-client", a.codeSecret)}
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {redirectURI}}
		add("/o/token/ authorization_code", e.do("POST", "/o/token/", exchange, codeAuth...), 200, true)
		add("/o/token/ code replayed", e.do("POST", "/o/token/", exchange, codeAuth...), 400, true)

		for _, c := range checks {
			cc, pragma := c.header.Get("Cache-Control"), c.header.Get("Pragma")
			if c.noStore && (cc != "no-store" || pragma != "no-cache" || len(c.header["Cache-Control"]) != 1) {
				t.Errorf("%s (%d): Cache-Control %q, Pragma %q; want no-store, no-cache", c.name, c.status, cc, pragma)
			}
			if !c.noStore && (cc != "" || pragma != "") {
				t.Errorf("%s (%d): Cache-Control %q, Pragma %q; want none", c.name, c.status, cc, pragma)
			}
		}
	})
}
