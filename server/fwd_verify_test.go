package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/policy"
)

// fwdPolicy is the policy the forward-auth tests run under.
const fwdPolicy = `
/public/                 allow_any
/orders/                 authenticated
/rw/                     read_write_scopes
/scoped/                 scopes=orders
/admin/                  staff
/perm/                   permission=auth.add_user
/either/                 authenticated_or_scopes=orders
/readonly/               authenticated_or_read_only
api.example.com/host/    authenticated
`

// withPolicy serves /auth/verify/ under text.
func withPolicy(text string) func(*wiring) {
	return func(w *wiring) {
		p, err := policy.Parse("test.policy", strings.NewReader(text))
		if err != nil {
			panic(err)
		}
		w.Server.ForwardAuth = p
		w.OAuth.Config.Scopes = append(gatehouse.DefaultScopes(), gatehouse.Scope{Name: "orders", Description: "Orders"})
	}
}

// verify asks /auth/verify/ about method and uri as nginx would (the
// original request in X-Forwarded-Method and -Uri), with more headers in
// pairs ("Host" sets the request's own Host).
func (e *env) verify(method, uri string, headers ...string) resp {
	e.t.Helper()
	return e.verifyAt("/auth/verify/", append([]string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri}, headers...)...)
}

// verifyAt sends GET path with the headers given in pairs; an empty value
// adds nothing; a header named twice is sent twice.
func (e *env) verifyAt(path string, headers ...string) resp {
	e.t.Helper()
	return e.send("GET", path, headers...)
}

