package openapi

import (
	"context"
	"encoding/json"
	"html/template"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	yaml "go.yaml.in/yaml/v4"
)

var allFeatures = []string{FeatureSimpleJWT, FeatureOIDC, FeatureJWKS, FeatureMetadata, FeatureForwardAuth, FeatureMetrics, FeatureAdmin, FeatureBranding}

// everySettings are the settings with every feature off, every one on,
// each one alone and each one missing: each path item is served alone and
// beside every other.
func everySettings() []Settings {
	with := func(on func(i int) bool) Settings {
		s := Settings{Features: map[string]bool{}}
		for i, f := range allFeatures {
			s.Features[f] = on(i)
		}
		return s
	}
	out := []Settings{with(func(int) bool { return false }), with(func(int) bool { return true })}
	for j := range allFeatures {
		out = append(out, with(func(i int) bool { return i == j }), with(func(i int) bool { return i != j }))
	}
	return out
}

// TestDocumentValid validates the document served with the combinations
// of features of everySettings with kin-openapi (OpenAPI 3.1, JSON Schema 2020-12).
func TestDocumentValid(t *testing.T) {
	for _, s := range everySettings() {
		d, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := openapi3.NewLoader().LoadFromData(d.JSON())
		if err != nil {
			t.Fatalf("%v: %v", s.Features, err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("%v: %v", s.Features, err)
		}
		if !doc.IsOpenAPI31OrLater() {
			t.Fatalf("openapi %s, want 3.1", doc.OpenAPI)
		}
	}
}

// TestYAMLIsJSON checks that the YAML served reads back as the JSON served.
func TestYAMLIsJSON(t *testing.T) {
	d, err := New(Settings{Features: map[string]bool{FeatureOIDC: true, FeatureSimpleJWT: true}, ServerURL: "https://auth.example.com/sso",
		Scopes: []Scope{{"read", "Read"}, {"y", "a key YAML 1.1 reads as true"}}, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal(d.JSON(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(d.YAML(), &fromYAML); err != nil {
		t.Fatalf("the YAML does not parse: %v", err)
	}
	b, err := json.Marshal(fromYAML) // numbers as JSON has them
	if err != nil {
		t.Fatal(err)
	}
	var normal any
	json.Unmarshal(b, &normal)
	if !reflect.DeepEqual(fromJSON, normal) {
		t.Fatal("the YAML and the JSON differ")
	}
	if !strings.Contains(string(d.YAML()), "\n  description: |\n    gatehouse answers") {
		t.Error("multi-line descriptions are not literal blocks")
	}
}

// TestSettingsShapeTheDocument checks that only what a server serves is
// listed, at its paths and URLs.
func TestSettingsShapeTheDocument(t *testing.T) {
	bare, err := New(Settings{})
	if err != nil {
		t.Fatal(err)
	}
	paths := bare.Paths()
	for _, absent := range []string{"/access-token/", "/.well-known/jwks.json", "/.well-known/openid-configuration", "/auth/verify/", "/metrics",
		"/.well-known/oauth-authorization-server"} {
		if slices.Contains(paths, absent) {
			t.Errorf("%s listed with its feature off", absent)
		}
	}
	for _, p := range paths {
		if strings.Contains(p, "#") {
			t.Errorf("%s: the #suffix is served", p)
		}
	}
	if !slices.Contains(paths, "/o/userinfo/") || !slices.Contains(paths, "/admin/login/") {
		t.Errorf("paths %v", paths)
	}
	full, err := New(Settings{Features: map[string]bool{FeatureSimpleJWT: true, FeatureOIDC: true, FeatureJWKS: true, FeatureMetrics: true},
		Paths:     map[string]string{PathLogin: "/accounts/login/", PathLogout: "/accounts/logout/", PathMetrics: "/internal/metrics"},
		ServerURL: "https://auth.example.com/sso", Scopes: []Scope{{"openid", "OpenID"}, {"read", "Read"}}, Version: "9.9"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/access-token/", "/.well-known/jwks.json", "/o/logout/", "/accounts/login/", "/accounts/logout/", "/internal/metrics"} {
		if !slices.Contains(full.Paths(), want) {
			t.Errorf("%s missing from %v", want, full.Paths())
		}
	}
	if slices.Contains(full.Paths(), "/admin/login/") {
		t.Error("the default login path is listed beside the configured one")
	}
	var doc struct {
		Info    struct{ Version string }
		Servers []struct{ URL string }
		Comp    struct {
			Schemes struct {
				OAuth2 struct {
					Flows map[string]struct {
						TokenURL string            `json:"tokenUrl"`
						Scopes   map[string]string `json:"scopes"`
					}
				} `json:"oauth2"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(full.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Version != "9.9" || len(doc.Servers) != 1 || doc.Servers[0].URL != "https://auth.example.com/sso/" {
		t.Errorf("info %+v servers %+v", doc.Info, doc.Servers)
	}
	pw := doc.Comp.Schemes.OAuth2.Flows["password"]
	if pw.TokenURL != "https://auth.example.com/sso/o/token/" || !reflect.DeepEqual(pw.Scopes, map[string]string{"openid": "OpenID", "read": "Read"}) {
		t.Errorf("password flow %+v", pw)
	}
}

// TestNoShapelessSchemas fails on a schema that says nothing ({} or a bare
// object) where the document should give the shape.
func TestNoShapelessSchemas(t *testing.T) {
	d, err := New(Settings{Features: map[string]bool{FeatureSimpleJWT: true, FeatureOIDC: true, FeatureJWKS: true, FeatureMetadata: true,
		FeatureForwardAuth: true, FeatureMetrics: true, FeatureAdmin: true, FeatureBranding: true}})
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		if n.kind == kindObject {
			if s := n.get("schema"); s != nil && s.kind == kindObject {
				if len(s.keys) == 0 || (len(s.keys) == 1 && s.text("type") == "object") {
					t.Errorf("%s: a schema without a shape", path)
				}
			}
		}
		for i, v := range n.vals {
			k := ""
			if n.kind == kindObject {
				k = n.keys[i]
			}
			walk(v, path+"/"+k)
		}
	}
	walk(d.root, "")
}

// TestHTML renders the page for the combinations of everySettings: each
// operation and schema is on it, with no script and no asset from
// elsewhere.
func TestHTML(t *testing.T) {
	for _, s := range everySettings() {
		d, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		page := string(d.HTML("/api/schema/"))
		for _, p := range d.Paths() {
			if !strings.Contains(page, "<code>"+template.HTMLEscapeString(p)+"</code>") {
				t.Errorf("%v: %s is not on the page", s.Features, p)
			}
		}
		for _, name := range d.root.get("components").get("schemas").names() {
			if !strings.Contains(page, `id="schema-`+name+`"`) {
				t.Errorf("schema %s is not on the page", name)
			}
		}
		for _, bad := range []string{"<script", "http://", "https://", "style=", "<img", "<iframe"} {
			if strings.Contains(page, bad) {
				t.Fatalf("the page has %q", bad)
			}
		}
	}
}

func TestInlineCode(t *testing.T) {
	for in, want := range map[string]string{
		"a `b` c":        "a <code>b</code> c",
		"`<x>` & y":      "<code>&lt;x&gt;</code> &amp; y",
		"one ` unpaired": "one ` unpaired",
		"`a` and `b` `c": "<code>a</code> and <code>b</code> `c",
	} {
		if got := string(inlineCode(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// A username field other than username renames the field in
// /access-token/'s request body and field errors only: DRF's token login
// keeps reading username.
func TestUsernameFieldShapesTheJWTLogin(t *testing.T) {
	d, err := New(Settings{Features: map[string]bool{FeatureSimpleJWT: true}, UsernameField: "email"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage
				Required   []string
			}
		}
	}
	if err := json.Unmarshal(d.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	jwtLogin := string(doc.Paths["/access-token/"]["post"])
	drfLogin := string(doc.Paths["/api-token-auth/"]["post"])
	if !strings.Contains(jwtLogin, "#/components/schemas/JWTCredentials") || !strings.Contains(jwtLogin, "#/components/schemas/JWTLoginFieldErrors") {
		t.Errorf("/access-token/ does not use the renamed schemas: %.300s", jwtLogin)
	}
	if strings.Contains(drfLogin, "JWTCredentials") {
		t.Errorf("/api-token-auth/ uses the renamed schemas")
	}
	cred, errs := doc.Components.Schemas["JWTCredentials"], doc.Components.Schemas["JWTLoginFieldErrors"]
	if cred.Properties["email"] == nil || cred.Properties["username"] != nil || !slices.Equal(cred.Required, []string{"email", "password"}) {
		t.Errorf("JWTCredentials: %+v", cred)
	}
	if errs.Properties["email"] == nil || errs.Properties["username"] != nil {
		t.Errorf("JWTLoginFieldErrors: %+v", errs)
	}
	if shared := doc.Components.Schemas["Credentials"]; shared.Properties["username"] == nil || shared.Properties["email"] != nil {
		t.Errorf("the shared Credentials changed: %+v", shared)
	}
	plain, err := New(Settings{Features: map[string]bool{FeatureSimpleJWT: true}, UsernameField: "username"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain.JSON()), "JWTCredentials") {
		t.Error("the default username field renamed something")
	}
}
