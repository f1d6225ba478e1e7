package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/oidc"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
)

const testIssuer = "https://id.example"

// oidcEnv is a server that is an OpenID Connect provider, signing with an
// in-memory key, on every backend.
func eachOIDC(t *testing.T, fn func(t *testing.T, e *env, signer *oidctest.Signer)) {
	signer := oidctest.New(t)
	eachWithConfig(t, func(c *config) { c.Issuer, c.OAuth.Issuer = testIssuer, testIssuer }, func(w *wiring) {
		p, err := oidc.New(oidc.Deps{Config: oidc.Config{Issuer: testIssuer}, Signer: signer, Now: w.Server.Now})
		if err != nil {
			t.Fatal(err)
		}
		w.OAuth.IDTokens, w.Server.OIDC, w.OAuth.AccessTokens = p, p, signer
	}, func(t *testing.T, e *env) { fn(t, e, signer) })
}

// rp registers a relying party: confidential, code flow, with a
// post-logout URI; skip makes it skip consent.
func (e *env) rp(clientID string, skip bool) string {
	e.t.Helper()
	_, sec, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: clientID, GrantTypes: []string{"authorization-code"},
		RedirectURIs: []string{redirectURI}, SkipAuthorization: skip, PostLogoutRedirectURIs: []string{"https://rp.example/bye"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return sec
}

// idClaims verifies an id_token's signature with the signer's public key
// and returns its claims.
func idClaims(t *testing.T, signer *oidctest.Signer, token string) map[string]any {
	t.Helper()
	obj, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("id_token %q: %v", token, err)
	}
	payload, err := obj.Verify(signer.Key())
	if err != nil {
		t.Fatal(err)
	}
	if typ := obj.Signatures[0].Header.ExtraHeaders["typ"]; typ != "JWT" {
		t.Fatalf("id_token typ %v", typ)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// code runs the code flow in b for client with extra authorization
// parameters and returns the code; the browser must be logged in and the
// client skip consent.
func (b *browser) code(client string, extra ...string) string {
	b.t.Helper()
	q := url.Values{"client_id": {client}, "response_type": {"code"}, "redirect_uri": {redirectURI}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	res, page := b.get("/o/authorize/?" + q.Encode())
	if res.StatusCode != 302 {
		b.t.Fatalf("authorize: %d %s", res.StatusCode, page)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	c := loc.Query().Get("code")
	if c == "" {
		b.t.Fatalf("authorize redirected to %s", loc)
	}
	return c
}

func atHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// TestOIDCCodeFlow: discovery, the id_token of the code flow and of a
// refresh, userinfo.
func TestOIDCCodeFlow(t *testing.T) {
	eachOIDC(t, func(t *testing.T, e *env, signer *oidctest.Signer) {
		h, err := password.New(fastParams, nil).Hash("alicepass")
		if err != nil {
			t.Fatal(err)
		}
		u := gatehouse.User{Username: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell", Password: h,
			IsActive: true, DateJoined: time.Now()}
		if err := e.accounts.Insert(context.Background(), &u); err != nil {
			t.Fatal(err)
		}
		sec := e.rp("rp", true)

		// Discovery at the standard path and DOT's, with and without the slash.
		for _, p := range []string{"/.well-known/openid-configuration", "/o/.well-known/openid-configuration", "/o/.well-known/openid-configuration/"} {
			r := e.do("GET", p, nil)
			expect(t, r, 200, "")
			m := r.json(t)
			if m["issuer"] != testIssuer || m["userinfo_endpoint"] != testIssuer+"/o/userinfo/" || m["jwks_uri"] != testIssuer+"/.well-known/jwks.json" ||
				m["end_session_endpoint"] != testIssuer+"/o/logout/" || m["authorization_endpoint"] != testIssuer+"/o/authorize/" {
				t.Fatalf("%s: %s", p, r.body)
			}
			for field, want := range map[string]string{"id_token_signing_alg_values_supported": "RS256", "subject_types_supported": "public",
				"response_types_supported": "code", "scopes_supported": "openid", "claims_supported": "nonce", "prompt_values_supported": "none",
				"code_challenge_methods_supported": "S256", "grant_types_supported": "authorization_code"} {
				if !strings.Contains(string(mustJSON(t, m[field])), `"`+want+`"`) {
					t.Fatalf("%s: %s lacks %s: %v", p, field, want, m[field])
				}
			}
			if m["request_uri_parameter_supported"] != false || m["claims_parameter_supported"] != false {
				t.Fatalf("%s: says it supports request_uri or claims: %s", p, r.body)
			}
		}
		if m := e.do("GET", "/.well-known/oauth-authorization-server", nil).json(t); m["jwks_uri"] != testIssuer+"/.well-known/jwks.json" {
			t.Fatalf("RFC 8414 document without the JWKS: %v", m)
		}
		for _, p := range []string{"/.well-known/jwks.json", "/o/.well-known/jwks.json"} {
			r := e.do("GET", p, nil)
			expect(t, r, 200, "")
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].KeyID != "test-key" || !set.Keys[0].IsPublic() {
				t.Fatalf("%s: %s (%v)", p, r.body, err)
			}
			if cc := r.header.Get("Cache-Control"); cc != "public, max-age=300" {
				t.Fatalf("%s Cache-Control %q", p, cc)
			}
		}
		expect(t, e.do("POST", "/.well-known/openid-configuration", nil), 405, "")

		b := e.browser()
		b.login("alice", "alicepass")
		loginAt := time.Now()
		code := b.code("rp", "scope", "openid profile email", "nonce", "n-0S6_WzA2Mj")
		r := e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}},
			"Authorization", basic("rp", sec))
		expect(t, r, 200, "")
		tok := r.json(t)
		access, idt := tok["access_token"].(string), tok["id_token"].(string)
		c := idClaims(t, signer, idt)
		sub := strconv.FormatInt(u.ID, 10)
		for k, want := range map[string]any{"iss": testIssuer, "sub": sub, "aud": "rp", "azp": "rp", "nonce": "n-0S6_WzA2Mj",
			"at_hash": atHash(access), "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
			"preferred_username": "alice", "email": "alice@example.com"} {
			if c[k] != want {
				t.Fatalf("id_token %s = %v, want %v (%v)", k, c[k], want, c)
			}
		}
		if _, ok := c["email_verified"]; ok {
			t.Fatal("email_verified asserted without the setting")
		}
		iat, exp, authTime := int64(c["iat"].(float64)), int64(c["exp"].(float64)), int64(c["auth_time"].(float64))
		if exp-iat != 3600 || authTime > iat || authTime < loginAt.Unix()-2 {
			t.Fatalf("iat %d exp %d auth_time %d (login %d)", iat, exp, authTime, loginAt.Unix())
		}

		// userinfo, GET and POST, header and form.
		for _, r := range []resp{
			e.do("GET", "/o/userinfo/", nil, "Authorization", "Bearer "+access),
			e.do("POST", "/o/userinfo/", nil, "Authorization", "Bearer "+access),
			e.do("POST", "/o/userinfo/", url.Values{"access_token": {access}}),
		} {
			expect(t, r, 200, `{"sub":"`+sub+`","name":"Alice Liddell","given_name":"Alice","family_name":"Liddell","preferred_username":"alice","email":"alice@example.com"}`)
			if r.header.Get("Cache-Control") == "" || !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
				t.Fatalf("userinfo Cache-Control %q", r.header.Get("Cache-Control"))
			}
		}

		// A refresh carries a new id_token: same subject and auth_time, no nonce.
		r = e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}},
			"Authorization", basic("rp", sec))
		expect(t, r, 200, "")
		tok2 := r.json(t)
		c2 := idClaims(t, signer, tok2["id_token"].(string))
		if c2["sub"] != sub || c2["aud"] != "rp" || c2["iss"] != testIssuer || int64(c2["auth_time"].(float64)) != authTime ||
			c2["at_hash"] != atHash(tok2["access_token"].(string)) {
			t.Fatalf("refreshed id_token %v", c2)
		}
		if _, ok := c2["nonce"]; ok {
			t.Fatalf("refreshed id_token carries the nonce: %v", c2)
		}
		// A narrower refresh without openid carries none.
		r = e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2["refresh_token"].(string)}, "scope": {"profile"}},
			"Authorization", basic("rp", sec))
		expect(t, r, 200, "")
		if _, ok := r.json(t)["id_token"]; ok {
			t.Fatal("an id_token without the openid scope")
		}

		// Without openid: no id_token, and userinfo refuses the token.
		code = b.code("rp", "scope", "read")
		r = e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}},
			"Authorization", basic("rp", sec))
		expect(t, r, 200, "")
		plain := r.json(t)
		if _, ok := plain["id_token"]; ok {
			t.Fatal("an id_token without the openid scope")
		}
		r = e.do("GET", "/o/userinfo/", nil, "Authorization", "Bearer "+plain["access_token"].(string))
		expect(t, r, 403, `{"error": "insufficient_scope", "error_description": "The access token was not issued for the openid scope."}`)
		if h := r.header.Get("WWW-Authenticate"); h != `Bearer error="insufficient_scope", scope="openid"` {
			t.Fatalf("WWW-Authenticate %q", h)
		}
		// A request naming no scope gets the defaults, without openid.
		code = b.code("rp")
		r = e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}},
			"Authorization", basic("rp", sec))
		if s := r.json(t)["scope"]; s != "read write groups" {
			t.Fatalf("default scope %v", s)
		}

		// Refusals of userinfo: no token, an unknown one, an id_token, a DRF key.
		r = e.do("GET", "/o/userinfo/", nil)
		expect(t, r, 401, "")
		if h := r.header.Get("WWW-Authenticate"); h != "Bearer" {
			t.Fatalf("WWW-Authenticate %q", h)
		}
		for name, h := range map[string]string{"unknown": "Bearer nope", "id_token": "Bearer " + idt, "drf key": "Token " + e.tokenOf("alice", "alicepass"),
			"drf key as bearer": "Bearer " + e.tokenOf("alice", "alicepass")} {
			r := e.do("GET", "/o/userinfo/", nil, "Authorization", h)
			if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("userinfo with %s: %d %s", name, r.status, r.body)
			}
		}
		// One token by one method (RFC 6750 2, 3.1): a malformed Bearer
		// header, a repeated parameter, two methods or a query token is
		// 400 invalid_request; a header of another scheme is no token.
		bad := map[string]resp{
			"Bearer and two words": e.do("GET", "/o/userinfo/", nil, "Authorization", "Bearer "+access+" extra"),
			"Bearer alone":         e.do("GET", "/o/userinfo/", nil, "Authorization", "Bearer"),
			"repeated parameter":   e.do("POST", "/o/userinfo/", url.Values{"access_token": {access, access}}),
			"header and form":      e.do("POST", "/o/userinfo/", url.Values{"access_token": {access}}, "Authorization", "Bearer "+access),
			"query":                e.do("GET", "/o/userinfo/?access_token="+access, nil),
			"header and query":     e.do("GET", "/o/userinfo/?access_token="+access, nil, "Authorization", "Bearer "+access),
		}
		for name, r := range bad {
			if r.status != 400 || r.header.Get("WWW-Authenticate") != `Bearer error="invalid_request"` || r.json(t)["error"] != "invalid_request" {
				t.Errorf("userinfo, %s: %d %q %s", name, r.status, r.header.Get("WWW-Authenticate"), r.body)
			}
		}
		if r := e.do("GET", "/o/userinfo/", nil, "Authorization", basic("rp", "x")); r.status != 401 || r.header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("userinfo with Basic: %d %q", r.status, r.header.Get("WWW-Authenticate"))
		}
		// An id_token is never an access token.
		if st := e.meStatus(idt); st != 401 {
			t.Fatalf("/api/me/ with an id_token: %d", st)
		}
		expect(t, e.do("PUT", "/o/userinfo/", nil, "Authorization", "Bearer "+access), 405, "")
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOIDCAuthorizeParameters: prompt, max_age, the hints, and the
// parameters refused (OpenID Connect Core 3.1.2).
func TestOIDCAuthorizeParameters(t *testing.T) {
	eachOIDC(t, func(t *testing.T, e *env, signer *oidctest.Signer) {
		e.user("alice", "alicepass")
		e.user("bob", "bobpass")
		sec := e.rp("rp", true)
		e.rp("consenting", false)
		other := e.rp("other", true)
		base := url.Values{"client_id": {"rp"}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"}, "state": {"st"}}
		with := func(kv ...string) string {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			for i := 0; i+1 < len(kv); i += 2 {
				q.Set(kv[i], kv[i+1])
			}
			return "/o/authorize/?" + q.Encode()
		}
		redirectError := func(b *browser, path, wantErr string) {
			t.Helper()
			res, page := b.get(path)
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != 302 || !strings.HasPrefix(loc.String(), redirectURI) || loc.Query().Get("error") != wantErr || loc.Query().Get("state") != "st" {
				t.Fatalf("%s: %d %s %s, want a redirect with error=%s", path, res.StatusCode, loc, page, wantErr)
			}
		}
		toLogin := func(b *browser, path string) string {
			t.Helper()
			res, page := b.get(path)
			loc := res.Header.Get("Location")
			if res.StatusCode != 302 || !strings.HasPrefix(loc, "/admin/login/?next=") {
				t.Fatalf("%s: %d %s %s, want the login page", path, res.StatusCode, loc, page)
			}
			next, _ := url.QueryUnescape(strings.TrimPrefix(loc, "/admin/login/?next="))
			return next
		}

		anon := e.browser()
		// prompt=none without a session: login_required, never a page.
		redirectError(anon, with("prompt", "none"), "login_required")
		// Without prompt=none an anonymous user is sent to log in, with
		// login_hint filled into the form.
		next := toLogin(anon, with("login_hint", "alice"))
		if _, page := anon.get("/admin/login/?next=" + url.QueryEscape(next)); !strings.Contains(page, `value="alice"`) {
			t.Fatalf("login_hint not filled in: %s", page)
		}

		b := e.browser()
		b.login("alice", "alicepass")
		// Parameters refused, redirected to the client.
		for _, bad := range [][]string{{"prompt", "bogus"}, {"prompt", "none login"}, {"max_age", "-1"}, {"max_age", "abc"}, {"max_age", "1e3"},
			{"response_mode", "fragment"}, {"response_mode", "form_post"}, {"nonce", strings.Repeat("n", 256)}} {
			redirectError(b, with(bad...), "invalid_request")
		}
		redirectError(b, with("response_type", "id_token"), "unsupported_response_type")
		redirectError(b, with("response_type", "code id_token"), "unsupported_response_type")
		// Duplicated OpenID Connect parameters are refused with a page, as
		// every duplicate is (before the redirect URI is trusted).
		if res, _ := b.get(with() + "&nonce=a&nonce=b"); res.StatusCode != 400 || res.Header.Get("Location") != "" {
			t.Fatalf("duplicate nonce: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		// prompt=none with a session: a code when no consent is needed,
		// consent_required when it is.
		b.code("rp", "scope", "openid", "prompt", "none")
		q := base
		base = url.Values{"client_id": {"consenting"}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"}, "state": {"st"}}
		redirectError(b, with("prompt", "none"), "consent_required")
		base = q
		// prompt=consent shows the consent page even to a skipping client.
		if res, page := b.get(with("prompt", "consent")); res.StatusCode != 200 || !strings.Contains(page, "Authorize") {
			t.Fatalf("prompt=consent: %d", res.StatusCode)
		}

		// prompt=login sends the user to log in again, and back without it.
		next = toLogin(b, with("prompt", "login"))
		if strings.Contains(next, "prompt") || !strings.Contains(next, "client_id=rp") {
			t.Fatalf("after the login the user goes to %s", next)
		}
		b.login("alice", "alicepass")
		if res, _ := b.get(next); res.StatusCode != 302 || !strings.Contains(res.Header.Get("Location"), "code=") {
			t.Fatalf("after logging in again: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		// max_age: a login older than it needs a new one (prompt=none: login_required).
		e.clock.advance(10 * time.Second)
		toLogin(b, with("max_age", "5"))
		redirectError(b, with("max_age", "5", "prompt", "none"), "login_required")
		c := b.code("rp", "scope", "openid", "max_age", "3600")
		r := e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}}, "Authorization", basic("rp", sec))
		expect(t, r, 200, "")
		idt := r.json(t)["id_token"].(string)
		if _, ok := idClaims(t, signer, idt)["auth_time"]; !ok {
			t.Fatal("no auth_time with max_age")
		}
		// max_age=0 (a login at this request, as prompt=login): to log in,
		// and back without max_age, so a code follows however long the
		// way back took; the same for a user who was not logged in.
		for _, who := range []string{"logged in", "anonymous"} {
			ua := b
			if who == "anonymous" {
				ua = e.browser()
			}
			next = toLogin(ua, with("max_age", "0"))
			if strings.Contains(next, "max_age") || !strings.Contains(next, "client_id=rp") {
				t.Fatalf("%s, max_age=0: after the login the user goes to %s", who, next)
			}
			ua.login("alice", "alicepass")
			e.clock.advance(3 * time.Second)
			if res, _ := ua.get(next); res.StatusCode != 302 || !strings.Contains(res.Header.Get("Location"), "code=") {
				t.Fatalf("%s, max_age=0: after logging in: %d %s", who, res.StatusCode, res.Header.Get("Location"))
			}
		}
		// Empty parameters are parameters not sent (RFC 6749 3.1).
		b.code("rp", "scope", "openid", "max_age", "", "request", "", "request_uri", "")
		redirectError(b, with("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported")

		// id_token_hint: this client's, of the logged-in user: a code.
		b.code("rp", "scope", "openid", "id_token_hint", idt, "prompt", "none")
		// Of another client: invalid_request; garbage likewise.
		base.Set("client_id", "other")
		redirectError(b, with("id_token_hint", idt), "invalid_request")
		base.Set("client_id", "rp")
		redirectError(b, with("id_token_hint", "eyJhbGciOiJub25lIn0.e30."), "invalid_request")
		// Naming another user than the session's: log in again, or login_required.
		bob := e.browser()
		bob.login("bob", "bobpass")
		toLogin(bob, with("id_token_hint", idt))
		redirectError(bob, with("id_token_hint", idt, "prompt", "none"), "login_required")
		_ = other
	})
}

// TestOIDCLogout: RP-initiated logout, with and without a hint, to a
// registered URI only.
func TestOIDCLogout(t *testing.T) {
	eachOIDC(t, func(t *testing.T, e *env, signer *oidctest.Signer) {
		e.user("alice", "alicepass")
		sec := e.rp("rp", true)
		e.rp("other", true)
		b := e.browser()
		b.login("alice", "alicepass")
		c := b.code("rp", "scope", "openid")
		r := e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}}, "Authorization", basic("rp", sec))
		expect(t, r, 200, "")
		idt, _ := r.json(t)["id_token"].(string)
		if idt == "" {
			t.Fatalf("no id_token: %s", r.body)
		}

		// Not registered, registered for another client, or without a client: a page, never a redirect.
		for _, q := range []url.Values{
			{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://evil.example/"}},
			{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://rp.example/bye/"}},
			{"post_logout_redirect_uri": {"https://rp.example/bye"}},
			{"client_id": {"other"}, "id_token_hint": {idt}, "post_logout_redirect_uri": {"https://rp.example/bye"}},
			{"id_token_hint": {"not.a.token"}},
			{"client_id": {"nobody"}, "post_logout_redirect_uri": {"https://rp.example/bye"}},
		} {
			res, _ := b.get("/o/logout/?" + q.Encode())
			if res.StatusCode != 400 || res.Header.Get("Location") != "" {
				t.Fatalf("logout %v: %d Location %q", q, res.StatusCode, res.Header.Get("Location"))
			}
		}
		if res, _ := b.get("/o/authorized_tokens/"); res.StatusCode != 200 {
			t.Fatal("a refused logout ended the session")
		}
		// Without a hint: the user confirms; a post without the CSRF token is refused.
		res, page := b.get("/o/logout/?client_id=rp&post_logout_redirect_uri=" + url.QueryEscape("https://rp.example/bye") + "&state=s1")
		if res.StatusCode != 200 || !strings.Contains(page, "Log out") {
			t.Fatalf("confirmation page: %d %s", res.StatusCode, page)
		}
		form := hidden(page)
		bad := url.Values{}
		for k, v := range form {
			if k != "csrfmiddlewaretoken" {
				bad[k] = v
			}
		}
		if res, _ := b.post("/o/logout/", bad); res.StatusCode != 403 {
			t.Fatalf("logout without CSRF: %d", res.StatusCode)
		}
		res, _ = b.post("/o/logout/", form)
		if res.StatusCode != 302 || res.Header.Get("Location") != "https://rp.example/bye?state=s1" {
			t.Fatalf("confirmed logout: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := b.get("/o/authorized_tokens/"); res.StatusCode != 302 {
			t.Fatal("still logged in after logout")
		}
		// With the hint of the logged-in user: at once.
		b.login("alice", "alicepass")
		res, _ = b.get("/o/logout/?id_token_hint=" + url.QueryEscape(idt) + "&post_logout_redirect_uri=" + url.QueryEscape("https://rp.example/bye"))
		if res.StatusCode != 302 || res.Header.Get("Location") != "https://rp.example/bye" {
			t.Fatalf("logout with hint: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := b.get("/o/authorized_tokens/"); res.StatusCode != 302 {
			t.Fatal("still logged in after logout with a hint")
		}
		if res, _ := b.get("/o/logout/?" + url.Values{"state": {"a"}, "state ": {"b"}}.Encode() + "&state=c"); res.StatusCode != 400 {
			t.Fatalf("duplicate state: %d", res.StatusCode)
		}
		var _ http.Header
	})
}

// Without OpenID Connect, openid is an unknown scope and the endpoints
// answer DOT's 404.
func TestOIDCOff(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}, "scope": {"openid"}}
		expect(t, e.do("POST", "/o/token/", form, "Authorization", basic("conf-client", a.confSecret)), 400, `{"error": "invalid_scope"}`)
		for _, p := range []string{"/o/userinfo/", "/o/.well-known/openid-configuration/"} {
			expect(t, e.do("GET", p, nil), 404, "")
		}
		expect(t, e.do("GET", "/.well-known/openid-configuration", nil), 404, "")
		expect(t, e.do("GET", "/o/logout/", nil), 404, "")
	})
}

// TestOIDCConformance: the modules of the OpenID Foundation's Basic OP
// plan not covered by the tests above (docs/oidc.md maps each module).
func TestOIDCConformance(t *testing.T) {
	eachOIDC(t, func(t *testing.T, e *env, signer *oidctest.Signer) {
		e.user("alice", "alicepass")
		sec := e.rp("rp", true)
		b := e.browser()
		b.login("alice", "alicepass")
		exchange := func(code string, body url.Values, headers ...string) resp {
			t.Helper()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
			for k, v := range body {
				form[k] = v
			}
			if headers == nil {
				headers = []string{"Authorization", basic("rp", sec)}
			}
			return e.do("POST", "/o/token/", form, headers...)
		}
		idOf := func(r resp) map[string]any {
			t.Helper()
			expect(t, r, 200, "")
			s, _ := r.json(t)["id_token"].(string)
			if s == "" {
				t.Fatalf("no id_token: %s", r.body)
			}
			return idClaims(t, signer, s)
		}
		pageNotRedirect := func(path string) {
			t.Helper()
			res, _ := b.get(path)
			if res.StatusCode != 400 || res.Header.Get("Location") != "" {
				t.Fatalf("%s: %d %q, want an error page", path, res.StatusCode, res.Header.Get("Location"))
			}
		}

		t.Run("no_nonce", func(t *testing.T) {
			c := idOf(exchange(b.code("rp", "scope", "openid"), nil))
			if _, ok := c["nonce"]; ok {
				t.Fatalf("a nonce nobody sent: %v", c)
			}
		})
		t.Run("scope_order", func(t *testing.T) {
			if c := idOf(exchange(b.code("rp", "scope", "email openid"), nil)); c["email"] != "alice@example.com" {
				t.Fatalf("%v", c)
			}
		})
		t.Run("ignored_parameters", func(t *testing.T) {
			for _, kv := range [][]string{{"display", "page"}, {"display", "popup"}, {"ui_locales", "se"}, {"claims_locales", "se"},
				{"acr_values", "1 2"}, {"claims", `{"id_token":{"email":{"essential":true}}}`}, {"extra_param", "foobar"}} {
				idOf(exchange(b.code("rp", "scope", "openid", kv[0], kv[1]), nil))
			}
		})
		t.Run("code_reuse", func(t *testing.T) {
			code := b.code("rp", "scope", "openid")
			first := exchange(code, nil)
			idOf(first)
			expect(t, exchange(code, nil), 400, `{"error": "invalid_grant"}`)
			if st := e.meStatus(first.json(t)["access_token"].(string)); st != 401 {
				t.Fatalf("the first exchange's access token after a replay: %d", st)
			}
		})
		t.Run("unregistered_redirect", func(t *testing.T) {
			pageNotRedirect("/o/authorize/?" + url.Values{"client_id": {"rp"}, "response_type": {"code"}, "scope": {"openid"},
				"redirect_uri": {"https://evil.example/cb"}}.Encode())
		})
		t.Run("redirect_uri_required", func(t *testing.T) {
			pageNotRedirect("/o/authorize/?" + url.Values{"client_id": {"rp"}, "response_type": {"code"}, "scope": {"openid"}}.Encode())
		})
		t.Run("post_request", func(t *testing.T) {
			form := url.Values{"client_id": {"rp"}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {redirectURI},
				"state": {"p1"}, "nonce": {"pn"}}
			res, _ := b.post("/o/authorize/", form)
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != 302 || loc.Query().Get("state") != "p1" || loc.Query().Get("code") == "" {
				t.Fatalf("POST authorization request: %d %s", res.StatusCode, loc)
			}
			if c := idOf(exchange(loc.Query().Get("code"), nil)); c["nonce"] != "pn" {
				t.Fatalf("%v", c)
			}
			// Anonymous: to the login page, and back to the same request.
			form.Set("nonce", "pn2")
			anon := e.browser()
			res, _ = anon.post("/o/authorize/", form)
			next, _ := url.QueryUnescape(strings.TrimPrefix(res.Header.Get("Location"), "/admin/login/?next="))
			if res.StatusCode != 302 || !strings.Contains(next, "nonce=pn2") || !strings.HasPrefix(next, "/o/authorize/?") {
				t.Fatalf("anonymous POST request: %d %s", res.StatusCode, res.Header.Get("Location"))
			}
			anon.login("alice", "alicepass")
			if res, _ := anon.get(next); res.StatusCode != 302 || !strings.Contains(res.Header.Get("Location"), "code=") {
				t.Fatalf("after login: %d %s", res.StatusCode, res.Header.Get("Location"))
			}
		})
		t.Run("client_secret_post", func(t *testing.T) {
			idOf(exchange(b.code("rp", "scope", "openid"), url.Values{"client_id": {"rp"}, "client_secret": {sec}}, "X-None", ""))
		})
		t.Run("nonce_replay", func(t *testing.T) {
			b.code("rp", "scope", "openid", "nonce", "once-only", "state", "s1")
			q := url.Values{"client_id": {"rp"}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {redirectURI},
				"state": {"s2"}, "nonce": {"once-only"}}
			res, _ := b.get("/o/authorize/?" + q.Encode())
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != 302 || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("code") != "" || loc.Query().Get("state") != "s2" {
				t.Fatalf("a replayed nonce: %d %s", res.StatusCode, loc)
			}
		})
		t.Run("request_object", func(t *testing.T) {
			for param, code := range map[string]string{"request": "request_not_supported", "request_uri": "request_uri_not_supported"} {
				q := url.Values{"client_id": {"rp"}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {redirectURI}, "state": {"r"},
					param: {"eyJhbGciOiJub25lIn0.eyJpc3MiOiJycCJ9."}}
				res, _ := b.get("/o/authorize/?" + q.Encode())
				loc, _ := url.Parse(res.Header.Get("Location"))
				if res.StatusCode != 302 || loc.Query().Get("error") != code || loc.Query().Get("state") != "r" {
					t.Fatalf("%s: %d %s", param, res.StatusCode, loc)
				}
			}
		})
	})
}

// TestJWTAccessTokens: RFC 9068 access tokens for an application that asks
// for them: verifiable with the JWKS, accepted by gatehouse's own API,
// introspected with their aud, and revocable.
func TestJWTAccessTokens(t *testing.T) {
	eachOIDC(t, func(t *testing.T, e *env, signer *oidctest.Signer) {
		u := e.user("alice", "alicepass")
		_, sec, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "api-client", GrantTypes: []string{"password", "client-credentials"},
			TokenFormat: gatehouse.TokenFormatJWT})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "bad", GrantTypes: []string{"password"}, TokenFormat: "jws"}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Fatalf("an unknown token format: %v", err)
		}
		auth := []string{"Authorization", basic("api-client", sec)}
		tok := e.tokens(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}, "scope": {"read write"}}, auth...)
		obj, err := jose.ParseSigned(tok.Access, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatalf("access token %q is not a JWS: %v", tok.Access, err)
		}
		if typ := obj.Signatures[0].Header.ExtraHeaders["typ"]; typ != "at+jwt" {
			t.Fatalf("typ %v", typ)
		}
		// Verified with the key the JWKS publishes.
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(e.do("GET", "/.well-known/jwks.json", nil).body, &set); err != nil {
			t.Fatal(err)
		}
		payload, err := obj.Verify(set.Key(obj.Signatures[0].Header.KeyID)[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		json.Unmarshal(payload, &c)
		for k, want := range map[string]any{"iss": testIssuer, "aud": testIssuer, "sub": strconv.FormatInt(u.ID, 10), "client_id": "api-client", "scope": "read write"} {
			if c[k] != want {
				t.Fatalf("%s = %v, want %v (%v)", k, c[k], want, c)
			}
		}
		if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 36000 || c["jti"] == "" {
			t.Fatalf("claims %v", c)
		}
		// gatehouse's API takes it; introspection tells its aud.
		if st := e.meStatus(tok.Access); st != 200 {
			t.Fatalf("/api/me/ with a JWT access token: %d", st)
		}
		r := e.do("POST", "/o/introspect/", url.Values{"token": {tok.Access}}, auth...)
		expect(t, r, 200, "")
		if m := r.json(t); m["active"] != true || m["aud"] != testIssuer || m["sub"] != strconv.FormatInt(u.ID, 10) {
			t.Fatalf("introspection %s", r.body)
		}
		// A refresh gives another JWT; the client's own token has the client as sub.
		next := e.tokens(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}, auth...)
		if strings.Count(next.Access, ".") != 2 || e.meStatus(next.Access) != 200 {
			t.Fatalf("refreshed access token %q", next.Access)
		}
		// Signed before the rotation (oauth's presign), for the same user
		// and scope; a narrower scope asked for is the new token's.
		wantSub := `"sub":"` + strconv.FormatInt(u.ID, 10) + `"`
		if _, b, err := signer.Verify(context.Background(), next.Access); err != nil || !strings.Contains(string(b), wantSub) ||
			!strings.Contains(string(b), `"scope":"read write"`) {
			t.Fatalf("refreshed access token: %s %v", b, err)
		}
		narrow := e.tokens(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.Refresh}, "scope": {"read"}}, auth...)
		if _, b, err := signer.Verify(context.Background(), narrow.Access); err != nil || !strings.Contains(string(b), wantSub) ||
			!strings.Contains(string(b), `"scope":"read"`) || e.meStatus(narrow.Access) != 200 {
			t.Fatalf("access token refreshed for a narrower scope: %s %v", b, err)
		}
		own := e.tokens(url.Values{"grant_type": {"client_credentials"}}, auth...)
		if _, b, err := signer.Verify(context.Background(), own.Access); err != nil || !strings.Contains(string(b), `"sub":"api-client"`) {
			t.Fatalf("client_credentials token: %s %v", b, err)
		}
		// Revoked: refused by the API and inactive.
		expect(t, e.do("POST", "/o/revoke_token/", url.Values{"token": {next.Access}}, auth...), 200, "")
		if st := e.meStatus(next.Access); st != 401 {
			t.Fatalf("/api/me/ with a revoked JWT access token: %d", st)
		}
		expect(t, e.do("POST", "/o/introspect/", url.Values{"token": {next.Access}}, auth...), 200, `{"active": false}`)
		// A forged one (signed by another key) is unknown, and so refused.
		other := oidctest.New(t)
		forged, _ := other.Sign(context.Background(), "at+jwt", c)
		if st := e.meStatus(forged); st != 401 {
			t.Fatalf("forged JWT access token: %d", st)
		}
		// An opaque client keeps opaque tokens.
		_, osec, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "opaque", GrantTypes: []string{"password"}})
		if err != nil {
			t.Fatal(err)
		}
		p := e.tokens(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}}, "Authorization", basic("opaque", osec))
		if strings.Contains(p.Access, ".") || len(p.Access) != 30 {
			t.Fatalf("an opaque client got %q", p.Access)
		}
		// A code exchange signs the access token before the redemption
		// (oauth's presignCode) for the code's user and scope; the code is
		// redeemed once, and its replay revokes that token.
		const redirect = "https://rp.example/cb"
		_, csec, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "code-client",
			GrantTypes: []string{"authorization-code"}, RedirectURIs: []string{redirect}, TokenFormat: gatehouse.TokenFormatJWT})
		if err != nil {
			t.Fatal(err)
		}
		app, err := e.store.Application(context.Background(), "code-client")
		if err != nil {
			t.Fatal(err)
		}
		verifier := strings.Repeat("v", 43)
		sum := sha256.Sum256([]byte(verifier))
		now := time.Now()
		g := gatehouse.Grant{CodeHash: secret.Hash("the-code"), ApplicationID: app.ID, UserID: u.ID, RedirectURI: redirect, Scope: "read",
			CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256", Created: now, Expires: now.Add(time.Minute)}
		if err := e.store.CreateGrant(context.Background(), &g); err != nil {
			t.Fatal(err)
		}
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {"the-code"}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
		cauth := []string{"Authorization", basic("code-client", csec)}
		ct := e.tokens(exchange, cauth...)
		if _, b, err := signer.Verify(context.Background(), ct.Access); err != nil || !strings.Contains(string(b), wantSub) ||
			!strings.Contains(string(b), `"scope":"read"`) || !strings.Contains(string(b), `"client_id":"code-client"`) || e.meStatus(ct.Access) != 200 {
			t.Fatalf("access token from a code: %s %v", b, err)
		}
		expect(t, e.do("POST", "/o/token/", exchange, cauth...), 400, "")
		if st := e.meStatus(ct.Access); st != 401 {
			t.Fatalf("/api/me/ with the access token of a replayed code: %d", st)
		}
		// So does a device's poll once the user approved (oauth's
		// presignDevice), for the approving user and the grant's scope.
		if _, _, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "tv-client", Name: "Living room TV",
			ClientType: "public", GrantTypes: []string{gatehouse.GrantDeviceCode}, TokenFormat: gatehouse.TokenFormatJWT}); err != nil {
			t.Fatal(err)
		}
		d := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}, "scope": {"read"}})
		b := e.browser()
		b.login("alice", "alicepass")
		if status, page := b.decide(d.UserCode, "allow"); status != 200 || !strings.Contains(page, "Device connected") {
			t.Fatalf("approve: %d %s", status, page)
		}
		r = e.devicePoll(d.DeviceCode)
		expect(t, r, 200, "")
		var dt struct {
			Access string `json:"access_token"`
		}
		json.Unmarshal(r.body, &dt)
		if _, b, err := signer.Verify(context.Background(), dt.Access); err != nil || !strings.Contains(string(b), wantSub) ||
			!strings.Contains(string(b), `"scope":"read"`) || !strings.Contains(string(b), `"client_id":"tv-client"`) || e.meStatus(dt.Access) != 200 {
			t.Fatalf("access token from a device poll: %s %v", b, err)
		}
	})
}

