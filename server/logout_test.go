package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// sessionCookie returns the browser's sessionid cookie value.
func (b *browser) sessionCookie() string { return b.cookie("sessionid") }

// cookie is the value of the browser's cookie name for the server ("" when
// it has none).
func (b *browser) cookie(name string) string {
	b.t.Helper()
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestBrowserLogout: /admin/logout/ (beside the login page) asks to
// confirm on GET and logs out on POST with the CSRF token: the session is
// ended server-side (a copy of the cookie stops working, on this server
// and on another one on the same database), both cookies are deleted, and
// next is followed only to a local path. Other sessions of the user stay.
func TestBrowserLogout(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		b := e.browser()
		b.login("alice", "alicepass")
		other := e.browser() // alice on another device
		other.login("alice", "alicepass")
		stolen := b.sessionCookie()
		if stolen == "" {
			t.Fatal("no session cookie after login")
		}
		withCookie := func(path string) resp {
			return e.do("GET", path, nil, "Cookie", "sessionid="+stolen)
		}
		if r := withCookie("/api/me/"); r.status != 200 {
			t.Fatalf("the session before logout: %d", r.status)
		}

		// GET asks, and logs nobody out.
		res, page := b.get("/admin/logout/?next=/o/applications/")
		if res.StatusCode != 200 || !strings.Contains(page, `<form method="post" action="/admin/logout/">`) ||
			!strings.Contains(page, "alice") || res.Header.Get("Cache-Control") != "max-age=0, no-cache, no-store, must-revalidate, private" {
			t.Fatalf("confirmation page: %d %v\n%s", res.StatusCode, res.Header, page)
		}
		form := hidden(page)
		if form.Get("csrfmiddlewaretoken") == "" || form.Get("next") != "/o/applications/" {
			t.Fatalf("confirmation form %v", form)
		}
		if r := withCookie("/api/me/"); r.status != 200 {
			t.Fatalf("GET logged out: %d", r.status)
		}
		// POST needs the CSRF token.
		if res, _ := b.post("/admin/logout/", url.Values{}); res.StatusCode != 403 {
			t.Fatalf("logout without CSRF: %d", res.StatusCode)
		}
		if res, _ := b.post("/admin/logout/", url.Values{"csrfmiddlewaretoken": {"wrong"}}); res.StatusCode != 403 {
			t.Fatalf("logout with a wrong CSRF token: %d", res.StatusCode)
		}
		if r := withCookie("/api/me/"); r.status != 200 {
			t.Fatalf("a refused logout logged out: %d", r.status)
		}

		res, _ = b.post("/admin/logout/", form)
		if res.StatusCode != 302 || res.Header.Get("Location") != "/o/applications/" {
			t.Fatalf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		cleared := map[string]bool{}
		for _, c := range res.Cookies() {
			if c.MaxAge < 0 && c.Value == "" {
				cleared[c.Name] = true
			}
		}
		if !cleared["sessionid"] || !cleared["csrftoken"] {
			t.Fatalf("cookies not deleted: %v", res.Header.Values("Set-Cookie"))
		}
		if b.sessionCookie() != "" {
			t.Fatal("the browser kept its session cookie")
		}
		if res, _ := b.get("/o/applications/"); res.StatusCode != 302 || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login/") {
			t.Fatalf("after logout: %d", res.StatusCode)
		}
		// The copy of the cookie is dead everywhere a session is read.
		if r := withCookie("/api/me/"); r.status != 401 {
			t.Fatalf("the ended session on /api/me/: %d %s", r.status, r.body)
		}
		for _, p := range []string{"/o/applications/", "/o/authorize/?response_type=code&client_id=x"} {
			if r := withCookie(p); r.status != 302 || !strings.HasPrefix(r.header.Get("Location"), "/admin/login/") {
				t.Fatalf("the ended session on %s: %d %s", p, r.status, r.header.Get("Location"))
			}
		}
		if r := e.restart(nil, nil).do("GET", "/api/me/", nil, "Cookie", "sessionid="+stolen); r.status != 401 {
			t.Fatalf("the ended session on another server: %d", r.status)
		}
		// Alice's other session is untouched.
		if res, _ := other.get("/o/applications/"); res.StatusCode != 200 {
			t.Fatalf("the other session: %d", res.StatusCode)
		}
		// Logged out, GET says so.
		if res, page := b.get("/admin/logout/"); res.StatusCode != 200 || !strings.Contains(page, "You are not logged in.") {
			t.Fatalf("logout page when logged out: %d %s", res.StatusCode, page)
		}

		// next goes only to a local path; otherwise the page says logged out.
		for _, next := range []string{"//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:alert(1)",
			"/\t/evil.example/", "evil.example", "http:/evil.example"} {
			b.login("alice", "alicepass")
			_, page := b.get("/admin/logout/")
			f := hidden(page)
			f.Set("next", next)
			res, body := b.post("/admin/logout/?next="+url.QueryEscape(next), f)
			if res.StatusCode != 200 || res.Header.Get("Location") != "" || !strings.Contains(body, "You are logged out.") {
				t.Errorf("next %q: %d %q", next, res.StatusCode, res.Header.Get("Location"))
			}
		}
		// Other methods are refused.
		if r := e.do("PUT", "/admin/logout/", nil); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, POST, HEAD, OPTIONS" {
			t.Fatalf("PUT: %d %q", r.status, r.header.Get("Allow"))
		}
	})
}

// The logout page lives beside a moved login page.
func TestLogoutBesideLoginURL(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *config) { c.OAuth.LoginURL = "/accounts/login/" })
	if r := e.do("GET", "/accounts/logout/", nil); r.status != 200 || !strings.Contains(string(r.body), `href="/accounts/login/"`) {
		t.Fatalf("/accounts/logout/: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/admin/logout/", nil); r.status != 404 {
		t.Fatalf("/admin/logout/ with the login page moved: %d", r.status)
	}
}
