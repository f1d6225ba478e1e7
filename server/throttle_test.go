package server_test

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// behindProxy trusts the loopback peer as a proxy, so that a test names
// each request's source in X-Forwarded-For.
func behindProxy(c *config) { c.TrustedProxies = []string{"127.0.0.1", "::1"} }

func from(ip string) []string { return []string{"X-Forwarded-For", ip} }

// retryAfter checks a 429's Retry-After and returns it in seconds.
func retryAfter(t *testing.T, r resp) int {
	t.Helper()
	if r.status != 429 {
		t.Fatalf("status %d, want 429; body %s", r.status, r.body)
	}
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	return n
}

// loginPaths are the JSON login paths, each a function that tries
// username and password from a source and returns the answer.
func loginPaths(e *env, a oauthApps) map[string]func(user, pw, ip string) resp {
	return map[string]func(user, pw, ip string) resp{
		"drf": func(user, pw, ip string) resp {
			return e.do("POST", "/api-token-auth/", map[string]string{"username": user, "password": pw}, from(ip)...)
		},
		"simplejwt": func(user, pw, ip string) resp {
			return e.do("POST", "/access-token/", map[string]string{"username": user, "password": pw}, from(ip)...)
		},
		"oauth-password": func(user, pw, ip string) resp {
			return e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw},
				"client_id": {"conf-client"}, "client_secret": {a.confSecret}}, from(ip)...)
		},
	}
}

// Each login path: five wrong passwords from one source, then that source
// waits (even with the right password: the guess is not tested), answered
// 429 with Retry-After in the path's shape; the owner elsewhere is not
// slowed, and an unknown name is treated exactly like a known one.
func TestLoginBackOffOnEveryPath(t *testing.T) {
	eachWithConfig(t, behindProxy, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		for name, try := range loginPaths(e, a) {
			t.Run(name, func(t *testing.T) {
				attacker := "203.0.113." + strconv.Itoa(len(name))
				for _, user := range []string{"alice", "nobody-" + name} {
					for i := 0; i < 5; i++ {
						if r := try(user, "wrong", attacker); r.status != 400 && r.status != 401 {
							t.Fatalf("%s: failure %d: %d %s", user, i+1, r.status, r.body)
						}
					}
					r := try(user, "alicepass", attacker)
					if n := retryAfter(t, r); n != 1 {
						t.Fatalf("%s: Retry-After %d, want 1 after the 5th failure", user, n)
					}
					want := `{"detail":"Request was throttled. Expected available in 1 second."}`
					if name == "oauth-password" {
						want = `{"error": "temporarily_unavailable", "error_description": "Request was throttled. Expected available in 1 second."}`
					}
					if string(r.body) != want {
						t.Fatalf("%s: body %s, want %s", user, r.body, want)
					}
				}
				if r := try("alice", "alicepass", "198.51.100.7"); r.status != 200 {
					t.Fatalf("the owner from another source: %d %s", r.status, r.body)
				}
				e.clock.advance(time.Second)
				if r := try("alice", "alicepass", attacker); r.status != 200 {
					t.Fatalf("after the wait: %d %s", r.status, r.body)
				}
				// The success cleared the source's failures.
				for i := 0; i < 5; i++ {
					if r := try("alice", "wrong", attacker); r.status == 429 {
						t.Fatalf("failure %d after a success: throttled", i+1)
					}
				}
			})
		}
		// Each refusal is in the audit log, with the name tried and where from.
		n := 0
		for _, row := range e.auditRows() {
			if row.Event == gatehouse.AuditLoginThrottled {
				n++
				if row.Detail["username"] == "" || row.Detail["via"] == "" || !strings.HasPrefix(row.Source.String(), "203.0.113.") {
					t.Errorf("throttled row %+v", row)
				}
			}
		}
		if n != 2*len(loginPaths(e, a)) {
			t.Errorf("%d login.throttled rows, want %d", n, 2*len(loginPaths(e, a)))
		}
	})
}

