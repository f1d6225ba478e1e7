package server_test

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var alnum30 = regexp.MustCompile(`^[A-Za-z0-9]{30}$`)

func TestOAuthTokenSuccessShape(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		r := e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
			"client_id": {"conf-client"}, "client_secret": {a.confSecret}})
		expect(t, r, 200, "")
		for h, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		m := r.json(t)
		want := `{"access_token": "` + m["access_token"].(string) + `", "expires_in": 36000, "token_type": "Bearer", "scope": "read write groups", "refresh_token": "` + m["refresh_token"].(string) + `"}`
		if string(r.body) != want {
			t.Fatalf("body %s\nwant %s", r.body, want)
		}
		if !alnum30.MatchString(m["access_token"].(string)) || !alnum30.MatchString(m["refresh_token"].(string)) {
			t.Fatalf("tokens are not 30 alphanumerics: %s", r.body)
		}
		// Only the hash is stored.
		rows, err := e.store.DB().Query("SELECT token_hash FROM oauth_access_tokens")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h []byte
			rows.Scan(&h)
			if string(h) == m["access_token"].(string) {
				t.Fatal("access token stored in clear")
			}
		}
		rows.Close()
		if e.meStatus(m["access_token"].(string)) != 200 {
			t.Fatal("token does not authenticate /api/me/")
		}
		// client_credentials: no refresh token, no user.
		r = e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, "Authorization", basic("cc-client", a.ccSecret))
		expect(t, r, 200, "")
		m = r.json(t)
		if _, ok := m["refresh_token"]; ok || m["scope"] != "read" {
			t.Fatalf("client_credentials body %s", r.body)
		}
		if e.meStatus(m["access_token"].(string)) != 403 { // DOT: no user, so permission denied
			t.Fatal("a client token without a user was not refused 403 on /api/me/")
		}
	})
}