// TestJWTAccessTokenSubjectKeyed: a user keyed by a UUID in the Django
// project is named by it in an RFC 9068 access token's sub, as in the
// id_token and introspection, on login and on the presigned refresh.
func TestJWTAccessTokenSubjectKeyed(t *testing.T) {
	const key = "8d2f0b64-3c1a-4e9f-a7b5-0e6d4c2a9f13"
	eachOIDC(t, func(t *testing.T, e *env, signer *oidctest.Signer) {
		h, err := password.New(fastParams, nil).Hash("adapass")
		if err != nil {
			t.Fatal(err)
		}
		ada := gatehouse.User{Username: "ada", Password: h, IsActive: true, DateJoined: time.Now(), DjangoKey: key}
		if err := e.store.CreateUser(context.Background(), &ada, nil); err != nil {
			t.Fatal(err)
		}
		_, sec, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "api-client", GrantTypes: []string{"password"},
			TokenFormat: gatehouse.TokenFormatJWT})
		if err != nil {
			t.Fatal(err)
		}
		auth := []string{"Authorization", basic("api-client", sec)}
		login := e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"adapass"}, "scope": {"openid read"}}, auth...)
		var tok struct{ Access, Refresh, ID string }
		m := login.json(t)
		tok.Access, _ = m["access_token"].(string)
		tok.Refresh, _ = m["refresh_token"].(string)
		tok.ID, _ = m["id_token"].(string)
		if login.status != 200 || tok.ID == "" {
			t.Fatalf("login: %d %s", login.status, login.body)
		}
		// The refresh revokes the login's access token: each is checked
		// while it is live.
		access := tok.Access
		for _, name := range []string{"login", "refresh"} {
			if name == "refresh" {
				access = e.tokens(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}, auth...).Access
			}
			_, b, err := signer.Verify(context.Background(), access)
			var c map[string]any
			if err != nil || json.Unmarshal(b, &c) != nil || c["sub"] != key {
				t.Fatalf("%s: access token claims %s, %v; want sub %q", name, b, err, key)
			}
			r := e.do("POST", "/o/introspect/", url.Values{"token": {access}}, auth...)
			if m := r.json(t); m["active"] != true || m["sub"] != key {
				t.Fatalf("%s: introspection %s", name, r.body)
			}
		}
		if c := idClaims(t, signer, tok.ID); c["sub"] != key {
			t.Fatalf("id_token sub %v, want %q", c["sub"], key)
		}
	})
}