func (e *env) send(method, path string, headers ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		switch {
		case headers[i+1] == "":
		case headers[i] == "Host":
			req.Host = headers[i+1]
		default:
			req.Header.Add(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 && !(res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "") {
		e.t.Errorf("%s %s answered %d: %s", method, path, res.StatusCode, b)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

const (
	notProvided = `{"detail":"Authentication credentials were not provided."}`
	forbidden   = `{"detail":"You do not have permission to perform this action."}`
)

// identityHeaders are the X-Auth-* headers of an answer, "" for absent.
func identityHeaders(r resp) map[string]string {
	out := map[string]string{}
	for _, h := range policy.DefaultHeaders().All() {
		if v, ok := r.header[h]; ok {
			out[h] = strings.Join(v, "|")
		}
	}
	return out
}

// allowed checks a 200 with an empty body and every identity header, with
// the values in want and the others empty.
func allowed(t *testing.T, r resp, want map[string]string) {
	t.Helper()
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("status %d body %q, want 200 and no body", r.status, r.body)
	}
	got := identityHeaders(r)
	if len(got) != len(policy.DefaultHeaders().All()) {
		t.Fatalf("identity headers %v: want all seven", got)
	}
	for k, v := range got {
		if want[k] != v {
			t.Fatalf("identity headers %v, want %v (the others empty)", got, want)
		}
	}
	// Only the proxy reads an allowed answer: nothing but the identity and
	// the request id (the map of eight headers allocates nothing more).
	for k := range r.header {
		switch k {
		case "X-Request-Id", "Date", "Content-Length":
		default:
			if _, identity := got[k]; !identity {
				t.Fatalf("header %s on an allowed answer", k)
			}
		}
	}
}

// denied checks a denial: status, exact body, the body repeated in
// X-Auth-Body for nginx, no identity header, and the challenge of a 401.
func denied(t *testing.T, r resp, status int, body, challenge string) {
	t.Helper()
	if r.status != status || string(r.body) != body {
		t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, body)
	}
	if got := r.header.Get("X-Auth-Body"); got != body {
		t.Fatalf("X-Auth-Body %q, want the body", got)
	}
	if got := identityHeaders(r); len(got) != 0 {
		t.Fatalf("identity headers on a denial: %v", got)
	}
	if got := r.header.Get("WWW-Authenticate"); got != challenge {
		t.Fatalf("WWW-Authenticate %q, want %q", got, challenge)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	for k, v := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if got := r.header.Get(k); got != v {
			t.Fatalf("%s %q on a denial, want %q", k, got, v)
		}
	}
}

func (e *env) staffUser(username string, superuser bool) gatehouse.User {
	e.t.Helper()
	h, _ := password.New(fastParams, nil).Hash("pw-" + username)
	u := gatehouse.User{Username: username, Email: username + "@example.com", Password: h, IsActive: true, IsStaff: true,
		IsSuperuser: superuser, DateJoined: time.Now()}
	if err := e.accounts.Insert(context.Background(), &u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// Every kind of credential gatehouse issues is allowed where a user is
// required, with the identity headers of its user; scopes and client only
// for an OAuth token; never the credential.
func TestForwardAuthEachKind(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		a := e.setupOAuth()
		alice, err := e.store.UserByUsername(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(alice.ID, 10)
		user := map[string]string{"X-Auth-User-Id": id, "X-Auth-Username": "alice", "X-Auth-Email": "alice@example.com",
			"X-Auth-Is-Staff": "false"}
		with := func(m map[string]string, kv ...string) map[string]string {
			out := map[string]string{}
			for k, v := range m {
				out[k] = v
			}
			for i := 0; i+1 < len(kv); i += 2 {
				out[kv[i]] = kv[i+1]
			}
			return out
		}
		_, access := e.pair("alice", "alicepass")
		oauthTok := e.password(a, "scope", "read write")
		for _, tc := range []struct {
			name, auth string
			want       map[string]string
		}{
			{"drf token", "Token " + e.tokenOf("alice", "alicepass"), with(user, "X-Auth-Token-Kind", "token")},
			{"knox token", "Token " + e.newKnoxToken(alice, nil), with(user, "X-Auth-Token-Kind", "knox")},
			{"simplejwt", "Bearer " + access, with(user, "X-Auth-Token-Kind", "jwt")},
			{"oauth", "Bearer " + oauthTok.Access, with(user, "X-Auth-Token-Kind", "oauth", "X-Auth-Scopes", "read write",
				"X-Auth-Client-Id", "conf-client")},
			{"keyword in any case", "bearer " + oauthTok.Access, with(user, "X-Auth-Token-Kind", "oauth", "X-Auth-Scopes", "read write",
				"X-Auth-Client-Id", "conf-client")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, m := range []string{"GET", "POST", "DELETE"} {
					r := e.verify(m, "/orders/42/?x=1", "Authorization", tc.auth)
					allowed(t, r, tc.want)
					for k, vs := range r.header {
						for _, v := range vs {
							if strings.Contains(v, strings.Fields(tc.auth)[1]) {
								t.Fatalf("header %s echoes the credential", k)
							}
						}
					}
				}
			})
		}
	})
}

// A user imported from a project keyed by UUIDs is named by that key in
// X-Auth-User-Id, as the upstream's own rows name it.
func TestForwardAuthDjangoKey(t *testing.T) {
	const key = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		_, drfKey := e.loadKeyedUser(t, key)
		r := e.verify("GET", "/orders/42/", "Authorization", "Token "+drfKey)
		allowed(t, r, map[string]string{"X-Auth-User-Id": key, "X-Auth-Username": "ada@example.com", "X-Auth-Email": "ada@example.com",
			"X-Auth-Is-Staff": "false", "X-Auth-Token-Kind": "token"})
	})
}

