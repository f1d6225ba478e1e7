// Package openapi holds gatehouse's OpenAPI 3.1 document and prepares it
// for one server: the endpoints that server serves with its settings, at
// its URLs, as JSON, YAML and an HTML page (no script, no asset from
// elsewhere).
//
// The document is written in gatehouse.yaml; gatehouse.json, the copy
// embedded here, is generated from it by this package's tests
// (`go test ./server/openapi/ -run TestJSONInSync -update`), which fail
// while the two differ. The standard library alone reads and writes it:
// the YAML library is a test dependency only.
package openapi

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed gatehouse.json
var embedded []byte

// Settings are what a server serves: they decide which paths the
// document lists and where.
type Settings struct {
	// Features are the optional parts served (see Feature*); a path item
	// with "x-gatehouse-when: X" is listed when X is on, "no-X" when it
	// is off.
	Features map[string]bool
	// Paths are the configured paths of the path items marked
	// "x-gatehouse-path: NAME" (PathLogin, PathLogout, PathMetrics); an
	// absent name keeps the written path.
	Paths map[string]string
	// ServerURL is the base URL of every path: the issuer (scheme, host
	// and mount prefix) when set, else the mount prefix, else "" for "/".
	ServerURL string
	// Scopes are the OAuth scopes offered, in settings order (nil keeps
	// the document's).
	Scopes []Scope
	// Version is the server's version, the document's info.version ("":
	// the written one).
	Version string
	// UsernameField is the field simplejwt's /access-token/ reads the
	// login name from ("" or "username": the written one).
	UsernameField string
}

// Scope is an OAuth scope and its description.
type Scope struct{ Name, Description string }

// The features a path item may depend on.
const (
	FeatureSimpleJWT   = "simplejwt"    // the simplejwt views
	FeatureOIDC        = "oidc"         // OpenID Connect
	FeatureJWKS        = "jwks"         // /.well-known/jwks.json (OIDC or simplejwt)
	FeatureMetadata    = "metadata"     // RFC 8414 metadata (an issuer)
	FeatureForwardAuth = "forward-auth" // /auth/verify/
	FeatureMetrics     = "metrics"      // the metrics on the main listener
	FeatureAdmin       = "admin"        // the admin API under /api/admin/ and the admin site
	FeatureBranding    = "branding"     // a templates directory's static files
)

// The path items whose path is a setting.
const (
	PathLogin   = "login"
	PathLogout  = "logout"
	PathMetrics = "metrics"
)

// Document is the document for one server's settings.
type Document struct {
	root *node
	json []byte
	yaml []byte
}

// New prepares the document for s. It fails only when the embedded
// document does not parse, which its tests rule out.
func New(s Settings) (*Document, error) {
	src, err := parse(embedded)
	if err != nil {
		return nil, fmt.Errorf("openapi: the embedded document: %w", err)
	}
	root := src.clone()
	filterPaths(root, s)
	base := strings.TrimSuffix(s.ServerURL, "/")
	server := &node{kind: kindObject}
	server.set("url", str(base+"/"))
	if base == "" {
		server.set("url", str("/"))
	}
	root.set("servers", &node{kind: kindArray, vals: []*node{server}})
	if s.Version != "" {
		if info := root.get("info"); info != nil {
			info.set("version", str(s.Version))
		}
	}
	if oauth := root.get("components").get("securitySchemes").get("oauth2"); oauth != nil {
		flows := oauth.get("flows")
		for _, flow := range flows.vals {
			for _, k := range []string{"authorizationUrl", "tokenUrl", "refreshUrl"} {
				if u := flow.text(k); strings.HasPrefix(u, "/") {
					flow.set(k, str(base+u))
				}
			}
			if s.Scopes != nil {
				scopes := &node{kind: kindObject}
				for _, sc := range s.Scopes {
					scopes.set(sc.Name, str(sc.Description))
				}
				flow.set("scopes", scopes)
			}
		}
	}
	if f := s.UsernameField; f != "" && f != "username" {
		renameJWTLoginField(root, f)
	}
	d := &Document{root: root}
	d.json = append(root.appendJSON(nil, 0), '\n')
	d.yaml = root.appendYAML(nil, 0)
	return d, nil
}

// renameJWTLoginField makes /access-token/ read its login name from field:
// its request body and its field errors get schemas of their own
// (JWTCredentials, JWTLoginFieldErrors) naming field where the shared ones
// name username, which DRF's token login and the OAuth password grant
// still read.
func renameJWTLoginField(root *node, field string) {
	post := root.get("paths").get("/access-token/").get("post")
	components := root.get("components")
	schemas := components.get("schemas")
	body, errs := components.get("requestBodies").get("Credentials"), components.get("responses").get("LoginErrors")
	if post == nil || schemas == nil || body == nil || errs == nil {
		return
	}
	rename := func(schema, as string) {
		s := schemas.get(schema)
		if s == nil {
			return
		}
		s = s.clone()
		if props := s.get("properties"); props != nil {
			for i, k := range props.keys {
				if k == "username" {
					props.keys[i] = field
				}
			}
		}
		for _, r := range s.get("required").list() {
			if r.kind == kindString && r.value == "username" {
				r.value = field
			}
		}
		schemas.set(as, s)
	}
	ref := func(to string) *node {
		n := &node{kind: kindObject}
		n.set("$ref", str("#/components/schemas/"+to))
		return n
	}
	rename("Credentials", "JWTCredentials")
	rename("LoginFieldErrors", "JWTLoginFieldErrors")
	body = body.clone()
	for _, media := range body.get("content").list() {
		media.set("schema", ref("JWTCredentials"))
	}
	post.set("requestBody", body)
	errs = errs.clone()
	errs.set("description", str(fmt.Sprintf("Missing or blank fields (`{\"%s\": [\"This field is required.\"]}`), or a body DRF could not parse.", field)))
	if json := errs.get("content").get("application/json"); json != nil {
		oneOf := &node{kind: kindArray, vals: []*node{ref("Detail"), ref("JWTLoginFieldErrors")}}
		schema := &node{kind: kindObject}
		schema.set("oneOf", oneOf)
		json.set("schema", schema)
	}
	if responses := post.get("responses"); responses != nil {
		responses.set("400", errs)
	}
}

// filterPaths keeps the path items s serves, at their configured paths.
// A written path may carry a "#name" suffix so that two items (a feature
// on, and off) can describe one path; the suffix is dropped.
func filterPaths(root *node, s Settings) {
	paths := root.get("paths")
	if paths == nil {
		return
	}
	out := &node{kind: kindObject}
	for i, p := range paths.keys {
		item := paths.vals[i]
		if when := item.text("x-gatehouse-when"); when != "" {
			on := s.Features[strings.TrimPrefix(when, "no-")]
			if strings.HasPrefix(when, "no-") {
				on = !on
			}
			if !on {
				continue
			}
		}
		if name := item.text("x-gatehouse-path"); name != "" && s.Paths[name] != "" {
			p = s.Paths[name]
		}
		p, _, _ = strings.Cut(p, "#")
		item.del("x-gatehouse-when")
		item.del("x-gatehouse-path")
		out.set(p, item)
	}
	paths.keys, paths.vals = out.keys, out.vals
}

// JSON is the document as indented JSON.
func (d *Document) JSON() []byte { return d.json }

// YAML is the document as block YAML.
func (d *Document) YAML() []byte { return d.yaml }

// Paths lists the document's paths in order.
func (d *Document) Paths() []string {
	return append([]string(nil), d.root.get("paths").keys...)
}
