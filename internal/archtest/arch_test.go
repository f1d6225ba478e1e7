// Package archtest checks the import rules of docs/architecture.md with
// `go list -deps`, and that the CLI builds the HTTP server only for serve.
package archtest

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-auth/gatehouse"

type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// list runs `go list -deps -json` on patterns and returns every package
// listed, by import path.
func list(t *testing.T, patterns ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command(goBinary(t), append([]string{"list", "-deps", "-json"}, patterns...)...)
	cmd.Dir = "../.."
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// goBinary is the go command the tests run under (`make test` puts it
// on PATH).
func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return p
}

// drivers are the database drivers and the migration tool; only the SQL
// store may depend on them.
var drivers = []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lib/pq", "github.com/pressly/goose",
	"github.com/go-sql-driver/mysql"}

func isDriver(path string) bool {
	for _, d := range drivers {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

func TestRootImportsOnlyTheStandardLibrary(t *testing.T) {
	pkgs := list(t, ".")
	for _, dep := range pkgs[module].Deps {
		if !pkgs[dep].Standard {
			t.Errorf("the root package depends on %s", dep)
		}
	}
}

// The HTTP layer, the services and the public packages reach storage only
// through the root package's interfaces: none of them depends on the SQL
// store or a driver, and the services know nothing of HTTP.
func TestLayers(t *testing.T) {
	services := []string{"accounts", "authn", "oauth", "oidc", "simplejwt", "audit", "keys", "admin"}
	// guard is public too, and the one that may know HTTP: it is a
	// middleware (TestGuardIsLight checks the rest of its dependencies).
	public := []string{"jwt", "password", "secret", "fixture", "knox", "djangoconf", "guard"}
	httpPublic := map[string]bool{"guard": true}
	pkgs := list(t, "./...")
	check := func(name string, forbidden func(string) bool, why string) {
		p, ok := pkgs[module+"/"+name]
		if !ok {
			t.Errorf("package %s not found", name)
			return
		}
		for _, dep := range p.Deps {
			if forbidden(dep) {
				t.Errorf("%s depends on %s: %s", name, dep, why)
			}
		}
	}
	sqlStore := func(dep string) bool {
		return dep == module+"/store" || dep == module+"/site" || isDriver(dep)
	}
	for _, name := range append(append([]string{"server"}, services...), public...) {
		check(name, sqlStore, "only site (the wiring) and the programs wire the SQL store in")
	}
	for _, name := range append(append([]string{}, services...), public...) {
		if httpPublic[name] {
			check(name, func(dep string) bool { return dep == module+"/server" }, "a public middleware knows nothing of gatehouse's HTTP server")
			continue
		}
		check(name, func(dep string) bool { return dep == module+"/server" || dep == "net/http" }, "services and public packages know nothing of HTTP")
	}
	for _, name := range public {
		check(name, func(dep string) bool {
			for _, s := range services {
				if dep == module+"/"+s {
					return true
				}
			}
			return false
		}, "public packages are usable without the services")
	}
}

// A Go service imports guard to protect its routes: what it pulls in is
// the root package, jwt (with go-jose) and the standard library, never a
// database driver, the store, the HTTP server or a service.
func TestGuardIsLight(t *testing.T) {
	pkgs := list(t, "./guard")
	p, ok := pkgs[module+"/guard"]
	if !ok {
		t.Fatal("package guard not found")
	}
	allowed := map[string]bool{module: true, module + "/jwt": true}
	for _, dep := range p.Deps {
		switch {
		case pkgs[dep].Standard:
		case isDriver(dep):
			t.Errorf("guard depends on the database driver %s", dep)
		case strings.HasPrefix(dep, module):
			if !allowed[dep] {
				t.Errorf("guard depends on %s: only the root package and jwt are allowed", dep)
			}
		case !strings.HasPrefix(dep, "github.com/go-jose/go-jose/v4"):
			t.Errorf("guard depends on %s: only go-jose outside the module", dep)
		}
	}
}

// Only the SQL store imports a database driver. The load benchmark is a
// development tool that writes a million rows straight into the database
// it measures the server against; it is the one exception.
func TestOnlyTheStoreImportsADriver(t *testing.T) {
	for path, p := range list(t, "./...") {
		if !strings.HasPrefix(path, module) || path == module+"/store" || path == module+"/bench" {
			continue
		}
		for _, imp := range p.Imports {
			if isDriver(imp) {
				t.Errorf("%s imports %s", path, imp)
			}
		}
	}
}

// The Django database reader (djangodb) reads through database/sql with the
// drivers the store registers: it imports the store for that alone (a
// blank import, so it calls nothing of it and writes nowhere), and knows
// nothing of the services or HTTP. It gives dumpdata objects; converting
// them stays the fixture package's one job.
func TestDjangoReaderTakesOnlyTheDriversFromTheStore(t *testing.T) {
	pkgs := list(t, "./djangodb")
	p, ok := pkgs[module+"/djangodb"]
	if !ok {
		t.Fatal("package djangodb not found")
	}
	for _, dep := range p.Deps {
		for _, s := range []string{"server", "accounts", "authn", "oauth", "simplejwt", "audit"} {
			if dep == module+"/"+s {
				t.Errorf("djangodb depends on %s", dep)
			}
		}
		if dep == "net/http" {
			t.Errorf("djangodb depends on net/http")
		}
	}
	matches, err := filepath.Glob("../../djangodb/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, path := range matches {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == `"`+module+`/store"` && (imp.Name == nil || imp.Name.Name != "_") {
				t.Errorf("%s imports the store by name: djangodb takes only its drivers (a blank import)", path)
			}
		}
	}
}