// A refused credential is answered as /api/me/ answers it: the same
// status, body and challenge (each scheme's words); the session cookie
// and ?access_token= are not read.
func TestForwardAuthRefusals(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		a := e.setupOAuth()
		e.user("carol", "carolpass")
		refresh, access := e.pair("alice", "alicepass")
		expiredJWT := forge(map[string]any{"token_type": "access", "exp": time.Now().Add(-time.Minute).Unix(),
			"iat": time.Now().Add(-time.Hour).Unix(), "jti": "0190c0c0-0000-7000-8000-000000000000", "user_id": 1}, testJWTKey)
		revoked := e.password(a)
		expect(t, e.do("POST", "/o/revoke_token/", url.Values{"token": {revoked.Access}, "client_id": {"conf-client"},
			"client_secret": {a.confSecret}}), 200, "")
		carolKey := e.tokenOf("carol", "carolpass")
		if err := e.accounts.SetActive(context.Background(), "carol", false); err != nil {
			t.Fatal(err)
		}
		droppedKey := e.tokenOf("alice", "alicepass")
		expect(t, e.do("POST", "/api/tokens/logoutall/", nil, "Authorization", "Token "+droppedKey), 204, "")
		b := e.browser()
		b.login("alice", "alicepass")
		for _, tc := range []struct {
			name, auth string
			status     int
		}{
			{"missing", "", 401},
			{"token keyword alone", "Token", 401},
			{"token with spaces", "Token a b", 401},
			{"unknown drf key", "Token 0123456789abcdef0123456789abcdef01234567", 401},
			{"bearer alone", "Bearer", 401},
			{"bearer with spaces", "Bearer a b", 401},
			{"garbage bearer", "Bearer not-a-token", 401},
			{"expired jwt", "Bearer " + expiredJWT, 401},
			{"refresh jwt as access", "Bearer " + refresh, 401},
			{"forged jwt", "Bearer " + forge(payloadOf(t, access), "another-key"), 401},
			{"revoked oauth", "Bearer " + revoked.Access, 401},
			{"inactive user's key", "Token " + carolKey, 401},
			{"key ended by logout everywhere", "Token " + droppedKey, 401},
			{"basic", "Basic " + basicValue("alice", "alicepass"), 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				me := e.send("GET", "/api/me/", "Authorization", tc.auth)
				got := e.verify("GET", "/orders/", "Authorization", tc.auth)
				if me.status != tc.status {
					t.Fatalf("/api/me/ answered %d, want %d", me.status, tc.status)
				}
				denied(t, got, me.status, string(me.body), me.header.Get("WWW-Authenticate"))
			})
		}
		t.Run("query token and session cookie are not read", func(t *testing.T) {
			r := e.verify("GET", "/orders/?access_token="+e.password(a).Access)
			denied(t, r, 401, notProvided, `Bearer realm="api"`)
			u, _ := url.Parse(e.http.URL)
			var cookies []string
			for _, c := range b.c.Jar.Cookies(u) {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			if len(cookies) == 0 {
				t.Fatal("the browser has no session cookie")
			}
			r = e.verify("GET", "/orders/", "Cookie", strings.Join(cookies, "; "))
			denied(t, r, 401, notProvided, `Bearer realm="api"`)
		})
	})
}

func basicValue(user, pw string) string {
	return strings.TrimPrefix(basic(user, pw), "Basic ")
}