// The login page backs off the same way and says so on a page.
func TestLoginPageBackOff(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		b := e.browser()
		for i := 0; i < 6; i++ {
			res, page := b.get("/admin/login/")
			if res.StatusCode != 200 {
				t.Fatalf("login page: %d", res.StatusCode)
			}
			form := hidden(page)
			form.Set("username", "alice")
			form.Set("password", "wrong")
			if i == 5 {
				form.Set("password", "alicepass")
			}
			res, page = b.post("/admin/login/", form)
			switch {
			case i < 5 && (res.StatusCode != 200 || !strings.Contains(page, "Please enter a correct username and password")):
				t.Fatalf("failure %d: %d", i+1, res.StatusCode)
			case i == 5 && (res.StatusCode != 429 || res.Header.Get("Retry-After") != "1" || !strings.Contains(page, "Try again in 1 second.")):
				t.Fatalf("6th attempt: %d Retry-After %q %s", res.StatusCode, res.Header.Get("Retry-After"), page)
			}
		}
	})
}

// 100 failures an hour from many sources lock the account to sources it
// never logged in from; the owner's usual source still gets in.
func TestAccountLockSparesKnownSources(t *testing.T) {
	eachWithConfig(t, behindProxy, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		home := "198.51.100.7"
		expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}, from(home)...), 200, "")
		for i := 0; i < 100; i++ {
			ip := "10.0." + strconv.Itoa(i/200) + "." + strconv.Itoa(i%200+1)
			r := e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "guess" + strconv.Itoa(i)}, from(ip)...)
			expect(t, r, 400, "")
		}
		r := e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}, from("192.0.2.50")...)
		if n := retryAfter(t, r); n > 70*60 {
			t.Fatalf("locked for %d s, more than 70 minutes", n)
		}
		expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}, from(home)...), 200, "")
		e.clock.advance(71 * time.Minute)
		expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}, from("192.0.2.50")...), 200, "")
		locked := 0
		for _, row := range e.auditRows() {
			if row.Event == gatehouse.AuditLoginLocked && row.Detail["username"] == "alice" && row.Source.String() == "192.0.2.50" {
				locked++
			}
		}
		if locked != 1 {
			t.Errorf("%d login.locked rows for the refused source, want 1", locked)
		}
	})
}

// Client secrets: five wrong ones from a source and that source waits,
// the right secret included; the client elsewhere is not slowed.
func TestClientSecretBackOff(t *testing.T) {
	eachWithConfig(t, behindProxy, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		cc := func(secret, ip string) resp {
			return e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, append(from(ip), "Authorization", basic("cc-client", secret))...)
		}
		for i := 0; i < 5; i++ {
			expect(t, cc("wrong", "203.0.113.9"), 401, `{"error": "invalid_client"}`)
		}
		retryAfter(t, cc(a.ccSecret, "203.0.113.9"))
		expect(t, cc(a.ccSecret, "198.51.100.20"), 200, "")
		defer func() {
			for _, row := range e.auditRows() {
				if row.Event == gatehouse.AuditLoginThrottled && row.ClientID == "cc-client" && row.Detail["via"] == "client_authentication" {
					return
				}
			}
			t.Error("no login.throttled row for the client")
		}()
		for i := 0; i < 5; i++ { // an unknown client_id is tracked the same way
			r := e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, append(from("203.0.113.10"), "Authorization", basic("no-such-client", "x"))...)
			expect(t, r, 401, "")
		}
		retryAfter(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, append(from("203.0.113.10"), "Authorization", basic("no-such-client", "x"))...))
	})
}

