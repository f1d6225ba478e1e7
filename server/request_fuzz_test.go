package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/server"
)

// fuzzEnv is a server on SQLite with alice, a credential of each kind of
// hers, a logged-in browser session, and the reference's OAuth clients,
// for the fuzz targets that send whole requests. Requests go through
// http.ReadRequest, so only what net/http would hand a handler arrives.
type fuzzEnv struct {
	e                              *env
	drfKey, jwtAccess, oauthAccess string
	cookie, csrf                   string // alice's session: the Cookie header and its CSRF token
	apps                           []gatehouse.Application
	alice                          int64
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	// The fuzzing engine runs this in every worker process and hands them
	// the seeds its own copy made: with the same random source everywhere,
	// a DRF key or OAuth token in a seed is alice's in every worker too.
	e := buildWith(tb, "sqlite", nil, func(w *wiring) {
		w.Accounts.Random, w.OAuth.Random, w.Server.Random = seededRandom(1), seededRandom(2), seededRandom(3)
	})
	fe := &fuzzEnv{e: e}
	ctx := context.Background()
	h, err := password.New(fastParams, nil).Hash("alicepass")
	if err != nil {
		tb.Fatal(err)
	}
	alice := gatehouse.User{Username: "alice", Email: "alice@example.com", Password: h, IsActive: true, DateJoined: time.Now()}
	if err := e.accounts.Insert(ctx, &alice); err != nil {
		tb.Fatal(err)
	}
	fe.alice = alice.ID
	for _, spec := range []oauth.ApplicationSpec{
		{ClientID: "pub-client", ClientType: "public", GrantTypes: []string{"password"}},
		{ClientID: "code-client", ClientType: "public", GrantTypes: []string{"authorization-code"}, RedirectURIs: []string{redirectURI}},
		{ClientID: "spa-client", ClientType: "public", GrantTypes: []string{"authorization-code"},
			RedirectURIs: []string{"http://127.0.0.1/spa/cb", "https://app.example/cb"}},
	} {
		app, _, err := e.clients.Create(ctx, spec)
		if err != nil {
			tb.Fatal(err)
		}
		fe.apps = append(fe.apps, app)
	}
	body := func(w *httptest.ResponseRecorder, key string) string {
		var m map[string]any
		if w == nil || json.Unmarshal(w.Body.Bytes(), &m) != nil {
			tb.Fatalf("no JSON answer for %s", key)
		}
		s, _ := m[key].(string)
		return s
	}
	fe.drfKey = body(fe.serve("POST", "/api-token-auth/", "application/json", `{"username":"alice","password":"alicepass"}`), "token")
	// An OAuth token issued at /o/token/ begins with its issue time
	// (secret.OrderedAlnum), which differs between workers: alice's is
	// stored as it is.
	fe.oauthAccess = "fuzzOAuthAccessTokenOfAlice0001"
	now := e.clock.now()
	if err := e.store.CreateTokens(ctx, &gatehouse.AccessToken{Hash: secret.TokenKey(fe.oauthAccess), UserID: &fe.alice,
		ApplicationID: fe.apps[0].ID, Scope: "read write", Created: now, Expires: now.Add(24 * time.Hour)}, nil, nil); err != nil {
		tb.Fatal(err)
	}
	if fe.jwtAccess, _, err = e.codec.Mint(jwt.Access, alice.ID, time.Time{}); err != nil {
		tb.Fatal(err)
	}
	// The login form: its CSRF cookie, then the POST that logs alice in.
	page := fe.serve("GET", "/admin/login/", "", "")
	anon := page.Result().Cookies()
	var csrf string
	for _, c := range anon {
		if c.Name == "csrftoken" {
			csrf = c.Value
		}
	}
	login := fe.serveWith("POST", "/admin/login/", "application/x-www-form-urlencoded",
		"username=alice&password=alicepass&csrfmiddlewaretoken="+url.QueryEscape(csrf), cookieHeader(anon))
	if login == nil || login.Code != http.StatusFound {
		tb.Fatalf("login: %v", login)
	}
	for _, c := range login.Result().Cookies() {
		if c.Name == "csrftoken" {
			fe.csrf = c.Value
		}
	}
	fe.cookie = cookieHeader(login.Result().Cookies())
	for _, cred := range []string{fe.drfKey, fe.oauthAccess, fe.csrf} {
		if cred == "" {
			tb.Fatal("a credential of alice is missing")
		}
	}
	return fe
}

// seededRandom is a deterministic random source, safe for concurrent use.
func seededRandom(seed byte) io.Reader {
	return &lockedReader{r: rand.NewChaCha8([32]byte{seed})}
}

