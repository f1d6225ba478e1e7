package server

import (
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/server/openapi"
)

// The OpenAPI document at /api/schema/ (drf-spectacular's path and content
// negotiation) and its rendering at /api/docs/, both describing what this
// server serves with its settings (server/openapi).

// hvDocsCSP lets the documentation page load its own style sheet and
// nothing else: it has no script, image or form.
var hvDocsCSP = []string{"default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}

// apiDocs is the document prepared once for this server.
type apiDocs struct {
	json, yaml, html []byte
}

// openAPISettings are the settings that shape the served document.
func (s *Server) openAPISettings() openapi.Settings {
	st := openapi.Settings{
		UsernameField: s.cfg.UsernameField,
		Features: map[string]bool{
			openapi.FeatureSimpleJWT:   s.pairs != nil,
			openapi.FeatureOIDC:        s.oidc != nil,
			openapi.FeatureJWKS:        s.pairs != nil || s.oidc != nil,
			openapi.FeatureMetadata:    s.metadata != nil,
			openapi.FeatureForwardAuth: s.fwd != nil,
			openapi.FeatureMetrics:     s.metrics != nil && s.cfg.MetricsPath != "",
			openapi.FeatureAdmin:       s.admin != nil,
			openapi.FeatureBranding:    s.brandStatic != "",
		},
		Paths: map[string]string{
			openapi.PathLogin:   strings.TrimSuffix(s.ocfg.LoginURL, "/") + "/",
			openapi.PathLogout:  s.logoutURL,
			openapi.PathMetrics: s.cfg.MetricsPath,
		},
		ServerURL: s.cfg.MountPrefix,
	}
	if s.cfg.Issuer != "" {
		st.ServerURL = s.cfg.Issuer
	}
	for _, sc := range s.ocfg.Scopes {
		st.Scopes = append(st.Scopes, openapi.Scope{Name: sc.Name, Description: sc.Description})
	}
	return st
}

// buildAPIDocs prepares the document, its YAML and its page.
func (s *Server) buildAPIDocs() (*apiDocs, error) {
	d, err := openapi.New(s.openAPISettings())
	if err != nil {
		return nil, err
	}
	return &apiDocs{json: d.JSON(), yaml: d.YAML(), html: d.HTML(s.url("/api/schema/"))}, nil
}

// apiDocs returns the document, built at its first request: building it
// allocates about 10 MB and takes some 40 ms, which a server that is
// never asked for it (most are: it is for people and code generators)
// should not pay at every start, in its ready time and in its resident
// memory (34 → 26 MB idle). It fails only if the embedded document does
// not parse, which server/openapi's tests rule out; the pages would then
// answer 500 (serverError logs it).
func (s *Server) apiDocs() (*apiDocs, error) {
	s.docsOnce.Do(func() { s.docs, s.docsErr = s.buildAPIDocs() })
	return s.docs, s.docsErr
}

// schemaRenderers are drf-spectacular's SpectacularAPIView renderers in
// its order: the first is the default.
var schemaRenderers = []struct{ mediaType, format, contentType string }{
	{"application/vnd.oai.openapi", "yaml", "application/vnd.oai.openapi; charset=utf-8"},
	{"application/yaml", "yaml", "application/yaml; charset=utf-8"},
	{"application/vnd.oai.openapi+json", "json", "application/vnd.oai.openapi+json"},
	{"application/json", "json", "application/json"},
}

// schemaView serves the document as DRF's DefaultContentNegotiation picks
// among drf-spectacular's renderers: ?format=yaml or json first (another
// value is 404), else the Accept header's media types from the most to
// the least specific, each tried against the renderers in order (q
// values are not weighed, as DRF does not), YAML without an Accept
// header, 406 when nothing matches.
func (s *Server) schemaView(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Vary"] = hvVaryDRF
	h.Set("Allow", "GET, HEAD, OPTIONS")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, detailOnly{Detail: `Method "` + r.Method + `" not allowed.`})
		return
	}
	chosen := -1
	if f := queryOf(r).Get("format"); f != "" {
		for i, rd := range schemaRenderers {
			if rd.format == f {
				chosen = i
				break
			}
		}
		if chosen < 0 {
			writeJSON(w, http.StatusNotFound, detailOnly{Detail: "Not found."})
			return
		}
	} else if chosen = negotiateSchema(r.Header.Get("Accept")); chosen < 0 {
		writeJSON(w, http.StatusNotAcceptable, detailOnly{Detail: "Could not satisfy the request Accept header."})
		return
	}
	docs, err := s.apiDocs()
	if err != nil {
		writeJSON(w, s.serverError(r, err), serverErrorBody)
		return
	}
	rd := schemaRenderers[chosen]
	body := docs.yaml
	if rd.format == "json" {
		body = docs.json
	}
	h.Set("Content-Type", rd.contentType)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// negotiateSchema returns the index of the renderer for accept, -1 for
// none.
func negotiateSchema(accept string) int {
	if strings.TrimSpace(accept) == "" {
		return 0
	}
	type want struct {
		typ, sub   string
		precedence int
	}
	var wants []want
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		typ, sub, _ := strings.Cut(strings.ToLower(strings.TrimSpace(mt)), "/")
		p := 2
		switch {
		case typ == "*":
			p = 0
		case sub == "*":
			p = 1
		default:
			for _, prm := range strings.Split(params, ";") {
				if k, _, _ := strings.Cut(strings.TrimSpace(prm), "="); k != "" && k != "q" {
					p = 3
				}
			}
		}
		wants = append(wants, want{typ, sub, p})
	}
	for p := 3; p >= 0; p-- {
		for i, rd := range schemaRenderers {
			typ, sub, _ := strings.Cut(rd.mediaType, "/")
			for _, w := range wants {
				if w.precedence == p && (w.typ == "*" || w.typ == typ && (w.sub == "*" || w.sub == sub)) {
					return i
				}
			}
		}
	}
	return -1
}

// docsPage serves the documentation page.
func (s *Server) docsPage(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	docs, err := s.apiDocs()
	if err != nil {
		writeJSON(w, s.serverError(r, err), serverErrorBody)
		return
	}
	h := w.Header()
	h["Content-Security-Policy"] = hvDocsCSP
	h.Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(docs.html)
}

// docsStyle serves the page's style sheet.
func (s *Server) docsStyle(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(openapi.CSS())
}