// The CLI's commands call the services; only serve builds the HTTP server:
// in package site, server.New is called in serverFor alone and serverFor
// in Open alone (OpenServices builds no server); in cmd/gatehouse, site.Open
// is called in cmdServe alone.
func TestOnlyServeBuildsTheHTTPServer(t *testing.T) {
	wiring := callers(t, "../../site", "server")
	if got := strings.Join(wiring["server.New"], ","); got != "serverFor" {
		t.Errorf("server.New is called by %q, want serverFor only", got)
	}
	if got := strings.Join(wiring["serverFor"], ","); got != "Open" {
		t.Errorf("serverFor is called by %q, want Open only", got)
	}
	cli := callers(t, "../../cmd/gatehouse", "site")
	if got := strings.Join(cli["site.Open"], ","); got != "cmdServe" {
		t.Errorf("site.Open is called by %q, want cmdServe only", got)
	}
	if got := cli["server.New"]; len(got) > 0 {
		t.Errorf("cmd/gatehouse calls server.New in %v; the site package builds the server", got)
	}
}

// callers maps each function called in the non-test files of dir (a
// method or function by name, a function of package pkg as "pkg.Name") to
// the functions calling it.
func callers(t *testing.T, dir, pkg string) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, path := range matches {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch f := call.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := f.X.(*ast.Ident); ok && (x.Name == pkg || x.Name == "server") {
						out[x.Name+"."+f.Sel.Name] = append(out[x.Name+"."+f.Sel.Name], fn.Name.Name)
					} else {
						out[f.Sel.Name] = append(out[f.Sel.Name], fn.Name.Name)
					}
				case *ast.Ident:
					out[f.Name] = append(out[f.Name], fn.Name.Name)
				}
				return true
			})
		}
	}
	return out
}

// Another Go module can import the public packages by the module path: a
// program in a module of its own (pointed at this checkout with a replace
// directive, as `go get` would fetch it) mints a token with a private key,
// and verifies it knowing only the published JWKS document.
func TestAnotherModuleUsesThePublicPackages(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/verifier\n\ngo 1.26\n\nrequire "+module+" v0.0.0\n\nreplace "+module+" => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	write("main.go", `package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"

	"`+module+`/jwt"
)

func main() {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := jwt.New(jwt.Config{Signing: jwt.Key{ID: "k1", Algorithm: jwt.ES256, Private: priv}})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	_, access, _, _, err := signer.Pair(42)
	doc, err2 := signer.JWKS()
	keys, err3 := jwt.ParseJWKS(doc)
	v, err4 := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys})
	if err != nil || err2 != nil || err3 != nil || err4 != nil {
		fmt.Println(err, err2, err3, err4)
		os.Exit(1)
	}
	c, err := v.Parse(access)
	fmt.Println(c.UserID, c.TokenType, err)
}
`)
	gobin := goBinary(t)
	run := func(args ...string) string {
		cmd := exec.Command(gobin, args...)
		cmd.Dir = dir
		// Everything comes from the module cache this checkout was built with.
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "tidy")
	if got := run("run", "."); got != "42 access <nil>\n" {
		t.Fatalf("the program printed %q", got)
	}
}

