package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/oauth"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestOAuthRevokeAndIntrospect(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		conf := []string{"Authorization", basic("conf-client", a.confSecret)}
		code := []string{"Authorization", basic("code-client", a.codeSecret)}
		p := e.password(a)

		// Introspection by the owner client, POST and GET.
		r := e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, conf...)
		expect(t, r, 200, "")
		m := r.json(t)
		alice := strconv.FormatInt(int64(e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+p.Access).json(t)["id"].(float64)), 10)
		want := `{"active": true, "scope": "read write groups", "exp": ` + strconv.FormatInt(int64(m["exp"].(float64)), 10) + `, "client_id": "conf-client", "username": "alice", ` +
			`"token_type": "Bearer", "iat": ` + strconv.FormatInt(int64(m["iat"].(float64)), 10) + `, "sub": "` + alice + `"}`
		if iat := int64(m["iat"].(float64)); iat > time.Now().Unix()+1 || iat < time.Now().Unix()-60 {
			t.Fatalf("iat %d", iat)
		}
		if string(r.body) != want {
			t.Fatalf("introspect body %s\nwant %s", r.body, want)
		}
		if exp := int64(m["exp"].(float64)); exp < time.Now().Add(35990*time.Second).Unix() {
			t.Fatalf("exp %d", exp)
		}
		expect(t, e.do("GET", "/o/introspect/?token="+p.Access, nil, conf...), 200, want)
		expect(t, e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}, "client_id": {"conf-client"}, "client_secret": {a.confSecret}}), 200, want)

		cases := []struct {
			name    string
			method  string
			path    string
			body    url.Values
			headers []string
			status  int
			want    string
		}{
			{"introspect unknown", "POST", "/o/introspect/", url.Values{"token": {"nope"}}, conf, 200, `{"active": false}`},
			{"introspect jwt-like", "POST", "/o/introspect/", url.Values{"token": {"eyJ.a.b"}}, conf, 200, `{"active": false}`},
			{"introspect other client's token", "POST", "/o/introspect/", url.Values{"token": {p.Access}}, code, 200, `{"active": false}`},
			{"introspect no auth", "POST", "/o/introspect/", url.Values{"token": {p.Access}}, nil, 403, ""},
			{"introspect public client", "POST", "/o/introspect/", url.Values{"token": {p.Access}, "client_id": {"pub-client"}}, nil, 403, ""},
			{"introspect bearer without scope", "POST", "/o/introspect/", url.Values{"token": {p.Access}}, []string{"Authorization", "Bearer " + p.Access}, 403, ""},
			{"introspect wrong secret", "POST", "/o/introspect/", url.Values{"token": {p.Access}}, []string{"Authorization", basic("conf-client", "x")}, 403, ""},
			{"introspect missing token", "POST", "/o/introspect/", url.Values{}, conf, 200, `{"active": false}`}, // DOT's answer
			{"introspect empty token", "POST", "/o/introspect/", url.Values{"token": {""}}, conf, 200, `{"active": false}`},
			{"revoke wrong secret", "POST", "/o/revoke_token/", url.Values{"token": {p.Access}, "client_id": {"conf-client"}, "client_secret": {"bad"}}, nil, 401, `{"error": "invalid_client"}`},
			{"revoke no client", "POST", "/o/revoke_token/", url.Values{"token": {p.Access}}, nil, 401, `{"error": "invalid_client"}`},
			{"revoke missing token", "POST", "/o/revoke_token/", url.Values{}, conf, 400, `{"error": "invalid_request", "error_description": "Missing token parameter."}`},
			{"revoke query params", "POST", "/o/revoke_token/?token=x", url.Values{"token": {p.Access}}, conf, 400, `{"error": "invalid_request", "error_description": "URL query parameters are not allowed"}`},
			{"revoke unknown", "POST", "/o/revoke_token/", url.Values{"token": {"nope"}}, conf, 200, "{}"},
			{"revoke GET", "GET", "/o/revoke_token/", nil, nil, 405, ""},
			// Cross-client revocation does nothing.
			{"revoke other client's token", "POST", "/o/revoke_token/", url.Values{"token": {p.Access}}, code, 200, "{}"},
			{"revoke other client's refresh", "POST", "/o/revoke_token/", url.Values{"token": {p.Refresh}, "token_type_hint": {"refresh_token"}}, code, 200, "{}"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.body != nil {
					body = c.body
				}
				r := e.do(c.method, c.path, body, c.headers...)
				expect(t, r, c.status, c.want)
				if c.want == "" && len(r.body) != 0 {
					t.Fatalf("body %q, want empty", r.body)
				}
			})
		}
		if e.meStatus(p.Access) != 200 {
			t.Fatal("another client revoked the token")
		}
		// The owner revokes the refresh token: its access token goes too.
		// Success is an empty JSON object (not DOT's empty text/html,
		// which simple-oauth2's revokeAll rejects), never cached.
		r = e.do("POST", "/o/revoke_token/", url.Values{"token": {p.Refresh}, "token_type_hint": {"refresh_token"}}, conf...)
		expect(t, r, 200, "{}")
		if ct, cc := r.header.Get("Content-Type"), r.header.Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
			t.Fatalf("revocation answer: Content-Type %q, Cache-Control %q", ct, cc)
		}
		if e.meStatus(p.Access) != 401 {
			t.Fatal("access token survived revocation of its refresh token")
		}
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.Refresh}}, conf...), 400, `{"error": "invalid_grant"}`)
		// Revoking an access token: 401 on the API, inactive, and its refresh token still works.
		q := e.password(a)
		expect(t, e.do("POST", "/o/revoke_token/", url.Values{"token": {q.Access}}, conf...), 200, "{}")
		if e.meStatus(q.Access) != 401 {
			t.Fatal("revoked access token still works")
		}
		expect(t, e.do("POST", "/o/introspect/", url.Values{"token": {q.Access}}, conf...), 200, `{"active": false}`)
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {q.Refresh}}, conf...), 200, "")
	})
}

