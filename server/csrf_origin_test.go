package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A session's unsafe request that a browser says came from another
// origin is refused even with the right CSRF token: on DRF's
// SessionAuthentication (403, Django 4's words), the admin site's forms
// and the login form (the CSRF page). Sec-Fetch-Site decides when sent;
// otherwise Origin must be the request's own origin (behind a trusted
// proxy, the forwarded one). Without either header the token decides.
func TestSessionRefusesCrossOrigin(t *testing.T) {
	each(t, func(c *config) {
		c.AllowedHosts = []string{"127.0.0.1", "auth.example.com"}
		c.TrustedProxies = []string{"127.0.0.0/8"}
	}, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		own := e.http.URL
		b := e.browser()
		b.login("root", "rootpass")
		csrf := b.cookie("csrftoken")
		if csrf == "" {
			t.Fatal("no csrftoken cookie after the login")
		}
		plain := f.users["plain"].ID

		// The admin API with the session: PATCH a user's first name.
		patch := func(name string, hd ...string) (int, string) {
			t.Helper()
			return b.exchange("PATCH", userURL(plain), "application/json", `{"first_name":"`+name+`"}`, append([]string{"X-CSRFToken", csrf}, hd...)...)
		}
		firstName := func() string {
			u, err := e.store.User(context.Background(), plain)
			if err != nil {
				t.Fatal(err)
			}
			return u.FirstName
		}
		refused := []struct {
			name string
			hd   []string
			body string
		}{
			{"another site's Origin", []string{"Origin", "http://evil.example"},
				`{"detail":"CSRF Failed: Origin checking failed - http://evil.example does not match any trusted origins."}`},
			{"another port", []string{"Origin", "http://127.0.0.1:1"}, ""},
			{"https for http", []string{"Origin", strings.Replace(own, "http://", "https://", 1)}, ""},
			{"the null origin", []string{"Origin", "null"}, ""},
			{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site", "Origin", own}, ""},
			{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site"},
				`{"detail":"CSRF Failed: Origin checking failed - null does not match any trusted origins."}`},
			{"a forwarded origin without the proxy's headers", []string{"Origin", "https://auth.example.com"}, ""},
		}
		for _, c := range refused {
			status, body := patch("Mallory", c.hd...)
			if status != 403 || (c.body != "" && body != c.body) || !strings.Contains(body, "Origin checking failed") {
				t.Errorf("%s: %d %s", c.name, status, body)
			}
		}
		if got := firstName(); got != "" {
			t.Fatalf("a refused PATCH wrote first_name %q", got)
		}
		passed := []struct {
			name string
			hd   []string
		}{
			{"no Origin, no Sec-Fetch-Site", nil},
			{"its own Origin", []string{"Origin", own}},
			{"its own Origin, upper case", []string{"Origin", strings.ToUpper(own)}},
			{"Sec-Fetch-Site same-origin (a proxy rewrote Host)", []string{"Sec-Fetch-Site", "same-origin", "Origin", "https://elsewhere.example"}},
			{"the origin a trusted proxy forwards", []string{"Origin", "https://auth.example.com", "X-Forwarded-Proto", "https",
				"X-Forwarded-Host", "auth.example.com"}},
			{"the default port spelled out", []string{"Origin", "https://auth.example.com", "X-Forwarded-Proto", "https",
				"X-Forwarded-Host", "auth.example.com:443"}},
		}
		for i, c := range passed {
			name := "Name" + string(rune('A'+i))
			if status, body := patch(name, c.hd...); status != 200 || firstName() != name {
				t.Errorf("%s: %d %s, first_name %q", c.name, status, body, firstName())
			}
		}
		// Without the token the Origin does not help.
		if status, body := b.exchange("PATCH", userURL(plain), "application/json", `{"first_name":"NoToken"}`, "Origin", own); status != 403 {
			t.Fatalf("own Origin without the token: %d %s", status, body)
		}

		// The admin site's form: the user's page posted with the token.
		res, page := b.get(siteUserURL(plain))
		if res.StatusCode != 200 {
			t.Fatalf("user page: %d", res.StatusCode)
		}
		form := postedForm(t, page, siteUserURL(plain))
		form.Set("first_name", "FromEvil")
		sitePost := func(hd ...string) (int, string) {
			t.Helper()
			return b.exchange("POST", siteUserURL(plain), formType, form.Encode(), hd...)
		}
		if status, body := sitePost("Origin", "http://evil.example"); status != 403 || !strings.Contains(body, "CSRF verification failed") {
			t.Fatalf("admin form from another origin: %d %s", status, body)
		}
		if status, _ := sitePost("Sec-Fetch-Site", "cross-site"); status != 403 {
			t.Fatalf("admin form, cross-site: %d", status)
		}
		if got := firstName(); got == "FromEvil" {
			t.Fatal("a refused admin form wrote")
		}
		if status, _ := sitePost("Origin", own, "Sec-Fetch-Site", "same-origin"); status != http.StatusSeeOther || firstName() != "FromEvil" {
			t.Fatalf("admin form from its own page: %d, first_name %q", status, firstName())
		}

		// The login form, with its hidden token, from another site.
		b2 := e.browser()
		res, page = b2.get("/admin/login/")
		if res.StatusCode != 200 {
			t.Fatalf("login page: %d", res.StatusCode)
		}
		login := hidden(page)
		login.Set("username", "root")
		login.Set("password", "rootpass")
		if status, _ := b2.exchange("POST", "/admin/login/", formType, login.Encode(), "Origin", "http://evil.example"); status != 403 {
			t.Fatalf("login form from another origin: %d", status)
		}
		if res, body := b2.get("/api/me/"); res.StatusCode == 200 {
			t.Fatalf("the refused login logged in: %s", body)
		}
		b2.login("root", "rootpass") // the same form without Origin logs in
	})
}

