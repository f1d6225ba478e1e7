package server_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"

	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/oidc"
	"github.com/gatehouse-auth/gatehouse/server"
)

// TestSchemaNegotiation checks /api/schema/ picks the format as
// drf-spectacular's SpectacularAPIView does under DRF's negotiation.
func TestSchemaNegotiation(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	const yamlCT, yaml2CT, jsonCT = "application/vnd.oai.openapi; charset=utf-8", "application/yaml; charset=utf-8", "application/vnd.oai.openapi+json"
	for _, tc := range []struct {
		query, accept string
		status        int
		contentType   string
	}{
		{"", "", 200, yamlCT},
		{"", "*/*", 200, yamlCT},
		{"?format=json", "", 200, jsonCT},
		{"?format=yaml", "", 200, yamlCT},
		{"?format=json", "application/xml", 200, jsonCT}, // the format wins, as in DRF
		{"", "application/json", 200, "application/json"},
		{"", "application/vnd.oai.openapi+json", 200, jsonCT},
		{"", "application/yaml", 200, yaml2CT},
		{"", "application/*", 200, yamlCT},
		{"", "text/html, application/json;q=0.1", 200, "application/json"}, // q values are not weighed
		{"", "application/json, application/vnd.oai.openapi", 200, yamlCT}, // equal precedence: the renderers' order
		{"", "*/*, application/json; indent=2", 200, "application/json"},   // the more specific first
		{"?format=xml", "", 404, "application/json"},
		{"", "application/xml", 406, "application/json"},
	} {
		r := e.do("GET", "/api/schema/"+tc.query, nil, "Accept", tc.accept)
		if r.status != tc.status || r.header.Get("Content-Type") != tc.contentType {
			t.Errorf("%q Accept %q: %d %s, want %d %s", tc.query, tc.accept, r.status, r.header.Get("Content-Type"), tc.status, tc.contentType)
		}
	}
	asJSON := e.do("GET", "/api/schema/?format=json", nil)
	asYAML := e.do("GET", "/api/schema/", nil)
	var j, y any
	if err := json.Unmarshal(asJSON.body, &j); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(asYAML.body, &y); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(y)
	var yj any
	json.Unmarshal(b, &yj)
	if !reflect.DeepEqual(j, yj) {
		t.Error("the YAML and the JSON served differ")
	}
	if !slices.Contains(strings.Split(asJSON.header.Get("Vary"), ", "), "Accept") {
		t.Errorf("Vary %q", asJSON.header.Get("Vary"))
	}
	expect(t, e.do("POST", "/api/schema/", nil), 405, `{"detail":"Method \"POST\" not allowed."}`)
	if r := e.do("HEAD", "/api/schema/?format=json", nil); r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != jsonCT {
		t.Errorf("HEAD: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

// TestDocsPage checks the documentation page: every asset from gatehouse,
// no script, a policy that allows nothing else.
func TestDocsPage(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *config) { c.MountPrefix = "/auth" })
	r := e.do("GET", "/api/docs/", nil)
	expect(t, r, 200, "")
	if got := r.header.Get("Content-Security-Policy"); got != "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" {
		t.Errorf("CSP %q", got)
	}
	page := string(r.body)
	for _, want := range []string{`<link rel="stylesheet" href="docs.css">`, `<a href="/auth/api/schema/?format=json">`, `id="op-signUp"`, `id="schema-OAuthError"`,
		"Base URL <code>/auth/</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", " style="} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	css := e.do("GET", "/api/docs/docs.css", nil)
	if css.status != 200 || css.header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(string(css.body), "body {") {
		t.Errorf("docs.css: %d %s", css.status, css.header.Get("Content-Type"))
	}
	expect(t, e.do("DELETE", "/api/docs/", nil), 405, `{"detail":"Method \"DELETE\" not allowed."}`)
}

// TestEveryRouteDocumented checks, for servers with every optional part on
// and with them off, that the document served lists exactly the routes
// routes.go registered.
func TestEveryRouteDocumented(t *testing.T) {
	signer := oidctest.New(t)
	full := buildWith(t, "sqlite", func(c *config) {
		c.Issuer, c.OAuth.Issuer, c.MetricsPath, c.OAuth.LoginURL = testIssuer, testIssuer, "/metrics", "/accounts/login/"
	}, func(w *wiring) {
		p, err := oidc.New(oidc.Deps{Config: oidc.Config{Issuer: testIssuer}, Signer: signer, Now: w.Server.Now})
		if err != nil {
			t.Fatal(err)
		}
		w.OAuth.IDTokens, w.Server.OIDC, w.OAuth.AccessTokens = p, p, signer
		withPolicy(fwdPolicy)(w)
		w.Server.Metrics = http.NotFoundHandler()
	})
	bare := newEnv(t, "sqlite", nil)
	for name, e := range map[string]*env{"every part on": full, "defaults": bare} {
		var doc struct {
			Paths map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(server.OpenAPIJSON(e.srv), &doc); err != nil {
			t.Fatal(err)
		}
		routes := map[string]bool{}
		for _, p := range server.Routes(e.srv) {
			if _, after, ok := strings.Cut(p, " "); ok {
				p = after // "GET /metrics"
			}
			p = strings.TrimSuffix(p, "{$}")
			if p == "/" {
				continue // the catch-all 404
			}
			routes[p] = true
			if doc.Paths[p] == nil {
				t.Errorf("%s: route %s is not in the document", name, p)
			}
		}
		for p := range doc.Paths {
			if !routes[p] {
				t.Errorf("%s: the document lists %s, which is not served", name, p)
			}
		}
		if name == "every part on" {
			for _, p := range []string{"/o/userinfo/", "/.well-known/oauth-authorization-server", "/auth/verify/", "/metrics", "/accounts/login/", "/accounts/logout/"} {
				if !routes[p] {
					t.Errorf("%s is not served with every part on", p)
				}
			}
		}
	}
}
