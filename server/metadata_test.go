package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/server"
)

// The RFC 8414 metadata lists gatehouse's endpoints under the configured
// issuer and exactly what is enabled; without an issuer there is none.
func TestMetadata(t *testing.T) {
	const issuer = "https://auth.example.com/auth"
	each(t, func(c *config) { c.Issuer = issuer }, func(t *testing.T, e *env) {
		r := e.do("GET", "/.well-known/oauth-authorization-server", nil)
		expect(t, r, 200, `{"issuer":"https://auth.example.com/auth",`+
			`"authorization_endpoint":"https://auth.example.com/auth/o/authorize/",`+
			`"token_endpoint":"https://auth.example.com/auth/o/token/",`+
			`"scopes_supported":["read","write","groups"],`+
			`"response_types_supported":["code"],"response_modes_supported":["query"],`+
			`"grant_types_supported":["authorization_code","password","client_credentials","refresh_token","urn:ietf:params:oauth:grant-type:device_code"],`+
			`"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],`+
			`"revocation_endpoint":"https://auth.example.com/auth/o/revoke_token/",`+
			`"revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],`+
			`"introspection_endpoint":"https://auth.example.com/auth/o/introspect/",`+
			`"introspection_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],`+
			`"code_challenge_methods_supported":["S256"],`+
			`"device_authorization_endpoint":"https://auth.example.com/auth/o/device-authorization/"}`)
		if got := r.header.Get("Cache-Control"); got != "public, max-age=3600" {
			t.Errorf("Cache-Control %q", got)
		}
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type %q", got)
		}
		expect(t, e.do("HEAD", "/.well-known/oauth-authorization-server", nil), 200, "")
		r = e.do("POST", "/.well-known/oauth-authorization-server", nil)
		expect(t, r, 405, `{"detail":"Method \"POST\" not allowed."}`)
		if r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("Allow %q", r.header.Get("Allow"))
		}
		// A request header never moves the issuer.
		r = e.do("GET", "/.well-known/oauth-authorization-server", nil, "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http")
		if !strings.Contains(string(r.body), `"issuer":"https://auth.example.com/auth"`) || strings.Contains(string(r.body), "evil") {
			t.Errorf("issuer moved by a request header: %s", r.body)
		}
	})
	each(t, nil, func(t *testing.T, e *env) {
		expect(t, e.do("GET", "/.well-known/oauth-authorization-server", nil), 404, "")
	})
}

// An issuer that is not an https URL (http on loopback only) without
// query, fragment, credentials or trailing slash is refused, naming the
// setting.
func TestIssuerRefused(t *testing.T) {
	p, err := oauth.New(oauth.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"auth.example.com", "https://", "https://auth.example.com/", "http://auth.example.com",
		"https://auth.example.com?x=1", "https://auth.example.com#f", "https://u:p@auth.example.com", "ftp://auth.example.com",
		"https://auth.example.com/a/../b", "https://auth.example.com/a b", "http://10.0.0.1:8000", "/auth", "https:auth"} {
		cfg := server.DefaultConfig()
		cfg.Issuer = bad
		_, err := server.New(server.Deps{OAuth: p, Config: cfg})
		if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_ISSUER: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, good := range []string{"", "https://auth.example.com", "https://auth.example.com:8443/auth", "http://127.0.0.1:8000",
		"http://localhost:8000", "http://[::1]:8000"} {
		cfg := server.DefaultConfig()
		cfg.Issuer = good
		if _, err := server.New(server.Deps{OAuth: p, Config: cfg}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

// With asymmetric simplejwt keys the metadata lists the JWKS.
func TestMetadataJWKS(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := jwt.New(jwt.Config{Signing: jwt.Key{ID: "k1", Algorithm: jwt.RS256, Private: key}})
	if err != nil {
		t.Fatal(err)
	}
	eachWithConfig(t, func(c *config) { c.Issuer = "http://127.0.0.1:8000" }, func(w *wiring) { w.JWT.Codec, w.Authn.JWT = codec, codec },
		func(t *testing.T, e *env) {
			m := e.do("GET", "/.well-known/oauth-authorization-server", nil).json(t)
			if m["jwks_uri"] != "http://127.0.0.1:8000/.well-known/jwks.json" {
				t.Fatalf("jwks_uri %v", m["jwks_uri"])
			}
			if r := e.do("GET", "/.well-known/jwks.json", nil); !strings.Contains(string(r.body), `"kid":"k1"`) {
				t.Fatalf("the JWKS it names: %s", r.body)
			}
		})
}
