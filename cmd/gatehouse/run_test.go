package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// getenvFrom builds a getenv over a map (no process environment leaks in).
func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// handedOut is every address freeAddr returned in this test binary.
var handedOut sync.Map

// freeAddr returns a local address free a moment ago, never one it
// returned before: the kernel may give a port just closed again, and a
// test that asks for two (TestServeTLS: HTTPS and its redirect) got the
// same one twice.
func freeAddr(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, again := handedOut.LoadOrStore(addr, true); !again {
			return addr
		}
	}
}

// serve starts `gatehouse serve` through run and waits for /readyz; the
// returned stop cancels it and waits for a clean exit.
func serve(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	return serveWith(t, env, "http", http.DefaultClient)
}

// serveWith is serve reached at scheme://ADDR with client.
func serveWith(t *testing.T, env map[string]string, scheme string, client *http.Client) (string, func()) {
	t.Helper()
	addr := env["GATEHOUSE_ADDR"] // a test that must know it beforehand
	if addr == "" {
		addr = freeAddr(t)
	}
	if _, set := env["GATEHOUSE_MEMORY_LIMIT"]; !set {
		// The servers of a test binary share its one soft memory limit,
		// each setting it for its hashes and undoing it on exit: one
		// server's undo could leave another verifying 100 MiB Django
		// argon2 hashes under a limit sized for 19 MiB ones, the collector
		// then running without pause. TestApplyMemoryLimit tests the limit.
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["GATEHOUSE_MEMORY_LIMIT"] = "off"
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"gatehouse", "serve", "--addr", addr}, getenvFrom(env), strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	base := scheme + "://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := client.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if scheme == "http" { // an HTTPS test's client has a transport of its own
		checkExchanges(t, base)
	}
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v\n%s", err, stderr.String())
		}
	}
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

func baseEnv(dbURL string) map[string]string {
	return map[string]string{
		"GATEHOUSE_DATABASE_URL":  dbURL,
		"GATEHOUSE_SECRET_KEY":    "test-secret-key-0123456789abcdef",
		"GATEHOUSE_LOG_LEVEL":     "error",
		"GATEHOUSE_ARGON2_MEMORY": "1024",
		"GATEHOUSE_ARGON2_TIME":   "1",
	}
}

func TestServeSQLiteDefaultsAndCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	env := map[string]string{"GATEHOUSE_DATABASE_URL": db, "GATEHOUSE_LOG_LEVEL": "error"}
	// No secret configured: one is generated beside the database, 0600.
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gatehouse", "createsuperuser", "--username", "root", "--email", "root@example.com", "--password-stdin"},
		getenvFrom(env), strings.NewReader("correct horse battery\n"), &out, &errb); err != nil {
		t.Fatalf("createsuperuser: %v\n%s", err, errb.String())
	}
	st, err := os.Stat(db + ".secret")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", st, err)
	}
	// The password validators apply to the CLI too.
	err = run(context.Background(), []string{"gatehouse", "createuser", "--username", "weak", "--password-stdin"},
		getenvFrom(env), strings.NewReader("123\n"), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("weak password accepted: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"gatehouse", "createtoken", "root", "--name", "ci"}, getenvFrom(env), nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out.String())
	if len(key) != 40 {
		t.Fatalf("createtoken printed %q", key)
	}
	base, stop := serve(t, env)
	defer stop()
	req, _ := http.NewRequest("GET", base+"/api/me/", nil)
	req.Header.Set("Authorization", "Token "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]any
	json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if res.StatusCode != 200 || me["username"] != "root" {
		t.Fatalf("me: %d %v", res.StatusCode, me)
	}
	if err := run(context.Background(), []string{"gatehouse", "changepassword", "root", "--password-stdin"}, getenvFrom(env), strings.NewReader("another good passphrase\n"), &out, &errb); err != nil {
		t.Fatal(err)
	}
}

func TestLoaddataReferenceFixture(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_JWT_SIGNING_KEY"] = "django-ref-insecure-fixed-secret-key-for-black-box-tests-0123456789"
			var out, errb bytes.Buffer
			if err := run(context.Background(), []string{"gatehouse", "loaddata", testdb.ReferenceDumpFile(t)}, getenvFrom(env), nil, &out, &errb); err != nil {
				t.Fatalf("loaddata: %v\n%s", err, errb.String())
			}
			if !strings.Contains(out.String(), "loaded 47 users, 47 tokens") {
				t.Fatalf("output %q", out.String())
			}
			base, stop := serve(t, env)
			defer stop()
			// A Django PBKDF2 hash logs in, and the DRF key loaded from the dump is returned.
			res, err := http.Post(base+"/api-token-auth/", "application/json", strings.NewReader(`{"username":"user10","password":"user10pass"}`))
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			// The key user10 has in django-dumpdata.json.
			raw := testdb.ReferenceDump()
			var objs []struct {
				Model  string          `json:"model"`
				PK     json.RawMessage `json:"pk"`
				Fields map[string]any  `json:"fields"`
			}
			json.Unmarshal(raw, &objs)
			var pk float64
			for _, o := range objs {
				if o.Model == "auth.user" && o.Fields["username"] == "user10" {
					json.Unmarshal(o.PK, &pk)
				}
			}
			want := ""
			for _, o := range objs {
				if o.Model == "authtoken.token" && o.Fields["user"] == pk {
					json.Unmarshal(o.PK, &want)
				}
			}
			if res.StatusCode != 200 || want == "" || body["token"] != want {
				t.Fatalf("login: %d %v, want key %q", res.StatusCode, body, want)
			}
		})
	}
}

