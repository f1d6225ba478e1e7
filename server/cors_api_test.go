package server_test

import (
	"context"
	"strings"
	"testing"
)

// A browser page of an allowed origin (cors-allowed-origins, or one an
// OAuth application lists) may call the DRF and simplejwt views: its
// preflight is answered 204 before authentication (as django-cors-headers
// answers it before DRF), the answer carries Access-Control-Allow-Origin
// and varies by Origin, and credentials are never allowed. Another
// origin's requests are answered as before, without CORS headers.
// (Found by a client-library pass: a SPA on another origin could get a
// token at /o/token/ but not call /api/me/ with it.)
func TestCORSOnTheAPIViews(t *testing.T) {
	each(t, func(c *config) { c.CORSOrigins = []string{"http://localhost:3000"} }, func(t *testing.T, e *env) {
		e.setupOAuth()
		if _, err := e.clients.SetAllowedOrigins(context.Background(), "spa-client", []string{"https://app.example"}); err != nil {
			t.Fatal(err)
		}
		key := e.tokenOf("alice", "alicepass")
		for _, origin := range []string{"http://localhost:3000", "https://app.example"} {
			r := e.do("OPTIONS", "/api/me/", nil, "Origin", origin, "Access-Control-Request-Method", "GET",
				"Access-Control-Request-Headers", "authorization")
			h := r.header
			if r.status != 204 || h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Methods") != "GET, HEAD, OPTIONS" ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || h.Get("Access-Control-Allow-Credentials") != "" {
				t.Fatalf("%s preflight: %d %v", origin, r.status, h)
			}
			r = e.do("GET", "/api/me/", nil, "Origin", origin, "Authorization", "Token "+key)
			if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(r.header.Get("Vary"), "Origin") ||
				r.header.Get("Access-Control-Allow-Credentials") != "" {
				t.Fatalf("%s GET: %d %v", origin, r.status, r.header)
			}
			r = e.do("POST", "/access-token/", map[string]string{"username": "alice", "password": "alicepass"}, "Origin", origin)
			if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != origin {
				t.Fatalf("%s simplejwt login: %d %v", origin, r.status, r.header)
			}
			// A refusal is readable too, so that the page can tell why.
			r = e.do("GET", "/api/me/", nil, "Origin", origin, "Authorization", "Token nope")
			if r.status != 401 || r.header.Get("Access-Control-Allow-Origin") != origin {
				t.Fatalf("%s refused: %d %v", origin, r.status, r.header)
			}
		}
		const evil = "https://evil.example"
		r := e.do("OPTIONS", "/api/me/", nil, "Origin", evil, "Access-Control-Request-Method", "GET")
		if r.status == 204 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("another origin's preflight: %d %v", r.status, r.header)
		}
		r = e.do("GET", "/api/me/", nil, "Origin", evil, "Authorization", "Token "+key)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || strings.Contains(r.header.Get("Vary"), "Origin") {
			t.Fatalf("another origin's GET: %d %v", r.status, r.header)
		}
		// The public OAuth documents follow the setting too.
		r = e.do("GET", "/o/.well-known/jwks.json", nil, "Origin", "http://localhost:3000")
		if r.status == 200 && r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
			t.Fatalf("JWKS: %d %v", r.status, r.header)
		}
	})
}