func TestOAuthIntrospectResourceServer(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		rs := e.resourceServer(t)
		p := e.password(a)
		r := e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, "Authorization", rs)
		expect(t, r, 200, "")
		if r.json(t)["active"] != true {
			t.Fatalf("resource server sees %s", r.body)
		}
	})
}

// TestOAuthRealClient drives every grant with golang.org/x/oauth2.
func TestOAuthRealClient(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		ctx := context.Background()
		endpoint := oauth2.Endpoint{AuthURL: e.http.URL + "/o/authorize/", TokenURL: e.http.URL + "/o/token/", AuthStyle: oauth2.AuthStyleInHeader}
		api := func(c *http.Client) int {
			res, err := c.Get(e.http.URL + "/api/me/")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}

		t.Run("password and refresh", func(t *testing.T) {
			cfg := &oauth2.Config{ClientID: "conf-client", ClientSecret: a.confSecret, Endpoint: endpoint}
			tok, err := cfg.PasswordCredentialsToken(ctx, "alice", "alicepass")
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.Before(time.Now().Add(9*time.Hour)) {
				t.Fatalf("token %+v", tok)
			}
			if s := api(cfg.Client(ctx, tok)); s != 200 {
				t.Fatalf("/api/me/: %d", s)
			}
			// Force a refresh through the token source.
			old := *tok
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := cfg.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken {
				t.Fatal("refresh did not rotate")
			}
			if e.meStatus(old.AccessToken) != 401 || e.meStatus(fresh.AccessToken) != 200 {
				t.Fatal("rotation did not switch tokens")
			}
		})

		t.Run("client credentials", func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: "cc-client", ClientSecret: a.ccSecret, TokenURL: endpoint.TokenURL, Scopes: []string{"read"},
				AuthStyle: oauth2.AuthStyleInParams}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" || tok.Extra("scope") != "read" {
				t.Fatalf("token %+v", tok)
			}
			bad := clientcredentials.Config{ClientID: "cc-client", ClientSecret: "wrong", TokenURL: endpoint.TokenURL}
			_, err = bad.Token(ctx)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
				t.Fatalf("wrong secret: %v", err)
			}
		})

		t.Run("authorization code with PKCE", func(t *testing.T) {
			cfg := &oauth2.Config{ClientID: "code-client", ClientSecret: a.codeSecret, Endpoint: endpoint, RedirectURL: redirectURI, Scopes: []string{"read"}}
			b := e.browser()
			b.login("alice", "alicepass")
			verifier := oauth2.GenerateVerifier()
			u, _ := url.Parse(cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier)))
			loc := b.authorize(u.Query())
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI || loc.Query().Get("state") != "st4te" {
				t.Fatalf("redirect %s", loc)
			}
			code := loc.Query().Get("code")
			if !alnum30.MatchString(code) {
				t.Fatalf("code %q", code)
			}
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if tok.Extra("scope") != "read" {
				t.Fatalf("scope %v", tok.Extra("scope"))
			}
			if s := api(cfg.Client(ctx, tok)); s != 200 {
				t.Fatalf("/api/me/: %d", s)
			}
			// Replay: refused, and the tokens issued from the code are revoked.
			_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("replay: %v", err)
			}
			if e.meStatus(tok.AccessToken) != 401 {
				t.Fatal("replaying the code did not revoke its tokens")
			}
			expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
				"Authorization", basic("code-client", a.codeSecret)), 400, `{"error": "invalid_grant"}`)
		})
	})
}