type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// isAliceAccess reports whether tok is a simplejwt access token of alice
// (any, not only fe.jwtAccess: each worker mints its own).
func (fe *fuzzEnv) isAliceAccess(tok string) bool {
	cl, err := fe.e.codec.Parse(tok)
	return err == nil && cl.TokenType == jwt.Access && cl.HasUserID && cl.UserID == fe.alice
}

func cookieHeader(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// serve sends a request with a body of content type ct.
func (fe *fuzzEnv) serve(method, target, ct, body string) *httptest.ResponseRecorder {
	return fe.serveWith(method, target, ct, body, "")
}

// serveWith sends method target with the given body and extra header
// lines (already "Name: value\r\n" each, or a bare Cookie value), parsed
// by http.ReadRequest as a server reads it; nil when net/http would have
// refused the request before any handler.
func (fe *fuzzEnv) serveWith(method, target, ct, body, extra string) *httptest.ResponseRecorder {
	if extra != "" && !strings.Contains(extra, "\r\n") {
		extra = "Cookie: " + extra + "\r\n"
	}
	var raw strings.Builder
	fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: localhost\r\n", method, target)
	if ct != "" {
		fmt.Fprintf(&raw, "Content-Type: %s\r\n", ct)
	}
	fmt.Fprintf(&raw, "%sContent-Length: %d\r\n\r\n%s", extra, len(body), body)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
	if err != nil {
		return nil
	}
	r.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	h := fe.e.handler // the seeds' exchanges are checked against the OpenAPI document, as every test's are
	if fuzzing() {
		h = fe.e.srv // the check reports when the fuzz target ends, not for the input that failed
	}
	h.ServeHTTP(w, r)
	return w
}

// allowedRedirect reports whether a 3xx Location stays on this origin or
// goes to a redirect URI some client registered.
func (fe *fuzzEnv) allowedRedirect(loc string) bool {
	if !server.LeavesOrigin(loc) {
		return true
	}
	base, _, _ := strings.Cut(loc, "?")
	for _, a := range fe.apps {
		if a.RedirectURIAllowed(base) {
			return true
		}
	}
	return false
}

// checkResponse holds any answer to the rules every response obeys: no
// 5xx but a 503 that says when to retry, JSON bodies that parse, and
// redirects that stay on the origin or go to a registered client.
func (fe *fuzzEnv) checkResponse(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	res := w.Result()
	if res.StatusCode >= 500 && !(res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "") {
		t.Fatalf("%s: %d %s", what, res.StatusCode, w.Body.Bytes())
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s: %d answered invalid JSON %q", what, res.StatusCode, w.Body.Bytes())
	}
	if res.StatusCode >= 300 && res.StatusCode < 400 {
		if loc := res.Header.Get("Location"); loc == "" || !fe.allowedRedirect(loc) {
			t.Fatalf("%s: %d to %q", what, res.StatusCode, loc)
		}
		if loc := res.Header.Get("Location"); strings.HasPrefix(loc, "/admin/login/?") && len(loc) > 32<<10 {
			t.Fatalf("%s: %d to a login URL of %d bytes, longer than the server takes back", what, res.StatusCode, len(loc))
		}
	}
}

// FuzzAuthorization sends GET /api/me/ with any Authorization header.
// Properties: it is answered 200 only for exactly one of alice's
// credentials under its own keyword (DRF's Token and DOT's Bearer in any
// case, simplejwt's Bearer as written), split on white space as Python's
// bytes.split() splits; otherwise 401 with the plain Bearer challenge or
// its invalid_token form, never anything else. A value with a control
// byte (but tab) never reaches the authenticators: net/http refuses it.
func FuzzAuthorization(f *testing.F) {
	fe := newFuzzEnv(f)
	for _, h := range []string{"Token " + fe.drfKey, "token  " + fe.drfKey + " ", "Bearer " + fe.jwtAccess, "bearer " + fe.jwtAccess,
		"Bearer " + fe.oauthAccess, "BEARER\t" + fe.oauthAccess, "Token", "Token a b", "Bearer", "Bearer a b", "Basic YWxpY2U6YWxpY2VwYXNz",
		"JWT " + fe.jwtAccess, "Token " + fe.drfKey + "\x00", "Token " + strings.ToUpper(fe.drfKey), "Bearer " + fe.oauthAccess + "\xff",
		"Token\v" + fe.drfKey, "Token\u00a0" + fe.drfKey, "Bearer " + strings.Repeat("a", 8000), "", " ", "Token \x01",
		"Bearer " + fe.jwtAccess[:len(fe.jwtAccess)-1], "Token " + fe.drfKey[:39]} {
		f.Add(h)
	}
	challenges := map[string]bool{
		`Bearer realm="api"`: true,
		`Bearer realm="api",error="invalid_token",error_description="The access token is invalid."`: true,
	}
	f.Fuzz(func(t *testing.T, header string) {
		w := fe.serveWith("GET", "/api/me/", "", "", "Authorization: "+header+"\r\n")
		if w == nil {
			return // net/http refuses the header (a line break, a control byte)
		}
		// The value as net/http hands it over (a line break in header ends
		// it: what follows is another header or the body).
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\nAuthorization: " + header + "\r\n\r\n")))
		if err != nil {
			t.Fatalf("%q: served, yet does not parse alone: %v", header, err)
		}
		value := r.Header.Get("Authorization")
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			t.Fatalf("%q: a credential with a control byte reached the server", value)
		}
		// Split as Python's bytes.split().
		fields := strings.FieldsFunc(value, func(c rune) bool { return strings.ContainsRune(" \t\n\r\v\f", c) })
		valid := len(fields) == 2 && (strings.EqualFold(fields[0], "token") && fields[1] == fe.drfKey ||
			strings.EqualFold(fields[0], "bearer") && fields[1] == fe.oauthAccess || fields[0] == "Bearer" && fe.isAliceAccess(fields[1]))
		switch w.Code {
		case http.StatusOK:
			if !valid {
				t.Fatalf("%q: 200 for a credential that is not alice's", header)
			}
		case http.StatusUnauthorized:
			if valid {
				t.Fatalf("%q: 401 for alice's credential: %s", header, w.Body.Bytes())
			}
			if c := w.Header().Get("WWW-Authenticate"); !challenges[c] {
				t.Fatalf("%q: challenge %q", header, c)
			}
		default:
			t.Fatalf("%q: %d %s", header, w.Code, w.Body.Bytes())
		}
		fe.checkResponse(t, header, w)
	})
}

