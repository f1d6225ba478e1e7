package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/admin"
	"github.com/gatehouse-auth/gatehouse/audit"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
	"github.com/gatehouse-auth/gatehouse/store"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// testJWTKey is the reference's HS256 key, so tokens match the contract.
const testJWTKey = "django-ref-insecure-fixed-secret-key-for-black-box-tests-0123456789"

// env is one running server on one backend.
type env struct {
	t        *testing.T
	close    func() // stops the server and closes its store; also run at the test's end
	dbURL    string
	store    *store.Store
	srv      *server.Server
	handler  http.Handler // srv, checking each exchange against the OpenAPI document
	accounts *accounts.Service
	authn    *authn.Authenticator
	clients  *oauth.Clients
	admin    *admin.Service
	pairs    *simplejwt.Service
	http     *httptest.Server
	codec    *jwt.Codec
	clock    *clock
	logs     *syncBuffer // everything the server logged, at debug level
	audit    *audit.Recorder
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is an adjustable time source for the server under test.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now().Add(c.offset)
}

// freeze stops the clock at t (zero: runs again).
func (c *clock) freeze(t time.Time) {
	c.mu.Lock()
	c.frozen = t
	c.mu.Unlock()
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// fastParams keep hashing cheap in tests.
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1}

// newEnv starts a server on backend; mutate adjusts the configuration.
func newEnv(t *testing.T, backend string, mutate func(*config)) *env {
	t.Helper()
	e := build(t, backend, mutate)
	e.t = t
	return e
}

// build starts a server for a test or a benchmark; env.t is left nil.
func build(t testing.TB, backend string, mutate func(*config)) *env {
	t.Helper()
	return buildWith(t, backend, mutate, nil)
}

// config is what a test adjusts before the server is built: the HTTP
// settings and the OAuth provider's.
type config struct {
	server.Config
	OAuth oauth.Config
	// Rates are the throttle rates (throttle.DefaultRates unless changed).
	Rates throttle.Rates
}

// wiring is what a test server is built from, for buildWith to adjust.
type wiring struct {
	Server   server.Deps
	Accounts accounts.Deps
	Authn    authn.Deps
	OAuth    oauth.Deps
	JWT      simplejwt.Deps
	Audit    audit.Deps // the recorder every service is given
	Admin    admin.Config
	// Keys are the admin's signing keys (nil: none, as by default).
	Keys admin.KeyManager
}

// buildWith is build with deps adjusting the server's dependencies.
func buildWith(t testing.TB, backend string, mutate func(*config), deps func(*wiring)) *env {
	t.Helper()
	return buildOn(t, testdb.URL(t, backend), mutate, deps)
}

// restart builds a second server on e's database, as a freshly started
// process (another replica, or this one after a restart) would find it:
// nothing cached, no statement prepared.
func (e *env) restart(mutate func(*config), deps func(*wiring)) *env {
	e.t.Helper()
	f := buildOn(e.t, e.dbURL, mutate, deps)
	f.t = e.t
	return f
}

