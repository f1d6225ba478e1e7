package server_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exampleBranding is the documented example directory (docs/branding.md).
var exampleBranding = filepath.Join("..", "examples", "branding")

func branded(c *config) { c.TemplatesDir = exampleBranding }

var nonceRE = regexp.MustCompile(`<script nonce="([A-Za-z0-9]+)">`)

// checkBrandedHeaders asserts the security headers a branded page keeps
// and that the policy's nonce is the one the page was given.
func checkBrandedHeaders(t *testing.T, h http.Header, page string) {
	t.Helper()
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Frame-Options %q, X-Content-Type-Options %q", h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
	}
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	m := nonceRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no nonce'd script in the page:\n%s", page)
	}
	want := "default-src 'none'; script-src 'nonce-" + m[1] + "'; style-src 'self' 'nonce-" + m[1] +
		"'; img-src 'self' data:; font-src 'self'; frame-ancestors 'none'; base-uri 'none'"
	if got := h.Get("Content-Security-Policy"); got != want {
		t.Errorf("Content-Security-Policy\n got %s\nwant %s", got, want)
	}
}

// The example directory's login page is served with its data, logs a
// user in (the CSRF token still checked), echoes a refused username
// escaped, and its error page answers a form without the token.
func TestBrandedLogin(t *testing.T) {
	eachWithConfig(t, branded, noThrottles, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		b := e.browser()
		res, page := b.get("/admin/login/?next=/o/applications/")
		if res.StatusCode != 200 || !strings.Contains(page, "<h1>Sign in to Acme</h1>") {
			t.Fatalf("login page %d:\n%s", res.StatusCode, page)
		}
		checkBrandedHeaders(t, res.Header, page)
		if res2, page2 := b.get("/admin/login/"); nonceRE.FindString(page2) == nonceRE.FindString(page) {
			t.Fatalf("the nonce did not change: %s", res2.Header.Get("Content-Security-Policy"))
		}
		csrf := ""
		for _, c := range b.c.Jar.Cookies(res.Request.URL) {
			if c.Name == "csrftoken" {
				csrf = c.Value
			}
		}
		form := hidden(page)
		if csrf == "" || form.Get("csrfmiddlewaretoken") != csrf || form.Get("next") != "/o/applications/" {
			t.Fatalf("hidden fields %v, csrftoken cookie %q", form, csrf)
		}
		for _, want := range []string{`<form method="post" action="/admin/login/">`, `<link rel="stylesheet" href="/static/branding/acme.css">`,
			`<img src="/static/branding/logo.svg" alt="Acme"`} {
			if !strings.Contains(page, want) {
				t.Errorf("login page lacks %s", want)
			}
		}

		// A refused login echoes the username, escaped.
		evil := `<script>alert("x")</script>`
		bad := url.Values{"csrfmiddlewaretoken": {csrf}, "username": {evil}, "password": {"nope"}, "next": {"/o/applications/"}}
		res, page = b.post("/admin/login/", bad)
		if res.StatusCode != 200 || !strings.Contains(page, `<p class="acme-error" role="alert">Please enter a correct username and password.`) {
			t.Fatalf("refused login %d:\n%s", res.StatusCode, page)
		}
		if strings.Contains(page, evil) || !strings.Contains(page, `value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`) {
			t.Fatalf("the username is not escaped:\n%s", page)
		}

		// Without the token the custom error page refuses, and nobody is
		// logged in.
		res, page = b.post("/admin/login/", url.Values{"username": {"alice"}, "password": {"alicepass"}})
		if res.StatusCode != 403 || !strings.Contains(page, "<h1>Forbidden</h1>") || !strings.Contains(page, "CSRF verification failed. Request aborted.") ||
			!strings.Contains(page, "Error 403.") {
			t.Fatalf("no CSRF token: %d\n%s", res.StatusCode, page)
		}
		checkBrandedHeaders(t, res.Header, page)
		if res, _ := b.get("/o/applications/"); res.StatusCode != 302 {
			t.Fatalf("logged in without a CSRF token: %d", res.StatusCode)
		}
		// A token that is not the session's is refused the same way.
		res, _ = b.post("/admin/login/", url.Values{"csrfmiddlewaretoken": {csrf + "x"}, "username": {"alice"}, "password": {"alicepass"}})
		if res.StatusCode != 403 {
			t.Fatalf("wrong CSRF token: %d", res.StatusCode)
		}

		// Through the custom form, the login works.
		form.Set("username", "alice")
		form.Set("password", "alicepass")
		res, _ = b.post("/admin/login/", form)
		if res.StatusCode != 302 || res.Header.Get("Location") != "/o/applications/" {
			t.Fatalf("login: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res, page = b.get("/o/applications/")
		if res.StatusCode != 200 || !strings.Contains(page, "<title>Your applications | Acme</title>") ||
			!strings.Contains(page, "<p>No applications. Create one with: gatehouse applications create</p>") {
			t.Fatalf("applications page %d:\n%s", res.StatusCode, page)
		}
		checkBrandedHeaders(t, res.Header, page)
	})
}

// The custom consent page shows the application, the user and the
// scopes, carries the request in its hidden fields, and its answer
// issues a code; a request the endpoint refuses shows the custom error
// page.
func TestBrandedConsentAndError(t *testing.T) {
	eachWithConfig(t, branded, noThrottles, func(t *testing.T, e *env) {
		e.setupOAuth()
		b := e.browser()
		b.login("alice", "alicepass")
		q := url.Values{"client_id": {"code-client"}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "state": {"st<>"},
			"scope": {"read write"}}
		res, page := b.get("/o/authorize/?" + q.Encode())
		if res.StatusCode != 200 {
			t.Fatalf("consent %d:\n%s", res.StatusCode, page)
		}
		checkBrandedHeaders(t, res.Header, page)
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
		}
		for _, want := range []string{"<h1>Allow code-client to use your Acme account?</h1>", "<strong>alice</strong>",
			`<ul class="acme-scopes"><li>Read scope</li><li>Write scope</li></ul>`, `<input type="hidden" name="state" value="st&lt;&gt;">`,
			`<button type="submit" name="cancel" value="Cancel" class="acme-secondary">Cancel</button>`} {
			if !strings.Contains(page, want) {
				t.Errorf("consent page lacks %s:\n%s", want, page)
			}
		}
		loc := b.authorize(q)
		if loc.Query().Get("code") == "" || loc.Query().Get("state") != "st<>" {
			t.Fatalf("consent answered %s", loc)
		}

		// The consent form posted without its token: the error page.
		form := hidden(page)
		form.Del("csrfmiddlewaretoken")
		form.Set("allow", "Authorize")
		res, page = b.post("/o/authorize/", form)
		if res.StatusCode != 403 || !strings.Contains(page, "CSRF verification failed.") || !strings.Contains(page, "| Acme</title>") {
			t.Fatalf("consent without CSRF: %d\n%s", res.StatusCode, page)
		}

		// An unknown client: the error page with the endpoint's message.
		res, page = b.get("/o/authorize/?client_id=nobody&response_type=code")
		if res.StatusCode != 400 || !strings.Contains(page, "<h1>Error: invalid_client_id</h1>") || !strings.Contains(page, "Error 400.") {
			t.Fatalf("unknown client: %d\n%s", res.StatusCode, page)
		}
		checkBrandedHeaders(t, res.Header, page)
	})
}