// TestOAuthAuthorizeSecurity covers the browser flow's rules.
func TestOAuthAuthorizeSecurity(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		codeAuth := []string{"Authorization", basic("code-client", a.codeSecret)}
		q := func(kv ...string) url.Values {
			v := url.Values{"response_type": {"code"}, "client_id": {"code-client"}, "redirect_uri": {redirectURI}, "state": {"xyz"}, "scope": {"read"}}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "<del>" {
					v.Del(kv[i])
				} else {
					v.Set(kv[i], kv[i+1])
				}
			}
			return v
		}
		// Anonymous: to the login page, keeping the request.
		anon := e.browser()
		res, _ := anon.get("/o/authorize/?" + q().Encode())
		if res.StatusCode != 302 || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login/?next=/o/authorize/%3F") {
			t.Fatalf("anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		// A request too long to come back through the login page (the
		// page's URL quotes it once more) is refused, GET or POSTed as a
		// form, rather than sent to a URL the server would refuse; one
		// of a few KiB still goes to the login page.
		for _, n := range []int{4 << 10, 20 << 10} {
			long := q("state", strings.Repeat("s&=", n/3))
			want := 302
			if n > 4<<10 {
				want = 400
			}
			res, _ := anon.get("/o/authorize/?" + long.Encode())
			res2, page := anon.post("/o/authorize/", long)
			for _, r := range []*http.Response{res, res2} {
				if r.StatusCode != want || want == 400 && r.Header.Get("Location") != "" ||
					want == 302 && !strings.HasPrefix(r.Header.Get("Location"), "/admin/login/?next=/o/authorize/%3F") {
					t.Fatalf("anonymous, %d-byte state: %d %.80s", n, r.StatusCode, r.Header.Get("Location"))
				}
			}
			if want == 400 && !strings.Contains(page, "too long to be carried through the login page") {
				t.Fatalf("anonymous, %d-byte state: the page does not say why: %.300s", n, page)
			}
		}
		for _, p := range []string{"/o/applications/", "/o/authorized_tokens/"} {
			if res, _ := anon.get(p); res.StatusCode != 302 || res.Header.Get("Location") != "/admin/login/?next="+p {
				t.Fatalf("%s: %d %s", p, res.StatusCode, res.Header.Get("Location"))
			}
		}

		b := e.browser()
		// The login form needs its CSRF token and the right password.
		res, _ = b.post("/admin/login/", url.Values{"username": {"alice"}, "password": {"alicepass"}})
		if res.StatusCode != 403 {
			t.Fatalf("login without CSRF: %d", res.StatusCode)
		}
		_, page := b.get("/admin/login/?next=/o/applications/")
		f := hidden(page)
		f.Set("username", "alice")
		f.Set("password", "wrong")
		if res, _ := b.post("/admin/login/", f); res.StatusCode != 200 {
			t.Fatalf("wrong password: %d", res.StatusCode)
		}
		f.Set("password", "alicepass")
		f.Set("next", "https://evil.example/")
		if res, _ := b.post("/admin/login/", f); res.StatusCode != 302 || res.Header.Get("Location") != "/" {
			t.Fatalf("open redirect after login: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		// Errors before a trusted redirect URI: a 400 page, never a redirect.
		for name, params := range map[string]url.Values{
			"redirect mismatch":   q("redirect_uri", "http://evil.example/cb"),
			"redirect prefix":     q("redirect_uri", redirectURI+"/x"),
			"redirect port":       q("redirect_uri", "http://127.0.0.1:9998/cb"), // only a loopback *registration* ignores the port
			"unknown client":      q("client_id", "nope"),
			"password-only":       q("client_id", "conf-client"),
			"duplicate client_id": func() url.Values { v := q(); v.Add("client_id", "x"); return v }(),
		} {
			res, _ := b.get("/o/authorize/?" + params.Encode())
			if res.StatusCode != 400 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("%s: %d %s", name, res.StatusCode, res.Header.Get("Location"))
			}
		}
		// Errors after it: redirected with error and state.
		for name, c := range map[string]struct {
			params url.Values
			err    string
		}{
			"bad response_type":    {q("response_type", "token"), "unsupported_response_type"},
			"bad scope":            {q("scope", "admin"), "invalid_scope"},
			"plain PKCE":           {q("code_challenge", strings.Repeat("a", 43), "code_challenge_method", "plain"), "invalid_request"},
			"implicit PKCE method": {q("code_challenge", strings.Repeat("a", 43)), "invalid_request"},
			"public without PKCE":  {q("client_id", "spa-client", "redirect_uri", "https://app.example/cb"), "invalid_request"},
			"short code_challenge": {q("code_challenge", "abc", "code_challenge_method", "S256"), "invalid_request"},
		} {
			res, _ := b.get("/o/authorize/?" + c.params.Encode())
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != 302 || loc == nil || loc.Query().Get("error") != c.err || loc.Query().Get("state") != "xyz" {
				t.Errorf("%s: %d %s", name, res.StatusCode, res.Header.Get("Location"))
			}
		}
		// The consent POST needs the CSRF token; cancel is access_denied.
		_, page = b.get("/o/authorize/?" + q().Encode())
		form := hidden(page)
		noCSRF := url.Values{}
		for k, v := range form {
			if k != "csrfmiddlewaretoken" {
				noCSRF[k] = v
			}
		}
		noCSRF.Set("allow", "Authorize")
		if res, _ := b.post("/o/authorize/", noCSRF); res.StatusCode != 403 {
			t.Fatalf("consent without CSRF: %d", res.StatusCode)
		}
		if res, _ := b.post("/o/authorize/", form); res.StatusCode != 302 || !strings.Contains(res.Header.Get("Location"), "error=access_denied") {
			t.Fatalf("cancel: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		exchange := func(code string, kv ...string) resp {
			v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "<del>" {
					v.Del(kv[i])
				} else {
					v.Set(kv[i], kv[i+1])
				}
			}
			return e.do("POST", "/o/token/", v, codeAuth...)
		}
		codeOf := func(params url.Values) string {
			return b.authorize(params).Query().Get("code")
		}
		// Redirect URI at the token endpoint must repeat the authorization request's.
		c := codeOf(q())
		expect(t, exchange(c, "redirect_uri", "http://127.0.0.1:9999/other"), 400, `{"error": "invalid_request", "error_description": "Mismatching redirect URI."}`)
		expect(t, exchange(c, "redirect_uri", "<del>"), 400, `{"error": "invalid_request", "error_description": "Mismatching redirect URI."}`)
		expect(t, exchange(c), 200, "") // the failed attempts did not use it up
		// PKCE downgrade: a verifier for a code issued without a challenge.
		c = codeOf(q())
		expect(t, exchange(c, "code_verifier", oauth2.GenerateVerifier()), 400, `{"error": "invalid_grant"}`)
		// A challenge was sent: the verifier is required and must match.
		v := oauth2.GenerateVerifier()
		c = codeOf(q("code_challenge", oauth2.S256ChallengeFromVerifier(v), "code_challenge_method", "S256"))
		expect(t, exchange(c), 400, `{"error": "invalid_request", "error_description": "Code verifier required."}`)
		expect(t, exchange(c, "code_verifier", oauth2.GenerateVerifier()), 400, `{"error": "invalid_grant"}`)
		expect(t, exchange(c, "code_verifier", v), 200, "")
		// Another client cannot redeem the code.
		c = codeOf(q())
		_, sec, _ := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "code2", GrantTypes: []string{"authorization-code"}, RedirectURIs: []string{redirectURI}})
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}},
			"Authorization", basic("code2", sec)), 400, `{"error": "invalid_grant"}`)
		// Codes live 60 seconds.
		c = codeOf(q())
		e.clock.advance(61 * time.Second)
		expect(t, exchange(c), 400, `{"error": "invalid_grant"}`)

		// Public client: PKCE mandatory; loopback redirect port may vary (RFC 8252).
		v = oauth2.GenerateVerifier()
		loc := b.authorize(q("client_id", "spa-client", "redirect_uri", "http://127.0.0.1:53211/spa/cb",
			"code_challenge", oauth2.S256ChallengeFromVerifier(v), "code_challenge_method", "S256"))
		if loc.Host != "127.0.0.1:53211" {
			t.Fatalf("loopback redirect %s", loc)
		}
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {"http://127.0.0.1:53211/spa/cb"}, "client_id": {"spa-client"}, "code_verifier": {v}}), 200, "")
	})
}