// Each requirement as DRF and DOT decide it, by the forwarded method.
func TestForwardAuthRequirements(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		a := e.setupOAuth()
		e.user("bob", "bobpass")
		boss := e.staffUser("boss", false)
		root := e.staffUser("root", true)
		e.grantAlice()
		aliceKey := "Token " + e.tokenOf("alice", "alicepass")
		bobKey := "Token " + e.tokenOf("bob", "bobpass")
		bossKey := "Token " + e.tokenOf(boss.Username, "pw-boss")
		rootKey := "Token " + e.tokenOf(root.Username, "pw-root")
		_, jwtAccess := e.pair("bob", "bobpass")
		bossJWT := "Bearer " + func() string { _, a := e.pair("boss", "pw-boss"); return a }()
		read := "Bearer " + e.password(a, "scope", "read").Access
		readWrite := "Bearer " + e.password(a, "scope", "read write").Access
		orders := "Bearer " + e.password(a, "scope", "orders").Access
		cc := "Bearer " + e.tokens(url.Values{"grant_type": {"client_credentials"}, "scope": {"read orders"}},
			"Authorization", basic("cc-client", a.ccSecret)).Access
		const ok, unauth, deny = 200, 401, 403
		for _, tc := range []struct {
			name, method, uri, auth string
			want                    int
		}{
			{"allow_any anonymous", "POST", "/public/x", "", ok},
			{"allow_any still refuses a bad credential", "GET", "/public/x", "Bearer nope", unauth},
			{"authenticated anonymous", "GET", "/orders/", "", unauth},
			{"authenticated jwt", "PATCH", "/orders/", "Bearer " + jwtAccess, ok},
			{"client_credentials is no user", "GET", "/orders/", cc, deny},
			{"read scope GET", "GET", "/rw/", read, ok},
			{"read scope HEAD", "HEAD", "/rw/", read, ok},
			{"read scope OPTIONS", "OPTIONS", "/rw/", read, ok},
			{"read scope POST", "POST", "/rw/", read, deny},
			{"read scope DELETE", "DELETE", "/rw/", read, deny},
			{"read write POST", "POST", "/rw/", readWrite, ok},
			{"drf key has no scopes", "GET", "/rw/", aliceKey, deny},
			{"jwt has no scopes", "GET", "/rw/", "Bearer " + jwtAccess, deny},
			{"anonymous read_write", "GET", "/rw/", "", unauth},
			{"client_credentials read", "GET", "/rw/", cc, ok},
			{"client_credentials write", "PUT", "/rw/", cc, deny},
			{"scopes=orders", "POST", "/scoped/", orders, ok},
			{"scopes=orders missing", "POST", "/scoped/", readWrite, deny},
			{"scopes=orders client alone", "GET", "/scoped/", cc, ok},
			{"staff key", "DELETE", "/admin/", bossKey, ok},
			{"staff jwt", "GET", "/admin/", bossJWT, ok},
			{"not staff", "GET", "/admin/", bobKey, deny},
			{"client alone not staff", "GET", "/admin/", cc, deny},
			{"permission through a group", "POST", "/perm/", aliceKey, ok},
			{"no permission", "POST", "/perm/", bobKey, deny},
			{"superuser has every permission", "POST", "/perm/", rootKey, ok},
			{"staff is not a permission", "POST", "/perm/", bossKey, deny},
			{"user's oauth token without the scope", "GET", "/either/", read, deny},
			{"user's oauth token with the scope", "GET", "/either/", orders, ok},
			{"drf key passes authenticated_or_scopes", "GET", "/either/", bobKey, ok},
			{"read only anonymous GET", "GET", "/readonly/", "", ok},
			{"read only anonymous POST", "POST", "/readonly/", "", unauth},
			{"unknown route anonymous", "GET", "/nowhere/", "", deny},
			{"unknown route with a good key", "GET", "/nowhere/", rootKey, deny},
			{"unknown route with a bad key", "GET", "/nowhere/", "Token nope", deny},
			{"dot segments", "GET", "/public/../admin/", bobKey, deny},
			{"encoded dot segments", "GET", "/public/%2e%2e/admin/", bobKey, deny},
			{"encoded slash", "GET", "/public%2f..%2fadmin/", bobKey, deny},
			{"decoded before matching", "GET", "/%61dmin/", bossKey, ok},
			{"host rule, other host", "GET", "/host/", bobKey, deny},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.verify(tc.method, tc.uri, "Authorization", tc.auth)
				switch tc.want {
				case ok:
					if r.status != 200 {
						t.Fatalf("%d %s, want 200", r.status, r.body)
					}
				case unauth:
					if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
						t.Fatalf("%d %s, want 401 with a challenge", r.status, r.body)
					}
				case deny:
					denied(t, r, 403, forbidden, "")
				}
			})
		}
		t.Run("anonymous denial", func(t *testing.T) {
			denied(t, e.verify("GET", "/orders/", "Authorization", ""), 401, notProvided, `Bearer realm="api"`)
		})
		t.Run("staff header", func(t *testing.T) {
			r := e.verify("GET", "/admin/", "Authorization", bossKey)
			if got := r.header.Get("X-Auth-Is-Staff"); got != "true" {
				t.Fatalf("X-Auth-Is-Staff %q", got)
			}
		})
		t.Run("client alone: no user headers", func(t *testing.T) {
			allowed(t, e.verify("GET", "/rw/", "Authorization", cc), map[string]string{"X-Auth-Token-Kind": "oauth",
				"X-Auth-Scopes": "read orders", "X-Auth-Client-Id": "cc-client"})
		})
		t.Run("X-Original-Method and -URI", func(t *testing.T) {
			r := e.verifyAt("/auth/verify/", "X-Original-Method", "POST", "X-Original-URI", "/rw/", "Authorization", read)
			denied(t, r, 403, forbidden, "")
			r = e.verifyAt("/auth/verify/", "X-Original-Method", "GET", "X-Original-URI", "/rw/", "Authorization", read)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
		t.Run("without X-Forwarded-Method the request's own", func(t *testing.T) {
			r := e.send("POST", "/auth/verify/", "X-Forwarded-Uri", "/rw/", "Authorization", read)
			denied(t, r, 403, forbidden, "")
			r = e.send("HEAD", "/auth/verify/", "X-Forwarded-Uri", "/rw/", "Authorization", read)
			if r.status != 200 {
				t.Fatalf("HEAD %d", r.status)
			}
		})
	})
}