// Two replicas starting at once against one PostgreSQL both migrate safely
// (advisory lock) and serve.
func TestTwoReplicasMigrateTogether(t *testing.T) {
	if os.Getenv(testdb.EnvPostgres) == "" {
		t.Skip("needs " + testdb.EnvPostgres + " (CI sets it and requires it)")
	}
	env := baseEnv(testdb.URL(t, "postgres"))
	type started struct {
		base string
		stop func()
	}
	var wg sync.WaitGroup
	res := make([]started, 2)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b, s := serve(t, env)
			res[i] = started{b, s}
		}(i)
	}
	wg.Wait()
	for i, r := range res {
		if r.stop == nil {
			t.Fatalf("replica %d did not start", i)
		}
		defer r.stop()
	}
	// A user signed up on one replica logs in on the other.
	resp, err := http.Post(res[0].base+"/sign_up/", "application/json", strings.NewReader(`{"username":"replicated","password":"a long good passphrase"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("sign up on replica 0: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	resp, err = http.Post(res[1].base+"/api-token-auth/", "application/json", strings.NewReader(`{"username":"replicated","password":"a long good passphrase"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login on replica 1: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestHelpAndBadInput(t *testing.T) {
	var out, errb bytes.Buffer
	for _, cmd := range commands() {
		out.Reset()
		errb.Reset()
		args := append(append([]string{"gatehouse"}, strings.Fields(cmd.name)...), "--help")
		if err := run(context.Background(), args, getenvFrom(nil), nil, &out, &errb); err != nil {
			t.Errorf("%s --help: %v", cmd.name, err)
		}
		if !strings.Contains(errb.String(), "usage: gatehouse "+cmd.name) {
			t.Errorf("%s --help printed %q", cmd.name, errb.String())
		}
	}
	if err := run(context.Background(), []string{"gatehouse", "frobnicate"}, getenvFrom(nil), nil, &out, &errb); err == nil {
		t.Fatal("unknown command accepted")
	}
	env := map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://postgres@127.0.0.1:1/none"}
	err := run(context.Background(), []string{"gatehouse", "migrate"}, getenvFrom(env), nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Fatalf("postgres without a secret: %v", err)
	}
	env = map[string]string{"GATEHOUSE_ADDR": "x", "GATEHOUSE_PASSWORD_VALIDATION": "maybe"}
	if err := run(context.Background(), []string{"gatehouse", "serve"}, getenvFrom(env), nil, &out, &errb); err == nil {
		t.Fatal("bad boolean accepted")
	}
}

// simplejwt's token_blacklist records load, and a blacklisted refresh token
// from the old system is refused while an outstanding one still works.
func TestLoaddataTokenBlacklist(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv(filepath.Join(dir, "gatehouse.db"))
	env["GATEHOUSE_JWT_SIGNING_KEY"] = "django-ref-insecure-fixed-secret-key-for-black-box-tests-0123456789"
	now := time.Now()
	tok := func(jti string) string {
		return forgeHS256(map[string]any{"token_type": "refresh", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": jti, "user_id": 1},
			env["GATEHOUSE_JWT_SIGNING_KEY"])
	}
	good, bad := tok("0123456789abcdef0123456789abcdef"), tok("fedcba9876543210fedcba9876543210")
	exp := now.Add(time.Hour).UTC().Format(time.RFC3339Nano)
	dump := fmt.Sprintf(`[
 {"model": "auth.user", "pk": 1, "fields": {"password": "!", "last_login": null, "is_superuser": false, "username": "old", "first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": true, "date_joined": "2026-01-01T00:00:00Z", "groups": [], "user_permissions": []}},
 {"model": "token_blacklist.outstandingtoken", "pk": 1, "fields": {"user": 1, "jti": "0123456789abcdef0123456789abcdef", "token": %q, "created_at": "2026-01-01T00:00:00Z", "expires_at": %q}},
 {"model": "token_blacklist.outstandingtoken", "pk": 2, "fields": {"user": 1, "jti": "fedcba9876543210fedcba9876543210", "token": %q, "created_at": "2026-01-01T00:00:00Z", "expires_at": %q}},
 {"model": "token_blacklist.blacklistedtoken", "pk": 1, "fields": {"token": 2, "blacklisted_at": "2026-01-02T00:00:00Z"}},
 {"model": "oauth2_provider.application", "pk": 3, "fields": {"client_id": "spa-implicit", "user": null, "redirect_uris": "https://spa.example/cb", "client_type": "public", "authorization_grant_type": "implicit", "client_secret": "", "name": "old SPA", "skip_authorization": false, "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z", "algorithm": ""}},
 {"model": "auth.user", "pk": 2, "fields": {"password": "crypt$$abN0u0a9E.mXQ", "last_login": null, "is_superuser": false, "username": "crypty", "first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": true, "date_joined": "2026-01-01T00:00:00Z", "groups": [], "user_permissions": []}},
 {"model": "auth.user", "pk": 3, "fields": {"password": "sha1$seasalt$a69177e0b2021d4da5ecfce22e7ffa5fd4d26feb", "last_login": null, "is_superuser": false, "username": "sha1user", "first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": true, "date_joined": "2026-01-01T00:00:00Z", "groups": [], "user_permissions": []}},
 {"model": "sessions.session", "pk": "x", "fields": {}}
]`, good, exp, bad, exp)
	path := filepath.Join(dir, "dump.json")
	os.WriteFile(path, []byte(dump), 0o600)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gatehouse", "loaddata", path}, getenvFrom(env), nil, &out, &errb); err != nil {
		t.Fatalf("loaddata: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "skipped 1 objects of model sessions.session: gatehouse does not keep it") {
		t.Fatalf("unknown model not reported: %q", errb.String())
	}
	// The simplejwt records are counted; an application of a grant
	// gatehouse does not serve is loaded with a warning saying what to do.
	if !strings.Contains(out.String(), "loaded 2 simplejwt outstanding tokens, 1 of them blacklisted") {
		t.Fatalf("simplejwt records not reported: %q", out.String())
	}
	if w := errb.String(); !strings.Contains(w, `warning: application "spa-implicit" (pk 3) uses the "implicit" grant`) ||
		!strings.Contains(w, "RFC 9700") || !strings.Contains(w, "gatehouse applications create --client-id spa-implicit --grant-types authorization-code") {
		t.Fatalf("implicit application not reported: %q", w)
	}
	// A hash no hasher here verifies is loaded with a count per format; a
	// legacy SHA1 one is verified (the login below).
	if w := errb.String(); !strings.Contains(w, "warning: 1 users have crypt password hashes, which gatehouse cannot verify (e.g. crypty)") ||
		strings.Contains(w, "sha1user") {
		t.Fatalf("unverifiable hashes not reported: %q", w)
	}
	base, stop := serve(t, env)
	defer stop()
	res, err := http.Post(base+"/api-token-auth/", "application/json", strings.NewReader(`{"username":"sha1user","password":"legacy pass"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("a Django SHA1PasswordHasher user's login: %d", res.StatusCode)
	}
	for jwt, want := range map[string]int{good: 200, bad: 401} {
		res, err := http.Post(base+"/access-token/refresh/", "application/json", strings.NewReader(`{"refresh":"`+jwt+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("refresh: %d, want %d", res.StatusCode, want)
		}
	}
	// The raw tokens of the dump are not stored.
	raw, _ := os.ReadFile(filepath.Join(dir, "gatehouse.db"))
	if bytes.Contains(raw, []byte(good[len(good)-20:])) {
		t.Fatal("a raw token from the dump was stored")
	}
}

// forgeHS256 signs claims like simplejwt (test helper).
func forgeHS256(claims map[string]any, key string) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p, _ := json.Marshal(claims)
	in := h + "." + base64.RawURLEncoding.EncodeToString(p)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SIGINT/SIGTERM cancel run's context: the server stops accepting, and a
// request already in flight (a PBKDF2 login, tens of milliseconds) finishes.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv(filepath.Join(dir, "gatehouse.db"))
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gatehouse", "loaddata", testdb.ReferenceDumpFile(t)}, getenvFrom(env), nil, &out, &errb); err != nil {
		t.Fatalf("loaddata: %v\n%s", err, errb.String())
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"gatehouse", "serve", "--addr", addr}, getenvFrom(env), nil, &out, &syncBuffer{})
	}()
	base := "http://" + addr
	if err := waitFor(base + "/readyz"); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		res, err := http.Post(base+"/api-token-auth/", "application/json", strings.NewReader(`{"username":"user20","password":"user20pass"}`))
		if err != nil {
			got <- answer{0, err}
			return
		}
		res.Body.Close()
		got <- answer{res.StatusCode, nil}
	}()
	time.Sleep(15 * time.Millisecond) // let the request reach the hash
	cancel()
	a := <-got
	if a.err != nil || a.status != 200 {
		t.Fatalf("in-flight login: %d %v", a.status, a.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func waitFor(u string) error {
	for i := 0; i < 200; i++ {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready", u)
}
