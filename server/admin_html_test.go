package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const wantSiteCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// The admin site lets in staff users only, through the login page's
// session: an anonymous visitor is sent to the login page with next= the
// page, a logged-in user without is_staff gets a 403 page (and no
// navigation), a staff user the page with the admin's
// Content-Security-Policy, the logout form and no-store.
func TestAdminSiteWhoGetsIn(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.staffUser("boss", true)
		e.user("plain", "plain-pass-123")

		anon := e.browser()
		res, _ := anon.get("/admin/")
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/admin/login/?next=/admin/" {
			t.Fatalf("anonymous: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, _ = anon.get("/admin/users/?search=a%20b")
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != "/admin/login/?next=/admin/users/%3Fsearch%3Da%2520b" {
			t.Fatalf("anonymous deep link: %d %q", res.StatusCode, loc)
		}

		plain := e.browser()
		plain.login("plain", "plain-pass-123")
		res, page := plain.get("/admin/")
		if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "not a staff account") || strings.Contains(page, "Admin sections") {
			t.Fatalf("non-staff: %d %s", res.StatusCode, page)
		}
		if csp := res.Header.Get("Content-Security-Policy"); csp != wantSiteCSP {
			t.Fatalf("403 CSP %q", csp)
		}

		boss := e.browser()
		boss.login("boss", "pw-boss")
		res, page = boss.get("/admin/")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("staff: %d %s", res.StatusCode, page)
		}
		for k, v := range map[string]string{"Content-Security-Policy": wantSiteCSP, "Content-Type": "text/html; charset=utf-8",
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private"} {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		for _, want := range []string{`<a class="skip" href="#main">`, `<main id="main"`, `<nav aria-label="Admin sections"`,
			`Signed in as <strong>boss</strong>`, `action="/admin/logout/"`, `<html lang="en">`} {
			if !strings.Contains(page, want) {
				t.Errorf("dashboard lacks %q", want)
			}
		}
		if strings.Contains(page, "<script>") || strings.Contains(page, "style=") || strings.Contains(page, " on") && strings.Contains(page, "onclick") {
			t.Errorf("dashboard has inline script or style")
		}
		// The logout button ends the session (the existing logout page).
		form := hidden(page)
		res, _ = boss.post("/admin/logout/", form)
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login/?next=") {
			t.Fatalf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, _ = boss.get("/admin/")
		if res.StatusCode != http.StatusFound {
			t.Fatalf("after logout: %d", res.StatusCode)
		}
	})
}

// The style sheet and script are embedded files with an ETag; the pages
// link them with the hash in the URL. Unknown names are 404.
func TestAdminSiteStaticFiles(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	e.staffUser("boss", true)
	b := e.browser()
	b.login("boss", "pw-boss")
	_, page := b.get("/admin/")
	for name, ctype := range map[string]string{"admin.css": "text/css; charset=utf-8", "admin.js": "text/javascript; charset=utf-8"} {
		i := strings.Index(page, "/admin/static/"+name+"?v=")
		if i < 0 {
			t.Fatalf("page does not link %s", name)
		}
		link := htmlUnescape(page[i : i+strings.IndexByte(page[i:], '"')])
		res, body := b.get(link)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != ctype || len(body) < 100 {
			t.Fatalf("%s: %d %q %d bytes", name, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if v := link[strings.Index(link, "?v=")+3:]; res.Header.Get("ETag") != `"`+v+`"` {
			t.Errorf("%s: ETag %q, URL version %q", name, res.Header.Get("ETag"), v)
		}
		req, _ := http.NewRequest("GET", e.http.URL+link, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		res2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res2.Body.Close()
		if res2.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidated: %d", name, res2.StatusCode)
		}
	}
	for _, p := range []string{"/admin/static/nope.css", "/admin/static/..%2fadmin_html.go", "/admin/nope/"} {
		if res, _ := b.get(p); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
}

// A form posted without the session's CSRF token, or with another, is
// refused 403 and does nothing; a method a page does not take is 405.
func TestAdminSiteCSRFAndMethods(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	e.staffUser("boss", true)
	b := e.browser()
	b.login("boss", "pw-boss")
	res, page := b.post("/admin/", url.Values{})
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET" {
		t.Fatalf("POST dashboard: %d %q %s", res.StatusCode, res.Header.Get("Allow"), page)
	}
}