// The static files are served from memory with their content types and
// validators; no path leads out of static/ and no directory is listed.
func TestBrandedStaticFiles(t *testing.T) {
	eachWithConfig(t, branded, nil, func(t *testing.T, e *env) {
		r := e.do("GET", "/static/branding/acme.css", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(string(r.body), "--acme-blue") {
			t.Fatalf("acme.css: %d %q", r.status, r.header.Get("Content-Type"))
		}
		etag := r.header.Get("ETag")
		if etag == "" || r.header.Get("Cache-Control") != "public, max-age=3600" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("headers %v", r.header)
		}
		if r := e.do("GET", "/static/branding/acme.css", nil, "If-None-Match", etag); r.status != 304 || len(r.body) != 0 {
			t.Fatalf("revalidation: %d", r.status)
		}
		if r := e.do("GET", "/static/branding/logo.svg", nil); r.status != 200 || r.header.Get("Content-Type") != "image/svg+xml" {
			t.Fatalf("logo.svg: %d %q", r.status, r.header.Get("Content-Type"))
		}
		if r := e.do("HEAD", "/static/branding/logo.svg", nil); r.status != 200 || len(r.body) != 0 {
			t.Fatalf("HEAD logo.svg: %d", r.status)
		}
		if r := e.do("POST", "/static/branding/logo.svg", nil); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("POST: %d %q", r.status, r.header.Get("Allow"))
		}
		for _, p := range []string{
			"/static/branding/", // no listing
			"/static/branding/missing.css",
			"/static/branding/%2e%2e/login.html",        // the templates themselves are not files
			"/static/branding/..%2flogin.html",          // an escaped slash
			"/static/branding/%2e%2e%2f%2e%2e%2fgo.mod", // out of the checkout
			"/static/branding/.%2facme.css",
			"/static/branding/acme.css%00",
			"/static/branding/..%5cbase.html",
			"/static/branding/ACME.CSS",
			"/static/brandingacme.css",
		} {
			if r := e.do("GET", p, nil); r.status != 404 || strings.Contains(string(r.body), "{{") {
				t.Errorf("GET %s: %d, want 404", p, r.status)
			}
		}
		// Dot segments as sent.
		req, _ := http.NewRequest("GET", e.http.URL, nil)
		req.URL.Opaque = "/static/branding/../branding/../../go.mod"
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Fatalf("dot segments: %d", res.StatusCode)
		}
	})
}