// A client's own X-Auth-* headers never become the identity: the answer
// names the credential's user, or nobody.
func TestForwardAuthSpoofedIdentity(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		bob := e.user("bob", "bobpass")
		e.staffUser("boss", false)
		spoof := []string{"X-Auth-User-Id", "1", "X-Auth-Username", "boss", "X-Auth-Is-Staff", "true",
			"X-Auth-Scopes", "read write", "X-Auth-Token-Kind", "oauth", "X-Auth-Email", "boss@example.com", "X-Auth-Client-Id", "x"}
		allowed(t, e.verify("GET", "/public/", spoof...), map[string]string{})
		r := e.verify("GET", "/orders/", append(spoof, "Authorization", "Token "+e.tokenOf("bob", "bobpass"))...)
		allowed(t, r, map[string]string{"X-Auth-User-Id": strconv.FormatInt(bob.ID, 10), "X-Auth-Username": "bob",
			"X-Auth-Email": "bob@example.com", "X-Auth-Is-Staff": "false", "X-Auth-Token-Kind": "token"})
		denied(t, e.verify("GET", "/admin/", append(spoof, "Authorization", "Token "+e.tokenOf("bob", "bobpass"))...), 403, forbidden, "")
	})
}

// Headers that cannot say the original request safely deny it (403),
// never a 500 or a redirect, which nginx would turn into 500s.
func TestForwardAuthBadForwardedHeaders(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		e.user("bob", "bobpass")
		key := "Token " + e.tokenOf("bob", "bobpass")
		for _, tc := range []struct {
			name    string
			path    string
			headers []string
		}{
			{"no original URI", "/auth/verify/", []string{"X-Forwarded-Method", "GET"}},
			{"URI twice", "/auth/verify/", []string{"X-Forwarded-Uri", "/orders/", "X-Forwarded-Uri", "/admin/"}},
			{"URI headers disagree", "/auth/verify/", []string{"X-Forwarded-Uri", "/orders/", "X-Original-URI", "/public/"}},
			{"method headers disagree", "/auth/verify/", []string{"X-Forwarded-Uri", "/orders/", "X-Forwarded-Method", "GET", "X-Original-Method", "POST"}},
			{"method twice", "/auth/verify/", []string{"X-Forwarded-Uri", "/orders/", "X-Forwarded-Method", "GET", "X-Forwarded-Method", "GET"}},
			{"method not a token", "/auth/verify/", []string{"X-Forwarded-Uri", "/orders/", "X-Forwarded-Method", "GET /x"}},
			{"host list", "/auth/verify/", []string{"X-Forwarded-Uri", "/host/", "X-Forwarded-Host", "api.example.com, evil.test"}},
			{"host with a path", "/auth/verify/", []string{"X-Forwarded-Uri", "/host/", "X-Forwarded-Host", "api.example.com/x"}},
			{"absolute URI", "/auth/verify/", []string{"X-Forwarded-Uri", "http://api.example.com/orders/"}},
			{"relative URI", "/auth/verify/", []string{"X-Forwarded-Uri", "orders/"}},
			{"invalid UTF-8 and escapes", "/auth/verify/", []string{"X-Forwarded-Uri", "/orders/\xff%zz"}},
			{"long URI", "/auth/verify/", []string{"X-Forwarded-Uri", "/orders/" + strings.Repeat("../", 5000)}},
			{"unknown path below", "/auth/verify/other", []string{"X-Forwarded-Uri", "/orders/"}},
			{"dot segments in the endpoint's own path", "/auth/verify/path/../../orders/", nil},
			{"encoded prefix", "/auth/verify/%70ath/orders/", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				denied(t, e.verifyAt(tc.path, append(tc.headers, "Authorization", key)...), 403, forbidden, "")
			})
		}
		t.Run("no policy, no endpoint", func(t *testing.T) {
			f := e.restart(nil, nil)
			r := f.send("GET", "/auth/verify/", "X-Forwarded-Uri", "/orders/", "Authorization", key)
			if r.status != 404 {
				t.Fatalf("%d, want 404", r.status)
			}
		})
	})
}