// The site package is the wiring a Go program embeds: it may import the
// store and the server, so nothing below it may import it (the services,
// the server, the public building blocks, guard). A program under
// examples/ uses gatehouse as another module would: its non-test code
// imports only the public packages (the root, the building blocks, guard
// and site), never store, server, a service or internal/.
func TestSiteAndExamples(t *testing.T) {
	pkgs := list(t, "./...")
	for path, p := range pkgs {
		if !strings.HasPrefix(path, module+"/") || strings.HasPrefix(path, module+"/cmd/") || strings.HasPrefix(path, module+"/examples/") ||
			path == module+"/site" {
			continue
		}
		for _, dep := range p.Deps {
			if dep == module+"/site" {
				t.Errorf("%s depends on site, the wiring: only programs (cmd/, examples/) may", path)
			}
		}
	}
	allowed := map[string]bool{module: true, module + "/guard": true, module + "/site": true}
	for _, name := range []string{"jwt", "password", "secret", "fixture", "knox", "djangoconf"} {
		allowed[module+"/"+name] = true
	}
	examples := 0
	for path, p := range pkgs {
		if !strings.HasPrefix(path, module+"/examples/") {
			continue
		}
		examples++
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module) && !allowed[imp] {
				t.Errorf("%s imports %s: an example imports only the public packages", path, imp)
			}
		}
	}
	if examples == 0 {
		t.Error("no package under examples/")
	}
}

// The forward-auth policy is rules only: it reads a file and names a
// guard.Permission. It imports nothing of gatehouse but package guard, and
// depends on no store, service, server or driver, so the rules stay
// testable alone.
func TestPolicyDependsOnlyOnGuard(t *testing.T) {
	pkgs := list(t, "./policy")
	p, ok := pkgs[module+"/policy"]
	if !ok {
		t.Fatal("package policy not found")
	}
	for _, imp := range p.Imports {
		if !pkgs[imp].Standard && imp != module+"/guard" {
			t.Errorf("policy imports %s", imp)
		}
	}
	for _, dep := range p.Deps {
		for _, no := range []string{"store", "server", "accounts", "authn", "oauth", "simplejwt", "audit"} {
			if dep == module+"/"+no {
				t.Errorf("policy depends on %s", dep)
			}
		}
		if isDriver(dep) {
			t.Errorf("policy depends on %s", dep)
		}
	}
}

// The branding loader reads a directory of templates and static files:
// the standard library only, so that it knows the pages as names and
// sample data, never the server that owns them.
func TestBrandingIsStandardLibraryOnly(t *testing.T) {
	pkgs := list(t, "./branding")
	p, ok := pkgs[module+"/branding"]
	if !ok {
		t.Fatal("package branding not found")
	}
	for _, dep := range p.Deps {
		if !pkgs[dep].Standard {
			t.Errorf("branding depends on %s", dep)
		}
	}
}

// The signing keys are a service: they reach the database through the
// root package's SigningKeyStore and seal private keys with secret's box.
// They depend on the root package, secret, go-jose and the standard
// library only: no store, driver, HTTP server or other service, and no
// net/http (the server serves the key set).
func TestKeysDependencies(t *testing.T) {
	pkgs := list(t, "./keys")
	p, ok := pkgs[module+"/keys"]
	if !ok {
		t.Fatal("package keys not found")
	}
	allowed := map[string]bool{module: true, module + "/secret": true}
	for _, dep := range p.Deps {
		switch {
		case dep == "net/http":
			t.Errorf("keys depends on net/http")
		case pkgs[dep].Standard:
		case isDriver(dep):
			t.Errorf("keys depends on the database driver %s", dep)
		case strings.HasPrefix(dep, module):
			if !allowed[dep] {
				t.Errorf("keys depends on %s: only the root package and secret are allowed", dep)
			}
		case !strings.HasPrefix(dep, "github.com/go-jose/go-jose/v4"):
			t.Errorf("keys depends on %s: only go-jose outside the module", dep)
		}
	}
}