// Without a templates directory nothing changes: the built-in pages under
// the built-in policy, and no static route.
func TestBuiltinPagesWithoutBranding(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		r := e.do("GET", "/admin/login/", nil)
		if r.status != 200 || !strings.HasPrefix(string(r.body), "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Log in | gatehouse</title>") {
			t.Fatalf("login %d:\n%s", r.status, r.body)
		}
		if csp := r.header.Get("Content-Security-Policy"); csp != "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" {
			t.Fatalf("CSP %q", csp)
		}
		if r := e.do("GET", "/static/branding/acme.css", nil); r.status != 404 {
			t.Fatalf("static without branding: %d", r.status)
		}
	})
}

// The device pages and the logout pages are the example's too, with
// their data; a wrong code shows the custom form again with the reason.
func TestBrandedDeviceAndLogout(t *testing.T) {
	eachWithConfig(t, branded, noThrottles, func(t *testing.T, e *env) {
		e.setupDevice()
		d := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}, "scope": {"read"}})
		b := e.browser()
		b.login("alice", "alicepass")
		res, page := b.get("/o/device/?user_code=" + d.UserCode)
		if res.StatusCode != 200 || !strings.Contains(page, "<h1>Connect a device</h1>") || !strings.Contains(page, `value="`+d.UserCode+`"`) ||
			!strings.Contains(page, "Signed in as <strong>alice</strong>. Enter the code your device shows.") {
			t.Fatalf("device page %d:\n%s", res.StatusCode, page)
		}
		checkBrandedHeaders(t, res.Header, page)
		status, page := b.enterCode("BCDF-GHJK")
		if status != 400 || !strings.Contains(page, `<p class="acme-error" role="alert">`) || !strings.Contains(page, `value="BCDF-GHJK"`) {
			t.Fatalf("wrong code %d:\n%s", status, page)
		}
		status, page = b.enterCode(d.UserCode)
		if status != 200 || !strings.Contains(page, "<h1>Allow Living room TV to use your Acme account?</h1>") ||
			!strings.Contains(page, `<button type="submit" name="cancel" value="Deny" class="acme-secondary">Deny</button>`) {
			t.Fatalf("device consent %d:\n%s", status, page)
		}
		form := hidden(page)
		form.Set("allow", "Authorize")
		res, page = b.post("/o/device/", form)
		if res.StatusCode != 200 || !strings.Contains(page, "<h1>✓ Device connected</h1>") || !strings.Contains(page, "<title>Device connected | Acme</title>") {
			t.Fatalf("device done %d:\n%s", res.StatusCode, page)
		}

		// The logout beside the login page: confirm, then logged out.
		res, page = b.get("/admin/logout/?next=/o/applications/")
		if res.StatusCode != 200 || !strings.Contains(page, "<h1>Sign out of Acme?</h1>") || !strings.Contains(page, `<input type="hidden" name="next" value="/o/applications/">`) {
			t.Fatalf("logout page %d:\n%s", res.StatusCode, page)
		}
		checkBrandedHeaders(t, res.Header, page)
		form = hidden(page)
		form.Del("next")
		res, page = b.post("/admin/logout/", form)
		if res.StatusCode != 200 || !strings.Contains(page, "<h1>Signed out</h1>") || !strings.Contains(page, `You are logged out. <a href="/admin/login/">Sign in again</a>`) {
			t.Fatalf("logged out %d:\n%s", res.StatusCode, page)
		}
		if res, _ := b.get("/o/device/"); res.StatusCode != 302 {
			t.Fatalf("still logged in: %d", res.StatusCode)
		}
	})
}

// A custom template that fails on a request's data (not on the sample
// data the start checked) is logged and the built-in page served, so
// that the flow goes on.
func TestBrandedTemplateFailureFallsBack(t *testing.T) {
	dir := t.TempDir()
	consent := `{{.CSRF}}{{range .Hidden}}{{.Name}}{{end}}{{if gt (len .Scopes) 1}}{{index .Scopes 5}}{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "consent.html"), []byte(consent), 0o644); err != nil {
		t.Fatal(err)
	}
	eachWithConfig(t, func(c *config) { c.TemplatesDir = dir }, noThrottles, func(t *testing.T, e *env) {
		e.setupOAuth()
		b := e.browser()
		b.login("alice", "alicepass")
		q := url.Values{"client_id": {"code-client"}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"read write"}}
		res, page := b.get("/o/authorize/?" + q.Encode())
		if res.StatusCode != 200 || !strings.Contains(page, "<h1>Authorize code-client?</h1>") {
			t.Fatalf("consent %d:\n%s", res.StatusCode, page)
		}
		if !strings.Contains(e.logs.String(), `"msg":"page template failed; the built-in page is served","page":"consent.html"`) {
			t.Fatalf("not logged:\n%s", e.logs.String())
		}
		if loc := b.authorize(q); loc.Query().Get("code") == "" {
			t.Fatalf("no code: %s", loc)
		}
		// One scope: the custom page serves.
		q.Set("scope", "read")
		if res, page := b.get("/o/authorize/?" + q.Encode()); res.StatusCode != 200 || strings.Contains(page, "<h1>") {
			t.Fatalf("custom consent %d:\n%s", res.StatusCode, page)
		}
	})
}
