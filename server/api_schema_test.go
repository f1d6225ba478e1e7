package server_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"

	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/oidc"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/server/openapi"
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

// TestEveryRouteDocumented reads every route the server package registers
// (each mux.Handle and mux.HandleFunc call in its source, routes.go and
// any other file, and the calls of a function literal that registers its
// argument) and checks that the document lists exactly those paths, every
// optional part on. The patterns whose path is a setting (the login and
// logout pages, the metrics) are the document's x-gatehouse-path items; a
// pattern made at run time under a path item marked x-gatehouse-pages (the
// admin site's HTML pages) is covered by it.
func TestEveryRouteDocumented(t *testing.T) {
	exact, under := registeredRoutes(t)
	d, err := openapi.New(openapi.Settings{Features: map[string]bool{openapi.FeatureSimpleJWT: true, openapi.FeatureOIDC: true,
		openapi.FeatureJWKS: true, openapi.FeatureMetadata: true, openapi.FeatureForwardAuth: true, openapi.FeatureMetrics: true,
		openapi.FeatureAdmin: true, openapi.FeatureBranding: true}, Paths: map[string]string{openapi.PathLogin: "<login>", openapi.PathLogout: "<logout>", openapi.PathMetrics: "<metrics>"}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]struct {
			Pages bool `json:"x-gatehouse-pages"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(d.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	covered := func(p string) bool {
		for q, item := range doc.Paths {
			if item.Pages && strings.HasPrefix(p, q) {
				return true
			}
		}
		return false
	}
	for p := range doc.Paths {
		if !exact[p] {
			t.Errorf("the document lists %s, which no route serves", p)
		}
	}
	for p := range exact {
		if _, ok := doc.Paths[p]; !ok && !covered(p) {
			t.Errorf("route %s is not in the document (server/openapi/gatehouse.yaml)", p)
		}
	}
	for p := range under {
		if !covered(p) {
			t.Errorf("routes made at run time under %s are not covered by a path item with x-gatehouse-pages", p)
		}
	}
	if len(exact) < 30 {
		t.Errorf("only %d routes read from the source: %v", len(exact), exact)
	}
}

// registeredRoutes evaluates the pattern of every route registration in
// the package's source: string literals, the package's string constants
// and oidc's, a range variable over a list of literals; "<login>",
// "<logout>" and "<metrics>" for the patterns made of those settings.
// exact are the patterns read whole; under are the known beginnings of
// patterns whose end is made at run time. A pattern it cannot read at all
// fails the test.
func registeredRoutes(t *testing.T) (exact, under map[string]bool) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{"oidc.UserinfoPath": oidc.UserinfoPath, "oidc.EndSessionPath": oidc.EndSessionPath}
	var files []*ast.File
	for _, f := range pkgs["server"].Files {
		files = append(files, f)
	}
	var eval func(e ast.Expr, ranges map[string][]string) []string
	eval = func(e ast.Expr, ranges map[string][]string) []string {
		switch e := e.(type) {
		case *ast.BasicLit:
			if v, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
				return []string{v}
			}
		case *ast.Ident:
			if v, ok := consts[e.Name]; ok {
				return []string{v}
			}
			return ranges[e.Name]
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				if v, ok := consts[x.Name+"."+e.Sel.Name]; ok {
					return []string{v}
				}
			}
		case *ast.BinaryExpr:
			l, r := eval(e.X, ranges), eval(e.Y, ranges)
			if e.Op == token.ADD && len(l) == 1 && len(r) == 1 {
				return []string{l[0] + r[0]}
			}
		case *ast.ParenExpr:
			return eval(e.X, ranges)
		}
		return nil
	}
	// The package's string constants, until no more resolve.
	for range 5 {
		for _, f := range files {
			for _, decl := range f.Decls {
				g, ok := decl.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							if v := eval(vs.Values[i], nil); len(v) == 1 {
								consts[name.Name] = v[0]
							}
						}
					}
				}
			}
		}
	}
	isMuxCall := func(call *ast.CallExpr) bool {
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(call.Args) != 2 {
			return false
		}
		x, ok := sel.X.(*ast.Ident)
		return ok && x.Name == "mux"
	}
	// Function literals that register their first argument
	// (handle := func(pattern string, ...) { ...; mux.HandleFunc(pattern, h) }).
	wrappers, wrapperParams := map[string]bool{}, map[*ast.Object]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
				return true
			}
			name, ok := as.Lhs[0].(*ast.Ident)
			fl, ok2 := as.Rhs[0].(*ast.FuncLit)
			if !ok || !ok2 || len(fl.Type.Params.List) == 0 || len(fl.Type.Params.List[0].Names) == 0 {
				return true
			}
			param := fl.Type.Params.List[0].Names[0]
			ast.Inspect(fl.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok && isMuxCall(call) {
					if id, ok := call.Args[0].(*ast.Ident); ok && id.Obj == param.Obj {
						wrappers[name.Name], wrapperParams[param.Obj] = true, true
					}
				}
				return true
			})
			return true
		})
	}
	exact, under = map[string]bool{}, map[string]bool{}
	for _, f := range files {
		ranges := map[string][]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			if rs, ok := n.(*ast.RangeStmt); ok {
				if v, ok := rs.Value.(*ast.Ident); ok {
					if lit, ok := rs.X.(*ast.CompositeLit); ok {
						var vals []string
						for _, el := range lit.Elts {
							vals = append(vals, eval(el, nil)...)
						}
						ranges[v.Name] = vals
					}
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch {
			case isMuxCall(call):
				if id, ok := call.Args[0].(*ast.Ident); ok && wrapperParams[id.Obj] {
					return true // read at the wrapper's calls
				}
			case len(call.Args) == 2:
				if id, ok := call.Fun.(*ast.Ident); !ok || !wrappers[id.Name] {
					return true
				}
			default:
				return true
			}
			var src strings.Builder
			printer.Fprint(&src, fset, call.Args[0])
			patterns := eval(call.Args[0], ranges)
			switch text := src.String(); {
			case len(patterns) > 0:
			case strings.Contains(text, "LoginURL"):
				patterns = []string{"<login>"}
			case strings.Contains(text, "logoutURL"):
				patterns = []string{"<logout>"}
			case strings.Contains(text, "MetricsPath"):
				patterns = []string{"<metrics>"}
			default:
				if b, ok := call.Args[0].(*ast.BinaryExpr); ok && b.Op == token.ADD {
					if l := eval(b.X, ranges); len(l) == 1 {
						under[l[0]] = true
						return true
					}
				}
				t.Errorf("%s: cannot read the pattern %s", fset.Position(call.Pos()), text)
			}
			for _, p := range patterns {
				if _, after, ok := strings.Cut(p, " "); ok {
					p = after // "GET /metrics"
				}
				if p = strings.TrimSuffix(p, "{$}"); p != "/" { // "/": the catch-all 404
					exact[p] = true
				}
			}
			return true
		})
	}
	return exact, under
}

// TestDocumentedPathsServed sends GET to every path of the document served
// by a server with every optional part on and by one with the defaults:
// none is answered by the catch-all 404 (an endpoint answers, if only 401
// or 405).
func TestDocumentedPathsServed(t *testing.T) {
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
		w.Server.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("up 1\n"))
		})
	})
	full.t = t
	bare := newEnv(t, "sqlite", nil)
	for name, e := range map[string]*env{"every part on": full, "defaults": bare} {
		var doc struct {
			Paths map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(server.OpenAPIJSON(e.srv), &doc); err != nil {
			t.Fatal(err)
		}
		for p := range doc.Paths {
			if strings.Contains(p, "{name}") {
				continue // an unknown asset's 404 is the catch-all's page
			}
			target := strings.NewReplacer("{id}", "1", "{kind}", "drf", "{credential}", "1", "{client_id}", "app").Replace(p)
			r := e.do("GET", target, nil, "Host", "id.example")
			if r.status == 404 && strings.Contains(string(r.body), "<title>Not Found</title>") {
				t.Errorf("%s: %s is documented but not served", name, p)
			}
		}
		if name == "every part on" {
			for _, p := range []string{"/o/userinfo/", "/.well-known/oauth-authorization-server", "/auth/verify/", "/metrics", "/accounts/login/", "/accounts/logout/"} {
				if doc.Paths[p] == nil {
					t.Errorf("%s is not in the document with every part on", p)
				}
			}
		}
	}
}