// The scoped rates: sign_up per address with DRF's body, token on the DOT
// endpoints with the OAuth body, anon and user on the API views when set.
func TestScopedRates(t *testing.T) {
	rates := func(c *config) {
		behindProxy(c)
		c.Rates, _ = throttle.ParseRates("sign_up=3/hour,token=2/min,anon=6/min,user=3/min,login=none", throttle.DefaultRates())
	}
	eachWithConfig(t, rates, nil, func(t *testing.T, e *env) {
		e.clock.freeze(time.Now()) // the waits below are exact
		a := e.setupOAuth()
		for i := 0; i < 3; i++ {
			r := e.do("POST", "/sign_up/", map[string]string{"username": "new" + strconv.Itoa(i), "password": "a-long-passphrase-" + strconv.Itoa(i)}, from("203.0.113.1")...)
			expect(t, r, 201, "")
		}
		r := e.do("POST", "/sign_up/", map[string]string{"username": "new9", "password": "a-long-passphrase-9"}, from("203.0.113.1")...)
		if n := retryAfter(t, r); n != 1200 {
			t.Fatalf("sign_up Retry-After %d, want 1200 (3/hour)", n)
		}
		expect(t, r, 429, `{"detail":"Request was throttled. Expected available in 1200 seconds."}`)
		if _, err := e.store.UserByUsername(t.Context(), "new9"); err == nil {
			t.Fatal("a throttled sign-up created its user")
		}
		expect(t, e.do("POST", "/sign_up/", map[string]string{"username": "new9", "password": "a-long-passphrase-9"}, from("203.0.113.2")...), 201, "")

		intro := func() resp {
			return e.do("POST", "/o/introspect/", url.Values{"token": {"x"}}, append(from("203.0.113.3"), "Authorization", basic("conf-client", a.confSecret))...)
		}
		expect(t, intro(), 200, "")
		expect(t, intro(), 200, "")
		r = intro()
		if n := retryAfter(t, r); n != 30 {
			t.Fatalf("token Retry-After %d", n)
		}
		expect(t, r, 429, `{"error": "temporarily_unavailable", "error_description": "Request was throttled. Expected available in 30 seconds."}`)

		// anon: per address; user: per user, whatever the address.
		// (DRF checks permissions first: an anonymous /api/me/ is a 401.)
		verify := func() resp {
			return e.do("POST", "/access-token/verify/", map[string]string{"token": "x"}, from("203.0.113.4")...)
		}
		for i := 0; i < 6; i++ {
			expect(t, verify(), 401, "")
		}
		expect(t, e.do("GET", "/api/me/", nil, from("203.0.113.4")...), 401, "")
		if n := retryAfter(t, verify()); n != 10 {
			t.Fatalf("anon Retry-After %d, want 10 (6/min)", n)
		}
		key := e.tokenOf("alice", "alicepass")
		for i := 0; i < 3; i++ {
			expect(t, e.do("GET", "/api/me/", nil, append(from("203.0.113."+strconv.Itoa(10+i)), "Authorization", "Token "+key)...), 200, "")
		}
		retryAfter(t, e.do("GET", "/api/me/", nil, append(from("203.0.113.20"), "Authorization", "Token "+key)...))
	})
}

// Two replicas on one PostgreSQL share the counters: failures spread over
// both back off on both.
func TestThrottleSharedByReplicas(t *testing.T) {
	if !slices.Contains(testdb.Backends(), "postgres") {
		t.Skip("PostgreSQL not configured (GATEHOUSE_TEST_POSTGRES_URL)")
	}
	cfg := func(c *config) {
		behindProxy(c)
		c.Rates, _ = throttle.ParseRates("sign_up=30/hour", throttle.DefaultRates())
	}
	e := newEnv(t, "postgres", cfg)
	f := e.restart(cfg, nil)
	defer f.close()
	e.user("alice", "alicepass")
	for _, replica := range []*env{e, f, e, f, e} {
		r := replica.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "wrong"}, from("203.0.113.5")...)
		expect(t, r, 400, "")
	}
	for _, replica := range []*env{e, f} {
		retryAfter(t, replica.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}, from("203.0.113.5")...))
	}
	// A rate, too: sign_up=30/hour counted across both.
	for i := 0; i < 30; i++ {
		replica := []*env{e, f}[i%2]
		r := replica.do("POST", "/sign_up/", map[string]string{"username": "u" + strconv.Itoa(i), "password": "a-long-passphrase-" + strconv.Itoa(i)}, from("203.0.113.6")...)
		expect(t, r, 201, "")
	}
	retryAfter(t, f.do("POST", "/sign_up/", map[string]string{"username": "u99", "password": "a-long-passphrase-99"}, from("203.0.113.6")...))
	retryAfter(t, e.do("POST", "/sign_up/", map[string]string{"username": "u99", "password": "a-long-passphrase-99"}, from("203.0.113.6")...))
}
