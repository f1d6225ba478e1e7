package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	spaOrigin  = "https://spa.example"  // listed by pub-client
	confOrigin = "https://conf.example" // listed by conf-client
	evilOrigin = "https://evil.example" // listed by none
)

// withOrigins lists spaOrigin for pub-client and confOrigin for
// conf-client (before any request, so no cache holds the old lists).
func (e *env) withOrigins() oauthApps {
	e.t.Helper()
	a := e.setupOAuth()
	for id, o := range map[string]string{"pub-client": spaOrigin, "conf-client": confOrigin} {
		if _, err := e.clients.SetAllowedOrigins(context.Background(), id, []string{o}); err != nil {
			e.t.Fatal(err)
		}
	}
	return a
}

// corsAllowed asserts that r allows origin: Access-Control-Allow-Origin names
// it, Vary has Origin, and credentials are never allowed.
func corsAllowed(t *testing.T, r resp, origin string) {
	t.Helper()
	if got := r.header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != origin {
		t.Fatalf("Access-Control-Allow-Origin %q, want %q (status %d, body %s)", got, origin, r.status, r.body)
	}
	if !slices.Contains(r.header.Values("Vary"), "Origin") {
		t.Fatalf("Vary %q has no Origin", r.header.Values("Vary"))
	}
	if r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("Access-Control-Allow-Credentials sent")
	}
}

// noCORS asserts that r carries no CORS header at all.
func noCORS(t *testing.T, r resp) {
	t.Helper()
	for k := range r.header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Fatalf("%s: %q on an answer that allows no origin (status %d, body %s)", k, r.header.Values(k), r.status, r.body)
		}
	}
}

func preflight(e *env, path, origin, method string) resp {
	return e.do("OPTIONS", path, nil, "Origin", origin, "Access-Control-Request-Method", method,
		"Access-Control-Request-Headers", "authorization, content-type")
}

// The token, revocation and introspection answers allow the request's
// Origin only when the client that authenticated on it lists it: not an
// unlisted origin, not one another application lists, not when no client
// authenticated.
func TestCORSClientEndpoints(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.withOrigins()
		pubToken := func(origin string, extra ...string) resp {
			form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}, "client_id": {"pub-client"}}
			for i := 0; i+1 < len(extra); i += 2 {
				form.Set(extra[i], extra[i+1])
			}
			return e.do("POST", "/o/token/", form, "Origin", origin)
		}

		r := pubToken(spaOrigin)
		expect(t, r, 200, "")
		corsAllowed(t, r, spaOrigin)
		access := r.json(t)["access_token"].(string)
		refresh := r.json(t)["refresh_token"].(string)
		// The browser's Origin is echoed as sent (origins compare in
		// lower case).
		r = pubToken("https://SPA.example")
		expect(t, r, 200, "")
		corsAllowed(t, r, "https://SPA.example")

		r = pubToken(evilOrigin)
		expect(t, r, 200, "")
		noCORS(t, r)
		if slices.Contains(r.header.Values("Vary"), "Origin") {
			t.Fatalf("Vary %q on an answer that allows no origin", r.header.Values("Vary"))
		}
		r = pubToken(confOrigin) // conf-client's origin, not pub-client's
		expect(t, r, 200, "")
		noCORS(t, r)

		// An error after the client authenticated is readable by its
		// page; a failed client authentication names no client.
		r = pubToken(spaOrigin, "password", "wrong")
		expect(t, r, 400, `{"error": "invalid_grant", "error_description": "Invalid credentials given."}`)
		corsAllowed(t, r, spaOrigin)
		r = pubToken(spaOrigin, "client_id", "nobody")
		expect(t, r, 401, `{"error": "invalid_client"}`)
		noCORS(t, r)

		// Revocation by pub-client.
		r = e.do("POST", "/o/revoke_token/", url.Values{"token": {refresh}, "client_id": {"pub-client"}}, "Origin", confOrigin)
		expect(t, r, 200, "{}")
		noCORS(t, r)
		r = e.do("POST", "/o/revoke_token/", url.Values{"token": {access}, "client_id": {"pub-client"}}, "Origin", spaOrigin)
		expect(t, r, 200, "{}")
		corsAllowed(t, r, spaOrigin)

		// Introspection by conf-client: its own origin, not pub-client's.
		p := e.password(a)
		conf := basic("conf-client", a.confSecret)
		r = e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, "Authorization", conf, "Origin", confOrigin)
		expect(t, r, 200, "")
		corsAllowed(t, r, confOrigin)
		r = e.do("GET", "/o/introspect/?token="+p.Access, nil, "Authorization", conf, "Origin", confOrigin)
		expect(t, r, 200, "")
		corsAllowed(t, r, confOrigin)
		r = e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, "Authorization", conf, "Origin", spaOrigin)
		expect(t, r, 200, "")
		noCORS(t, r)

		// Without Origin nothing changes.
		r = e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, "Authorization", conf)
		expect(t, r, 200, "")
		noCORS(t, r)
		if got := r.header.Values("Vary"); !slices.Equal(got, []string{"Authorization"}) {
			t.Fatalf("Vary %q", got)
		}
	})
}