// The host comes from X-Forwarded-Host, or the request's own Host (which
// Caddy and Envoy keep), and need not be one of ALLOWED_HOSTS on this
// endpoint; Envoy's path_prefix form reads the request's own method and
// path under /auth/verify/path.
func TestForwardAuthHostAndPathPrefix(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		a := e.setupOAuth()
		key := "Token " + e.tokenOf("alice", "alicepass")
		read := "Bearer " + e.password(a, "scope", "read").Access
		if r := e.verify("GET", "/host/", "X-Forwarded-Host", "API.example.com:8443", "Authorization", key); r.status != 200 {
			t.Fatalf("X-Forwarded-Host: %d %s", r.status, r.body)
		}
		if r := e.verify("GET", "/host/", "Host", "api.example.com", "Authorization", key); r.status != 200 {
			t.Fatalf("own Host: %d %s", r.status, r.body)
		}
		denied(t, e.verify("GET", "/host/", "Host", "other.example.com", "Authorization", key), 403, forbidden, "")
		if r := e.send("GET", "/api/me/", "Host", "api.example.com", "Authorization", key); r.status != 400 {
			t.Fatalf("ALLOWED_HOSTS still applies elsewhere: %d", r.status)
		}
		for _, tc := range []struct {
			method, path, auth string
			want               int
		}{
			{"GET", "/auth/verify/path/host/", key, 200},
			{"GET", "/auth/verify/path/orders/1?x=/admin/", key, 200},
			{"GET", "/auth/verify/path/rw/", read, 200},
			{"POST", "/auth/verify/path/rw/", read, 403},
			{"GET", "/auth/verify/path/orders/", "", 401},
			{"GET", "/auth/verify/path", key, 403}, // "/": no rule
			{"GET", "/auth/verify/path/public/../admin/", key, 403},
		} {
			r := e.send(tc.method, tc.path, "Host", "api.example.com", "Authorization", tc.auth)
			if r.status != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
			}
		}
	})
}

// A credential ended through this replica is refused at once, whatever
// the cache; the revocation needs no wait.
func TestForwardAuthRevocationIsImmediate(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		a := e.setupOAuth()
		tok := e.password(a, "scope", "read write")
		key := e.tokenOf("alice", "alicepass")
		_, access := e.pair("alice", "alicepass")
		for _, auth := range []string{"Bearer " + tok.Access, "Token " + key, "Bearer " + access} {
			if r := e.verify("GET", "/orders/", "Authorization", auth); r.status != 200 {
				t.Fatalf("before: %d %s", r.status, r.body)
			}
		}
		expect(t, e.do("POST", "/o/revoke_token/", url.Values{"token": {tok.Access}, "client_id": {"conf-client"},
			"client_secret": {a.confSecret}}), 200, "")
		if r := e.verify("GET", "/orders/", "Authorization", "Bearer "+tok.Access); r.status != 401 {
			t.Fatalf("revoked OAuth token: %d", r.status)
		}
		e.clock.advance(time.Second) // past the auth epoch's precision
		if err := e.accounts.ChangePassword(context.Background(), "alice", "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		for _, auth := range []string{"Token " + key, "Bearer " + access} {
			if r := e.verify("GET", "/orders/", "Authorization", auth); r.status != 401 {
				t.Fatalf("after the password change %s...: %d", auth[:8], r.status)
			}
		}
	})
}

// BenchmarkForwardAuthJWT is the handler cost of /auth/verify/ for a
// simplejwt token, beside BenchmarkMeJWT's for /api/me/ (in-process, for
// profiling; load figures come from `go run ./bench`).
func BenchmarkForwardAuthJWT(b *testing.B) {
	e := buildWith(b, "sqlite", nil, withPolicy(fwdPolicy))
	u := gatehouse.User{Username: "alice", Password: "!", IsActive: true, DateJoined: time.Now()}
	if err := e.accounts.Insert(context.Background(), &u); err != nil {
		b.Fatal(err)
	}
	_, access, err := e.pairs.PairFor(context.Background(), u.ID)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://localhost/auth/verify/", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Uri", "/orders/42/?page=2")
	req.Header.Set("X-Forwarded-Host", "api.example.com")
	benchServe(b, e, req)
}