// Prometheus is package metrics' alone: the services, the HTTP server and
// the public packages are instrumented through what they expose (the
// Auditor, server.RequestObserver, read-only stats), so they never import
// it, and metrics reaches neither the store, a driver nor the server.
func TestPrometheusStaysInMetrics(t *testing.T) {
	pkgs := list(t, "./...")
	allowed := map[string]bool{module + "/metrics": true, module + "/site": true, module + "/cmd/gatehouse": true}
	for path, p := range pkgs {
		if !strings.HasPrefix(path, module) || allowed[path] || strings.HasPrefix(path, module+"/examples/") {
			continue
		}
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "github.com/prometheus/") {
				t.Errorf("%s depends on %s: only package metrics imports Prometheus", path, dep)
				break
			}
		}
	}
	for _, dep := range pkgs[module+"/metrics"].Deps {
		if dep == module+"/store" || dep == module+"/server" || dep == module+"/site" || isDriver(dep) {
			t.Errorf("metrics depends on %s: it reads the services' stats and the Auditor, not the store or the server", dep)
		}
	}
	if _, ok := pkgs[module+"/metrics"]; !ok {
		t.Error("package metrics not found")
	}
}

// OpenTelemetry is linked only into a binary built with the tag otel
// (package tracing's otel.go): about twenty modules, gRPC's among them,
// for a feature most sites leave off. With the tag, tracing alone imports
// it, and tracing reaches neither the store, a driver nor the server.
func TestOpenTelemetryOnlyWithTheTag(t *testing.T) {
	isOTel := func(dep string) bool { return strings.HasPrefix(dep, "go.opentelemetry.io/") }
	for path, p := range list(t, "./...") {
		if isOTel(path) {
			continue
		}
		for _, dep := range p.Deps {
			if isOTel(dep) {
				t.Errorf("the default build of %s links %s: OpenTelemetry belongs behind the otel build tag", path, dep)
				break
			}
		}
	}
	tagged := list(t, "-tags", "otel", "./...")
	tr, ok := tagged[module+"/tracing"]
	if !ok {
		t.Fatal("package tracing not found")
	}
	if !slices.ContainsFunc(tr.Imports, isOTel) {
		t.Error("with -tags otel, package tracing imports no OpenTelemetry package: the tag does nothing")
	}
	for path, p := range tagged {
		if strings.HasPrefix(path, module) && path != module+"/tracing" && slices.ContainsFunc(p.Imports, isOTel) {
			t.Errorf("%s imports OpenTelemetry: only package tracing does", path)
		}
	}
	for _, dep := range tr.Deps {
		if dep == module+"/store" || dep == module+"/server" || dep == module+"/site" || isDriver(dep) {
			t.Errorf("tracing depends on %s: the server calls it through server.RequestTracer", dep)
		}
	}
}

// The binary with tracing builds: go build -tags otel ./cmd/gatehouse
// (compiling the OpenTelemetry and gRPC packages the first time: skipped
// with -short).
func TestBuildWithOpenTelemetry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary with -tags otel")
	}
	cmd := exec.Command(goBinary(t), "build", "-tags", "otel", "-o", os.DevNull, "./cmd/gatehouse")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags otel ./cmd/gatehouse: %v\n%s", err, out)
	}
}

// The OpenAPI document is served with the standard library alone:
// kin-openapi (the validator) is a test dependency, linked into no
// program, and so is the YAML library for the document (its source):
// the binary links that library for one job, reading Django's YAML dumps
// (fixture/yaml.go), and only package fixture imports it.
func TestOpenAPIValidatorOnlyInTests(t *testing.T) {
	pkgs := list(t, "./server/openapi", "./cmd/gatehouse")
	p, ok := pkgs[module+"/server/openapi"]
	if !ok {
		t.Fatal("package server/openapi not found")
	}
	for _, dep := range p.Deps {
		if !pkgs[dep].Standard {
			t.Errorf("server/openapi depends on %s: the standard library only", dep)
		}
	}
	for _, dep := range pkgs[module+"/cmd/gatehouse"].Deps {
		if strings.HasPrefix(dep, "github.com/getkin/") || strings.HasPrefix(dep, "github.com/gorilla/mux") {
			t.Errorf("the gatehouse binary links %s, a test dependency", dep)
		}
	}
	for path, p := range list(t, "./...") {
		if !strings.HasPrefix(path, module) || path == module+"/fixture" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "go.yaml.in/") {
				t.Errorf("%s imports %s: only fixture reads YAML (Django's dumps)", path, imp)
			}
		}
	}
}