// A preflight names no client: it is answered 204 for an origin any
// application lists, with the endpoint's methods; an unlisted origin's
// preflight and any OPTIONS request without Origin get DOT's answer,
// without CORS headers. Origins added later are seen after the cache TTL.
func TestCORSPreflight(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.withOrigins()
		for path, methods := range map[string]string{"/o/token/": "POST", "/o/revoke_token/": "POST", "/o/introspect/": "GET, POST"} {
			for _, origin := range []string{spaOrigin, confOrigin} {
				r := preflight(e, path, origin, "POST")
				expect(t, r, 204, "")
				if len(r.body) != 0 {
					t.Fatalf("%s: preflight body %q", path, r.body)
				}
				corsAllowed(t, r, origin)
				for k, want := range map[string]string{"Access-Control-Allow-Methods": methods,
					"Access-Control-Allow-Headers": "Authorization, Content-Type", "Access-Control-Max-Age": "3600"} {
					if got := r.header.Get(k); got != want {
						t.Fatalf("%s %s: %s %q, want %q", path, origin, k, got, want)
					}
				}
			}
			// DOT's OPTIONS answer, unchanged: without Origin, without
			// Access-Control-Request-Method, from an unlisted origin.
			for name, headers := range map[string][]string{
				"no origin":           nil,
				"not a preflight":     {"Origin", spaOrigin},
				"unlisted preflight":  {"Origin", evilOrigin, "Access-Control-Request-Method", "POST"},
				"method, no origin":   {"Access-Control-Request-Method", "POST"},
				"null origin (file:)": {"Origin", "null", "Access-Control-Request-Method", "POST"},
			} {
				r := e.do("OPTIONS", path, nil, headers...)
				expect(t, r, 200, "")
				noCORS(t, r)
				wantAllow := methods + ", OPTIONS"
				if path == "/o/introspect/" {
					wantAllow = "GET, POST, HEAD, OPTIONS" // DOT's view answers HEAD too; a preflight names GET and POST
				}
				if allow := r.header.Get("Allow"); allow != wantAllow || r.header.Get("Content-Type") != "text/html; charset=utf-8" || len(r.body) != 0 {
					t.Fatalf("%s %s: Allow %q, Content-Type %q, body %q", path, name, allow, r.header.Get("Content-Type"), r.body)
				}
			}
		}

		// A new origin is seen once the cached union expires.
		if _, err := e.clients.SetAllowedOrigins(context.Background(), "cc-client", []string{"https://new.example"}); err != nil {
			t.Fatal(err)
		}
		noCORS(t, preflight(e, "/o/token/", "https://new.example", "POST"))
		e.clock.advance(6 * time.Second)
		r := preflight(e, "/o/token/", "https://new.example", "POST")
		expect(t, r, 204, "")
		corsAllowed(t, r, "https://new.example")
	})
}

// The consent page and the other HTML pages are never opened to other
// origins, whatever the applications list.
func TestCORSNeverOnPages(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.withOrigins()
		q := url.Values{"response_type": {"code"}, "client_id": {"pub-client"}, "redirect_uri": {redirectURI}}.Encode()
		for _, path := range []string{"/o/authorize/?" + q, "/o/applications/", "/o/authorized_tokens/", "/admin/login/"} {
			r := preflight(e, path, spaOrigin, "POST")
			noCORS(t, r)
			if r.status == http.StatusNoContent {
				t.Fatalf("%s: preflight answered 204", path)
			}
			noCORS(t, e.do("GET", path, nil, "Origin", spaOrigin))
			noCORS(t, e.do("POST", path, url.Values{}, "Origin", spaOrigin))
		}
	})
}

// The public documents (the JWKS, the RFC 8414 metadata) allow any origin
// an application lists, and always say they vary by Origin (shared caches
// keep them).
func TestCORSPublicDocuments(t *testing.T) {
	each(t, func(c *config) { c.Issuer = "https://auth.example.com" }, func(t *testing.T, e *env) {
		e.withOrigins()
		for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/jwks.json"} {
			for _, origin := range []string{spaOrigin, confOrigin} {
				r := e.do("GET", path, nil, "Origin", origin)
				expect(t, r, 200, "")
				corsAllowed(t, r, origin)
				r = preflight(e, path, origin, "GET")
				expect(t, r, 204, "")
				corsAllowed(t, r, origin)
				if got := r.header.Get("Access-Control-Allow-Methods"); got != "GET, HEAD" {
					t.Fatalf("%s: Allow-Methods %q", path, got)
				}
			}
			for _, headers := range [][]string{{"Origin", evilOrigin}, nil} {
				r := e.do("GET", path, nil, headers...)
				expect(t, r, 200, "")
				noCORS(t, r)
				if !slices.Contains(r.header.Values("Vary"), "Origin") {
					t.Fatalf("%s: Vary %q", path, r.header.Values("Vary"))
				}
			}
			noCORS(t, preflight(e, path, evilOrigin, "GET"))
		}
	})
}
