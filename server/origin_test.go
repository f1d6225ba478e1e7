package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// hostRequest sends GET path to e with the Host header host and extra
// headers, and returns the status, body and response headers.
func hostRequest(t *testing.T, e *env, host, path string, headers ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", e.http.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

// Requests naming a host outside AllowedHosts are answered 400 before any
// route runs (the Host header used to go unchecked into pagination links).
func TestAllowedHosts(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *config) { c.AllowedHosts = []string{"localhost", ".example.com", "[::1]"} })
	for host, want := range map[string]int{
		"localhost:8000": 200, "[::1]:8000": 200, "[::1]": 200, "[::2]:8000": 400, "example.com": 200, "api.example.com": 200, "API.Example.COM.": 200,
		"evil.test": 400, "badexample.com": 400, "example.com.evil.test": 400, "127.0.0.1": 400, "": 400,
	} {
		if status, body, _ := hostRequest(t, e, host, "/healthz"); status != want {
			t.Errorf("Host %q: %d %s, want %d", host, status, body, want)
		}
	}
	if status, body, _ := hostRequest(t, e, "evil.test", "/healthz"); !strings.Contains(body, "Bad Request (400)") || status != 400 {
		t.Errorf("the refusal: %d %s", status, body)
	}
}

// X-Forwarded-Proto and X-Forwarded-Host shape the links and cookies only
// when the peer is a trusted proxy.
func TestForwardedHeadersFromTrustedProxiesOnly(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		e := newEnv(t, "sqlite", func(c *config) {
			c.PageSize = 1
			c.AllowedHosts = []string{"127.0.0.1", "gatehouse.example.com"}
			if trusted {
				c.TrustedProxies = []string{"127.0.0.0/8"}
			}
		})
		e.user("alice", "alicepass")
		e.user("bob", "bobpass")
		key := e.tokenOf("alice", "alicepass")
		status, body, _ := hostRequest(t, e, strings.TrimPrefix(e.http.URL, "http://"), "/api/users/",
			"Authorization", "Token "+key, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "gatehouse.example.com")
		want := `"next":"http://` + strings.TrimPrefix(e.http.URL, "http://") + `/api/users/?page=2"`
		if trusted {
			want = `"next":"https://gatehouse.example.com/api/users/?page=2"`
		}
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("trusted %v: %d %s, want %s", trusted, status, body, want)
		}
		_, _, h := hostRequest(t, e, strings.TrimPrefix(e.http.URL, "http://"), "/admin/login/", "X-Forwarded-Proto", "https")
		for _, c := range h.Values("Set-Cookie") {
			if strings.Contains(c, "; Secure") != trusted {
				t.Errorf("trusted %v: cookie %s", trusted, c)
			}
		}
		// A forwarded host outside AllowedHosts is refused like a direct one.
		if status, _, _ := hostRequest(t, e, strings.TrimPrefix(e.http.URL, "http://"), "/healthz", "X-Forwarded-Host", "evil.test"); (status == 400) != trusted {
			t.Errorf("trusted %v: forwarded evil host answered %d", trusted, status)
		}
	}
}

// Found by FuzzHostAllowed: only the ".example.com" suffix was compared,
// so a forwarded host Django refuses (its host_validation_re) passed and
// went into the pagination links: "evil.test/.example.com" made
// "next" http://evil.test/.example.com/api/users/?page=2.
func TestAllowedHostsRefusesMalformedHosts(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *config) {
		c.PageSize = 1
		c.AllowedHosts = []string{"127.0.0.1", ".example.com"}
		c.TrustedProxies = []string{"127.0.0.0/8"}
	})
	e.user("alice", "alicepass")
	e.user("bob", "bobpass")
	key := e.tokenOf("alice", "alicepass")
	direct := strings.TrimPrefix(e.http.URL, "http://")
	for _, host := range []string{"evil.test/.example.com", "evil.test#.example.com", "evil.test?.example.com",
		"evil.test\\.example.com", "user@evil.test:1.example.com", "a b.example.com", "example.com:", "[::1].example.com"} {
		status, body, _ := hostRequest(t, e, direct, "/api/users/", "Authorization", "Token "+key, "X-Forwarded-Host", host)
		if status != 400 {
			t.Errorf("X-Forwarded-Host %q: %d %s, want 400", host, status, body)
		}
	}
	if status, body, _ := hostRequest(t, e, direct, "/api/users/", "Authorization", "Token "+key, "X-Forwarded-Host", "api.example.com:8443"); status != 200 ||
		!strings.Contains(body, `"next":"http://api.example.com:8443/api/users/?page=2"`) {
		t.Errorf("a well-formed forwarded host: %d %s", status, body)
	}
}