// The CSRF token is read where Django's middleware reads it: a posted
// form's csrfmiddlewaretoken field, else the X-CSRFToken header, on the
// pages and on the API authenticated by the session alike (checked against
// the Django reference: the consent form with the header only, the API
// with the field only, both accepted). A field that is there but wrong is
// not rescued by a right header, as in Django.
func TestCSRFTokenFromFormOrHeader(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		b := e.browser()
		b.login("root", "rootpass")
		csrf := b.cookie("csrftoken")
		post := func(path string, form url.Values, header string) int {
			t.Helper()
			var hd []string
			if header != "" {
				hd = []string{"X-CSRFToken", header}
			}
			status, _ := b.exchange("POST", path, formType, form.Encode(), hd...)
			return status
		}
		user := func(name string, extra ...string) url.Values {
			v := url.Values{"username": {name}, "password": {"a long enough passphrase"}}
			for i := 0; i+1 < len(extra); i += 2 {
				v.Set(extra[i], extra[i+1])
			}
			return v
		}
		if got := post("/api/users/", user("byfield", "csrfmiddlewaretoken", csrf), ""); got != 201 {
			t.Fatalf("API, the token in the form: %d", got)
		}
		if got := post("/api/users/", user("wrongfield", "csrfmiddlewaretoken", "wrong"), csrf); got != 403 {
			t.Fatalf("API, a wrong field and a right header: %d", got)
		}
		if got := post("/api/users/", user("byheader"), csrf); got != 201 {
			t.Fatalf("API, the token in the header: %d", got)
		}
		for name, want := range map[string]bool{"byfield": true, "wrongfield": false, "byheader": true} {
			if _, err := e.store.UserByUsername(t.Context(), name); (err == nil) != want {
				t.Errorf("%s stored: %v, want %v", name, err == nil, want)
			}
		}

		// A page's form with the token in the header only.
		plain := f.users["plain"].ID
		res, page := b.get(siteUserURL(plain))
		if res.StatusCode != 200 {
			t.Fatalf("user page: %d", res.StatusCode)
		}
		form := postedForm(t, page, siteUserURL(plain))
		form.Del("csrfmiddlewaretoken")
		form.Set("first_name", "Header")
		if got := post(siteUserURL(plain), form, csrf); got != http.StatusSeeOther {
			t.Fatalf("admin form, the token in the header: %d", got)
		}
		if u, _ := e.store.User(t.Context(), plain); u.FirstName != "Header" {
			t.Fatalf("first_name %q", u.FirstName)
		}
	})
}

const formType = "application/x-www-form-urlencoded"

// exchange sends a request with the browser's cookies: body of content type
// ctype, the headers hd (name, value, ...); it returns the status and
// the body.
func (b *browser) exchange(method, path, ctype, body string, hd ...string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(hd); i += 2 {
		req.Header.Set(hd[i], hd[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}