// TestOAuthSessionOnAPI covers DRF's SessionAuthentication after a browser login.
func TestOAuthSessionOnAPI(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupOAuth()
		b := e.browser()
		b.login("alice", "alicepass")
		res, body := b.get("/api/me/")
		if res.StatusCode != 200 || !strings.Contains(body, `"username":"alice"`) {
			t.Fatalf("session /api/me/: %d %s", res.StatusCode, body)
		}
		post := func(csrf string) *http.Response {
			req, _ := http.NewRequest("POST", e.http.URL+"/api/users/", strings.NewReader(`{"username":"olga","password":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			if csrf != "" {
				req.Header.Set("X-CSRFToken", csrf)
			}
			res, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		if r := post(""); r.StatusCode != 403 || r.Header.Get("WWW-Authenticate") != "" {
			t.Fatalf("POST without CSRF: %d %v", r.StatusCode, r.Header)
		}
		if r := post("wrong"); r.StatusCode != 403 {
			t.Fatalf("POST with a wrong CSRF token: %d", r.StatusCode)
		}
		var csrf string
		u, _ := url.Parse(e.http.URL)
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == "csrftoken" {
				csrf = c.Value
			}
		}
		if r := post(csrf); r.StatusCode != 201 {
			t.Fatalf("POST with CSRF: %d", r.StatusCode)
		}
		// A password change ends the session.
		if err := e.accounts.ChangePassword(context.Background(), "alice", "another-pass-123"); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Second)
		if res, _ := b.get("/api/me/"); res.StatusCode != 401 {
			t.Fatalf("session survived a password change: %d", res.StatusCode)
		}
		// A forged cookie is ignored.
		jar := b.c.Jar
		jar.SetCookies(u, []*http.Cookie{{Name: "sessionid", Value: "AAAA"}})
		if res, _ := b.get("/api/me/"); res.StatusCode != 401 {
			t.Fatalf("forged session: %d", res.StatusCode)
		}
	})
}

func TestOAuthRequireScopes(t *testing.T) {
	each(t, func(c *config) { c.OAuth.RequireScopes = true }, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		read := e.password(a, "scope", "read")
		write := e.password(a, "scope", "write")
		both := e.password(a, "scope", "read write")
		const denied = `{"detail":"You do not have permission to perform this action."}`
		create := func(tok, name string) resp {
			return e.do("POST", "/api/users/", map[string]string{"username": name, "password": "pw-" + name + "-123"}, "Authorization", "Bearer "+tok)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+read.Access), 200, "")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+write.Access), 403, denied)
		expect(t, create(read.Access, "u1"), 403, denied)
		expect(t, create(write.Access, "u2"), 201, "")
		expect(t, create(both.Access, "u3"), 201, "")
		// Other schemes carry no scopes and are not affected.
		key := e.tokenOf("alice", "alicepass")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key), 200, "")
	})
}

// TestOAuthScopesNotRequiredByDefault: as the reference, a read token may create users.
func TestOAuthScopesNotRequiredByDefault(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		read := e.password(a, "scope", "read")
		expect(t, e.do("POST", "/api/users/", map[string]string{"username": "mia2", "password": "x-long-pass-9"}, "Authorization", "Bearer "+read.Access), 201, "")
	})
}

// TestOAuthTokenRedirectURI checks the redirect_uri of a code exchange
// against the authorization request's (RFC 6749 4.1.3): repeated exactly
// when it named one; when it named none, absent or the one registered URI
// the code went to, as DOT stores and compares it, and nothing else. A
// refusal leaves the code usable.
func TestOAuthTokenRedirectURI(t *testing.T) {
	const mismatch = `{"error": "invalid_request", "error_description": "Mismatching redirect URI."}`
	absent := "<absent>"
	cases := []struct {
		name             string
		authorizeNamed   bool   // the authorization request carried redirect_uri
		tokenRedirectURI string // absent: not sent
		status           int
	}{
		{"named, repeated", true, redirectURI, 200},
		{"named, omitted", true, absent, 400}, // DOT accepts; RFC 6749 4.1.3 requires it
		{"named, empty", true, "", 400},
		{"named, another", true, "http://127.0.0.1:9999/other", 400},
		{"named, trailing slash", true, redirectURI + "/", 400},
		{"named, other case", true, "http://127.0.0.1:9999/CB", 400},
		{"none, omitted", false, absent, 200},
		{"none, the registered one", false, redirectURI, 200},
		{"none, empty", false, "", 400},
		{"none, another", false, "http://127.0.0.1:9999/other", 400},
		{"none, trailing slash", false, redirectURI + "/", 400},
		{"none, elsewhere", false, "https://evil.example/cb", 400},
	}
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		b := e.browser()
		b.login("alice", "alicepass")
		for _, c := range cases {
			q := url.Values{"response_type": {"code"}, "client_id": {"code-client"}, "state": {"xyz"}, "scope": {"read"}}
			if c.authorizeNamed {
				q.Set("redirect_uri", redirectURI)
			}
			loc := b.authorize(q)
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
				t.Fatalf("%s: the code went to %s", c.name, got)
			}
			form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}}
			if c.tokenRedirectURI != absent {
				form.Set("redirect_uri", c.tokenRedirectURI)
			}
			r := e.do("POST", "/o/token/", form, "Authorization", basic("code-client", a.codeSecret))
			if r.status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
				continue
			}
			if c.status == 400 {
				if string(r.body) != mismatch {
					t.Errorf("%s: body %s", c.name, r.body)
				}
				// Still usable with the right redirect_uri.
				if c.authorizeNamed {
					form.Set("redirect_uri", redirectURI)
				} else {
					form.Del("redirect_uri")
				}
				expect(t, e.do("POST", "/o/token/", form, "Authorization", basic("code-client", a.codeSecret)), 200, "")
			}
		}
	})
}