func TestOAuthTokenErrors(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		const (
			invalidClient = `{"error": "invalid_client"}`
			badCreds      = `{"error": "invalid_grant", "error_description": "Invalid credentials given."}`
		)
		pw := func(kv ...string) url.Values {
			v := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
				"client_id": {"conf-client"}, "client_secret": {a.confSecret}}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "<del>" {
					v.Del(kv[i])
				} else {
					v.Set(kv[i], kv[i+1])
				}
			}
			return v
		}
		cases := []struct {
			name    string
			path    string
			body    any
			headers []string
			status  int
			want    string
		}{
			{"wrong secret", "", pw("client_secret", "wrong"), nil, 401, invalidClient},
			{"basic wrong secret", "", pw("client_id", "<del>", "client_secret", "<del>"), []string{"Authorization", basic("conf-client", "wrong")}, 401, invalidClient},
			{"confidential without secret", "", pw("client_secret", "<del>"), nil, 401, invalidClient},
			{"confidential empty secret", "", pw("client_secret", ""), nil, 401, invalidClient},
			{"no client", "", pw("client_id", "<del>", "client_secret", "<del>"), nil, 401, invalidClient},
			{"unknown client", "", pw("client_id", "nope", "client_secret", "nope"), nil, 401, invalidClient},
			{"malformed basic", "", pw("client_id", "<del>", "client_secret", "<del>"), []string{"Authorization", "Basic !!!not-base64!!!"}, 401, invalidClient},
			{"public client with secret", "", pw("client_id", "pub-client", "client_secret", "whatever"), nil, 401, invalidClient},
			{"wrong password", "", pw("password", "bad"), nil, 400, badCreds},
			{"unknown user", "", pw("username", "nobody"), nil, 400, badCreds},
			{"untrimmed username", "", pw("username", " alice "), nil, 400, badCreds},
			{"long password", "", pw("password", strings.Repeat("x", 10000)), nil, 400, badCreds},
			{"missing username", "", pw("username", "<del>"), nil, 400, `{"error": "invalid_request", "error_description": "Request is missing username parameter."}`},
			{"missing password", "", pw("password", "<del>"), nil, 400, `{"error": "invalid_request", "error_description": "Request is missing password parameter."}`},
			{"blank password", "", pw("password", ""), nil, 400, `{"error": "invalid_request", "error_description": "Request is missing password parameter."}`},
			{"missing grant type", "", pw("grant_type", "<del>"), nil, 400, `{"error": "unsupported_grant_type"}`},
			{"unknown grant type", "", pw("grant_type", "foo"), nil, 400, `{"error": "unsupported_grant_type"}`},
			{"json body", "", map[string]string{"grant_type": "password", "username": "alice", "password": "alicepass"}, nil, 400, `{"error": "unsupported_grant_type"}`},
			{"client_credentials not allowed", "", pw("grant_type", "client_credentials"), nil, 400, `{"error": "unauthorized_client"}`},
			{"code on password client", "", pw("grant_type", "authorization_code", "code", "abc"), nil, 400, `{"error": "unauthorized_client"}`},
			{"password on code client", "", pw("client_id", "code-client", "client_secret", a.codeSecret), nil, 400, `{"error": "unauthorized_client"}`},
			{"unknown scope", "", pw("scope", "admin"), nil, 400, `{"error": "invalid_scope"}`},
			{"mixed unknown scope", "", pw("scope", "read admin"), nil, 400, `{"error": "invalid_scope"}`},
			{"introspection scope", "", pw("scope", "introspection"), nil, 400, `{"error": "invalid_scope"}`},
			{"query parameters", "?grant_type=password", pw(), nil, 400, `{"error": "invalid_request", "error_description": "URL query parameters are not allowed"}`},
			{"duplicate grant_type", "", url.Values{"grant_type": {"password", "password"}, "username": {"alice"}, "password": {"alicepass"}, "client_id": {"conf-client"}, "client_secret": {a.confSecret}}, nil, 400, `{"error": "invalid_request", "error_description": "Duplicate grant_type parameter."}`},
			{"refresh missing", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {"conf-client"}, "client_secret": {a.confSecret}}, nil, 400, `{"error": "invalid_request", "error_description": "Missing refresh token parameter."}`},
			{"refresh garbage", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"garbage"}, "client_id": {"conf-client"}, "client_secret": {a.confSecret}}, nil, 400, `{"error": "invalid_grant"}`},
			{"refresh on client_credentials client", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, []string{"Authorization", basic("cc-client", a.ccSecret)}, 400, `{"error": "unauthorized_client"}`},
			{"code missing", "", url.Values{"grant_type": {"authorization_code"}}, []string{"Authorization", basic("code-client", a.codeSecret)}, 400, `{"error": "invalid_request", "error_description": "Missing code parameter."}`},
			{"code unknown", "", url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}, "redirect_uri": {redirectURI}}, []string{"Authorization", basic("code-client", a.codeSecret)}, 400, `{"error": "invalid_grant"}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do("POST", "/o/token/"+c.path, c.body, c.headers...)
				expect(t, r, c.status, c.want)
				if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" || r.header.Get("Content-Type") != "application/json" {
					t.Fatalf("headers %v", r.header)
				}
				www := r.header.Get("WWW-Authenticate")
				if (c.status == 401) != (www == `Bearer error="invalid_client"`) {
					t.Fatalf("WWW-Authenticate %q", www)
				}
			})
		}
		// Methods.
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			r := e.do(m, "/o/token/", nil)
			expect(t, r, 405, "")
			if len(r.body) != 0 || r.header.Get("Allow") != "POST, OPTIONS" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("%s: %v %q", m, r.header, r.body)
			}
		}
		expect(t, e.do("OPTIONS", "/o/token/", nil), 200, "")
	})
}

func TestOAuthClientAuthVariants(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		base := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}}
		with := func(kv ...string) url.Values {
			v := url.Values{}
			for k, vs := range base {
				v[k] = vs
			}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		e.tokens(with("client_id", "pub-client"))
		e.tokens(with(), "Authorization", basic("pub-client", ""))
		e.tokens(with(), "Authorization", basic("conf-client", a.confSecret))
		e.tokens(with("client_id", "pub-client", "client_secret", ""))
		// Basic wins over a different client_id in the body.
		p := e.tokens(with("client_id", "pub-client"), "Authorization", basic("conf-client", a.confSecret))
		r := e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, "Authorization", basic("conf-client", a.confSecret))
		expect(t, r, 200, "")
		if r.json(t)["client_id"] != "conf-client" {
			t.Fatalf("token went to %s", r.body)
		}
		// A malformed Basic header falls back to body credentials, as DOT.
		e.tokens(with("client_id", "conf-client", "client_secret", a.confSecret), "Authorization", "Basic !!!")
		// Multipart bodies are read too.
		r = e.do("POST", "/o/token/", multipart(with("client_id", "pub-client")), "Content-Type", multipartType)
		expect(t, r, 200, "")
	})
}

const multipartType = "multipart/form-data; boundary=XyZ"

func multipart(v url.Values) string {
	var b strings.Builder
	for k, vs := range v {
		for _, x := range vs {
			b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + x + "\r\n")
		}
	}
	b.WriteString("--XyZ--\r\n")
	return b.String()
}

func TestOAuthRefreshRotation(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		refresh := func(tok string, kv ...string) resp {
			v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}, "client_id": {"conf-client"}, "client_secret": {a.confSecret}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return e.do("POST", "/o/token/", v)
		}
		p1 := e.password(a)
		r := refresh(p1.Refresh)
		expect(t, r, 200, "")
		p2 := tokenPair{Access: r.json(t)["access_token"].(string), Refresh: r.json(t)["refresh_token"].(string)}
		if p2.Access == p1.Access || p2.Refresh == p1.Refresh {
			t.Fatal("refresh did not rotate")
		}
		if e.meStatus(p1.Access) != 401 || e.meStatus(p2.Access) != 200 {
			t.Fatal("old access token still works or new one does not")
		}
		// Narrowing works; widening is refused and leaves the token usable.
		r = refresh(p2.Refresh, "scope", "read")
		expect(t, r, 200, "")
		p3 := tokenPair{Access: r.json(t)["access_token"].(string), Refresh: r.json(t)["refresh_token"].(string)}
		if r.json(t)["scope"] != "read" {
			t.Fatalf("narrowed scope %s", r.body)
		}
		expect(t, refresh(p3.Refresh, "scope", "read write"), 400, `{"error": "invalid_scope"}`)
		// Another client cannot use it.
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p3.Refresh}, "client_id": {"pub-client"}}), 400, `{"error": "invalid_grant"}`)
		if e.meStatus(p3.Access) != 200 {
			t.Fatal("refused refreshes revoked the current token")
		}
		// Replaying the rotated p1 refresh token revokes the whole family.
		expect(t, refresh(p1.Refresh), 400, `{"error": "invalid_grant"}`)
		if e.meStatus(p3.Access) != 401 {
			t.Fatal("family not revoked: current access token still works")
		}
		expect(t, refresh(p3.Refresh), 400, `{"error": "invalid_grant"}`)
		// Other families are untouched.
		other := e.password(a)
		if e.meStatus(other.Access) != 200 {
			t.Fatal("an unrelated token was revoked")
		}
	})
}

// confRefresh is a refresh_token grant by conf-client, its credentials in
// the body.
func (e *env) confRefresh(a oauthApps, tok string) resp {
	e.t.Helper()
	return e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}, "client_id": {"conf-client"}, "client_secret": {a.confSecret}})
}

func TestOAuthRefreshGraceAndLifetimes(t *testing.T) {
	each(t, func(c *config) {
		c.OAuth.RefreshGracePeriod = 10 * time.Second
		c.OAuth.RefreshTokenLifetime = time.Hour
		c.OAuth.RefreshFamilyLifetime = 90 * time.Minute
	}, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		refresh := func(tok string) resp { return e.confRefresh(a, tok) }
		p1 := e.password(a)
		r := refresh(p1.Refresh)
		expect(t, r, 200, "")
		p2 := r.json(t)["refresh_token"].(string)
		// Within the grace period the rotated token works once more, without revoking the family.
		expect(t, refresh(p1.Refresh), 200, "")
		e.clock.advance(11 * time.Second)
		expect(t, refresh(p1.Refresh), 400, `{"error": "invalid_grant"}`) // now a replay
		// Per-token lifetime.
		p := e.password(a)
		e.clock.advance(61 * time.Minute)
		expect(t, refresh(p.Refresh), 400, `{"error": "invalid_grant"}`)
		_ = p2
		// Family lifetime: rotating every 50 minutes stops at 90 minutes.
		p = e.password(a)
		e.clock.advance(50 * time.Minute)
		r = refresh(p.Refresh)
		expect(t, r, 200, "")
		e.clock.advance(50 * time.Minute)
		expect(t, refresh(r.json(t)["refresh_token"].(string)), 400, `{"error": "invalid_grant"}`)
	})
}

// Within the grace period a rotated token is accepted again only while its
// family lives: when every token of the family was revoked by a replica
// of an older build (which did not end the family's lifetime with it), the
// rotated token is a replay (found by a rolling-upgrade pass: the revoked
// family went on).
func TestOAuthRefreshGraceNeedsLiveFamily(t *testing.T) {
	each(t, func(c *config) { c.OAuth.RefreshGracePeriod = 10 * time.Second }, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		refresh := func(tok string) resp { return e.confRefresh(a, tok) }
		p1 := e.password(a)
		r := refresh(p1.Refresh)
		expect(t, r, 200, "")
		// An older replica's revoke_token: revoked, the family's lifetime
		// left as it was.
		q := "UPDATE oauth_refresh_tokens SET revoked = ? WHERE revoked IS NULL"
		if e.store.Dialect() == "postgres" {
			q = strings.Replace(q, "?", "$1", 1)
		}
		if _, err := e.store.DB().ExecContext(t.Context(), q, e.clock.now().UnixMicro()); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Second)
		expect(t, refresh(p1.Refresh), 400, `{"error": "invalid_grant"}`)
		expect(t, refresh(r.json(t)["refresh_token"].(string)), 400, `{"error": "invalid_grant"}`)
		// A family that lives: the grace period as before.
		p := e.password(a)
		expect(t, refresh(p.Refresh), 200, "")
		expect(t, refresh(p.Refresh), 200, "")
	})
}

func TestOAuthAccessTokenExpiry(t *testing.T) {
	eachWith(t, func(w *wiring) { w.Authn.CacheTTL, w.OAuth.CacheTTL = time.Hour, time.Hour }, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		p := e.password(a)
		if e.meStatus(p.Access) != 200 {
			t.Fatal("fresh token refused")
		}
		e.clock.advance(36000 * time.Second)
		if e.meStatus(p.Access) != 401 {
			t.Fatal("expired token accepted (from the cache)")
		}
	})
}

func TestOAuthConcurrentRefresh(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		p := e.password(a)
		const n = 8
		var wg sync.WaitGroup
		statuses := make(chan int, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses <- e.doNoFatal("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.Refresh},
					"client_id": {"conf-client"}, "client_secret": {a.confSecret}})
			}()
		}
		close(start)
		wg.Wait()
		close(statuses)
		ok, bad := 0, 0
		for s := range statuses {
			switch s {
			case 200:
				ok++
			case 400:
				bad++
			default:
				t.Errorf("status %d", s)
			}
		}
		if ok != 1 || bad != n-1 {
			t.Fatalf("%d successes, %d invalid_grant; want exactly one success", ok, bad)
		}
	})
}