// buildOn starts a server on the database at url.
func buildOn(t testing.TB, url string, mutate func(*config), deps func(*wiring)) *env {
	t.Helper()
	st := testdb.OpenURL(t, url)
	box, err := secret.NewBox("test-server-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	codec, err := jwt.New(jwt.Config{Signing: jwt.Key{Algorithm: "HS256", Secret: []byte(testJWTKey)}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{Config: server.DefaultConfig(), OAuth: oauth.DefaultConfig(), Rates: throttle.DefaultRates()}
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, bench := t.(*testing.B); bench {
		log = slog.New(slog.DiscardHandler)
	}
	secrets := gatehouse.NewSecretHasher(testServerSecret)
	// The throttles as serve builds them: the default rates and guards,
	// counting in memory (SQLite) or in the database (PostgreSQL).
	var counters gatehouse.ThrottleStore = throttle.NewMemory()
	if strings.HasPrefix(url, "postgres") {
		counters = st
	}
	clientGuard := throttle.GuardConfig{LocalHint: true}
	w := wiring{
		Server: server.Deps{Log: log, Store: st, Box: box, Config: cfg.Config, Now: clk.now,
			Limiter: throttle.NewLimiter(counters, cfg.Rates, clk.now)},
		Accounts: accounts.Deps{Store: st, Hasher: password.New(fastParams, nil), Box: box, Log: log, Now: clk.now,
			Guard: throttle.NewGuard(counters, throttle.GuardConfig{}, clk.now), Permissions: st},
		Authn: authn.Deps{Store: st, JWT: codec, Log: log, Now: clk.now, CacheTTL: 5 * time.Second, Knox: st},
		JWT:   simplejwt.Deps{Store: st, Codec: codec, Now: clk.now, Options: simplejwt.Options{BlacklistAfterRotation: true}},
		OAuth: oauth.Deps{Store: st, Secrets: secrets, Selectors: testSelectors, Config: cfg.OAuth, CacheTTL: 5 * time.Second, Now: clk.now, Log: log,
			Guard: throttle.NewGuard(counters, clientGuard, clk.now)},
		Audit: audit.Deps{Store: st, Log: log, Now: clk.now, Config: audit.DefaultConfig()},
	}
	if deps != nil {
		deps(&w)
	}
	rec := audit.New(w.Audit)
	w.Accounts.Audit, w.OAuth.Audit, w.JWT.Audit = rec, rec, rec
	an := authn.New(w.Authn)
	w.Accounts.Forget = an.ForgetUser
	acc := accounts.New(w.Accounts)
	w.OAuth.Accounts, w.OAuth.Forget, w.OAuth.Credentials = acc, an.ForgetAccess, an
	w.OAuth.Permissions, w.JWT.Permissions = acc, acc
	provider, err := oauth.New(w.OAuth)
	if err != nil {
		t.Fatal(err)
	}
	w.JWT.Users = an
	pairs := simplejwt.New(w.JWT)
	w.Server.Authn, w.Server.Accounts, w.Server.OAuth, w.Server.JWT = an, acc, provider, pairs
	ocfg := provider.Config()
	clients := oauth.NewClients(st, secrets, ocfg, clk.now, nil, rec)
	cleaner := oauth.NewCleaner(st, ocfg, clk.now, log).Also("audit retention", rec.Prune)
	adm := admin.New(admin.Deps{Accounts: acc, Users: st, Permissions: st, Credentials: st, Applications: st, Clients: clients,
		AuditLog: st, Audit: rec, Forget: an.ForgetUser, ForgetAccess: an.ForgetAccess, ForgetApplication: provider.ForgetApplication,
		Keys: w.Keys, Now: clk.now, Config: admin.Config{AdminClients: ocfg.AdminClients, CountLimit: w.Admin.CountLimit},
		Status: admin.StatusDeps{Backend: st.Dialect(), Ready: st.Ready, Replicas: st, Cleanup: cleaner,
			Throttle: w.Accounts.Guard}})
	w.Server.Admin = adm
	srv, err := server.New(w.Server)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	cleaned := make(chan struct{})
	go func() { cleaner.Run(ctx); close(cleaned) }()
	// Every exchange is checked against the OpenAPI document the server
	// serves (openapi_validate_test.go); benchmarks are left as they are.
	var handler http.Handler = srv
	if _, bench := t.(*testing.B); !bench {
		var report func()
		handler, report = validated(t, srv)
		t.Cleanup(report) // after shutdown: every request has finished
	}
	hs := httptest.NewServer(handler)
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			hs.Close()
			stop()
			<-cleaned
			an.Close()
			rec.Close()
			st.Close()
		})
	}
	t.Cleanup(shutdown)
	return &env{close: shutdown, dbURL: url, store: st, srv: srv, handler: handler, accounts: acc, authn: an, clients: clients, admin: adm, pairs: pairs, http: hs,
		codec: codec, clock: clk, logs: logs, audit: rec}
}

// eachWith runs fn on a fresh server for every backend, built with deps
// adjusting the wiring.
func eachWith(t *testing.T, deps func(*wiring), fn func(t *testing.T, e *env)) {
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) {
			e := buildWith(t, b, nil, deps)
			e.t = t
			fn(t, e)
		})
	}
}

// eachWithConfig is each with both the settings and the wiring adjusted.
func eachWithConfig(t *testing.T, mutate func(*config), deps func(*wiring), fn func(t *testing.T, e *env)) {
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) {
			e := buildWith(t, b, mutate, deps)
			e.t = t
			fn(t, e)
		})
	}
}

// each runs fn on a fresh server for every backend.
func each(t *testing.T, mutate func(*config), fn func(t *testing.T, e *env)) {
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) { fn(t, newEnv(t, b, mutate)) })
	}
}

// user creates a user with a default token and returns it.
func (e *env) user(username, pw string) gatehouse.User {
	e.t.Helper()
	h, err := password.New(fastParams, nil).Hash(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	u := gatehouse.User{Username: username, Email: username + "@example.com", Password: h, IsActive: true, DateJoined: time.Now()}
	if err := e.accounts.Insert(context.Background(), &u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// resp is a finished response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; body may be nil, a string (sent as is), url.Values
// (form) or anything else (JSON).
func (e *env) do(method, path string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case url.Values:
		rd = strings.NewReader(b.Encode())
		ct = "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
		ct = "application/json"
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	// A 503 with Retry-After is an overload or an outage answered as such;
	// any other 5xx is a bug.
	if res.StatusCode >= 500 && !(res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "") {
		e.t.Errorf("%s %s answered %d (a 500 is a bug): %s", method, path, res.StatusCode, b)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// expect checks status and exact JSON body (compact, key order as sent).
func expect(t *testing.T, r resp, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if body != "" && string(r.body) != body {
		t.Fatalf("body\n got %s\nwant %s", r.body, body)
	}
}

// tokenOf logs in through /api-token-auth/ and returns the key.
func (e *env) tokenOf(username, pw string) string {
	e.t.Helper()
	r := e.do("POST", "/api-token-auth/", map[string]string{"username": username, "password": pw})
	expect(e.t, r, 200, "")
	return r.json(e.t)["token"].(string)
}

// noThrottles turns the throttles and failed-login tracking off, for
// tests that log in, or fail to, more often than a client may.
func noThrottles(w *wiring) { w.Server.Limiter, w.Accounts.Guard, w.OAuth.Guard = nil, nil, nil }
