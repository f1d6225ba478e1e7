package server_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Every response carries a Content-Security-Policy that lets a page load
// nothing, and the session cookies are Secure whenever the request came
// over TLS, HttpOnly for the session, SameSite=Lax for both.
func TestPageHeadersAndCookies(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	for _, path := range []string{"/admin/login/", "/api/me/", "/o/authorize/", "/nowhere/"} {
		r := e.do("GET", path, nil)
		if csp := r.header.Get("Content-Security-Policy"); csp != "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
	}
	plain := e.do("GET", "/admin/login/", nil)
	for _, c := range plain.header.Values("Set-Cookie") {
		if strings.Contains(c, "Secure") {
			t.Errorf("a Secure cookie over plain HTTP (not configured): %s", c)
		}
	}
	tls := httptest.NewTLSServer(e.handler)
	defer tls.Close()
	res, err := tls.Client().Get(tls.URL + "/admin/login/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookies := res.Header.Values("Set-Cookie")
	if len(cookies) != 2 {
		t.Fatalf("cookies %v", cookies)
	}
	for _, c := range cookies {
		if !strings.Contains(c, "; Secure") || !strings.Contains(c, "SameSite=Lax") {
			t.Errorf("over TLS: %s", c)
		}
		if strings.HasPrefix(c, "sessionid=") != strings.Contains(c, "HttpOnly") {
			t.Errorf("HttpOnly on the session cookie only: %s", c)
		}
	}
}