// fuzzMethods are the methods FuzzRequest picks from.
var fuzzMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// FuzzRequest sends any request line, content type and body to the whole
// server, anonymously or as alice (DRF key, JWT, OAuth token, or session
// with its CSRF token). Properties: checkResponse's, for every endpoint
// and body parser (JSON, form, multipart; DRF's, DOT's and the pages').
// Requests that would end alice's DRF key or every credential of hers
// (logout, logout everywhere, token deletion) are skipped, so that the
// rest keep reaching her views.
func FuzzRequest(f *testing.F) {
	fe := newFuzzEnv(f)
	const form, js = "application/x-www-form-urlencoded", "application/json"
	type seed struct {
		method      uint8
		target, ct  string
		body        string
		credentials uint8
	}
	authorize := "/o/authorize/?response_type=code&client_id=code-client&redirect_uri=" + url.QueryEscape(redirectURI) +
		"&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
	for _, s := range []seed{
		{0, "/api/me/", "", "", 1},
		{0, "/api/users/?page=2&email=alice@example.com", "", "", 2},
		{1, "/api/users/", js, `{"username": "bob", "password": "bobpass-long-enough-1"}`, 1},
		{1, "/sign_up/", form, "username=%20pony3%20&password=%20spaced%20", 0},
		{1, "/sign_up/", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nm\x00\r\n--xyz--\r\n", 0},
		{1, "/api-token-auth/", js, `{"username": "alice", "password": "alicepass"}`, 0},
		{1, "/api-token-auth-custom/", form, "username=alice&password=wrong", 0},
		{1, "/access-token/", js, `{"username": " alice ", "password": "alicepass"}`, 0},
		{1, "/access-token/refresh/", js, `{"refresh": "a.b.c"}`, 0},
		{1, "/access-token/verify/", js, `{"token": "` + fe.jwtAccess + `"}`, 0},
		{1, "/o/token/", form, "grant_type=password&username=alice&password=alicepass&client_id=pub-client&scope=read", 0},
		{1, "/o/token/", form, "grant_type=authorization_code&code=x&client_id=code-client&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 0},
		{1, "/o/token/", form, "grant_type=refresh_token&refresh_token=x&client_id=pub-client", 0},
		{1, "/o/introspect/", form, "token=" + fe.oauthAccess, 3},
		{1, "/o/revoke_token/", form, "token=unknown&token_type_hint=refresh_token&client_id=pub-client", 0},
		{1, "/access-token/blacklist/", js, `{"refresh": "a.b.c"}`, 2},
		{0, authorize, "", "", 4},
		{1, "/o/authorize/", form, authorize[len("/o/authorize/?"):] + "&scope=read&allow=Authorize&csrfmiddlewaretoken=" + fe.csrf, 4},
		{1, "/o/authorize/", form, authorize[len("/o/authorize/?"):] + "&csrfmiddlewaretoken=" + fe.csrf, 4},
		{0, "/o/authorize/?response_type=code&client_id=spa-client&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fspa%2Fcb", "", "", 4},
		{0, "/o/authorize/?response_type=code&client_id=code-client&redirect_uri=http%3A%2F%2Fevil.example%2Fcb", "", "", 4},
		{1, "/admin/login/?next=//evil.example", form, "username=alice&password=alicepass&next=/\\evil.example&csrfmiddlewaretoken=" + fe.csrf, 4},
		{0, "/o/applications/", "", "", 4},
		{1, "/api/tokens/", js, `{"name": "laptop", "expires_in": 60}`, 1},
		{0, "/api/tokens/1/", "", "", 1},
		{0, "//evil.example/..%2Fsign_up", "", "", 0},
		{0, "/api/me?format=json", "", "", 1},
		{0, "/api/me/?format=api", "", "", 1},
		{2, "/sign_up", js, `{"username": "x"}`, 0},
		{6, "/api/users/", "", "", 1},
		{1, "/api/me/", "text/plain", "x", 1},
		{1, "/sign_up/", js, `{"username": "a", "password": "\ud800"}`, 0},
		{1, "/sign_up/", js, `[1, 2]`, 0},
		{1, "/sign_up/", js, `{"username": "x", `, 0},
		{0, "/healthz", "", "", 0},
		{0, "/.well-known/jwks.json", "", "", 0},
	} {
		f.Add(s.method, s.target, s.ct, []byte(s.body), s.credentials)
	}
	f.Fuzz(func(t *testing.T, method uint8, target, ct string, body []byte, credentials uint8) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		var extra string
		switch credentials % 5 {
		case 1:
			extra = "Authorization: Token " + fe.drfKey + "\r\n"
		case 2:
			extra = "Authorization: Bearer " + fe.jwtAccess + "\r\n"
		case 3:
			extra = "Authorization: Bearer " + fe.oauthAccess + "\r\n"
		case 4:
			extra = "Cookie: " + fe.cookie + "\r\nX-CSRFToken: " + fe.csrf + "\r\n"
		}
		if u, err := url.ParseRequestURI(target); err == nil {
			p := u.Path
			if strings.HasPrefix(p, "/api/tokens/logout") || m == "DELETE" && strings.HasPrefix(p, "/api/tokens/") {
				return
			}
		}
		w := fe.serveWith(m, target, ct, string(body), extra)
		if w == nil {
			return
		}
		fe.checkResponse(t, fmt.Sprintf("%s %q %q %q (credentials %d)", m, target, ct, body, credentials%5), w)
	})
}

// The fuzz environment's credentials reach alice's views and the consent
// form issues a code: a fuzz run that only ever saw 401 would test little.
func TestFuzzEnvCredentialsWork(t *testing.T) {
	fe := newFuzzEnv(t)
	if other := newFuzzEnv(t); other.drfKey != fe.drfKey || other.oauthAccess != fe.oauthAccess || other.csrf != fe.csrf {
		t.Error("two fuzz environments made different credentials: the seeds would be no worker's")
	}
	for _, h := range []string{"Token " + fe.drfKey, "Bearer " + fe.jwtAccess, "Bearer " + fe.oauthAccess} {
		if w := fe.serveWith("GET", "/api/me/", "", "", "Authorization: "+h+"\r\n"); w == nil || w.Code != 200 {
			t.Errorf("%s: %v", h, w)
		}
	}
	if w := fe.serveWith("GET", "/api/me/", "", "", "Cookie: "+fe.cookie+"\r\n"); w == nil || w.Code != 200 {
		t.Errorf("session: %v", w)
	}
	w := fe.serveWith("POST", "/o/authorize/", "application/x-www-form-urlencoded", "response_type=code&client_id=code-client&state=xyz"+
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&allow=Authorize&csrfmiddlewaretoken="+fe.csrf,
		"Cookie: "+fe.cookie+"\r\n")
	if w == nil || w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), redirectURI+"?code=") {
		t.Errorf("consent: %v %v", w.Code, w.Header())
	}
}

// fuzzing reports whether the fuzzing engine runs (go test -fuzz), not
// only the seeds.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
