package proxytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/proxytest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// The policy the proxies ask gatehouse about.
const policyText = `
/public/     allow_any
/orders/     authenticated
/rw/         read_write_scopes
/admin/      staff
`

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	workDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if workDir != "" {
		os.RemoveAll(workDir)
	}
	os.Exit(code)
}

// gatehouseBinary builds cmd/gatehouse once for the package's tests.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		workDir, buildErr = os.MkdirTemp("", "gatehouse-proxytest")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(workDir, "gatehouse")
		goBin, err := exec.LookPath("go")
		if err != nil && os.Getenv("GOROOT") != "" {
			goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		out, err := exec.Command(goBin, "build", "-o", binary, "github.com/gatehouse-auth/gatehouse/cmd/gatehouse").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// requireProxy skips the test when the proxy is not installed, or fails
// it when GATEHOUSE_TEST_PROXIES_REQUIRED=1 (CI).
func requireProxy(t *testing.T, name string) {
	t.Helper()
	if _, err := proxytest.Binary(name); err != nil {
		if os.Getenv("GATEHOUSE_TEST_PROXIES_REQUIRED") == "1" {
			t.Fatalf("GATEHOUSE_TEST_PROXIES_REQUIRED=1 and %v", err)
		}
		t.Skipf("skipped: %v; .ci/run installs it and sets GATEHOUSE_TEST_PROXIES_REQUIRED=1", err)
	}
}

// gatehouse is a running `gatehouse serve`.
type gatehouse struct {
	t    *testing.T
	bin  string
	env  []string
	addr string
	base string
}

// startGatehouse runs serve on a fresh database of backend with the policy.
func startGatehouse(t *testing.T, backend string, cacheTTL time.Duration) *gatehouse {
	t.Helper()
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "gatehouse.policy")
	if err := os.WriteFile(pol, []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, err := proxytest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	g := &gatehouse{t: t, bin: bin, addr: addr, base: "http://" + addr}
	g.env = append(os.Environ(),
		"GATEHOUSE_DATABASE_URL="+testdb.URL(t, backend),
		"GATEHOUSE_SECRET_KEY=proxytest-secret-key-0123456789abcdef",
		"GATEHOUSE_ADDR="+addr,
		"GATEHOUSE_LOG_LEVEL=warn",
		"GATEHOUSE_ARGON2_MEMORY=1024", "GATEHOUSE_ARGON2_TIME=1",
		"GATEHOUSE_FORWARD_AUTH_POLICY="+pol,
		"GATEHOUSE_AUTH_CACHE_TTL="+cacheTTL.String(),
		"GATEHOUSE_THROTTLE_RATES=anon=none,user=none,login=none,sign_up=none,token=none",
		"GATEHOUSE_PASSWORD=correct-horse-battery-9",
	)
	g.run("migrate")
	g.start(t)
	return g
}

// start runs serve until the test ends.
func (g *gatehouse) start(t *testing.T) {
	var logs bytes.Buffer
	cmd := exec.Command(g.bin, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = g.env, &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("gatehouse %s logs:\n%s", g.addr, logs.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if res, err := http.Get(g.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("gatehouse serve exited:\n%s", logs.String())
		case <-time.After(30 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse not ready:\n%s", logs.String())
		}
	}
}

// run runs a gatehouse command and returns its standard output.
func (g *gatehouse) run(args ...string) string {
	g.t.Helper()
	cmd := exec.Command(g.bin, args...)
	cmd.Env = g.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		g.t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// post posts a form to gatehouse itself and decodes the JSON answer.
func (g *gatehouse) post(path string, form url.Values, basicUser, basicPass string) map[string]any {
	g.t.Helper()
	req, _ := http.NewRequest("POST", g.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		g.t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			g.t.Fatalf("POST %s: %v: %s", path, err, b)
		}
	}
	return m
}

// echo is the protected API: it answers 200 with the method, path and
// headers it received, and counts its requests.
type echo struct {
	srv  *httptest.Server
	hits atomic.Int64
}

type echoed struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Headers map[string][]string `json:"headers"`
}

func newEcho(t *testing.T) *echo {
	e := &echo{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{Method: r.Method, Path: r.URL.RequestURI(), Headers: r.Header})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// creds are the credentials of the test's users.
type creds struct {
	aliceID, rootID    string
	aliceKey, rootKey  string // DRF keys
	aliceJWT           string
	read, readWrite    string // OAuth tokens of alice
	clientRead         string // a client_credentials token with the read scope
	revoked, revokable string
	confSecret         string
}

func setup(t *testing.T, g *gatehouse) creds {
	var c creds
	idOf := func(out string) string {
		m := regexp.MustCompile(`\(id (\d+)\)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no user id in %q", out)
		}
		return m[1]
	}
	secretOf := func(out string) string {
		for _, line := range strings.Split(out, "\n") {
			if s, ok := strings.CutPrefix(line, "client_secret: "); ok {
				return s
			}
		}
		t.Fatalf("no client secret in %q", out)
		return ""
	}
	c.aliceID = idOf(g.run("createuser", "--username", "alice", "--email", "alice@example.com"))
	c.rootID = idOf(g.run("createsuperuser", "--username", "root", "--email", "root@example.com"))
	c.aliceKey = g.run("createtoken", "alice")
	c.rootKey = g.run("createtoken", "root")
	c.confSecret = secretOf(g.run("createapplication", "--client-id", "conf", "--name", "conf", "--client-type", "confidential",
		"--grant-types", "password"))
	ccSecret := secretOf(g.run("createapplication", "--client-id", "svc", "--name", "svc", "--client-type", "confidential",
		"--grant-types", "client-credentials"))
	pw := func(scope string) string {
		m := g.post("/o/token/", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct-horse-battery-9"},
			"scope": {scope}}, "conf", c.confSecret)
		return m["access_token"].(string)
	}
	c.read, c.readWrite, c.revokable, c.revoked = pw("read"), pw("read write"), pw("read"), pw("read")
	c.clientRead = g.post("/o/token/", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, "svc", ccSecret)["access_token"].(string)
	req, _ := http.NewRequest("POST", g.base+"/access-token/", strings.NewReader(`{"username":"alice","password":"correct-horse-battery-9"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pair map[string]string
	json.NewDecoder(res.Body).Decode(&pair)
	res.Body.Close()
	if c.aliceJWT = pair["access"]; c.aliceJWT == "" {
		t.Fatalf("no simplejwt access token: %v", pair)
	}
	g.post("/o/revoke_token/", url.Values{"token": {c.revoked}, "client_id": {"conf"}, "client_secret": {c.confSecret}}, "", "")
	return c
}

// answer is a response through the proxy.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func send(t *testing.T, base, method, path string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

const (
	notProvided  = `{"detail":"Authentication credentials were not provided."}`
	forbidden    = `{"detail":"You do not have permission to perform this action."}`
	invalidToken = `{"detail":"Invalid token."}`
	challenge    = `Bearer realm="api"`
	challengeBad = `Bearer realm="api",error="invalid_token",error_description="The access token is invalid."`
)

// spoof is what a client sends to pass as someone else.
var spoof = []string{"X-Auth-User-Id", "999", "X-Auth-Username", "root", "X-Auth-Is-Staff", "true",
	"X-Auth-Scopes", "read write", "X-Auth-Token-Kind", "oauth", "X-Auth-Email", "root@example.com", "X-Auth-Client-Id", "spoofed-client"}

// exercise runs the cases through the proxy at base.
func exercise(t *testing.T, base string, up *echo, c creds) {
	type want struct {
		status    int
		body      string // exact, for denials
		challenge string
		identity  map[string]string // the X-Auth-* headers the upstream must see, exactly
	}
	user := func(id, name, staff, kind string, more ...string) map[string]string {
		m := map[string]string{"X-Auth-User-Id": id, "X-Auth-Username": name, "X-Auth-Email": name + "@example.com",
			"X-Auth-Is-Staff": staff, "X-Auth-Token-Kind": kind}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name, method, path, auth string
		want                     want
	}{
		{"anonymous allowed", "GET", "/public/x", "", want{status: 200, identity: map[string]string{}}},
		{"anonymous POST allowed", "POST", "/public/x", "", want{status: 200, identity: map[string]string{}}},
		{"anonymous denied", "GET", "/orders/1", "", want{status: 401, body: notProvided, challenge: challenge}},
		{"unknown key", "GET", "/orders/1", "Token 0123456789abcdef0123456789abcdef01234567", want{status: 401, body: invalidToken, challenge: challenge}},
		{"garbage bearer", "GET", "/orders/1", "Bearer nope", want{status: 401, challenge: challengeBad,
			body: `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}`}},
		{"revoked oauth token", "GET", "/orders/1", "Bearer " + c.revoked, want{status: 401, challenge: challengeBad,
			body: `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}`}},
		{"drf key", "GET", "/orders/1?page=2", "Token " + c.aliceKey, want{status: 200, identity: user(c.aliceID, "alice", "false", "token")}},
		{"simplejwt", "DELETE", "/orders/1", "Bearer " + c.aliceJWT, want{status: 200, identity: user(c.aliceID, "alice", "false", "jwt")}},
		{"oauth read GET", "GET", "/rw/1", "Bearer " + c.read, want{status: 200,
			identity: user(c.aliceID, "alice", "false", "oauth", "X-Auth-Scopes", "read", "X-Auth-Client-Id", "conf")}},
		{"oauth read POST", "POST", "/rw/1", "Bearer " + c.read, want{status: 403, body: forbidden}},
		{"oauth read write POST", "POST", "/rw/1", "Bearer " + c.readWrite, want{status: 200,
			identity: user(c.aliceID, "alice", "false", "oauth", "X-Auth-Scopes", "read write", "X-Auth-Client-Id", "conf")}},
		{"drf key has no scope", "GET", "/rw/1", "Token " + c.aliceKey, want{status: 403, body: forbidden}},
		{"client alone: no user headers reach the upstream", "GET", "/rw/1", "Bearer " + c.clientRead, want{status: 200,
			identity: map[string]string{"X-Auth-Token-Kind": "oauth", "X-Auth-Scopes": "read", "X-Auth-Client-Id": "svc"}}},
		{"client alone is no user", "GET", "/orders/1", "Bearer " + c.clientRead, want{status: 403, body: forbidden}},
		{"staff", "GET", "/admin/x", "Token " + c.rootKey, want{status: 200, identity: user(c.rootID, "root", "true", "token")}},
		{"not staff", "GET", "/admin/x", "Token " + c.aliceKey, want{status: 403, body: forbidden}},
		{"unknown route", "GET", "/nowhere", "Token " + c.rootKey, want{status: 403, body: forbidden}},
		{"dot segments past a prefix", "GET", "/public/../admin/x", "Token " + c.aliceKey, want{status: 403, body: forbidden}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.hits.Load()
			a := send(t, base, tc.method, tc.path, append([]string{"Authorization", tc.auth,
				"X-Original-URI", "/public/", "X-Original-Method", "GET", "X-Forwarded-Uri", "/public/"}, spoof...)...)
			if a.status != tc.want.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, tc.want.status)
			}
			if tc.want.status != 200 {
				if string(a.body) != tc.want.body {
					t.Fatalf("body\n got %s\nwant %s", a.body, tc.want.body)
				}
				if got := a.header.Values("WWW-Authenticate"); (tc.want.challenge == "" && len(got) != 0) ||
					(tc.want.challenge != "" && (len(got) != 1 || got[0] != tc.want.challenge)) {
					// One challenge: nginx's auth_request passes the 401's on
					// by itself (a second, added by the documented config,
					// was found by a proxy pass).
					t.Fatalf("WWW-Authenticate %q, want %q once", got, tc.want.challenge)
				}
				if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("Content-Type %q", ct)
				}
				if n := up.hits.Load() - before; n != 0 {
					t.Fatalf("the upstream was reached %d times on a denial", n)
				}
				return
			}
			var e echoed
			if err := json.Unmarshal(a.body, &e); err != nil {
				t.Fatalf("not the upstream's answer: %v: %s", err, a.body)
			}
			if e.Method != tc.method || e.Path != tc.path {
				t.Fatalf("upstream saw %s %s", e.Method, e.Path)
			}
			got := map[string]string{}
			for _, h := range proxytest.IdentityHeaders {
				// Absent or empty both mean "not told" (nginx sends no
				// header for an empty value, Caddy an empty one).
				if vs := http.Header(e.Headers).Values(h); len(vs) > 0 && strings.Join(vs, "") != "" {
					got[h] = strings.Join(vs, "|")
				}
			}
			if len(got) != len(tc.want.identity) {
				t.Fatalf("upstream identity headers %v, want %v", got, tc.want.identity)
			}
			for k, v := range tc.want.identity {
				if got[k] != v {
					t.Fatalf("upstream identity headers %v, want %v", got, tc.want.identity)
				}
			}
		})
	}
}

// TestProxies runs the nginx and Caddy configurations of
// docs/protect-your-api.md, as written there, in front of gatehouse on each
// backend.
func TestProxies(t *testing.T) {
	for _, proxy := range []string{"nginx", "caddy"} {
		t.Run(proxy, func(t *testing.T) {
			requireProxy(t, proxy)
			for _, backend := range testdb.Backends() {
				t.Run(backend, func(t *testing.T) {
					g := startGatehouse(t, backend, 5*time.Second)
					c := setup(t, g)
					up := newEcho(t)
					base := startProxy(t, proxy, g.addr, up.srv.Listener.Addr().String())
					exercise(t, base, up, c)

					t.Run("revocation through this replica is immediate", func(t *testing.T) {
						auth := []string{"Authorization", "Bearer " + c.revokable}
						if a := send(t, base, "GET", "/orders/1", auth...); a.status != 200 {
							t.Fatalf("before: %d %s", a.status, a.body)
						}
						g.post("/o/revoke_token/", url.Values{"token": {c.revokable}, "client_id": {"conf"}, "client_secret": {c.confSecret}}, "", "")
						if a := send(t, base, "GET", "/orders/1", auth...); a.status != 401 {
							t.Fatalf("after: %d %s", a.status, a.body)
						}
					})
				})
			}
		})
	}
}

// A credential revoked through another replica is refused through the
// proxy within the auth cache's bound (GATEHOUSE_AUTH_CACHE_TTL).
func TestProxyRevocationWithinCacheBound(t *testing.T) {
	requireProxy(t, "nginx")
	const ttl = time.Second
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			g := startGatehouse(t, backend, ttl)
			c := setup(t, g)
			// A second replica on the same database, as another pod would be.
			other := *g
			other.t = t
			addr, err := proxytest.FreeAddr()
			if err != nil {
				t.Fatal(err)
			}
			other.addr, other.base = addr, "http://"+addr
			other.env = append(append([]string{}, g.env...), "GATEHOUSE_ADDR="+addr)
			other.start(t)
			up := newEcho(t)
			base := startProxy(t, "nginx", g.addr, up.srv.Listener.Addr().String())
			auth := []string{"Authorization", "Token " + c.aliceKey}
			if a := send(t, base, "GET", "/orders/1", auth...); a.status != 200 {
				t.Fatalf("before: %d %s", a.status, a.body)
			}
			req, _ := http.NewRequest("POST", other.base+"/api/tokens/logoutall/", nil)
			req.Header.Set("Authorization", "Token "+c.aliceKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 204 {
				t.Fatalf("logout everywhere on the other replica: %d", res.StatusCode)
			}
			ended := time.Now()
			for {
				a := send(t, base, "GET", "/orders/1", auth...)
				if a.status == 401 {
					break
				}
				if a.status != 200 {
					t.Fatalf("%d %s", a.status, a.body)
				}
				if time.Since(ended) > ttl+time.Second {
					t.Fatalf("still allowed %v after the revocation; the bound is %v", time.Since(ended), ttl)
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("refused %v after the revocation on the other replica (bound %v)", time.Since(ended).Round(time.Millisecond), ttl)
		})
	}
}

// startProxy starts the named proxy for the test and returns its base URL.
func startProxy(t *testing.T, name, gatehouseAddr, upstreamAddr string) string {
	t.Helper()
	// The listen address is a port found free and released, which another
	// process may take before the proxy binds it: a proxy that could not
	// bind is started again on another, up to three times.
	lang := map[string]string{"nginx": "nginx", "caddy": "caddyfile"}[name]
	for try := 1; ; try++ {
		listen, err := proxytest.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		c := proxytest.Config{Dir: t.TempDir(), Listen: listen, Gatehouse: gatehouseAddr, Upstream: upstreamAddr}
		if c.Site, err = proxytest.Documented("../../docs/protect-your-api.md", lang, c); err != nil {
			t.Fatal(err)
		}
		var p *proxytest.Proxy
		if name == "nginx" {
			p, err = proxytest.StartNginx(context.Background(), c)
		} else {
			p, err = proxytest.StartCaddy(context.Background(), c)
		}
		if err != nil && try < 3 && strings.Contains(strings.ToLower(err.Error()), "address already in use") {
			t.Logf("%s could not bind %s, again on another port: %v", name, listen, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s log:\n%s", name, p.Log())
			}
			p.Stop()
		})
		return "http://" + listen
	}
}

// A gatehouse that hangs (it accepts and never answers) holds no API
// request past the documented timeouts: the proxy answers a 5xx in about
// six seconds, and the upstream is not reached (found by a proxy pass:
// Caddy waited for ever, nginx 60 s).
func TestProxyGatehouseHangs(t *testing.T) {
	for _, proxy := range []string{"nginx", "caddy"} {
		t.Run(proxy, func(t *testing.T) {
			requireProxy(t, proxy)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var held sync.WaitGroup
			stop := make(chan struct{})
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					held.Add(1)
					go func() { defer held.Done(); <-stop; c.Close() }()
				}
			}()
			defer func() { close(stop); held.Wait() }()
			up := newEcho(t)
			base := startProxy(t, proxy, ln.Addr().String(), up.srv.Listener.Addr().String())
			start := time.Now()
			a := send(t, base, "GET", "/orders/1", "Authorization", "Token whatever")
			took := time.Since(start)
			if a.status < 500 || took > 15*time.Second {
				t.Fatalf("%d after %v, want a 5xx within the documented timeouts", a.status, took.Round(time.Millisecond))
			}
			if n := up.hits.Load(); n != 0 {
				t.Fatalf("the upstream was reached %d times", n)
			}
			t.Logf("%s answered %d after %v", proxy, a.status, took.Round(time.Millisecond))
		})
	}
}