// The policy file's header lines rename the identity headers; the
// defaults are then not sent.
func TestForwardAuthRenamedHeaders(t *testing.T) {
	eachWith(t, withPolicy("/orders/ authenticated\nheader username X-Remote-User\nheader user_id x-remote-user-id\n"), func(t *testing.T, e *env) {
		bob := e.user("bob", "bobpass")
		r := e.verify("GET", "/orders/", "Authorization", "Token "+e.tokenOf("bob", "bobpass"))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for k, want := range map[string]string{"X-Remote-User": "bob", "X-Remote-User-Id": strconv.FormatInt(bob.ID, 10),
			"X-Auth-Email": "bob@example.com", "X-Auth-Token-Kind": "token"} {
			if got := r.header.Values(k); len(got) != 1 || got[0] != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		for _, k := range []string{"X-Auth-Username", "X-Auth-User-Id"} {
			if _, ok := r.header[k]; ok {
				t.Errorf("%s sent though renamed", k)
			}
		}
	})
}

// raw sends GET path with the headers as bytes, past net/http's client,
// which refuses to send a NUL.
func (e *env) raw(path string, headers ...string) resp {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n")
	for i := 0; i+1 < len(headers); i += 2 {
		b.WriteString(headers[i] + ": " + headers[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: body}
}

// A credential or forwarded value with NUL, control or invalid UTF-8 bytes
// is refused or denied, never a 500, on both backends (net/http itself
// answers 400 to a NUL in a header).
func TestForwardAuthBadBytes(t *testing.T) {
	eachWith(t, withPolicy(fwdPolicy), func(t *testing.T, e *env) {
		for _, bad := range []string{"ali\x00ce", "ali\xffce", "\xc3\x28", strings.Repeat("a", 8000)} {
			for _, tc := range []struct {
				name    string
				headers []string
			}{
				{"drf key", []string{"X-Forwarded-Uri", "/orders/", "Authorization", "Token " + bad}},
				{"bearer", []string{"X-Forwarded-Uri", "/orders/", "Authorization", "Bearer " + bad}},
				{"uri", []string{"X-Forwarded-Uri", "/orders/" + bad}},
				{"method", []string{"X-Forwarded-Uri", "/orders/", "X-Forwarded-Method", bad}},
				{"host", []string{"X-Forwarded-Uri", "/orders/", "X-Forwarded-Host", bad}},
			} {
				r := e.raw("/auth/verify/", tc.headers...)
				if r.status != 401 && r.status != 403 && r.status != 400 {
					t.Errorf("%q in the %s: %d %s", bad, tc.name, r.status, r.body)
				}
			}
		}
	})
}

// With its database frozen, /auth/verify/ answers an opaque token 503 with
// Retry-After at the request timeout (Caddy, Traefik and Envoy pass it on;
// nginx answers 500), never 200, and a JWT's user cannot be read either.
func TestForwardAuthDatabaseFrozen(t *testing.T) {
	if os.Getenv(testdb.EnvPostgres) == "" {
		t.Skip("PostgreSQL only: the freezer sits between gatehouse and PostgreSQL")
	}
	u, err := url.Parse(testdb.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	fz := newFreezer(t, u.Host)
	u.Host = fz.ln.Addr().String()
	e := buildOn(t, u.String(), func(c *config) { c.RequestTimeout = time.Second }, func(w *wiring) {
		withPolicy(fwdPolicy)(w)
		w.Authn.CacheTTL, w.OAuth.CacheTTL = 0, 0
	})
	e.t = t
	e.user("alice", "alicepass")
	key := "Token " + e.tokenOf("alice", "alicepass")
	_, access := e.pair("alice", "alicepass")
	fz.setFrozen(true)
	for _, auth := range []string{key, "Bearer " + access} {
		start := time.Now()
		r := e.verify("GET", "/orders/", "Authorization", auth)
		body := `{"detail":"Service temporarily unavailable, try again later."}`
		if r.status != 503 || r.header.Get("Retry-After") != "1" || string(r.body) != body || time.Since(start) > 3*time.Second {
			t.Errorf("%s...: %d Retry-After %q %s after %v", auth[:8], r.status, r.header.Get("Retry-After"), r.body, time.Since(start))
		}
		if len(identityHeaders(r)) != 0 {
			t.Errorf("identity headers during the outage: %v", identityHeaders(r))
		}
	}
	fz.setFrozen(false)
	deadline := time.Now().Add(10 * time.Second)
	for e.verify("GET", "/orders/", "Authorization", key).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("still refused 10 s after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
